import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reuseFloorMs } from "../../src/broker/credentials/credential-cache.js";
import { BadUserInputError, NotProvisionedError } from "../../src/errors.js";
import { domainKit, forbiddenReasonOf, idTokenOf, poolAUser, type DomainKit } from "../support/domain.js";

/**
 * Provisioning and issuance (src/broker/lifecycle/lifecycle.service.ts provision,
 * src/broker/credentials/issuer.ts): what each user gets, what is reused and what is never shared,
 * with Pool B, the identity pool and STS in memory. test/integration/credential-reuse.test.ts and
 * the security suites prove the same against the emulator.
 */
let kit: DomainKit;
beforeEach(() => {
  kit = domainKit();
});
afterEach(async () => {
  await kit.close();
});

async function provisioned(tenant = "acme") {
  const user = poolAUser(kit, tenant);
  const status = await kit.lifecycle.provision(user, null, kit.meta);
  expect(status.state).toBe("ACTIVE");
  return user;
}

const CLASSIC_900 = { flow: "CLASSIC" as const, durationSeconds: 900 };

describe("provisioning", () => {
  it("makes one Pool B user carrying the tenant and a session tag, and resolves the identity once; again, it calls nothing", async () => {
    const user = poolAUser(kit, "acme");
    await kit.lifecycle.provision(user, null, kit.meta);
    const connection = (await kit.store.getConnection(user.userId))!;
    expect(kit.pool.attribute(connection.poolBUsername, "custom:tenant")).toBe("acme");
    expect(kit.pool.attribute(connection.poolBUsername, "custom:sid")).toBe(connection.sessionTag);
    expect(connection.identityId).toMatch(/^eu-west-1:/);
    const calls = kit.pool.calls.length;
    expect(await kit.lifecycle.provision(user, null, kit.meta)).toMatchObject({ state: "ACTIVE", tenant: "acme" });
    expect(kit.pool.calls.length).toBe(calls);
    expect(kit.exchange.identityLookUps).toBe(1);
  });

  it("converges when five requests race: one Pool B user, one identity look-up", async () => {
    const user = poolAUser(kit, "acme");
    const answers = await Promise.all(Array.from({ length: 5 }, () => kit.lifecycle.provision(user, null, kit.meta)));
    expect(new Set(answers.map((a) => a.state))).toEqual(new Set(["ACTIVE"]));
    expect(kit.pool.count("AdminCreateUser")).toBe(1);
    expect(kit.exchange.identityLookUps).toBe(1);
  });

  it("finishes what a crashed run left: a Pool B user that already exists gets the broker's attributes, not a second user", async () => {
    const user = poolAUser(kit, "acme");
    // The first run stops right after creating the Pool B user (a crash, or Cognito failing the next call).
    kit.pool.failNext = { count: 1, operation: "AdminSetUserPassword", error: () => new Error("process died") };
    await expect(kit.lifecycle.provision(user, null, kit.meta)).rejects.toThrow();
    const half = (await kit.store.getConnection(user.userId))!;
    expect(half.state).toBe("PROVISIONING");
    expect(kit.pool.users.size).toBe(1);
    const status = await kit.lifecycle.provision(user, null, kit.meta);
    expect(status.state).toBe("ACTIVE");
    expect(kit.pool.users.size).toBe(1);
    expect(kit.pool.count("AdminUpdateUserAttributes")).toBe(1);
    const connection = (await kit.store.getConnection(user.userId))!;
    expect(kit.pool.attribute(connection.poolBUsername, "custom:sid")).toBe(connection.sessionTag);
  });

  it("pins the tenant: a token with another tenant later is refused before any Cognito call", async () => {
    const user = await provisioned("acme");
    const calls = kit.pool.calls.length;
    expect(await forbiddenReasonOf(kit.lifecycle.provision({ ...user, tenantClaim: "globex" }, null, kit.meta))).toBe("TENANT_MISMATCH");
    expect(kit.pool.calls.length).toBe(calls);
  });
});

describe("issuance", () => {
  it("needs a provisioned user", async () => {
    await expect(kit.issuance.issue(poolAUser(kit, "acme"), CLASSIC_900, kit.meta)).rejects.toThrow(NotProvisionedError);
    expect(kit.exchange.issued).toEqual([]);
  });

  it("issues under the user's own session tag, reader role and name, for the duration asked, reaching only the tenant's prefix", async () => {
    const user = await provisioned("acme");
    const connection = (await kit.store.getConnection(user.userId))!;
    const view = await kit.issuance.issue(user, CLASSIC_900, kit.meta);
    const [issued] = kit.exchange.issued;
    expect(issued).toMatchObject({ flow: "CLASSIC", tag: connection.sessionTag, accessKeyId: view.accessKeyId });
    expect(issued!.request).toMatchObject({ roleArn: kit.config.shards[0]!.readerRoleArn, durationSeconds: 900, sessionName: connection.poolBUsername });
    const resources = JSON.stringify(JSON.parse(issued!.request!.sessionPolicy));
    expect(resources).toContain("arn:aws:s3:::company-data/tenants/acme/*");
    expect(resources).not.toMatch(/tenants\/(?!acme\/)/);
    expect(view).toMatchObject({ prefix: "tenants/acme/", s3Uri: "s3://company-data/tenants/acme/", durationSeconds: 900 });
    expect(view.expiration.getTime() - kit.clock.now).toBe(900_000);
  });

  it("hands the same credentials out again until the reuse floor, then issues anew", async () => {
    const user = await provisioned();
    const first = await kit.issuance.issue(user, CLASSIC_900, kit.meta);
    kit.clock.now += 900_000 - reuseFloorMs(900) - 1_000;
    expect((await kit.issuance.issue(user, CLASSIC_900, kit.meta)).accessKeyId).toBe(first.accessKeyId);
    kit.clock.now += 2_000;
    expect((await kit.issuance.issue(user, CLASSIC_900, kit.meta)).accessKeyId).not.toBe(first.accessKeyId);
    expect(kit.exchange.issued).toHaveLength(2);
  });

  it("issues once for twenty concurrent requests", async () => {
    const user = await provisioned();
    const answers = await Promise.all(Array.from({ length: 20 }, () => kit.issuance.issue(user, CLASSIC_900, kit.meta)));
    expect(new Set(answers.map((a) => a.accessKeyId)).size).toBe(1);
    expect(kit.exchange.issued).toHaveLength(1);
  });

  it("never shares credentials across users, durations or scopes", async () => {
    const alice = await provisioned("acme");
    const bob = await provisioned("acme");
    const keys = [
      await kit.issuance.issue(alice, CLASSIC_900, kit.meta),
      await kit.issuance.issue(bob, CLASSIC_900, kit.meta),
      await kit.issuance.issue(alice, { flow: "CLASSIC", durationSeconds: 1800 }, kit.meta),
      await kit.issuance.issue(alice, { ...CLASSIC_900, scope: { target: "reports/", permission: "READ" } }, kit.meta),
    ].map((v) => v.accessKeyId);
    expect(new Set(keys).size).toBe(4);
    const tags = kit.exchange.issued.map((i) => i.tag);
    expect(tags[0]).not.toBe(tags[1]);
  });

  it("a scope no grant allows is refused before AWS is called", async () => {
    const admin = poolAUser(kit, "acme", { admin: true });
    const user = await provisioned("acme");
    await kit.grants.create(admin, { tenant: "acme", location: "public/", permission: "READ" }, kit.meta);
    expect(await forbiddenReasonOf(kit.issuance.issue(user, CLASSIC_900, kit.meta))).toBe("NO_GRANT");
    expect(await forbiddenReasonOf(kit.issuance.issue(user, { ...CLASSIC_900, scope: { target: "public/", permission: "WRITE" } }, kit.meta))).toBe("NO_GRANT");
    expect(kit.exchange.issued).toEqual([]);
    const view = await kit.issuance.issue(user, { ...CLASSIC_900, scope: { target: "public/", permission: "READ" } }, kit.meta);
    expect(view.scope.grant.location).toBe("public/");
  });

  it("writes use the writer role with a session policy that writes only under the scope", async () => {
    const admin = poolAUser(kit, "acme", { admin: true });
    const user = await provisioned("acme");
    await kit.grants.create(admin, { tenant: "acme", location: "uploads/", permission: "READWRITE" }, kit.meta);
    await kit.issuance.issue(user, { ...CLASSIC_900, scope: { target: "uploads/", permission: "WRITE" } }, kit.meta);
    const { request } = kit.exchange.issued[0]!;
    expect(request!.roleArn).toBe(kit.config.shards[0]!.writerRoleArn);
    const policy = JSON.parse(request!.sessionPolicy) as { Statement: Array<{ Action: string | string[]; Resource: string | string[] }> };
    const writes = policy.Statement.filter((s) => [s.Action].flat().includes("s3:PutObject"));
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.flatMap((s) => [s.Resource].flat())).toEqual(["arn:aws:s3:::company-data/tenants/acme/uploads/*"]);
  });

  it("the enhanced flow is one hour of the tenant's whole prefix and takes no scope", async () => {
    const user = await provisioned();
    const view = await kit.issuance.issue(user, { flow: "ENHANCED" }, kit.meta);
    expect(view.expiration.getTime() - kit.clock.now).toBe(3_600_000);
    expect(kit.exchange.issued[0]).toMatchObject({ flow: "ENHANCED" });
    await expect(kit.issuance.issue(user, { flow: "ENHANCED", scope: { target: "reports/", permission: "READ" } }, kit.meta)).rejects.toThrow(BadUserInputError);
  });

  it("a caller whose token names another tenant than the pinned one gets nothing, even from the cache, and it is audited", async () => {
    const user = await provisioned("acme");
    await kit.issuance.issue(user, CLASSIC_900, kit.meta);
    expect(await forbiddenReasonOf(kit.issuance.issue({ ...user, tenantClaim: "globex" }, CLASSIC_900, kit.meta))).toBe("TENANT_MISMATCH");
    const events = await kit.store.auditEvents(user.userId, 10);
    expect(events.map((e) => `${e.action}:${e.outcome}:${e.reason ?? ""}`)).toContain("ACCESS_REFUSED:FAILURE:TENANT_MISMATCH");
  });

  it("nothing leaves once a revocation is recorded while the request was with AWS", async () => {
    const user = await provisioned();
    const original = kit.exchange.classicCredentials.bind(kit.exchange);
    kit.exchange.classicCredentials = async (request) => {
      const credentials = await original(request);
      // Another replica's revocation lands while STS answers.
      await kit.store.updateConnection(user.userId, { state: "REVOKED" });
      return credentials;
    };
    expect(await forbiddenReasonOf(kit.issuance.issue(user, CLASSIC_900, kit.meta))).toBe("REVOKED");
  });

  it("every issuance is audited with the flow, the duration, the tenant and the caller's context; a context that would read differently is refused", async () => {
    const user = await provisioned("acme");
    await kit.issuance.issue(user, { ...CLASSIC_900, auditContext: "nightly export" }, kit.meta);
    const [event] = (await kit.store.auditEvents(user.userId, 10)).filter((e) => e.action === "ISSUE");
    expect(event).toMatchObject({ outcome: "SUCCESS", flow: "CLASSIC", durationSeconds: 900, tenant: "acme", auditContext: "nightly export" });
    await expect(kit.issuance.issue(user, { ...CLASSIC_900, auditContext: "report\u202Egpj.exe" }, kit.meta)).rejects.toThrow(BadUserInputError);
  });

  it("an ordinary user cannot obtain another user's credentials; an administrator can, audited as the administrator", async () => {
    const alice = await provisioned("acme");
    const bob = poolAUser(kit, "acme");
    expect(await forbiddenReasonOf(kit.issuance.issue(bob, { ...CLASSIC_900, userId: alice.userId }, kit.meta))).toBe("NOT_ADMIN");
    const admin = poolAUser(kit, "acme", { admin: true });
    await kit.issuance.issue(admin, { ...CLASSIC_900, userId: alice.userId }, kit.meta);
    const [event] = (await kit.store.auditEvents(alice.userId, 10)).filter((e) => e.action === "ISSUE");
    expect(event).toMatchObject({ actorUserId: admin.userId, subjectUserId: alice.userId });
    expect(kit.exchange.issued).toHaveLength(1);
  });

  it("a principal that only claims to be an administrator is refused once Pool A says otherwise", async () => {
    const alice = await provisioned("acme");
    const pretender = idTokenOf("mallory", "acme", { admin: true });
    kit.directory.add({ sub: "mallory", username: "user-mallory", tenant: "acme", groups: [] });
    expect(await forbiddenReasonOf(kit.issuance.issue(pretender, { ...CLASSIC_900, userId: alice.userId }, kit.meta))).toBe("ADMIN_ROLE_LOST");
    expect(kit.exchange.issued).toEqual([]);
  });
});
