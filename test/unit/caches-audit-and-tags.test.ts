import { describe, expect, it as plain } from "vitest";
import { CredentialCache } from "../../src/broker/credentials/credential-cache.js";
import { RateLimits } from "../../src/broker/rate-limits.js";
import { UpstreamError } from "../../src/cognito/aws-errors.js";
import type { IssuedCredentials } from "../../src/cognito/identity-exchange.js";
import { RateLimitedError, UnauthenticatedError } from "../../src/errors.js";
import { shardOfTag } from "../../src/policy/policies.js";
import { type DomainKit, poolAUser } from "../support/domain.js";
import { domainTest as it } from "../support/fixtures.js";

/**
 * The in-memory credential cache, the audit trail's one event per act, session tags, the rate
 * limits counted in memory, and issuance's durations: small rules every request depends on.
 */
const credentials = (expiresAt: number, id = "ASIA1"): IssuedCredentials => ({ accessKeyId: id, secretAccessKey: "s", sessionToken: "t", expiration: new Date(expiresAt) });

describe("the credential cache", () => {
  plain("shares one issuance among concurrent misses, and a failed one is not remembered", async () => {
    const now = 0;
    const cache = new CredentialCache(() => now);
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw new Error("AWS is down");
    };
    await Promise.all([1, 2, 3].map(() => expect(cache.getOrIssue("u\u0000a", 900, failing)).rejects.toThrow("AWS is down")));
    expect(calls).toBe(1);
    const answer = await cache.getOrIssue("u\u0000a", 900, async () => credentials(now + 900_000));
    expect(answer).toMatchObject({ cached: false, credentials: { accessKeyId: "ASIA1" } });
    expect((await cache.getOrIssue("u\u0000a", 900, failing)).cached).toBe(true);
  });

  plain("forgets one user's entries and nobody else's", async () => {
    const cache = new CredentialCache(() => 0);
    await cache.getOrIssue(CredentialCache.keyFor("alice", "x"), 900, async () => credentials(900_000, "A"));
    await cache.getOrIssue(CredentialCache.keyFor("bob", "x"), 900, async () => credentials(900_000, "B"));
    cache.forgetUser("alice");
    const again = async (user: string) => (await cache.getOrIssue(CredentialCache.keyFor(user, "x"), 900, async () => credentials(900_000, "new"))).credentials.accessKeyId;
    expect([await again("alice"), await again("bob")]).toEqual(["new", "B"]);
  });

  plain("never hands out a hit the caller says is dead (a tenant cut-off), and replaces it", async () => {
    const cache = new CredentialCache(() => 0);
    await cache.getOrIssue("k", 900, async () => credentials(900_000, "old"));
    const answer = await cache.getOrIssue("k", 900, async () => credentials(900_000, "new"), (hit) => hit.accessKeyId !== "old");
    expect(answer.credentials.accessKeyId).toBe("new");
  });
});

describe("the audit trail", () => {
  it("writes one event per act: its outcome, the error code and the refusal's reason on failure", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    await kit.lifecycle.provision({ ...alice, tenantClaim: "globex" }, null, kit.meta).catch(() => undefined);
    const provisions = (await kit.store.auditEvents(alice.userId, 10)).filter((e) => e.action === "PROVISION");
    expect(provisions.map((e) => [e.outcome, e.errorCode ?? null, e.reason ?? null])).toEqual([
      ["FAILURE", "FORBIDDEN", "TENANT_MISMATCH"],
      ["SUCCESS", null, null],
    ]);
  });

  it("an AWS failure is logged by its name and status only (never AWS's message), and audited as the error a client sees", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    const logged: object[] = [];
    const meta = { ...kit.meta, log: { ...kit.meta.log, warn: (obj: object) => void logged.push(obj) } };
    kit.pool.failNext = { count: 5, error: () => Object.assign(new UpstreamError("AdminCreateUser", "UNAVAILABLE", "ServiceUnavailable", 503), { message: "pool eu-west-1_SECRETID is busy" }) };
    await expect(kit.lifecycle.provision(alice, null, meta)).rejects.toMatchObject({ code: "UPSTREAM_UNAVAILABLE" });
    expect(logged).toContainEqual(expect.objectContaining({ event: "upstream_error", operation: "AdminCreateUser", awsError: "ServiceUnavailable", httpStatus: 503 }));
    expect(JSON.stringify(logged)).not.toContain("SECRETID");
    const [event] = await kit.store.auditEvents(alice.userId, 1);
    expect(event).toMatchObject({ action: "PROVISION", outcome: "FAILURE", errorCode: "UPSTREAM_UNAVAILABLE" });
  });

  it("records the client's request id beside the broker's, never instead of it", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, { ...kit.meta, requestId: "broker-1", clientRequestId: "client-chosen" });
    const [event] = await kit.store.auditEvents(alice.userId, 1);
    expect(event).toMatchObject({ requestId: "broker-1", clientRequestId: "client-chosen" });
  });
});

describe("session tags", () => {
  async function tagOf(kit: DomainKit, userId: string) {
    return (await kit.store.getConnection(userId))!.sessionTag!;
  }

  it("each user gets a tag of their own shard, set on their Pool B user, and no two users share one", async ({ kit }) => {
    const users = await Promise.all(Array.from({ length: 20 }, async () => {
      const user = poolAUser(kit, "acme");
      await kit.lifecycle.provision(user, null, kit.meta);
      return user;
    }));
    const tags = await Promise.all(users.map((u) => tagOf(kit, u.userId)));
    expect(new Set(tags).size).toBe(20);
    for (const tag of tags) expect(shardOfTag(tag)).toBe(0);
    const { poolBUsername } = (await kit.store.getConnection(users[0]!.userId))!;
    expect(kit.pool.attribute(poolBUsername, "custom:sid")).toBe(tags[0]);
  });

  it("a reinstated user's new tag is never the denied one, and the denied one is never drawn again for anyone", async ({ kit, admin }) => {
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    await kit.issuance.issue(alice, { flow: "CLASSIC", durationSeconds: 900 }, kit.meta);
    const denied = await tagOf(kit, alice.userId);
    await kit.lifecycle.revoke(alice, null, kit.meta);
    await kit.lifecycle.provision(admin, alice.userId, kit.meta);
    expect(await tagOf(kit, alice.userId)).not.toBe(denied);
    // The store refuses the denied tag to anyone else.
    expect(await kit.store.claimSessionTag("someone-else", denied)).toBe(false);
  });
});

describe("rate limits (counted in memory without Redis)", () => {
  plain("each actor has its own allowance: one flooding is refused, with when to retry, and another is not", async () => {
    const limits = new RateLimits({ mutationsPerMinute: 3, credentialEndpointPerMinute: 1, revocationsPerMinute: 1, bulkRevocationsPerMinute: 1, actorFieldsPerMinute: 1, partnerLookupsPerMinute: 1, keyFailuresPerMinute: 1, anonymousPerMinute: 1, redisUrl: undefined });
    try {
      for (let i = 0; i < 3; i++) await limits.consume("mutation", "mallory");
      const refused = await limits.consume("mutation", "mallory").catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RateLimitedError);
      expect((refused as RateLimitedError).extensions.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      await limits.consume("mutation", "alice");
      // Buckets are separate: mallory's mutations do not spend her credential-endpoint allowance.
      await limits.consume("credential-endpoint", "mallory");
    } finally {
      await limits.close();
    }
  });
});

describe("issuance's durations", () => {
  it("a CLASSIC request without a duration lasts an hour; 899 s and more than the role allows are refused before AWS", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    const view = await kit.issuance.issue(alice, { flow: "CLASSIC" }, kit.meta);
    expect(view.durationSeconds).toBe(3600);
    for (const durationSeconds of [899, 3601 * 12]) {
      await expect(kit.issuance.issue(alice, { flow: "CLASSIC", durationSeconds }, kit.meta), String(durationSeconds)).rejects.toThrow(/durationSeconds must be a whole number from 900/);
    }
    await expect(kit.issuance.issue(alice, { flow: "ENHANCED", durationSeconds: 3600 }, kit.meta)).rejects.toThrow(/cannot be set for the ENHANCED flow/);
    expect(kit.exchange.issued).toHaveLength(1);
  });

  it("a scope of one object reads that object only; a client key with a WRITE scope is issued with the writer role", async ({ kit, admin }) => {
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    await kit.issuance.issue(alice, { flow: "CLASSIC", durationSeconds: 900, scope: { target: "reports/q1.csv", permission: "READ" } }, kit.meta);
    const policy = JSON.parse(kit.exchange.issued[0]!.request!.sessionPolicy) as { Statement: Array<{ Action: string[]; Resource: string }> };
    expect(policy.Statement).toEqual([expect.objectContaining({ Action: ["s3:GetObject", "s3:GetObjectVersion"], Resource: "arn:aws:s3:::company-data/tenants/acme/reports/q1.csv" })]);
    await kit.grants.create(admin, { tenant: "acme", location: "drop/", permission: "WRITE" }, kit.meta);
    const { secret } = await kit.clientKeys.create(alice, null, { name: "uploader", flow: "CLASSIC", durationSeconds: 900, scope: { target: "drop/", permission: "WRITE" } }, kit.meta);
    await kit.credentialsWithKey(secret);
    expect(kit.exchange.issued.at(-1)!.request!.roleArn).toBe(kit.config.shards[0]!.writerRoleArn);
  });

  it("a client key issues for its owner's tenant only; no key at all is UNAUTHENTICATED", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    const { secret } = await kit.clientKeys.create(alice, null, { name: "k", flow: "CLASSIC", durationSeconds: 900 }, kit.meta);
    const { credentials: issued } = await kit.credentialsWithKey(secret);
    expect(issued.prefix).toBe("tenants/acme/");
    await expect(kit.credentialsWithKey(undefined)).rejects.toThrow(UnauthenticatedError);
  });
});
