import { describe, expect } from "vitest";
import { reuseFloorMs } from "../../src/broker/credentials/credential-cache.js";
import { UpstreamError } from "../../src/cognito/aws-errors.js";
import { BadUserInputError, UpstreamRejectedError } from "../../src/errors.js";
import { domainKit, forbiddenReasonOf, poolAUser, provisionedUser } from "../support/domain.js";
import { domainTest as it, domainTestWith } from "../support/fixtures.js";

/**
 * What several replicas share (the store), the last-resort tenant cut-off, the reuse floors, and
 * the limits around them: on the domain kit, with AWS in memory.
 */
const CLASSIC = (durationSeconds: number) => ({ flow: "CLASSIC" as const, durationSeconds });
const minutes = (n: number) => n * 60_000;


describe("replicas", () => {
  it("a second replica hands out what the first issued and stored, instead of asking AWS again", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    const first = await kit.issuance.issue(alice, CLASSIC(900), kit.meta);
    const replica = domainKit({}, { replicaOf: kit });
    try {
      expect((await replica.issuance.issue(alice, CLASSIC(900), kit.meta)).accessKeyId).toBe(first.accessKeyId);
      expect(kit.exchange.issued).toHaveLength(1);
    } finally {
      await replica.close();
    }
  });

  it("a revocation on one replica is final on the other, even for credentials the other holds in memory", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    const replica = domainKit({}, { replicaOf: kit });
    try {
      await replica.issuance.issue(alice, CLASSIC(900), kit.meta);
      await kit.lifecycle.revoke(alice, null, kit.meta);
      expect(await forbiddenReasonOf(replica.issuance.issue(alice, CLASSIC(900), kit.meta))).toBe("REVOKED");
    } finally {
      await replica.close();
    }
  });
});

describe("reuse floors", () => {
  it.for([
    // lifetime (s), last reuse and first new issuance (minutes after issuance)
    [900, 7, 8],
    [1800, 14, 16],
    [3600, 39, 41],
  ] as const)("a %s s key is handed out again until its floor, then issued anew", async ([seconds, reusedAt, renewedAt], { kit }) => {
    const alice = await provisionedUser(kit);
    const issuedAt = kit.clock.now;
    const first = await kit.issuance.issue(alice, CLASSIC(seconds), kit.meta);
    kit.clock.now = issuedAt + minutes(reusedAt);
    const reused = await kit.issuance.issue(alice, CLASSIC(seconds), kit.meta);
    expect(reused.accessKeyId).toBe(first.accessKeyId);
    // What the client receives is outside the SDKs' 5-minute refresh window, and above the floor.
    expect(reused.expiration.getTime() - kit.clock.now).toBeGreaterThan(Math.max(minutes(5), reuseFloorMs(seconds)));
    kit.clock.now = issuedAt + minutes(renewedAt);
    expect((await kit.issuance.issue(alice, CLASSIC(seconds), kit.meta)).accessKeyId).not.toBe(first.accessKeyId);
  });
});

describe("the last-resort tenant cut-off", () => {
  // One deny-list document of 256 characters: 12 tags.
  const small = domainTestWith({ DENY_LIST_POLICY_MAX_CHARS: "256" });

  small("when the deny lists are full, cuts off the one tenant's sessions issued before now, and nobody else's", async ({ kit }) => {
    const acme = await Promise.all(Array.from({ length: 14 }, () => provisionedUser(kit, "acme")));
    const globexUser = await provisionedUser(kit, "globex");
    for (const user of acme) await kit.issuance.issue(user, CLASSIC(900), kit.meta);
    const globexFirst = await kit.issuance.issue(globexUser, CLASSIC(900), kit.meta);
    const survivor = acme.pop()!;
    const before = await kit.issuance.issue(survivor, CLASSIC(900), kit.meta);
    kit.clock.now += 400;
    const outcomes = await kit.lifecycle.revokeMany(poolAUser(kit, "acme", { admin: true }), acme.map((u) => u.userId), kit.meta);
    expect(outcomes.every((o) => o.status?.state === "REVOKED")).toBe(true);
    // 13 revocations, 12 places: the last resort denies acme's sessions issued before now (an inline policy on its shard's roles).
    const inline = kit.iam.documentsOf(kit.config.shards[0]!.readerRoleArn).filter((d) => d.name === kit.config.denyLists.tenantCutoffPolicyName);
    expect(inline).toHaveLength(1);
    expect(JSON.stringify(inline[0]!.policy)).toContain("acme");
    expect(JSON.stringify(inline[0]!.policy)).not.toContain("globex");
    expect(await kit.store.tenantCutoffs(new Date(kit.clock.now))).toEqual([expect.objectContaining({ tenant: "acme" })]);
    // Acme's credentials issued before the cut-off are never handed out again; globex's still are.
    kit.clock.now += 1_000;
    expect((await kit.issuance.issue(survivor, CLASSIC(900), kit.meta)).accessKeyId).not.toBe(before.accessKeyId);
    expect((await kit.issuance.issue(globexUser, CLASSIC(900), kit.meta)).accessKeyId).toBe(globexFirst.accessKeyId);
  });
});

describe("limits and recoveries", () => {
  const fewKeys = domainTestWith({ CLIENT_KEYS_PER_USER: "2" });

  fewKeys("a user has at most CLIENT_KEYS_PER_USER live keys; revoking one makes room", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    const key = { name: "k", ...CLASSIC(900) };
    const first = await kit.clientKeys.create(alice, null, key, kit.meta);
    await kit.clientKeys.create(alice, null, key, kit.meta);
    await expect(kit.clientKeys.create(alice, null, key, kit.meta)).rejects.toThrow(BadUserInputError);
    await kit.clientKeys.revoke(alice, first.key.id, kit.meta);
    await kit.clientKeys.create(alice, null, key, kit.meta);
  });

  it("a bulk revocation whose deny-list write fails says so for each user, and running the same list again completes it", async ({ kit, admin }) => {
    const users = await Promise.all(Array.from({ length: 3 }, () => provisionedUser(kit)));
    for (const user of users) await kit.issuance.issue(user, CLASSIC(900), kit.meta);
    kit.iam.failNext = { count: 3, error: () => new UpstreamError("CreatePolicyVersion", "UNAVAILABLE", "ServiceUnavailable", 503) };
    const failed = await kit.lifecycle.revokeMany(admin, users.map((u) => u.userId), kit.meta);
    for (const outcome of failed) {
      expect(outcome).toMatchObject({ status: { state: "REVOKED" }, errorCode: "UPSTREAM_UNAVAILABLE" });
      expect(outcome.message).toMatch(/Run the same list again/);
    }
    const again = await kit.lifecycle.revokeMany(admin, users.map((u) => u.userId), kit.meta);
    expect(again.every((o) => o.errorCode === null)).toBe(true);
    const document = JSON.stringify(kit.iam.managedDocument(kit.config.shards[0]!.denyListPolicyArns[0]!));
    for (const user of users) expect(document).toContain((await kit.store.getConnection(user.userId))!.sessionTag!);
  });

  it("a move to the tenant the user already has changes nothing", async ({ kit, admin }) => {
    const alice = await provisionedUser(kit);
    await kit.issuance.issue(alice, CLASSIC(900), kit.meta);
    const before = (await kit.store.getConnection(alice.userId))!;
    expect(await kit.lifecycle.move(admin, alice.userId, "acme", kit.meta)).toMatchObject({ state: "ACTIVE", tenant: "acme" });
    const after = (await kit.store.getConnection(alice.userId))!;
    expect([after.sessionTag, after.epoch]).toEqual([before.sessionTag, before.epoch]);
    expect(kit.iam.writes).toEqual([]);
  });

  it("a data platform user enabled again in Pool B works again at the next request, without an administrator", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    const { poolBUsername } = (await kit.store.getConnection(alice.userId))!;
    await kit.pool.disableUser(poolBUsername);
    kit.clock.now += minutes(60);
    await expect(kit.issuance.issue(alice, CLASSIC(900), kit.meta)).rejects.toThrow(UpstreamRejectedError);
    expect((await kit.store.getConnection(alice.userId))!.state).toBe("DISABLED");
    await kit.pool.enableUser(poolBUsername);
    await kit.issuance.issue(alice, CLASSIC(900), kit.meta);
    expect((await kit.store.getConnection(alice.userId))!.state).toBe("ACTIVE");
  });
});
