import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { TokenCipher } from "../../src/store/token-cipher.js";

const cipher = new TokenCipher("k1", new Map([["k1", randomBytes(32)]]));
const tokens = {
  idToken: "eyJraWQiOi.ID-TOKEN-PLAINTEXT.sig",
  idTokenExpiresAt: new Date("2026-11-23T21:00:00Z"),
  refreshToken: "REFRESH-TOKEN-PLAINTEXT",
  refreshTokenExpiresAt: new Date("2026-12-23T20:00:00Z"),
};

describe("SQLite store", () => {
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
    expect(store.appliedMigrations()).toEqual([1]);
    await store.close();
    store = new SqliteStore(path, cipher);
    expect(store.appliedMigrations()).toEqual([1]);
  });

  it("creates a connection once; a second create returns the first", async () => {
    const first = await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
    const second = await store.createConnection({ userId: "u1", tenant: "other", poolBUsername: "dp-2" });
    expect(first.state).toBe("PROVISIONING");
    expect(second).toMatchObject({ tenant: "acme", poolBUsername: "dp-1" });
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
    expect(await store.getConnection("u1")).toMatchObject({ state: "ACTIVE", identityId: "eu-west-1:abc", tokens });
  });

  it("clears tokens", async () => {
    await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
    await store.updateConnection("u1", { tokens });
    await store.updateConnection("u1", { tokens: null });
    expect((await store.getConnection("u1"))!.tokens).toBeNull();
  });

  it("returns the latest issuance and audit events newest first", async () => {
    await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
    expect(await store.lastIssuance("u1")).toBeNull();
    const base = { userId: "u1", durationSeconds: 3600, issuedAt: new Date(), requestId: "r" };
    await store.recordIssuance({ ...base, flow: "ENHANCED", expiresAt: new Date("2026-11-23T21:00:00Z") });
    await store.recordIssuance({ ...base, flow: "CLASSIC", expiresAt: new Date("2026-11-23T22:00:00Z") });
    expect(await store.lastIssuance("u1")).toMatchObject({ flow: "CLASSIC", expiresAt: new Date("2026-11-23T22:00:00Z") });

    await store.appendAudit({ at: new Date(1), actorUserId: "admin", subjectUserId: "u1", action: "PROVISION", outcome: "SUCCESS", requestId: "r1" });
    await store.appendAudit({ at: new Date(2), actorUserId: "u1", subjectUserId: "u1", action: "ISSUE", outcome: "FAILURE", requestId: "r2", flow: "CLASSIC", durationSeconds: 900, errorCode: "UPSTREAM_UNAVAILABLE" });
    const events = await store.auditEvents("u1", 10);
    expect(events.map((e) => e.action)).toEqual(["ISSUE", "PROVISION"]);
    expect(events[0]).toMatchObject({ outcome: "FAILURE", flow: "CLASSIC", durationSeconds: 900, errorCode: "UPSTREAM_UNAVAILABLE" });
    expect(events[1]).toMatchObject({ actorUserId: "admin" });
  });
});
