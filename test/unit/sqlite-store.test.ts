import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { sqliteMigrations } from "../../src/store/sqlite-migrations.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { ConnectionPatch } from "../../src/store/store.js";
import { TokenCipher } from "../../src/store/token-cipher.js";
import { plainTokens, testCipher } from "../support/store-fixtures.js";

const cipher = testCipher;
const tokens = plainTokens;

describe("SQLite store specifics", () => {
  let dir: string;
  let path: string;
  let store: SqliteStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "store-test-"));
    path = join(dir, "nested", "broker.sqlite");
    store = new SqliteStore(path, cipher);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("applies each migration once, also when reopened", async () => {
    const all = sqliteMigrations.map((m) => m.version);
    expect(store.appliedMigrations()).toEqual(all);
    await store.close();
    store = new SqliteStore(path, cipher);
    expect(store.appliedMigrations()).toEqual(all);
  });

  it("upgrades a database written by the first release without losing rows", async () => {
    await store.close();
    const oldPath = join(dir, "v1.sqlite");
    const db = new Database(oldPath);
    db.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    db.exec(sqliteMigrations[0]!.sql);
    db.prepare("INSERT INTO schema_migrations VALUES (1, 'v1', 0)").run();
    db.prepare("INSERT INTO connections (user_id, tenant, pool_b_username, identity_id, state, created_at, updated_at) VALUES ('u1', 'acme', 'dp-1', 'id-1', 'ACTIVE', 1, 1)").run();
    db.prepare("INSERT INTO issuances (user_id, flow, duration_seconds, issued_at, expires_at, request_id) VALUES ('u1', 'CLASSIC', 900, 1, 2, 'r')").run();
    db.close();

    store = new SqliteStore(oldPath, cipher);
    expect(store.appliedMigrations()).toEqual(sqliteMigrations.map((m) => m.version));
    expect(await store.getConnection("u1")).toMatchObject({ tenant: "acme", identityId: "id-1", state: "ACTIVE" });
    expect(await store.lastIssuance("u1")).toMatchObject({ flow: "CLASSIC", durationSeconds: 900 });
    await store.updateConnection("u1", { state: "REVOKED" });
    expect((await store.getConnection("u1"))!.state).toBe("REVOKED");
  });

  it("marks the tenants that had grants before the upgrade as managed by grants, so none falls back to the default", async () => {
    await store.close();
    const oldPath = join(dir, "v7.sqlite");
    const db = new Database(oldPath);
    db.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    for (const migration of sqliteMigrations.filter((m) => m.version <= 7)) {
      db.exec(migration.sql);
      db.prepare("INSERT INTO schema_migrations VALUES (?, ?, 0)").run(migration.version, migration.name);
    }
    db.prepare("INSERT INTO access_grants (id, tenant, location, permission, created_by, created_at) VALUES ('g1', 'acme', 'public/', 'READ', 'admin', 5)").run();
    db.close();

    store = new SqliteStore(oldPath, cipher);
    expect(await store.grantsManaged("acme")).toBe(true);
    expect(await store.grantsManaged("globex")).toBe(false);
  });

  it("keeps tokens encrypted on disk and returns them decrypted", async () => {
    await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
    await store.updateConnection("u1", { tokens, identityId: "eu-west-1:abc", state: "ACTIVE" });
    await store.close();
    const onDisk = [path, `${path}-wal`].map((p) => { try { return readFileSync(p).toString("latin1"); } catch { return ""; } }).join("");
    expect(onDisk).not.toContain("ID-TOKEN-PLAINTEXT");
    expect(onDisk).not.toContain("REFRESH-TOKEN-PLAINTEXT");
    store = new SqliteStore(path, cipher);
    const row = store.rawConnectionRow("u1")!;
    expect(TokenCipher.keyIdOf(row.id_token_sealed as string)).toBe("k1");
    expect(await store.getConnection("u1")).toMatchObject({ state: "ACTIVE", identityId: "eu-west-1:abc" });
    expect(await store.getPoolBTokens("u1")).toEqual(tokens);
  });

  it("serves connection reads from memory and never a stale one after a write", async () => {
    await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
    const first = await store.getConnection("u1");
    expect(await store.getConnection("u1")).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    const patches: ConnectionPatch[] = [{ state: "ACTIVE" }, { identityId: "eu-west-1:x" }, { tenant: "globex" }, { tokens }, { state: "REVOKED", tokens: null }];
    for (const patch of patches) {
      await store.updateConnection("u1", patch);
      const { tokens: _sealedApart, ...expected } = patch;
      expect(await store.getConnection("u1")).toMatchObject(expected);
      expect((await store.getConnections(["u1", "nobody"]))[0]).toMatchObject(expected);
    }
    expect(await store.getConnections(["nobody", "u1"])).toMatchObject([null, { state: "REVOKED", tenant: "globex", tokenExpiry: null }]);
  });

  it("refuses a second opener of the same file, naming the way out", async () => {
    const started = Date.now();
    expect(() => new SqliteStore(path, cipher)).toThrow(/in use by another process.*PostgreSQL \(DATABASE_URL\)/);
    // It waited for the file to be released (a restarting broker's predecessor) before giving up.
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
    // The first store is unaffected.
    await store.createConnection({ userId: "u2", tenant: "acme", poolBUsername: "dp-2" });
    expect(await store.getConnection("u2")).toMatchObject({ tenant: "acme" });
  });
});
