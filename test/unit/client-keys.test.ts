import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_KEY_LIFETIME_DAYS } from "../../src/broker/client-keys/client-keys.service.js";
import { BadUserInputError, UnauthenticatedError } from "../../src/errors.js";
import type { Principal } from "../../src/auth/principal.js";
import { domainKit, forbiddenReasonOf, poolAUser, type DomainKit } from "../support/domain.js";

/**
 * Client keys (src/broker/client-keys/client-keys.service.ts, src/auth/client-keys.ts): made within
 * the rules of issuance, authenticated on every use, and working only while the people behind them
 * still stand where they stood. In memory; test/integration/client-keys.test.ts proves the
 * credential endpoint over HTTP against the emulator.
 */
let kit: DomainKit;
let admin: Principal;
let alice: Principal;
const DAY = 86_400_000;
const KEY = { name: "nightly export", flow: "CLASSIC" as const, durationSeconds: 900 };

beforeEach(async () => {
  kit = domainKit();
  admin = poolAUser(kit, "acme", { admin: true });
  alice = poolAUser(kit, "acme");
  await kit.lifecycle.provision(alice, null, kit.meta);
});
afterEach(async () => {
  await kit.close();
});

/** Past the standing cache, so the next use reads Pool A again. */
function afterStandingCache(): void {
  kit.clock.now += kit.config.poolA.standingCacheMs + 1_000;
}

describe("making a key", () => {
  it("shows the secret once and stores only its hash; the first use is audited once, and repeated uses come from the cache", async () => {
    const { key, secret } = await kit.clientKeys.create(alice, null, KEY, kit.meta);
    const stored = (await kit.store.getClientKey(key.id))!;
    expect(JSON.stringify(stored)).not.toContain(secret.split(".").at(-1));
    const first = await kit.credentialsWithKey(secret);
    const second = await kit.credentialsWithKey(secret);
    expect(second.credentials.accessKeyId).toBe(first.credentials.accessKeyId);
    expect(kit.exchange.issued).toHaveLength(1);
    const events = (await kit.store.auditEvents(alice.userId, 20)).map((e) => e.action);
    expect(events.filter((a) => a === "CLIENT_KEY_FIRST_USE")).toHaveLength(1);
    expect(events.filter((a) => a === "ISSUE")).toHaveLength(1);
  });

  it("follows issuance's rules: a scope only with CLASSIC, within a grant, and a lifetime of at most 397 days", async () => {
    await expect(kit.clientKeys.create(alice, null, { ...KEY, flow: "ENHANCED", scope: { target: "x/", permission: "READ" } }, kit.meta)).rejects.toThrow(BadUserInputError);
    await kit.grants.create(admin, { tenant: "acme", location: "public/", permission: "READ" }, kit.meta);
    expect(await forbiddenReasonOf(kit.clientKeys.create(alice, null, { ...KEY, scope: { target: "private/", permission: "READ" } }, kit.meta))).toBe("NO_GRANT");
    const tooLong = new Date(kit.clock.now + (MAX_KEY_LIFETIME_DAYS + 1) * DAY);
    await expect(kit.clientKeys.create(alice, null, { ...KEY, scope: { target: "public/", permission: "READ" }, expiresAt: tooLong }, kit.meta)).rejects.toThrow(/397 days/);
    await expect(kit.clientKeys.create(alice, null, { ...KEY, name: "report\u202Egpj", scope: { target: "public/", permission: "READ" } }, kit.meta)).rejects.toThrow(BadUserInputError);
    expect(await kit.store.listClientKeys(alice.userId)).toEqual([]);
  });

  it("another user's keys are out of reach: revoking one gets the same answer as an id that does not exist", async () => {
    const { key } = await kit.clientKeys.create(alice, null, KEY, kit.meta);
    const bob = poolAUser(kit, "acme");
    const theirs = await kit.clientKeys.revoke(bob, key.id, kit.meta).catch((e: Error) => e.message);
    const unknown = await kit.clientKeys.revoke(bob, "ck_doesnotexist", kit.meta).catch((e: Error) => e.message);
    expect(theirs).toBe(unknown);
    expect((await kit.store.getClientKey(key.id))!.revokedAt).toBeNull();
  });
});

describe("using a key", () => {
  it("a wrong secret is UNAUTHENTICATED; a revoked or expired key is refused at once, even with credentials cached", async () => {
    const { key, secret } = await kit.clientKeys.create(alice, null, { ...KEY, expiresAt: new Date(kit.clock.now + DAY) }, kit.meta);
    await kit.credentialsWithKey(secret);
    await expect(kit.credentialsWithKey(`${secret.slice(0, -4)}AAAA`)).rejects.toThrow(UnauthenticatedError);
    kit.clock.now += DAY;
    expect(await forbiddenReasonOf(kit.credentialsWithKey(secret))).toBe("KEY_EXPIRED");
    const other = await kit.clientKeys.create(alice, null, KEY, kit.meta);
    await kit.clientKeys.revoke(alice, other.key.id, kit.meta);
    expect(await forbiddenReasonOf(kit.credentialsWithKey(other.secret))).toBe("KEY_REVOKED");
    expect(key.id).not.toBe(other.key.id);
  });

  it("stops working when its owner leaves Pool A, is disabled there, or moves to another tenant", async () => {
    const { secret } = await kit.clientKeys.create(alice, null, KEY, kit.meta);
    await kit.credentialsWithKey(secret);
    const owner = kit.directory.users.get(alice.userId)!;
    owner.attributes["custom:tenant"] = "globex";
    afterStandingCache();
    expect(await forbiddenReasonOf(kit.credentialsWithKey(secret))).toBe("TENANT_MISMATCH");
    owner.attributes["custom:tenant"] = "acme";
    owner.enabled = false;
    afterStandingCache();
    expect(await forbiddenReasonOf(kit.credentialsWithKey(secret))).toBe("OWNER_DISABLED");
    kit.directory.users.delete(alice.userId);
    afterStandingCache();
    expect(await forbiddenReasonOf(kit.credentialsWithKey(secret))).toBe("OWNER_GONE");
    const refusals = (await kit.store.auditEvents(alice.userId, 20)).filter((e) => e.action === "CLIENT_KEY_REFUSED").map((e) => e.reason);
    expect(refusals).toEqual(expect.arrayContaining(["TENANT_MISMATCH", "OWNER_DISABLED", "OWNER_GONE"]));
  });

  it("a key an administrator made stops when that administrator loses the role; the owner's own key, sharing the cached credentials, does not", async () => {
    const made = await kit.clientKeys.create(admin, alice.userId, KEY, kit.meta);
    const own = await kit.clientKeys.create(alice, null, KEY, kit.meta);
    const shared = await kit.credentialsWithKey(made.secret);
    kit.directory.users.get(admin.userId)!.groups = [];
    afterStandingCache();
    expect(await forbiddenReasonOf(kit.credentialsWithKey(made.secret))).toBe("CREATOR_NOT_ADMIN");
    expect((await kit.credentialsWithKey(own.secret)).credentials.accessKeyId).toBe(shared.credentials.accessKeyId);
  });

  it("a grant deleted after the key was made ends what the key reaches", async () => {
    const grant = await kit.grants.create(admin, { tenant: "acme", location: "reports/", permission: "READ" }, kit.meta);
    const { secret } = await kit.clientKeys.create(alice, null, { ...KEY, scope: { target: "reports/", permission: "READ" } }, kit.meta);
    await kit.credentialsWithKey(secret);
    await kit.grants.remove(admin, grant.id, kit.meta);
    expect(await forbiddenReasonOf(kit.credentialsWithKey(secret))).toBe("NO_GRANT");
  });

  it("a revoked user's keys are all revoked, and stay so after reinstatement", async () => {
    const { secret } = await kit.clientKeys.create(alice, null, KEY, kit.meta);
    await kit.lifecycle.revoke(alice, null, kit.meta);
    expect(await forbiddenReasonOf(kit.credentialsWithKey(secret))).toBe("KEY_REVOKED");
    await kit.lifecycle.provision(admin, alice.userId, kit.meta);
    expect(await forbiddenReasonOf(kit.credentialsWithKey(secret))).toBe("KEY_REVOKED");
  });
});
