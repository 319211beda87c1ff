import { describe, expect } from "vitest";
import { DENY_EXPIRY_MARGIN_MS } from "../../src/broker/lifecycle/lifecycle.service.js";
import { UpstreamError } from "../../src/cognito/aws-errors.js";
import { BadUserInputError, NotProvisionedError } from "../../src/errors.js";
import { forbiddenReasonOf, poolAUser, type DomainKit } from "../support/domain.js";
import { domainTest as it } from "../support/fixtures.js";

/**
 * Revocation, reinstatement, moves and cutting off a key's sessions
 * (src/broker/lifecycle/lifecycle.service.ts, deny-lists.ts) with Pool B, the identity pool, STS
 * and IAM in memory: what each leaves in force, and that it touches no one else. The security
 * suite (test/security/revocation.test.ts) proves the same documents against the emulator and the
 * policy simulator.
 */

const CLASSIC_900 = { flow: "CLASSIC" as const, durationSeconds: 900 };

async function withCredentials(kit: DomainKit, tenant = "acme") {
  const user = poolAUser(kit, tenant);
  await kit.lifecycle.provision(user, null, kit.meta);
  const view = await kit.issuance.issue(user, CLASSIC_900, kit.meta);
  const connection = (await kit.store.getConnection(user.userId))!;
  return { user, view, tag: connection.sessionTag!, poolBUsername: connection.poolBUsername };
}

/** The tags the shard's deny-list documents deny, as IAM holds them. */
function deniedTags(kit: DomainKit): string[] {
  return kit.config.shards.flatMap((shard) =>
    shard.denyListPolicyArns.flatMap((arn) => {
      const statement = (kit.iam.managedDocument(arn)!.Statement as Array<{ Condition: { StringEquals: Record<string, string[]> } }>)[0]!;
      return Object.values(statement.Condition.StringEquals).flat().filter((v) => v !== "-");
    }),
  );
}

describe("revocation", () => {
  it("ends everything: REVOKED, Pool B user disabled and signed out, its tag denied in IAM and no one else's", async ({ kit }) => {
    const alice = await withCredentials(kit);
    const bob = await withCredentials(kit);
    const status = await kit.lifecycle.revoke(alice.user, null, kit.meta);
    expect(status.state).toBe("REVOKED");
    expect(kit.pool.users.get(alice.poolBUsername)).toMatchObject({ enabled: false });
    expect(kit.pool.users.get(alice.poolBUsername)!.refreshTokens.size).toBe(0);
    expect(deniedTags(kit)).toEqual([alice.tag]);
    expect(deniedTags(kit)).not.toContain(bob.tag);
    expect(await forbiddenReasonOf(kit.issuance.issue(alice.user, CLASSIC_900, kit.meta))).toBe("REVOKED");
    // Bob's cached credentials are still his.
    expect((await kit.issuance.issue(bob.user, CLASSIC_900, kit.meta)).accessKeyId).toBe(bob.view.accessKeyId);
  });

  it("keeps the deny until the last credential issued under the tag has expired, plus a margin", async ({ kit }) => {
    const alice = await withCredentials(kit);
    await kit.lifecycle.revoke(alice.user, null, kit.meta);
    const denial = (await kit.store.getSessionDenial(alice.tag))!;
    expect(denial.expiresAt.getTime()).toBe(alice.view.expiration.getTime() + DENY_EXPIRY_MARGIN_MS);
  });

  it("a user who never held a credential is revoked without any IAM write: nothing to deny", async ({ kit }) => {
    const user = poolAUser(kit, "acme");
    await kit.lifecycle.provision(user, null, kit.meta);
    await kit.lifecycle.revoke(user, null, kit.meta);
    expect(kit.iam.writes).toEqual([]);
  });

  it("revoking again writes nothing new and is audited as a repeat", async ({ kit, admin }) => {
    const alice = await withCredentials(kit);
    await kit.lifecycle.revoke(alice.user, null, kit.meta);
    const writes = kit.iam.writes.length;
    await kit.lifecycle.revoke(admin, alice.user.userId, kit.meta);
    expect(kit.iam.writes.length).toBe(writes);
    const revocations = (await kit.store.auditEvents(alice.user.userId, 20)).filter((e) => e.action === "REVOKE_DATA_PLATFORM_USER");
    expect(revocations.map((e) => e.reason ?? null)).toEqual(["ALREADY_REVOKED", null]);
  });

  it("a failed deny-list write leaves the user REVOKED and says so; revoking again completes the deny", async ({ kit }) => {
    const alice = await withCredentials(kit);
    kit.iam.failNext = { count: 3, error: () => new UpstreamError("CreatePolicyVersion", "UNAVAILABLE", "ServiceUnavailable", 503) };
    await expect(kit.lifecycle.revoke(alice.user, null, kit.meta)).rejects.toMatchObject({ code: "UPSTREAM_UNAVAILABLE" });
    expect((await kit.store.getConnection(alice.user.userId))!.state).toBe("REVOKED");
    expect(await forbiddenReasonOf(kit.issuance.issue(alice.user, CLASSIC_900, kit.meta))).toBe("REVOKED");
    expect(deniedTags(kit)).toEqual([]);
    await kit.lifecycle.revoke(alice.user, null, kit.meta);
    expect(deniedTags(kit)).toEqual([alice.tag]);
  });

  it("an ordinary user may revoke only themselves; a user who was never provisioned is NOT_PROVISIONED", async ({ kit }) => {
    const alice = await withCredentials(kit);
    const bob = poolAUser(kit, "acme");
    expect(await forbiddenReasonOf(kit.lifecycle.revoke(bob, alice.user.userId, kit.meta))).toBe("NOT_ADMIN");
    await expect(kit.lifecycle.revoke(bob, null, kit.meta)).rejects.toThrow(NotProvisionedError);
    expect((await kit.store.getConnection(alice.user.userId))!.state).toBe("ACTIVE");
  });

  it("cannot be undone by the user; an administrator's reinstatement draws a new tag, and the old one stays denied", async ({ kit, admin }) => {
    const alice = await withCredentials(kit);
    await kit.lifecycle.revoke(alice.user, null, kit.meta);
    expect(await forbiddenReasonOf(kit.lifecycle.provision(alice.user, null, kit.meta))).toBe("REVOKED");
    expect((await kit.lifecycle.provision(admin, alice.user.userId, kit.meta)).state).toBe("ACTIVE");
    const after = (await kit.store.getConnection(alice.user.userId))!;
    expect(after.sessionTag).not.toBe(alice.tag);
    expect(kit.pool.users.get(alice.poolBUsername)!.enabled).toBe(true);
    const fresh = await kit.issuance.issue(alice.user, CLASSIC_900, kit.meta);
    expect(fresh.accessKeyId).not.toBe(alice.view.accessKeyId);
    expect(kit.exchange.issued.at(-1)!.tag).toBe(after.sessionTag);
    expect(deniedTags(kit)).toEqual([alice.tag]);
  });
});

describe("bulk revocation", () => {
  it("revokes many users with one deny-list write; one user's failure is that user's outcome", async ({ kit, admin }) => {
    const users = await Promise.all(Array.from({ length: 8 }, () => withCredentials(kit)));
    const writes = kit.iam.writes.length;
    const stranger = poolAUser(kit, "acme");
    const outcomes = await kit.lifecycle.revokeMany(admin, [...users.map((u) => u.user.userId), stranger.userId], kit.meta);
    expect(outcomes.filter((o) => o.status?.state === "REVOKED")).toHaveLength(8);
    expect(outcomes.find((o) => o.userId === stranger.userId)).toMatchObject({ status: null, errorCode: "NOT_PROVISIONED" });
    expect(new Set(deniedTags(kit))).toEqual(new Set(users.map((u) => u.tag)));
    // One new version of the one document, and the old version deleted: 2 writes for 8 users.
    expect(kit.iam.writes.length - writes).toBe(2);
  });

  it("is for administrators only, at most 100 users a call", async ({ kit, admin }) => {
    const alice = await withCredentials(kit);
    expect(await forbiddenReasonOf(kit.lifecycle.revokeMany(alice.user, [alice.user.userId], kit.meta))).toBe("NOT_ADMIN");
    await expect(kit.lifecycle.revokeMany(admin, Array.from({ length: 101 }, (_, i) => `u-${i}`), kit.meta)).rejects.toThrow(BadUserInputError);
    await expect(kit.lifecycle.revokeMany(admin, [], kit.meta)).rejects.toThrow(BadUserInputError);
    expect((await kit.store.getConnection(alice.user.userId))!.state).toBe("ACTIVE");
  });
});

describe("moves", () => {
  it("are refused until the application has changed the user's tenant in Pool A; nothing changes", async ({ kit, admin }) => {
    const alice = await withCredentials(kit, "acme");
    await expect(kit.lifecycle.move(admin, alice.user.userId, "globex", kit.meta)).rejects.toThrow(/custom:tenant.*"globex"/);
    expect((await kit.store.getConnection(alice.user.userId))!.tenant).toBe("acme");
    expect(deniedTags(kit)).toEqual([]);
  });

  it("deny the old tag, re-tag the Pool B user for the new tenant, revoke the keys, and issue under the new prefix", async ({ kit, admin }) => {
    const alice = await withCredentials(kit, "acme");
    const { secret } = await kit.clientKeys.create(alice.user, null, { name: "laptop", ...CLASSIC_900 }, kit.meta);
    kit.directory.users.get(alice.user.userId)!.attributes["custom:tenant"] = "globex";
    const status = await kit.lifecycle.move(admin, alice.user.userId, "globex", kit.meta);
    expect(status).toMatchObject({ state: "ACTIVE", tenant: "globex" });
    expect(deniedTags(kit)).toEqual([alice.tag]);
    const moved = (await kit.store.getConnection(alice.user.userId))!;
    expect(kit.pool.attribute(alice.poolBUsername, "custom:tenant")).toBe("globex");
    expect(kit.pool.attribute(alice.poolBUsername, "custom:sid")).toBe(moved.sessionTag);
    expect(moved.sessionTag).not.toBe(alice.tag);
    expect(await forbiddenReasonOf(kit.credentialsWithKey(secret))).toBe("KEY_REVOKED");
    const view = await kit.issuance.issue({ ...alice.user, tenantClaim: "globex" }, CLASSIC_900, kit.meta);
    expect(view.prefix).toBe("tenants/globex/");
    expect(view.accessKeyId).not.toBe(alice.view.accessKeyId);
  });

  it("a revoked user stays revoked in the new tenant", async ({ kit, admin }) => {
    const alice = await withCredentials(kit, "acme");
    await kit.lifecycle.revoke(admin, alice.user.userId, kit.meta);
    kit.directory.users.get(alice.user.userId)!.attributes["custom:tenant"] = "globex";
    expect(await kit.lifecycle.move(admin, alice.user.userId, "globex", kit.meta)).toMatchObject({ state: "REVOKED", tenant: "globex" });
    expect(kit.pool.attribute(alice.poolBUsername, "custom:tenant")).toBe("globex");
  });

  it("are for administrators only", async ({ kit, admin }) => {
    const alice = await withCredentials(kit, "acme");
    kit.directory.users.get(alice.user.userId)!.attributes["custom:tenant"] = "globex";
    expect(await forbiddenReasonOf(kit.lifecycle.move(alice.user, alice.user.userId, "globex", kit.meta))).toBe("NOT_ADMIN");
    await expect(kit.lifecycle.move(admin, alice.user.userId, "../etc", kit.meta)).rejects.toThrow(BadUserInputError);
  });
});

describe("cutting off a leaked key's sessions", () => {
  it("denies the current tag and draws a new one; the user stays active and gets new credentials under it", async ({ kit }) => {
    const alice = await withCredentials(kit);
    const { key } = await kit.clientKeys.create(alice.user, null, { name: "leaked", ...CLASSIC_900 }, kit.meta);
    await kit.clientKeys.revoke(alice.user, key.id, kit.meta, { cutOffSessions: true });
    expect(deniedTags(kit)).toEqual([alice.tag]);
    const after = (await kit.store.getConnection(alice.user.userId))!;
    expect(after.state).toBe("ACTIVE");
    expect(after.sessionTag).not.toBe(alice.tag);
    const fresh = await kit.issuance.issue(alice.user, CLASSIC_900, kit.meta);
    expect(fresh.accessKeyId).not.toBe(alice.view.accessKeyId);
    expect(kit.exchange.issued.at(-1)!.tag).toBe(after.sessionTag);
  });
});
