import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { TokenCipher } from "../../src/store/token-cipher.js";
import { freshSchema, type TestSchema } from "../support/postgres.js";

/** The operators' store commands (src/admin/main.ts), run as processes on real stores, as the README has operators run them. */
const REPO = resolve(import.meta.dirname, "../..");

const keys = { k0: randomBytes(32), k1: randomBytes(32), k2: randomBytes(32) };
const b64 = (key: Buffer) => key.toString("base64");
const cipherOf = (active: keyof typeof keys, ...previous: Array<keyof typeof keys>) =>
  new TokenCipher(active, new Map([active, ...previous].map((id) => [id, keys[id]] as const)));
/** The environment a broker with these keys has (the store's part). */
const keyEnv = (active: keyof typeof keys, ...previous: Array<keyof typeof keys>) => ({
  TOKEN_ENCRYPTION_KEY: b64(keys[active]),
  TOKEN_ENCRYPTION_KEY_ID: active,
  TOKEN_ENCRYPTION_PREVIOUS_KEYS: previous.map((id) => `${id}:${b64(keys[id])}`).join(","),
});

function admin(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", resolve(REPO, "src/admin/main.ts"), ...args], { cwd: REPO, env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise((done) => child.on("exit", (code) => done({ code, stdout, stderr })));
}

const tokensOf = (n: number) => ({
  idToken: `ID-TOKEN-${n}`,
  idTokenExpiresAt: new Date(Date.UTC(2027, 0, 1, n)),
  refreshToken: `REFRESH-TOKEN-${n}`,
  refreshTokenExpiresAt: new Date(Date.UTC(2027, 1, 1, n)),
});
const credentialsOf = (n: number) => ({ accessKeyId: `ASIA${n}`, secretAccessKey: `SECRET-${n}`, sessionToken: `SESSION-${n}`, expiration: new Date(Date.UTC(2027, 0, 1, n)), issuedFor: `for-${n}` });

/** Users u0…u(count-1) with tokens, and cached credentials for the even ones; returns how many sealed values that is. */
async function fillUsers(store: Store, from: number, count: number): Promise<number> {
  let sealed = 0;
  for (let n = from; n < from + count; n += 1) {
    await store.createConnection({ userId: `u${n}`, tenant: n % 2 ? "globex" : "acme", poolBUsername: `dp-${n}` });
    await store.updateConnection(`u${n}`, { state: "ACTIVE", identityId: `eu-west-1:${n}`, tokens: tokensOf(n) });
    sealed += 2;
    if (n % 2 === 0) {
      await store.putCachedCredentials(`u${n}`, "CLASSIC", 3600, credentialsOf(n));
      sealed += 1;
    }
  }
  return sealed;
}

async function sealedKeyIds(store: Store): Promise<string[]> {
  const ids = new Set<string>();
  for (let after = ""; ; ) {
    const page = await store.sealedValues(after, 1000);
    for (const value of page.values) ids.add(TokenCipher.keyIdOf(value.sealed)!);
    if (page.lastUserId === null) return [...ids].sort();
    after = page.lastUserId;
  }
}

interface Target {
  env: Record<string, string>;
  open(cipher: TokenCipher): Promise<Store>;
  cleanup(): Promise<void>;
}

const targets: Record<string, () => Promise<Target>> = {
  SQLite: async () => {
    const dir = mkdtempSync(join(tmpdir(), "admin-"));
    const path = join(dir, "broker.sqlite");
    return { env: { DATABASE_PATH: path }, open: async (cipher) => new SqliteStore(path, cipher), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  },
  PostgreSQL: async () => {
    const schema = await freshSchema();
    return { env: { DATABASE_URL: schema.url }, open: (cipher) => PostgresStore.open(schema.url, cipher), cleanup: () => schema.drop() };
  },
};

describe.each(Object.keys(targets))("rotate-encryption-key on the %s store", (kind) => {
  let target: Target;
  beforeEach(async () => {
    target = await targets[kind]!();
  });
  afterEach(() => target.cleanup());

  it("re-seals every token and cached credential under the new key, page by page, so the old key can be dropped", { timeout: 60_000 }, async () => {
    const store = await target.open(cipherOf("k1"));
    await store.checkEncryptionKey();
    const sealed = await fillUsers(store, 0, 7);
    await store.close();

    const run = await admin(["rotate-encryption-key", "--batch-size", "2"], { ...target.env, ...keyEnv("k2", "k1") });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Sealed values before: k1=${sealed}`);
    expect(run.stdout).toContain(`Re-sealed: ${sealed}`);
    expect(run.stdout).toContain("Every sealed value is now under k2: retired keys can be dropped");
    for (const n of [0, 3, 6]) expect(run.stdout + run.stderr).not.toContain(`TOKEN-${n}`);

    // The new key alone now opens everything: the canary, the tokens, the cached credentials.
    const after = await target.open(cipherOf("k2"));
    try {
      await after.checkEncryptionKey();
      expect(await sealedKeyIds(after)).toEqual(["k2"]);
      for (let n = 0; n < 7; n += 1) expect(await after.getPoolBTokens(`u${n}`)).toEqual(tokensOf(n));
      expect(await after.getCachedCredentials("u4", "CLASSIC", 3600)).toEqual(credentialsOf(4));
      expect(await after.getConnection("u5")).toMatchObject({ state: "ACTIVE", tenant: "globex", identityId: "eu-west-1:5" });
    } finally {
      await after.close();
    }

    // A second run finds nothing to do.
    const again = await admin(["rotate-encryption-key"], { ...target.env, ...keyEnv("k2", "k1") });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Re-sealed: 0");
  });

  it("refuses before writing anything when values are sealed with a key that is not configured", { timeout: 60_000 }, async () => {
    const oldest = await target.open(cipherOf("k0"));
    await oldest.checkEncryptionKey();
    await fillUsers(oldest, 0, 2);
    await oldest.close();
    const middle = await target.open(cipherOf("k1", "k0"));
    await middle.checkEncryptionKey(); // the canary moves to k1; u0 and u1 stay under k0
    await fillUsers(middle, 2, 2);
    await middle.close();

    const run = await admin(["rotate-encryption-key"], { ...target.env, ...keyEnv("k2", "k1") });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/5 value\(s\) are sealed with key id k0, which is not configured: list it in TOKEN_ENCRYPTION_PREVIOUS_KEYS and run again \(nothing was changed\)/);
    const unchanged = await target.open(cipherOf("k1", "k0"));
    try {
      expect(await sealedKeyIds(unchanged)).toEqual(["k0", "k1"]);
    } finally {
      await unchanged.close();
    }
  });

  it("never overwrites what a broker wrote meanwhile (compare-and-swap on each value)", async () => {
    const store = await target.open(cipherOf("k1"));
    try {
      await fillUsers(store, 0, 1);
      const [idToken] = (await store.sealedValues("", 10)).values;
      // A broker renews u0's tokens after the rotation read them…
      await store.updateConnection("u0", { tokens: tokensOf(99) });
      // …so the rotation's write of the old value, re-sealed, is refused and the renewal stands.
      expect(await store.replaceSealedValue(idToken!, cipherOf("k1").seal("ID-TOKEN-0", "u0/id_token"))).toBe(false);
      expect(await store.getPoolBTokens("u0")).toEqual(tokensOf(99));
    } finally {
      await store.close();
    }
  });
});

describe("move-to-postgres", () => {
  let dir: string;
  let sqlitePath: string;
  let schema: TestSchema;
  const cipher = cipherOf("k1");
  const env = () => ({ DATABASE_PATH: sqlitePath, ...keyEnv("k1") });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "move-"));
    sqlitePath = join(dir, "broker.sqlite");
    schema = await freshSchema();
  });
  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    await schema.drop();
  });

  /** A SQLite store with some of everything a broker keeps. */
  async function fillSqlite(): Promise<void> {
    const store = new SqliteStore(sqlitePath, cipher);
    await store.checkEncryptionKey();
    await fillUsers(store, 0, 5);
    const issued = { flow: "ENHANCED" as const, durationSeconds: 900, issuedAt: new Date(1_000), expiresAt: new Date(901_000), requestId: "r1" };
    await store.recordIssuance({ ...issued, userId: "u1" });
    await store.recordIssuance({ ...issued, userId: "u1", flow: "CLASSIC", requestId: "r2" });
    for (let i = 0; i < 30; i += 1) {
      await store.appendAudit({ at: new Date(10_000 + i), actorUserId: "u1", subjectUserId: i % 3 ? "u1" : "u2", action: "ISSUE", outcome: "SUCCESS", requestId: `req-${i}`, flow: "CLASSIC", durationSeconds: 900, tenant: "globex" });
    }
    await store.createClientKey({ id: "ck-1", userId: "u1", name: "nightly", flow: "CLASSIC", durationSeconds: 3600, secretHash: "hash-1", scopeTarget: "reports/", scopePermission: "READ", createdBy: null, createdAt: new Date(5), expiresAt: new Date(Date.UTC(2027, 5, 1)) });
    await store.revokeClientKey("ck-1", new Date(6));
    await store.claimSessionTag("u3", "adenyd");
    await store.putSessionDenial({ tag: "adenyd", shard: 0, slot: 1, tenant: "globex", userId: "u3", expiresAt: new Date(Date.UTC(2099, 0, 1)) });
    await store.putTenantCutoff({ tenant: "globex", cutoffAt: new Date(Date.UTC(2026, 11, 1)), expiresAt: new Date(Date.UTC(2099, 0, 1)) });
    await store.createGrant({ id: "g-1", tenant: "acme", location: "readings/", permission: "READ", createdBy: "admin", createdAt: new Date(7) });
    await store.close();
  }

  it("copies everything into an empty database and verifies it: the brokers then run on PostgreSQL with the same data", { timeout: 60_000 }, async () => {
    await fillSqlite();
    const url = new URL(schema.url);
    url.password = "not-for-logs"; // the machine's PostgreSQL trusts loopback: the password is never checked, only kept out of output
    const run = await admin(["move-to-postgres", "--to", url.toString()], env());
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/connections\s+5 rows copied, 5 found/);
    expect(run.stdout).toMatch(/audit_events\s+30 rows copied, 30 found/);
    expect(run.stdout).toMatch(/sealed values\s+13 open with the configured keys/);
    expect(run.stdout).not.toContain("not-for-logs");

    // Sealed in PostgreSQL too: no token or credential in plain text in any copied row.
    const raw = new pg.Client({ connectionString: schema.url });
    await raw.connect();
    const stored = JSON.stringify([(await raw.query("SELECT * FROM connections")).rows, (await raw.query("SELECT * FROM credential_cache")).rows]);
    await raw.end();
    expect(stored).toContain("v1.k1.");
    expect(stored).not.toMatch(/ID-TOKEN-|REFRESH-TOKEN-|SECRET-|SESSION-/);

    const moved = await PostgresStore.open(schema.url, cipher);
    const before = new SqliteStore(sqlitePath, cipher);
    try {
      await moved.checkEncryptionKey();
      for (let n = 0; n < 5; n += 1) {
        expect(await moved.getConnection(`u${n}`)).toEqual(await before.getConnection(`u${n}`));
        expect(await moved.getPoolBTokens(`u${n}`)).toEqual(tokensOf(n));
      }
      expect(await moved.getCachedCredentials("u2", "CLASSIC", 3600)).toEqual(credentialsOf(2));
      expect(await moved.lastIssuance("u1")).toEqual(await before.lastIssuance("u1"));
      expect(await moved.auditEvents("u1", 100)).toEqual(await before.auditEvents("u1", 100));
      expect(await moved.auditEventsPage("u2", { first: 3 })).toEqual(await before.auditEventsPage("u2", { first: 3 }));
      expect(await moved.listClientKeys("u1")).toEqual(await before.listClientKeys("u1"));
      expect(await moved.denialsInSlot(0, 1)).toEqual(await before.denialsInSlot(0, 1));
      expect((await moved.denialsInSlot(0, 1))[0]).toMatchObject({ tag: "adenyd", slot: 1 });
      expect(await moved.tenantCutoffs(new Date())).toEqual(await before.tenantCutoffs(new Date()));
      expect(await moved.listGrants("acme")).toEqual(await before.listGrants("acme"));
      expect(await moved.grantsManaged("acme")).toBe(await before.grantsManaged("acme"));
      // New events continue after the copied ids: audit cursors stay valid.
      await moved.appendAudit({ at: new Date(), actorUserId: "u1", subjectUserId: "u1", action: "ISSUE", outcome: "SUCCESS", requestId: "after-move" });
      const [newest] = await moved.auditEvents("u1", 1);
      expect(newest).toMatchObject({ requestId: "after-move" });
      expect(newest!.id).toBeGreaterThan(30);
    } finally {
      await moved.close();
      await before.close();
    }

    // Into a database that holds broker data: refused, nothing copied twice.
    const again = await admin(["move-to-postgres", "--to", schema.url], env());
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already holds broker data (connections: 5");
  });

  it("refuses while a broker holds the SQLite file, and leaves the database empty when the copy fails part-way", { timeout: 60_000 }, async () => {
    await fillSqlite();
    const running = new SqliteStore(sqlitePath, cipher);
    const busy = await admin(["move-to-postgres", "--to", schema.url], env());
    await running.close();
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain("is in use by another process");

    // A real failure half-way: the target database rejects audit rows (a trigger), after connections were inserted.
    await PostgresStore.open(schema.url, cipher).then((s) => s.close());
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    await client.query(`CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full (drill)'; END $$ LANGUAGE plpgsql`);
    await client.query("CREATE TRIGGER refuse BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse()");
    const failed = await admin(["move-to-postgres", "--to", schema.url], env());
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("disk full (drill)");
    expect((await client.query("SELECT count(*)::int AS n FROM connections")).rows[0].n).toBe(0);
    await client.end();

    // The source is untouched and still opens.
    const source = new SqliteStore(sqlitePath, cipher);
    expect(source.countRows("connections")).toBe(5);
    await source.close();
  });

  it("says what is wrong with its arguments", async () => {
    expect(await admin(["move-to-postgres"], env())).toMatchObject({ code: 2, stderr: expect.stringContaining("--to must be the PostgreSQL database's postgres:// URL") });
    expect(await admin(["rotate-encryption-key", "--batch-size", "0"], env())).toMatchObject({ code: 2 });
    expect(await admin(["frobnicate"], env())).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command frobnicate") });
    expect(await admin(["rotate-encryption-key"], { DATABASE_PATH: sqlitePath, TOKEN_ENCRYPTION_KEY: "short" })).toMatchObject({ code: 1, stderr: expect.stringContaining("TOKEN_ENCRYPTION_KEY") });
  });
});
