import { describe, expect } from "vitest";
import { BadUserInputError, RateLimitedError, UnauthenticatedError, UpstreamRejectedError } from "../../src/errors.js";
import { shardOfTag } from "../../src/policy/policies.js";
import { forbiddenReasonOf, partnerOf, poolAUser, provisionedUser } from "../support/domain.js";
import { domainTest as it, domainTestWith } from "../support/fixtures.js";

/**
 * Client keys from making to misuse, sessions spread over several shards, and what callers read
 * of connections: on the domain kit, AWS in memory.
 */
const KEY = { name: "nightly", flow: "CLASSIC" as const, durationSeconds: 900 };
const DAY = 86_400_000;


describe("client keys from making to misuse", () => {
  it("last 90 days unless told otherwise; an expiry in the past or a name over 64 characters is refused", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    const { key } = await kit.clientKeys.create(alice, null, KEY, kit.meta);
    expect(key.expiresAt.getTime() - kit.clock.now).toBe(90 * DAY);
    await expect(kit.clientKeys.create(alice, null, { ...KEY, expiresAt: new Date(kit.clock.now - 1) }, kit.meta)).rejects.toThrow(/expiresAt/);
    await expect(kit.clientKeys.create(alice, null, { ...KEY, name: "n".repeat(65) }, kit.meta)).rejects.toThrow(BadUserInputError);
    const soon = await kit.clientKeys.create(alice, null, { ...KEY, expiresAt: new Date(kit.clock.now + DAY) }, kit.meta);
    expect(soon.key.expiresAt.getTime()).toBe(kit.clock.now + DAY);
  });

  it("are not made for a revoked user (REVOKED) nor a disabled one (UPSTREAM_REJECTED), nor before provisioning", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    await kit.store.updateConnection(alice.userId, { state: "DISABLED" });
    await expect(kit.clientKeys.create(alice, null, KEY, kit.meta)).rejects.toThrow(UpstreamRejectedError);
    await kit.store.updateConnection(alice.userId, { state: "ACTIVE" });
    await kit.lifecycle.revoke(alice, null, kit.meta);
    expect(await forbiddenReasonOf(kit.clientKeys.create(alice, null, KEY, kit.meta))).toBe("REVOKED");
    await expect(kit.clientKeys.create(poolAUser(kit, "acme"), null, KEY, kit.meta)).rejects.toThrow(/provisionDataPlatformUser/);
  });

  it("a user lists their own keys; an administrator lists anyone's; another user nobody's", async ({ kit, admin }) => {
    const alice = await provisionedUser(kit);
    await kit.clientKeys.create(alice, null, KEY, kit.meta);
    expect(await kit.clientKeys.list(alice, null, kit.meta)).toHaveLength(1);
    expect(await kit.clientKeys.list(admin, alice.userId, kit.meta)).toHaveLength(1);
    expect(await forbiddenReasonOf(kit.clientKeys.list(poolAUser(kit, "acme"), alice.userId, kit.meta))).toBe("NOT_ADMIN");
  });

  it("a partner makes keys only for users of its tenants", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    expect(await forbiddenReasonOf(kit.clientKeys.create(partnerOf("p2", ["globex"]), alice.userId, KEY, kit.meta))).toBe("PARTNER_TENANT");
    expect(await kit.store.listClientKeys(alice.userId)).toEqual([]);
  });

  it("records the first use once, and the last use each time", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    const { key, secret } = await kit.clientKeys.create(alice, null, KEY, kit.meta);
    await kit.credentialsWithKey(secret);
    const firstUse = (await kit.store.getClientKey(key.id))!.firstUsedAt;
    kit.clock.now += 60_000;
    await kit.credentialsWithKey(secret);
    const stored = (await kit.store.getClientKey(key.id))!;
    expect(stored.firstUsedAt).toEqual(firstUse);
    expect(stored.lastUsedAt!.getTime()).toBe(kit.clock.now);
    expect((await kit.store.auditEvents(alice.userId, 20)).filter((e) => e.action === "CLIENT_KEY_FIRST_USE")).toHaveLength(1);
  });

  it("revoking a key is its owner's or an administrator's act, audited; revoking it again is harmless", async ({ kit, admin }) => {
    const alice = await provisionedUser(kit);
    const { key, secret } = await kit.clientKeys.create(alice, null, KEY, kit.meta);
    const revoked = await kit.clientKeys.revoke(admin, key.id, kit.meta);
    expect(revoked.revokedAt).not.toBeNull();
    expect(await forbiddenReasonOf(kit.credentialsWithKey(secret))).toBe("KEY_REVOKED");
    const event = (await kit.store.auditEvents(alice.userId, 20)).find((e) => e.action === "CLIENT_KEY_REVOKE");
    expect(event).toMatchObject({ actorUserId: admin.userId, clientKeyId: key.id, outcome: "SUCCESS" });
    expect((await kit.clientKeys.revoke(alice, key.id, kit.meta)).revokedAt).not.toBeNull();
  });
});

describe("guessing and flooding keys", () => {
  const few = domainTestWith({ RATE_LIMIT_KEY_FAILURES_PER_MINUTE: "3", RATE_LIMIT_CREDENTIAL_ENDPOINT_PER_MINUTE: "2" });

  few("wrong secrets from one address use up its allowance: then even the right key from there waits, and other addresses do not", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    const { secret } = await kit.clientKeys.create(alice, null, KEY, kit.meta);
    const from = (sourceAddress: string) => ({ ...kit.meta, sourceAddress });
    for (let i = 0; i < 3; i++) await expect(kit.authenticator.clientKey(`${secret.slice(0, -6)}AAAAAA`, from("203.0.113.9"))).rejects.toThrow(UnauthenticatedError);
    await expect(kit.authenticator.clientKey(secret, from("203.0.113.9"))).rejects.toThrow(RateLimitedError);
    await kit.authenticator.clientKey(secret, from("198.51.100.7"));
  });

  few("guesses at one key from many addresses are limited per key too, while its owner's right secret still works", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    const { secret } = await kit.clientKeys.create(alice, null, KEY, kit.meta);
    const wrong = `${secret.slice(0, -6)}BBBBBB`;
    for (let i = 0; i < 3; i++) await kit.authenticator.clientKey(wrong, { ...kit.meta, sourceAddress: `203.0.113.${i}` }).catch(() => undefined);
    await expect(kit.authenticator.clientKey(wrong, { ...kit.meta, sourceAddress: "203.0.113.99" })).rejects.toThrow(RateLimitedError);
    await kit.authenticator.clientKey(secret, { ...kit.meta, sourceAddress: "198.51.100.1" });
  });

  few("one key asks for credentials at most RATE_LIMIT_CREDENTIAL_ENDPOINT_PER_MINUTE times a minute", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    const { secret } = await kit.clientKeys.create(alice, null, KEY, kit.meta);
    await kit.credentialsWithKey(secret);
    await kit.credentialsWithKey(secret);
    await expect(kit.credentialsWithKey(secret)).rejects.toThrow(RateLimitedError);
    const other = await kit.clientKeys.create(alice, null, KEY, kit.meta);
    await kit.credentialsWithKey(other.secret);
  });
});

describe("sessions over several shards", () => {
  const shard = (n: number) => ({
    readerRoleArn: `arn:aws:iam::123456789012:role/reader-${n}`,
    writerRoleArn: `arn:aws:iam::123456789012:role/writer-${n}`,
    denyListPolicyArns: [`arn:aws:iam::123456789012:policy/deny-${n}-0`],
  });
  const sharded = domainTestWith({ SESSION_SHARDS: JSON.stringify([shard(0), shard(1), shard(2)]) });

  sharded("each user's sessions take their shard's role, and a revocation writes only that shard's deny list", async ({ kit }) => {
    const users = await Promise.all(Array.from({ length: 12 }, () => provisionedUser(kit)));
    const shards = new Map<number, string[]>();
    for (const user of users) {
      const { sessionTag } = (await kit.store.getConnection(user.userId))!;
      shards.set(shardOfTag(sessionTag!), [...(shards.get(shardOfTag(sessionTag!)) ?? []), user.userId]);
      await kit.issuance.issue(user, KEY, kit.meta);
      expect(kit.exchange.issued.at(-1)!.request!.roleArn).toBe(shard(shardOfTag(sessionTag!)).readerRoleArn);
    }
    expect(shards.size).toBeGreaterThan(1);
    const [victimShard, [victim]] = [...shards.entries()][0]! as [number, string[]];
    await kit.lifecycle.revoke(users.find((u) => u.userId === victim)!, null, kit.meta);
    for (let n = 0; n < 3; n++) {
      const document = JSON.stringify(kit.iam.managedDocument(shard(n).denyListPolicyArns[0]!));
      expect(document.includes((await kit.store.getConnection(victim!))!.sessionTag!), `shard ${n}`).toBe(n === victimShard);
    }
  });

  sharded("a user keeps their shard across reinstatement, so their tags stay on one shard's lists", async ({ kit, admin }) => {
    const alice = await provisionedUser(kit);
    const before = shardOfTag((await kit.store.getConnection(alice.userId))!.sessionTag!);
    await kit.issuance.issue(alice, KEY, kit.meta);
    await kit.lifecycle.revoke(alice, null, kit.meta);
    await kit.lifecycle.provision(admin, alice.userId, kit.meta);
    expect(shardOfTag((await kit.store.getConnection(alice.userId))!.sessionTag!)).toBe(before);
  });
});

describe("what callers read of connections", () => {
  it("an administrator's read of another user's status is audited as theirs; a user's own is not", async ({ kit, admin }) => {
    const alice = await provisionedUser(kit);
    const reads = { connection: (id: string) => kit.store.getConnection(id), lastIssuance: (id: string) => kit.store.lastIssuance(id) };
    await kit.services.connections.status(alice, null, reads, kit.meta);
    expect((await kit.store.auditEvents(alice.userId, 10)).filter((e) => e.action === "ADMIN_READ")).toHaveLength(0);
    await kit.services.connections.status(admin, alice.userId, reads, kit.meta);
    const read = (await kit.store.auditEvents(alice.userId, 10)).find((e) => e.action === "ADMIN_READ");
    expect(read).toMatchObject({ actorUserId: admin.userId, subjectUserId: alice.userId });
  });

  it("a status with a tenant claim that is not a tenant shows no tenant rather than a wrong one", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    const reads = { connection: (id: string) => kit.store.getConnection(id), lastIssuance: (id: string) => kit.store.lastIssuance(id) };
    expect(await kit.services.connections.status({ ...alice, tenantClaim: "../../etc" }, null, reads, kit.meta)).toMatchObject({ tenant: null, prefix: null });
  });

  it("a token refresh for a revoked user is refused, and audited", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    await kit.lifecycle.revoke(alice, null, kit.meta);
    expect(await forbiddenReasonOf(kit.services.connections.refreshTokens(alice, null, kit.meta))).toBe("REVOKED");
    const [event] = await kit.store.auditEvents(alice.userId, 1);
    expect(event).toMatchObject({ action: "REFRESH", outcome: "FAILURE", reason: "REVOKED" });
  });

  it("a bulk revocation counts each user once, whatever the list repeats", async ({ kit, admin }) => {
    const alice = await provisionedUser(kit);
    const outcomes = await kit.lifecycle.revokeMany(admin, [alice.userId, alice.userId, alice.userId], kit.meta);
    expect(outcomes).toHaveLength(1);
  });

  it("an issuance refused for want of a grant is audited with its reason and target", async ({ kit, admin }) => {
    const alice = await provisionedUser(kit);
    await kit.grants.create(admin, { tenant: "acme", location: "public/", permission: "READ" }, kit.meta);
    await kit.issuance.issue(alice, { ...KEY, scope: { target: "private/", permission: "READ" } }, kit.meta).catch(() => undefined);
    const [event] = (await kit.store.auditEvents(alice.userId, 10)).filter((e) => e.action === "ISSUE");
    expect(event).toMatchObject({ outcome: "FAILURE", reason: "NO_GRANT", target: "private/", errorCode: "FORBIDDEN" });
  });
});
