import {
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminRemoveUserFromGroupCommand,
  CreateUserPoolClientCommand,
  UpdateUserAttributesCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { GetPolicyCommand, GetPolicyVersionCommand, IAMClient, ListAttachedRolePoliciesCommand } from "@aws-sdk/client-iam";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TenantWritableError } from "../../src/broker/access/tenant-write-check.js";
import { issuedFor } from "../../src/broker/credentials/issued-for.js";
import { roleNameOf } from "../../src/cognito/role-policies.js";
import {
  AuditEventsDocument,
  ConnectionStatusDocument,
  CreateClientKeyDocument,
  IssueCredentialsDocument,
  MoveDataPlatformUserDocument,
  ProvisionDataPlatformUserDocument,
  RevokeClientKeyDocument,
  RevokeDataPlatformUserDocument,
} from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf, fetchCredentials } from "../support/credential-endpoint.js";
import { errorCodes, execute, post } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser, poolAAdmin, type TestPoolAUser } from "../support/pool-a-users.js";
import { mintPoolAToken } from "../../src/dev/moto-tokens.js";
import { poolBUsers } from "../support/users.js";

/**
 * The attacks on the tenant boundary, replayed over HTTP against a real broker and moto. moto does
 * not enforce WriteAttributes, so a user really can change their own tenant attribute here: the
 * broker's pinning is what must refuse.
 */
let aws: LocalAws;
let broker: BrokerUnderTest;
/** The broker's clock: real time plus what a test advanced it by (Pool A look-ups are trusted for a minute). */
let offsetMs = 0;
let admin: TestPoolAUser;
let adminToken: string;

beforeAll(async () => {
  aws = await startLocalAws();
  // The race below sends hundreds of mutations a minute from one user.
  broker = await startBroker(aws.stack, { RATE_LIMIT_MUTATIONS_PER_MINUTE: "100000", RATE_LIMIT_FIELDS_PER_MINUTE: "100000", RATE_LIMIT_REVOCATIONS_PER_MINUTE: "100000" }, { now: () => Date.now() + offsetMs });
  admin = await freshPoolAUser(aws.stack, { tenant: "acme", admin: true });
  adminToken = (await admin.signIn()).idToken;
});

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
});

async function provisioned(tenant = "acme"): Promise<{ user: TestPoolAUser; idToken: string; accessToken: string }> {
  const user = await freshPoolAUser(aws.stack, { tenant });
  const tokens = await user.signIn();
  const result = await execute(broker.url, ProvisionDataPlatformUserDocument, {}, tokens.idToken);
  expect(result.errors).toBeUndefined();
  expect(result.data!.provisionDataPlatformUser).toMatchObject({ state: "ACTIVE", tenant });
  return { user, ...tokens };
}

const reasonOf = (result: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> | undefined }) => result.errors?.[0]?.extensions?.reason;

async function auditOf(userId: string) {
  return broker.broker.store.auditEvents(userId, 500);
}

describe("who sets a tenant", () => {
  it("a user who writes their own tenant attribute and signs in again is refused (TENANT_MISMATCH), audited, nothing moved", async () => {
    const { user, accessToken } = await provisioned("acme");
    // The attack: UpdateUserAttributes with the user's own access token (moto, unlike AWS with the
    // bootstrap's WriteAttributes, lets it through).
    const client = poolAAdmin(aws.stack);
    await client.send(new UpdateUserAttributesCommand({ AccessToken: accessToken, UserAttributes: [{ Name: "custom:tenant", Value: "globex" }] }));
    client.destroy();
    const forged = (await user.signIn()).idToken;
    const upstreamBefore = await upstreamCalls();

    const provision = await execute(broker.url, ProvisionDataPlatformUserDocument, {}, forged);
    expect(errorCodes(provision)).toEqual(["FORBIDDEN"]);
    expect(reasonOf(provision)).toBe("TENANT_MISMATCH");
    const issue = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC" }, forged);
    expect(errorCodes(issue)).toEqual(["FORBIDDEN"]);
    expect(reasonOf(issue)).toBe("TENANT_MISMATCH");
    const key = await execute(broker.url, CreateClientKeyDocument, { input: { name: "exfil", flow: "ENHANCED" } }, forged);
    expect(reasonOf(key)).toBe("TENANT_MISMATCH");
    // No Cognito call was made for the refused requests.
    expect(await upstreamCalls()).toBe(upstreamBefore);

    const status = await execute(broker.url, ConnectionStatusDocument, {}, forged);
    expect(status.data!.connectionStatus).toMatchObject({ tenant: "acme", prefix: "tenants/acme/" });
    const { poolBUsername } = (await broker.broker.store.getConnection(user.sub))!;
    expect((await poolBUsers(aws.stack)).find((u) => u.username === poolBUsername)).toMatchObject({ tenant: "acme" });
    const refusals = (await auditOf(user.sub)).filter((e) => e.action === "ACCESS_REFUSED");
    expect(refusals).toHaveLength(3);
    expect(refusals[0]).toMatchObject({ reason: "TENANT_MISMATCH", tenant: "acme", previousTenant: "globex", outcome: "FAILURE" });
  });

  it("a token without a tenant claim is FORBIDDEN (TENANT_MISSING), never silently its own tenant", async () => {
    const token = await mintPoolAToken(aws.stack, `no-tenant-${Date.now()}`, { claims: { "custom:tenant": undefined } });
    const result = await execute(broker.url, ProvisionDataPlatformUserDocument, {}, token);
    expect(errorCodes(result)).toEqual(["FORBIDDEN"]);
    expect(reasonOf(result)).toBe("TENANT_MISSING");
  });

  it("the broker refuses to start when Pool A's app client leaves WriteAttributes unset or lets users write the tenant", async () => {
    const client = poolAAdmin(aws.stack);
    const unset = await client.send(new CreateUserPoolClientCommand({ UserPoolId: aws.stack.poolA.userPoolId, ClientName: "unset" }));
    const writable = await client.send(
      new CreateUserPoolClientCommand({ UserPoolId: aws.stack.poolA.userPoolId, ClientName: "writable", WriteAttributes: ["email", "custom:tenant"] }),
    );
    client.destroy();
    await expect(startBroker(aws.stack, { POOL_A_CLIENT_ID: unset.UserPoolClient!.ClientId! })).rejects.toThrow(/sets no WriteAttributes/);
    await expect(startBroker(aws.stack, { POOL_A_CLIENT_ID: writable.UserPoolClient!.ClientId! })).rejects.toThrow(TenantWritableError);
    await expect(startBroker(aws.stack, { POOL_A_CLIENT_ID: writable.UserPoolClient!.ClientId! })).rejects.toThrow(/lets users write custom:tenant/);
    // The documented override, for pools whose tenant claim does not come from a writable attribute.
    const overridden = await startBroker(aws.stack, { POOL_A_CLIENT_ID: writable.UserPoolClient!.ClientId!, POOL_A_SKIP_TENANT_WRITE_CHECK: "true" });
    expect(overridden.logs.some((line) => line.includes("tenant_write_check_skipped"))).toBe(true);
    await overridden.close();
  });
});

describe("access tokens", () => {
  it("read the tenant from Pool A (access tokens carry no custom attributes), never fall back to sub", async () => {
    const accessBroker = await startBroker(aws.stack, { POOL_A_TOKEN_USE: "access" });
    try {
      const user = await freshPoolAUser(aws.stack, { tenant: "globex" });
      const { accessToken } = await user.signIn();
      const result = await execute(accessBroker.url, ProvisionDataPlatformUserDocument, {}, accessToken);
      expect(result.errors).toBeUndefined();
      expect(result.data!.provisionDataPlatformUser).toMatchObject({ tenant: "globex", prefix: "tenants/globex/" });

      const tenantless = await freshPoolAUser(aws.stack, { tenant: null });
      const refused = await execute(accessBroker.url, ProvisionDataPlatformUserDocument, {}, (await tenantless.signIn()).accessToken);
      expect(reasonOf(refused)).toBe("TENANT_MISSING");
    } finally {
      await accessBroker.close();
    }
  });

  it("fall back to sub only when POOL_A_TENANT_FALLBACK=sub says so", async () => {
    const fallbackBroker = await startBroker(aws.stack, { POOL_A_TOKEN_USE: "access", POOL_A_TENANT_FALLBACK: "sub" });
    try {
      const tenantless = await freshPoolAUser(aws.stack, { tenant: null });
      const result = await execute(fallbackBroker.url, ProvisionDataPlatformUserDocument, {}, (await tenantless.signIn()).accessToken);
      expect(result.errors).toBeUndefined();
      expect(result.data!.provisionDataPlatformUser.tenant).toBe(tenantless.sub);
    } finally {
      await fallbackBroker.close();
    }
  });
});

describe("a tenant move", () => {
  it("is an administrator's act that ends everything of the old tenant: cached credentials, client keys, Pool B tokens, issued sessions", async () => {
    const { user, idToken } = await provisioned("acme");
    const before = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, idToken);
    expect(before.data!.issueCredentials.prefix).toBe("tenants/acme/");
    const oldTag = (await broker.broker.store.getConnection(user.sub))!.sessionTag!;
    const key = await execute(broker.url, CreateClientKeyDocument, { input: { name: "job", flow: "CLASSIC", durationSeconds: 3600 } }, idToken);
    const secret = key.data!.createClientKey.secret;
    expect((await fetchCredentials(baseUrlOf(broker.url), secret)).status).toBe(200);

    // The user may not move themselves; an administrator must first change Pool A.
    expect(errorCodes(await execute(broker.url, MoveDataPlatformUserDocument, { userId: user.sub, tenant: "globex" }, idToken))).toEqual(["FORBIDDEN"]);
    const early = await execute(broker.url, MoveDataPlatformUserDocument, { userId: user.sub, tenant: "globex" }, adminToken);
    expect(errorCodes(early)).toEqual(["BAD_USER_INPUT"]);
    expect(early.errors![0]!.message).toMatch(/custom:tenant/);
    expect(errorCodes(await execute(broker.url, MoveDataPlatformUserDocument, { userId: user.sub, tenant: "../globex" }, adminToken))).toEqual(["BAD_USER_INPUT"]);

    await user.setTenant("globex");
    const moved = await execute(broker.url, MoveDataPlatformUserDocument, { userId: user.sub, tenant: "globex" }, adminToken);
    expect(moved.errors).toBeUndefined();
    expect(moved.data!.moveDataPlatformUser).toMatchObject({ state: "ACTIVE", tenant: "globex", prefix: "tenants/globex/" });

    // The old token (tenant acme) no longer matches; a new sign-in does, and gets new credentials for the new prefix only.
    expect(reasonOf(await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, idToken))).toBe("TENANT_MISMATCH");
    const fresh = (await user.signIn()).idToken;
    const after = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, fresh);
    expect(after.errors).toBeUndefined();
    expect(after.data!.issueCredentials.prefix).toBe("tenants/globex/");
    expect(after.data!.issueCredentials.accessKeyId).not.toBe(before.data!.issueCredentials.accessKeyId);

    // Client keys of the old tenant are revoked; the Pool B user carries the new tenant.
    expect(await fetchCredentials(baseUrlOf(broker.url), secret)).toMatchObject({ status: 403, body: { Code: "FORBIDDEN" } });
    const connection = (await broker.broker.store.getConnection(user.sub))!;
    expect((await poolBUsers(aws.stack)).find((u) => u.username === connection.poolBUsername)).toMatchObject({ tenant: "globex", enabled: true });
    // The sessions issued before the move are cut off for this user (the old tag is denied), and the user has a new tag.
    expect(connection.sessionTag).not.toBe(oldTag);
    const shard = aws.stack.shards["ab".indexOf(oldTag[0]!)]!;
    expect((await denyListsOf(shard.denyListPolicyArns)).flat()).toContain(oldTag);
    expect((await denyListsOf(aws.stack.shards.flatMap((s) => s.denyListPolicyArns))).flat()).not.toContain(connection.sessionTag);
    expect((await auditOf(user.sub)).find((e) => e.action === "MOVE_TENANT" && e.outcome === "SUCCESS")).toMatchObject({
      actorUserId: admin.sub,
      tenant: "globex",
      previousTenant: "acme",
    });
  });
});

describe("cached credentials", () => {
  it("are reused only for exactly what they were issued for, also from the shared store that outlives a restart", async () => {
    const { user, idToken } = await provisioned("acme");
    const issue = (durationSeconds: number) => execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds }, idToken);
    const first = await issue(3600);
    const stored = (await broker.broker.store.getCachedCredentials(user.sub, "CLASSIC", 3600))!;
    expect(stored.accessKeyId).toBe(first.data!.issueCredentials.accessKeyId);
    const { sessionTag } = (await broker.broker.store.getConnection(user.sub))!;
    expect(JSON.parse(stored.issuedFor)).toEqual(["acme", "tenants/acme/", "CLASSIC", 3600, 0, `sid:${sessionTag}`]);
    expect(stored.sessionTag).toBe(sessionTag);

    // What a restart finds: only the shared store (this process's memory has never seen 3601 s).
    const connection = (await broker.broker.store.getConnection(user.sub))!;
    // Each planted duration is one this process has never cached in memory.
    const plantFor = (durationSeconds: number, issuedForValue: string, accessKeyId: string) =>
      broker.broker.store.putCachedCredentials(user.sub, "CLASSIC", durationSeconds, { ...stored, accessKeyId, issuedFor: issuedForValue, expiration: new Date(Date.now() + 3_000_000) });
    await plantFor(3601, issuedFor({ tenant: "globex", epoch: connection.epoch, sessionTag: connection.sessionTag }, "tenants/globex/", "CLASSIC", 3601), "ASIAOTHERTENANT");
    expect((await issue(3601)).data!.issueCredentials.accessKeyId).not.toBe("ASIAOTHERTENANT");
    await plantFor(3602, issuedFor({ tenant: "acme", epoch: connection.epoch - 1, sessionTag: connection.sessionTag }, "tenants/acme/", "CLASSIC", 3602), "ASIAOLDEPOCH");
    expect((await issue(3602)).data!.issueCredentials.accessKeyId).not.toBe("ASIAOLDEPOCH");
    // Issued under another session tag (one a revocation may have denied): never handed out.
    await plantFor(3604, issuedFor({ ...connection, sessionTag: "azzzzz" }, "tenants/acme/", "CLASSIC", 3604), "ASIAOLDTAG");
    expect((await issue(3604)).data!.issueCredentials.accessKeyId).not.toBe("ASIAOLDTAG");
    // The same entry, issued for exactly this request, is reused: the check above is not vacuous.
    await plantFor(3603, issuedFor(connection, "tenants/acme/", "CLASSIC", 3603), "ASIAEXACT");
    expect((await issue(3603)).data!.issueCredentials.accessKeyId).toBe("ASIAEXACT");
  });
});

describe("leavers", () => {
  async function keyFor(token: string, userId?: string) {
    // ENHANCED keys: moto's enhanced credentials live 90 s, too short to reuse, so every fetch really calls AWS.
    const created = await execute(broker.url, CreateClientKeyDocument, { input: { name: "job", flow: "ENHANCED" }, userId }, token);
    expect(created.errors).toBeUndefined();
    return created.data!.createClientKey.secret;
  }
  const minutePasses = () => {
    offsetMs += 61_000;
  };

  it("a key stops when its owner is disabled or deleted in Pool A", async () => {
    const base = baseUrlOf(broker.url);
    const disabled = await provisioned("acme");
    const deleted = await provisioned("acme");
    const [disabledKey, deletedKey] = [await keyFor(disabled.idToken), await keyFor(deleted.idToken)];
    expect((await fetchCredentials(base, disabledKey)).status).toBe(200);
    expect((await fetchCredentials(base, deletedKey)).status).toBe(200);
    const client = poolAAdmin(aws.stack);
    await client.send(new AdminDisableUserCommand({ UserPoolId: aws.stack.poolA.userPoolId, Username: disabled.user.username }));
    await client.send(new AdminDeleteUserCommand({ UserPoolId: aws.stack.poolA.userPoolId, Username: deleted.user.username }));
    client.destroy();
    minutePasses();
    expect(await fetchCredentials(base, disabledKey)).toMatchObject({ status: 403, body: { Code: "FORBIDDEN" } });
    expect(await fetchCredentials(base, deletedKey)).toMatchObject({ status: 403, body: { Code: "FORBIDDEN" } });
    expect((await auditOf(disabled.user.sub)).find((e) => e.action === "CLIENT_KEY_REFUSED")).toMatchObject({ reason: "OWNER_DISABLED" });
    expect((await auditOf(deleted.user.sub)).find((e) => e.action === "CLIENT_KEY_REFUSED")).toMatchObject({ reason: "OWNER_GONE" });
  });

  it("a key stops when Pool A gives its owner another tenant, until an administrator moves the user", async () => {
    const { user, idToken } = await provisioned("acme");
    const secret = await keyFor(idToken);
    expect((await fetchCredentials(baseUrlOf(broker.url), secret)).status).toBe(200);
    await user.setTenant("globex");
    minutePasses();
    expect(await fetchCredentials(baseUrlOf(broker.url), secret)).toMatchObject({ status: 403, body: { Code: "FORBIDDEN" } });
    expect((await auditOf(user.sub)).find((e) => e.action === "CLIENT_KEY_REFUSED")).toMatchObject({ reason: "TENANT_MISMATCH", tenant: "acme" });
  });

  it("a key's cached credentials are not handed out once whoever the key depends on no longer qualifies", async () => {
    const base = baseUrlOf(broker.url);
    const creator = await freshPoolAUser(aws.stack, { tenant: "acme", admin: true });
    const creatorToken = (await creator.signIn()).idToken;
    const owner = await provisioned("acme");
    // CLASSIC keys of an hour: the second fetch is served from the cache, without AWS.
    const classicKey = async (token: string, userId?: string) => {
      const created = await execute(broker.url, CreateClientKeyDocument, { input: { name: "cached", flow: "CLASSIC", durationSeconds: 3600 }, userId }, token);
      expect(created.errors).toBeUndefined();
      return created.data!.createClientKey.secret;
    };
    const ownersKey = await classicKey(owner.idToken);
    const creatorsKey = await classicKey(creatorToken, owner.user.sub);
    const first = await fetchCredentials(base, ownersKey);
    expect(first.status).toBe(200);
    expect((await fetchCredentials(base, creatorsKey)).body).toMatchObject({ AccessKeyId: (first.body as { AccessKeyId: string }).AccessKeyId });

    const client = poolAAdmin(aws.stack);
    await client.send(new AdminRemoveUserFromGroupCommand({ UserPoolId: aws.stack.poolA.userPoolId, Username: creator.username, GroupName: aws.stack.adminGroup }));
    minutePasses();
    // The owner still qualifies; the creator of the other key no longer does: the same cached credentials go to one key only.
    expect((await fetchCredentials(base, ownersKey)).status).toBe(200);
    expect(await fetchCredentials(base, creatorsKey)).toMatchObject({ status: 403, body: { Code: "FORBIDDEN" } });
    await client.send(new AdminDisableUserCommand({ UserPoolId: aws.stack.poolA.userPoolId, Username: owner.user.username }));
    client.destroy();
    minutePasses();
    expect(await fetchCredentials(base, ownersKey)).toMatchObject({ status: 403, body: { Code: "FORBIDDEN" } });
    const refusals = (await auditOf(owner.user.sub)).filter((e) => e.action === "CLIENT_KEY_REFUSED").map((e) => e.reason);
    expect(refusals).toEqual(expect.arrayContaining(["CREATOR_NOT_ADMIN", "OWNER_DISABLED"]));
  });

  it("use of a revoked key is refused and audited", async () => {
    const { user, idToken } = await provisioned("acme");
    const created = await execute(broker.url, CreateClientKeyDocument, { input: { name: "job", flow: "ENHANCED" } }, idToken);
    const { secret, key } = created.data!.createClientKey;
    await execute(broker.url, RevokeClientKeyDocument, { id: key.id }, idToken);
    expect(await fetchCredentials(baseUrlOf(broker.url), secret)).toMatchObject({ status: 403, body: { Code: "FORBIDDEN" } });
    expect((await auditOf(user.sub)).find((e) => e.action === "CLIENT_KEY_REFUSED")).toMatchObject({ reason: "KEY_REVOKED", clientKeyId: key.id });
  });

  it("an administrator who loses the role stops acting for others, and keys they made for others stop", async () => {
    const base = baseUrlOf(broker.url);
    const leaving = await freshPoolAUser(aws.stack, { tenant: "acme", admin: true });
    const leavingToken = (await leaving.signIn()).idToken;
    const { user } = await provisioned("acme");
    const madeForUser = await keyFor(leavingToken, user.sub);
    expect((await fetchCredentials(base, madeForUser)).status).toBe(200);

    const client = poolAAdmin(aws.stack);
    await client.send(new AdminRemoveUserFromGroupCommand({ UserPoolId: aws.stack.poolA.userPoolId, Username: leaving.username, GroupName: aws.stack.adminGroup }));
    client.destroy();
    // At once, not after the standing cache's minute: the token still says broker-admins; Pool A no longer does.
    const acting = await execute(broker.url, IssueCredentialsDocument, { flow: "ENHANCED", userId: user.sub }, leavingToken);
    expect(errorCodes(acting)).toEqual(["FORBIDDEN"]);
    expect(reasonOf(acting)).toBe("ADMIN_ROLE_LOST");
    const keyForOther = await execute(broker.url, CreateClientKeyDocument, { input: { name: "late", flow: "ENHANCED" }, userId: user.sub }, leavingToken);
    expect(reasonOf(keyForOther)).toBe("ADMIN_ROLE_LOST");
    // Keys are re-checked within the standing cache's bound (POOL_A_STANDING_CACHE_SECONDS).
    minutePasses();
    expect(await fetchCredentials(base, madeForUser)).toMatchObject({ status: 403, body: { Code: "FORBIDDEN" } });
    expect((await auditOf(user.sub)).find((e) => e.action === "CLIENT_KEY_REFUSED")).toMatchObject({ reason: "CREATOR_NOT_ADMIN" });
    expect((await auditOf(user.sub)).find((e) => e.action === "ACCESS_REFUSED")).toMatchObject({ actorUserId: leaving.sub, reason: "ADMIN_ROLE_LOST" });
  });
});

describe("revocation is final", () => {
  it("survives issuances racing it, round after round: nothing handed out once it returned, REVOKED never left", async () => {
    const { user, idToken } = await provisioned("acme");
    const ROUNDS = 150;
    let refusedAfter = 0;
    let succeededRacing = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      if (round > 0) {
        const reinstated = await execute(broker.url, ProvisionDataPlatformUserDocument, { userId: user.sub }, adminToken);
        expect(reinstated.errors).toBeUndefined();
      }
      let revokedAt = Number.POSITIVE_INFINITY;
      const issuances = [0, 2, 6, 15, 40].map((delayMs, i) =>
        (async () => {
          // Spread the issuances around the revocation: some before, some while, some after it returned.
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          const sentAt = performance.now();
          const result = await execute(broker.url, IssueCredentialsDocument, { flow: i % 2 === 0 ? "CLASSIC" : "ENHANCED" }, idToken);
          return { sentAt, ok: result.errors === undefined, codes: errorCodes(result) };
        })(),
      );
      // The revocation starts a little later each round, so that issuances win some races and lose others.
      const revoke = new Promise((resolve) => setTimeout(resolve, round % 12))
        .then(() => execute(broker.url, RevokeDataPlatformUserDocument, {}, idToken))
        .then((r) => {
        revokedAt = performance.now();
        return r;
      });
      const [revoked, ...results] = await Promise.all([revoke, ...issuances]);
      expect(revoked.errors).toBeUndefined();
      // On a loaded machine the revocation may outlast every staggered issuance: one more is always sent after it returned.
      const lateSentAt = performance.now();
      const late = await execute(broker.url, IssueCredentialsDocument, { flow: round % 2 === 0 ? "CLASSIC" : "ENHANCED" }, idToken);
      results.push({ sentAt: lateSentAt, ok: late.errors === undefined, codes: errorCodes(late) });
      for (const r of results) {
        if (r.ok) succeededRacing += 1;
        if (!r.ok) expect(["FORBIDDEN", "NOT_PROVISIONED"]).toContain(r.codes[0]);
        if (r.sentAt > revokedAt) {
          expect(r.ok).toBe(false);
          refusedAfter += 1;
        }
      }
      // Nothing a refused or racing issuance did moved the connection out of REVOKED.
      expect((await broker.broker.store.getConnection(user.sub))!.state).toBe("REVOKED");
      expect(reasonOf(await execute(broker.url, ProvisionDataPlatformUserDocument, {}, idToken))).toBe("REVOKED");
    }
    console.log(`revocation race: ${ROUNDS} rounds; ${succeededRacing} issuances answered before the revocation took hold; ${refusedAfter} sent after it returned, all refused`);
    // The race must really have been run from both sides.
    expect(refusedAfter).toBeGreaterThan(ROUNDS / 2);
    expect(succeededRacing).toBeGreaterThan(0);
  }, 240_000);

  it("cuts off the user's sessions already issued: its session tag on a deny list attached to both roles of its shard (as moto stores it)", async () => {
    const { user, idToken } = await provisioned("acme");
    await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC" }, idToken);
    const { sessionTag } = (await broker.broker.store.getConnection(user.sub))!;
    expect(sessionTag).toMatch(/^[a-b][a-z2-7]{5}$/);
    const revoked = await execute(broker.url, RevokeDataPlatformUserDocument, { userId: user.sub }, adminToken);
    expect(revoked.errors).toBeUndefined();
    const shard = aws.stack.shards["ab".indexOf(sessionTag![0]!)]!;
    const lists = await denyListsOf(shard.denyListPolicyArns);
    const holding = lists.filter((tags) => tags.includes(sessionTag!));
    expect(holding).toHaveLength(1);
    // Only tags, no time condition: nothing issued under another tag can be caught.
    for (const policyArn of shard.denyListPolicyArns) {
      for (const roleArn of [shard.readerRoleArn, shard.writerRoleArn]) expect(await attachedTo(roleArn)).toContain(policyArn);
    }
    expect((await auditOf(user.sub)).find((e) => e.action === "REVOKE_DATA_PLATFORM_USER")).toMatchObject({ outcome: "SUCCESS", tenant: "acme", actorUserId: admin.sub });
  });
});

describe("audit", () => {
  it("records the broker's own request id, with the client's X-Request-Id beside it, never instead of it", async () => {
    const { user, idToken } = await provisioned("acme");
    const result = await post(broker.url, { query: "mutation { refreshTokens { state } }" }, { authorization: `Bearer ${idToken}`, "x-request-id": "client-chosen-1" });
    expect(result.headers.get("x-request-id")).not.toBe("client-chosen-1");
    const event = (await auditOf(user.sub)).find((e) => e.action === "REFRESH")!;
    expect(event).toMatchObject({ requestId: result.headers.get("x-request-id"), clientRequestId: "client-chosen-1" });
    const listed = await execute(broker.url, AuditEventsDocument, { first: 5 }, idToken);
    expect(listed.data!.auditEvents.nodes.find((e) => e.action === "REFRESH")).toMatchObject({ clientRequestId: "client-chosen-1" });
  });

  it("puts the tenant on every provisioning event", async () => {
    const { user } = await provisioned("globex");
    expect((await auditOf(user.sub)).find((e) => e.action === "PROVISION")).toMatchObject({ tenant: "globex" });
  });
});

async function upstreamCalls(): Promise<number> {
  const text = await (await fetch(broker.metricsUrl)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith("broker_upstream_calls_total"))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

/** The tags each deny-list policy's default version lists, as moto stores them. */
async function denyListsOf(policyArns: readonly string[]): Promise<string[][]> {
  const iam = new IAMClient({ region: aws.stack.region, endpoint: aws.stack.endpoint! });
  try {
    const lists: string[][] = [];
    for (const policyArn of policyArns) {
      const policy = await iam.send(new GetPolicyCommand({ PolicyArn: policyArn }));
      const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: policy.Policy!.DefaultVersionId! }));
      const document = JSON.parse(decodeURIComponent(version.PolicyVersion!.Document!)) as { Statement: Array<{ Condition: { StringEquals: Record<string, string[]> } }> };
      lists.push(document.Statement.flatMap((s) => s.Condition.StringEquals["aws:PrincipalTag/sid"] ?? []));
    }
    return lists;
  } finally {
    iam.destroy();
  }
}

async function attachedTo(roleArn: string): Promise<string[]> {
  const iam = new IAMClient({ region: aws.stack.region, endpoint: aws.stack.endpoint! });
  try {
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleNameOf(roleArn) }));
    return (attached.AttachedPolicies ?? []).map((p) => p.PolicyArn!);
  } finally {
    iam.destroy();
  }
}
