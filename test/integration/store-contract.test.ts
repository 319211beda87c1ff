import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { postgresMigrations } from "../../src/store/postgres-migrations.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { EncryptionKeyMismatchError } from "../../src/store/encryption-canary.js";
import { TokenCipher } from "../../src/store/token-cipher.js";
import { plainTokens, testCipher, testKey } from "../support/store-fixtures.js";
import { freshSchema } from "../support/postgres.js";

const cipher = testCipher;
const tokens = plainTokens;

interface Harness {
  store: Store;
  /** The same data, opened again (with other keys when given). */
  reopen(withCipher?: TokenCipher): Promise<Store>;
  cleanup(): Promise<void>;
}

const stores: Record<string, () => Promise<Harness>> = {
  SQLite: async () => {
    const dir = mkdtempSync(join(tmpdir(), "contract-"));
    const path = join(dir, "broker.sqlite");
    return { store: new SqliteStore(path, cipher), reopen: async (other = cipher) => new SqliteStore(path, other), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  },
  PostgreSQL: async () => {
    const schema = await freshSchema();
    return { store: await PostgresStore.open(schema.url, cipher), reopen: (other = cipher) => PostgresStore.open(schema.url, other), cleanup: () => schema.drop() };
  },
};

describe.each(Object.keys(stores))("the %s store", (kind) => {
  let harness: Harness;
  let store: Store;

  beforeEach(async () => {
    harness = await stores[kind]!();
    store = harness.store;
  });
  afterEach(async () => {
    await store.close();
    await harness.cleanup();
  });

  it("answers a ping and survives being reopened (migrations applied once)", async () => {
    await store.ping();
    await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
    await store.close();
    store = await harness.reopen();
    expect(await store.getConnection("u1")).toMatchObject({ tenant: "acme" });
  });

  it("keeps a sealed canary: a wrong key is refused at the check, a listed old key opens it and the canary moves to the new one", async () => {
    await store.checkEncryptionKey(); // writes the canary into a store that has none
    await store.checkEncryptionKey(); // and opens it
    await store.close();
    const activeId = cipher.activeKeyId;
    store = await harness.reopen(new TokenCipher(activeId, new Map([[activeId, randomBytes(32)]])));
    await expect(store.checkEncryptionKey()).rejects.toThrow(EncryptionKeyMismatchError);
    await expect(store.checkEncryptionKey()).rejects.toThrow(`its canary was sealed with key id ${activeId}`);
    await store.close();
    const next = randomBytes(32);
    store = await harness.reopen(new TokenCipher("next", new Map([["next", next], [activeId, testKey]])));
    await store.checkEncryptionKey();
    await store.close();
    store = await harness.reopen(new TokenCipher("next", new Map([["next", next]])));
    await store.checkEncryptionKey();
  });

  it("creates a connection once; a second create returns the first", async () => {
    const first = await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
    const second = await store.createConnection({ userId: "u1", tenant: "other", poolBUsername: "dp-2" });
    expect(first.state).toBe("PROVISIONING");
    expect(second).toMatchObject({ tenant: "acme", poolBUsername: "dp-1" });
  });

  it("stores tokens encrypted and returns them decrypted, only from getPoolBTokens; clears them", async () => {
    await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
    expect(await store.getPoolBTokens("u1")).toBeNull();
    await store.updateConnection("u1", { tokens, identityId: "eu-west-1:abc", state: "ACTIVE" });
    expect(await store.getPoolBTokens("u1")).toEqual(tokens);
    // Connection reads (views, lists, state checks) carry the expiry, never the tokens.
    const connection = await store.getConnection("u1");
    expect(connection).toMatchObject({ state: "ACTIVE", identityId: "eu-west-1:abc", tokenExpiry: { idTokenExpiresAt: tokens.idTokenExpiresAt, refreshTokenExpiresAt: tokens.refreshTokenExpiresAt } });
    const listed = [connection, ...(await store.getConnections(["u1"])), ...(await store.listConnections({ first: 10 })).items];
    for (const read of listed) for (const secret of [tokens.idToken, tokens.refreshToken]) expect(JSON.stringify(read)).not.toContain(secret);
    await store.updateConnection("u1", { tokens: null, state: "REVOKED" });
    expect(await store.getPoolBTokens("u1")).toBeNull();
    expect(await store.getConnection("u1")).toMatchObject({ tokenExpiry: null, state: "REVOKED" });
    expect(await store.getPoolBTokens("nobody")).toBeNull();
  });

  it("reads connections, last issuances and client keys in batches, in the order asked", async () => {
    for (const id of ["u1", "u2", "u3"]) await store.createConnection({ userId: id, tenant: "acme", poolBUsername: `dp-${id}` });
    const base = { durationSeconds: 3600, issuedAt: new Date(), requestId: "r" };
    await store.recordIssuance({ ...base, userId: "u1", flow: "ENHANCED", expiresAt: new Date(1_000) });
    await store.recordIssuance({ ...base, userId: "u1", flow: "CLASSIC", expiresAt: new Date(2_000) });
    await store.recordIssuance({ ...base, userId: "u3", flow: "ENHANCED", expiresAt: new Date(3_000) });
    const key = { flow: "ENHANCED" as const, durationSeconds: 3600, secretHash: "ab".repeat(32), scopeTarget: "", scopePermission: "READ" as const, createdBy: null, createdAt: new Date(1), expiresAt: new Date(9e12) };
    await store.createClientKey({ ...key, id: "k1", userId: "u2", name: "a" });
    await store.createClientKey({ ...key, id: "k2", userId: "u2", name: "b", createdAt: new Date(2) });

    expect((await store.getConnections(["u3", "missing", "u1"])).map((c) => c?.userId ?? null)).toEqual(["u3", null, "u1"]);
    expect((await store.lastIssuances(["u1", "u2", "u3"])).map((i) => i?.flow ?? null)).toEqual(["CLASSIC", null, "ENHANCED"]);
    expect((await store.listClientKeysFor(["u1", "u2"])).map((keys) => keys.map((k) => k.name))).toEqual([[], ["a", "b"]]);
    expect(await store.lastIssuance("u1")).toMatchObject({ flow: "CLASSIC", expiresAt: new Date(2_000) });
  });

  it("pages connections by user id, optionally by tenant", async () => {
    for (const [id, tenant] of [["a", "acme"], ["b", "globex"], ["c", "acme"], ["d", "acme"]] as const) {
      await store.createConnection({ userId: id, tenant, poolBUsername: `dp-${id}` });
    }
    const first = await store.listConnections({ first: 2 });
    expect(first).toMatchObject({ hasNextPage: true });
    expect(first.items.map((c) => c.userId)).toEqual(["a", "b"]);
    const next = await store.listConnections({ first: 2, after: "b" });
    expect(next.items.map((c) => c.userId)).toEqual(["c", "d"]);
    expect(next.hasNextPage).toBe(false);
    expect((await store.listConnections({ first: 10, tenant: "acme" })).items.map((c) => c.userId)).toEqual(["a", "c", "d"]);
  });

  it("finds connections whose Pool A username, e-mail or id starts with a search, in any case, taking % and _ literally", async () => {
    for (const [id, username, email] of [["u-1", "Alice.Smith", null], ["u-2", "alicia", "Alicia@Example.com"], ["u-3", "bob", "ally@example.com"], ["u-4", "al_ice", null], ["alx-5", null, null]] as const) {
      await store.createConnection({ userId: id, tenant: "acme", poolBUsername: `dp-${id}` });
      if (username) await store.updateConnection(id, { poolAUsername: username, ...(email ? { poolAEmail: email } : {}) });
    }
    expect((await store.getConnection("u-2"))!.poolAEmail).toBe("Alicia@Example.com");
    const found = async (search: string) => (await store.listConnections({ first: 10, search })).items.map((c) => c.userId);
    expect(await found("ali")).toEqual(["u-1", "u-2"]);
    expect(await found("ALICE.")).toEqual(["u-1"]);
    expect(await found("al_")).toEqual(["u-4"]);
    expect(await found("al%")).toEqual([]);
    expect(await found("alx")).toEqual(["alx-5"]);
    // By e-mail: bob is found as ally@…, and a search across the @ finds the whole address.
    expect(await found("ALL")).toEqual(["u-3"]);
    expect(await found("alicia@example.")).toEqual(["u-2"]);
    expect((await store.listConnections({ first: 1, search: "al" })).hasNextPage).toBe(true);
  });

  it("pages audit events newest first, without secrets", async () => {
    await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
    for (let i = 0; i < 5; i += 1) {
      await store.appendAudit({ at: new Date(i), actorUserId: "admin", subjectUserId: "u1", action: "ISSUE", outcome: i === 4 ? "FAILURE" : "SUCCESS", requestId: `r${i}`, flow: "CLASSIC", durationSeconds: 900, ...(i === 4 ? { errorCode: "UPSTREAM_UNAVAILABLE" } : {}), clientKeyId: "k1" });
    }
    const page = await store.auditEventsPage("u1", { first: 3 });
    expect(page.items.map((e) => e.requestId)).toEqual(["r4", "r3", "r2"]);
    expect(page.items[0]).toMatchObject({ outcome: "FAILURE", errorCode: "UPSTREAM_UNAVAILABLE", clientKeyId: "k1", flow: "CLASSIC", durationSeconds: 900 });
    const rest = await store.auditEventsPage("u1", { first: 3, after: page.items[2]!.id! });
    expect(rest.items.map((e) => e.requestId)).toEqual(["r1", "r0"]);
    expect(rest.hasNextPage).toBe(false);
  });

  it("keeps each session tag on one connection only, and never hands out a tag a deny list holds", async () => {
    await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
    await store.createConnection({ userId: "u2", tenant: "acme", poolBUsername: "dp-2" });
    expect(await store.claimSessionTag("u1", "aaaaaa")).toBe(true);
    await store.updateConnection("u1", { tagLiveUntil: new Date(90_000) });
    expect(await store.getConnection("u1")).toMatchObject({ sessionTag: "aaaaaa", tagLiveUntil: new Date(90_000) });
    // Another user cannot take it.
    expect(await store.claimSessionTag("u2", "aaaaaa")).toBe(false);
    // Nor can anyone take a tag that is only on a deny list any more (its owner has a new one).
    await store.putSessionDenial({ tag: "aaaaaa", shard: 0, slot: -1, tenant: "acme", userId: "u1", expiresAt: new Date(90_000) });
    expect(await store.claimSessionTag("u1", "abbbbb")).toBe(true);
    expect(await store.getConnection("u1")).toMatchObject({ sessionTag: "abbbbb", tagLiveUntil: null });
    expect(await store.claimSessionTag("u2", "aaaaaa")).toBe(false);
    expect(await store.claimSessionTag("u2", "accccc")).toBe(true);
  });

  it("keeps deny-list entries per shard until they expire: placed, applied, and only ever later", async () => {
    await store.putSessionDenial({ tag: "aaaaaa", shard: 0, slot: -1, tenant: "acme", userId: "u1", expiresAt: new Date(50_000) });
    await store.putSessionDenial({ tag: "abbbbb", shard: 0, slot: -1, tenant: "acme", userId: "u2", expiresAt: new Date(20_000) });
    await store.putSessionDenial({ tag: "bccccc", shard: 1, slot: -1, tenant: "globex", userId: "u3", expiresAt: new Date(50_000) });
    await store.placeDenials([{ tag: "aaaaaa", slot: 1, applied: true }]);
    // An earlier expiry for the same tag never shortens the entry, nor moves it.
    await store.putSessionDenial({ tag: "aaaaaa", shard: 0, slot: -1, tenant: "acme", userId: "u1", expiresAt: new Date(40_000) });
    expect(await store.denialSlotCounts(0, new Date(10_000))).toEqual(new Map([[1, 1]]));
    expect(await store.denialsInSlot(0, 1)).toEqual([{ tag: "aaaaaa", shard: 0, slot: 1, tenant: "acme", userId: "u1", expiresAt: new Date(50_000), applied: true }]);
    expect(await store.unplacedDenials(0)).toEqual([{ tag: "abbbbb", shard: 0, slot: -1, tenant: "acme", userId: "u2", expiresAt: new Date(20_000), applied: false }]);
    expect(await store.getSessionDenial("bccccc")).toMatchObject({ shard: 1, applied: false });
    // Counting prunes what has expired, in that shard only.
    await store.denialSlotCounts(0, new Date(20_000));
    expect(await store.unplacedDenials(0)).toEqual([]);
    expect(await store.denialSlotCounts(0, new Date(60_000))).toEqual(new Map());
    expect(await store.getSessionDenial("aaaaaa")).toBeNull();
    expect(await store.unplacedDenials(1)).toHaveLength(1);
    // An entry a tenant cut-off covers (applied, never placed) is neither unplaced nor counted.
    await store.placeDenials([{ tag: "bccccc", slot: -1, applied: true }]);
    expect(await store.unplacedDenials(1)).toEqual([]);
    expect(await store.denialSlotCounts(1, new Date(10_000))).toEqual(new Map());
  });

  it("keeps tenant cut-offs until they expire, moving one only later", async () => {
    await store.putTenantCutoff({ tenant: "acme", cutoffAt: new Date(5_000), expiresAt: new Date(50_000) });
    await store.putTenantCutoff({ tenant: "globex", cutoffAt: new Date(1_000), expiresAt: new Date(20_000) });
    await store.putTenantCutoff({ tenant: "acme", cutoffAt: new Date(4_000), expiresAt: new Date(40_000) });
    expect(await store.tenantCutoffs(new Date(10_000))).toEqual([
      { tenant: "acme", cutoffAt: new Date(5_000), expiresAt: new Date(50_000) },
      { tenant: "globex", cutoffAt: new Date(1_000), expiresAt: new Date(20_000) },
    ]);
    expect((await store.tenantCutoffs(new Date(20_000))).map((c) => c.tenant)).toEqual(["acme"]);
    expect(await store.tenantCutoffs(new Date(60_000))).toEqual([]);
  });

  it("keeps access grants per tenant, once per location and permission", async () => {
    const grant = { id: "g1", tenant: "acme", location: "readings/", permission: "READ" as const, createdBy: "admin-1", createdAt: new Date(1000) };
    expect(await store.createGrant(grant)).toEqual(grant);
    // The same tenant, location and permission again: the stored one comes back, nothing is added.
    expect(await store.createGrant({ ...grant, id: "g2", createdAt: new Date(2000) })).toEqual(grant);
    await store.createGrant({ ...grant, id: "g3", location: "" });
    await store.createGrant({ ...grant, id: "g4", tenant: "globex" });
    expect((await store.listGrants("acme")).map((g) => g.id)).toEqual(["g3", "g1"]);
    expect(await store.getGrant("g4")).toMatchObject({ tenant: "globex" });
    expect(await store.deleteGrant("g1")).toBe(true);
    expect(await store.deleteGrant("g1")).toBe(false);
    expect((await store.listGrants("acme")).map((g) => g.id)).toEqual(["g3"]);
    // A tenant that has had a grant stays managed by grants when the last one goes; another never was.
    expect(await store.deleteGrant("g3")).toBe(true);
    expect(await store.listGrants("acme")).toEqual([]);
    expect(await store.grantsManaged("acme")).toBe(true);
    expect(await store.grantsManaged("initech")).toBe(false);
  });

  it("keeps a connection's epoch, starting at 0", async () => {
    expect((await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" })).epoch).toBe(0);
    await store.updateConnection("u1", { epoch: 3, tenant: "globex" });
    expect(await store.getConnection("u1")).toMatchObject({ epoch: 3, tenant: "globex" });
  });

  it("keeps client keys with their hash, revocation and first use", async () => {
    await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
    const base = { userId: "u1", flow: "CLASSIC" as const, durationSeconds: 900, secretHash: "ab".repeat(32), scopeTarget: "readings/", scopePermission: "WRITE" as const, createdBy: "admin-1", createdAt: new Date(1000), expiresAt: new Date(9e12) };
    await store.createClientKey({ ...base, id: "k1", name: "nightly" });
    await store.createClientKey({ ...base, id: "k2", name: "hourly", createdAt: new Date(2000) });
    expect((await store.listClientKeys("u1")).map((k) => k.name)).toEqual(["nightly", "hourly"]);
    expect(await store.recordClientKeyUse("k1", new Date(3000))).toBe(true);
    expect(await store.recordClientKeyUse("k1", new Date(4000))).toBe(false);
    expect(await store.getClientKey("k1")).toMatchObject({ firstUsedAt: new Date(3000), lastUsedAt: new Date(4000), revokedAt: null, createdBy: "admin-1", scopeTarget: "readings/", scopePermission: "WRITE" });
    expect((await store.revokeClientKey("k1", new Date(5000)))!.revokedAt).toEqual(new Date(5000));
    expect((await store.revokeClientKey("k1", new Date(6000)))!.revokedAt).toEqual(new Date(5000));
    expect(await store.revokeClientKeysOf("u1", new Date(7000))).toBe(1);
    expect(await store.getClientKey("missing")).toBeNull();
  });

  it("caches credentials encrypted per user, flow and duration, and forgets them", async () => {
    await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
    const credentials = { accessKeyId: "ASIA1", secretAccessKey: "SECRET-PLAINTEXT", sessionToken: "TOKEN", expiration: new Date("2026-11-23T22:00:00Z"), issuedFor: "[\"acme\"]" };
    expect(await store.getCachedCredentials("u1", "CLASSIC", 900)).toBeNull();
    await store.putCachedCredentials("u1", "CLASSIC", 900, credentials);
    await store.putCachedCredentials("u1", "CLASSIC", 900, { ...credentials, accessKeyId: "ASIA2" });
    expect(await store.getCachedCredentials("u1", "CLASSIC", 900)).toEqual({ ...credentials, accessKeyId: "ASIA2" });
    expect(await store.getCachedCredentials("u1", "CLASSIC", 3600)).toBeNull();
    await store.forgetCachedCredentials("u1");
    expect(await store.getCachedCredentials("u1", "CLASSIC", 900)).toBeNull();
  });

  it("does not deadlock when many users' locks are held while their tasks query the store", async () => {
    for (let i = 0; i < 40; i += 1) await store.createConnection({ userId: `busy-${i}`, tenant: "acme", poolBUsername: `dp-busy-${i}` });
    // More concurrent lock holders than the pool has connections, each querying inside its lock.
    const found = await Promise.all(
      Array.from({ length: 40 }, (_, i) => store.withUserLock(`busy-${i}`, async () => (await store.getConnection(`busy-${i}`))?.userId)),
    );
    expect(found).toEqual(Array.from({ length: 40 }, (_, i) => `busy-${i}`));
  });

  it("runs tasks for one user under its lock one at a time", async () => {
    const events: string[] = [];
    const task = (name: string) => store.withUserLock("u1", async () => {
      events.push(`${name}:start`);
      await new Promise((r) => setTimeout(r, 30));
      events.push(`${name}:end`);
    });
    // Two stores on the same database are two replicas: the PostgreSQL lock must hold across them.
    const other = kind === "PostgreSQL" ? await harness.reopen() : store;
    const otherTask = () => other.withUserLock("u1", async () => {
      events.push("b:start");
      await new Promise((r) => setTimeout(r, 30));
      events.push("b:end");
    });
    if (kind === "PostgreSQL") {
      await Promise.all([task("a"), otherTask()]);
      await other.close();
      expect(events.join(" ")).toMatch(/^(a:start a:end b:start b:end|b:start b:end a:start a:end)$/);
    } else {
      await task("a");
      expect(events).toEqual(["a:start", "a:end"]);
    }
  });
});

describe("the PostgreSQL store at rest", () => {
  it("keeps no token or credential in plain text", async () => {
    const schema = await freshSchema();
    const store = await PostgresStore.open(schema.url, cipher);
    try {
      await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
      await store.updateConnection("u1", { tokens });
      await store.putCachedCredentials("u1", "CLASSIC", 900, { accessKeyId: "A", secretAccessKey: "SECRET-PLAINTEXT", sessionToken: "T", expiration: new Date(), issuedFor: "x" });
      const pg = (await import("pg")).default;
      const client = new pg.Client({ connectionString: schema.url });
      await client.connect();
      const dump = JSON.stringify((await client.query("SELECT * FROM connections")).rows) + JSON.stringify((await client.query("SELECT * FROM credential_cache")).rows);
      await client.end();
      for (const plain of ["ID-TOKEN-PLAINTEXT", "REFRESH-TOKEN-PLAINTEXT", "SECRET-PLAINTEXT"]) expect(dump).not.toContain(plain);
      expect(await store.appliedMigrations()).toEqual(postgresMigrations.map((m) => m.version));
    } finally {
      await store.close();
      await schema.drop();
    }
  });
});
