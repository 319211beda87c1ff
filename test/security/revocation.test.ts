import { AdminUpdateUserAttributesCommand, DescribeUserPoolClientCommand } from "@aws-sdk/client-cognito-identity-provider";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { decomposeUnverifiedJwt } from "aws-jwt-verify/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClientKeyDocument,
  IssueCredentialsDocument,
  MoveDataPlatformUserDocument,
  ProvisionDataPlatformUserDocument,
  RevokeClientKeyDocument,
  RevokeDataPlatformUserDocument,
  RevokeDataPlatformUsersDocument,
} from "../../src/client/graphql.js";
import { startRecordingProxy } from "../../src/dev/recording-proxy.js";
import { storedReaderDocuments } from "../../src/dev/stored-documents.js";
import { SESSION_TAG_ALPHABET, type PolicyDocument } from "../../src/policy/policies.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf, fetchCredentials } from "../support/credential-endpoint.js";
import { errorCodes, execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser, type TestPoolAUser } from "../support/pool-a-users.js";
import { poolBAdmin } from "../support/users.js";

/**
 * Revocation by session tag, end to end on moto: the tag each exchanged Pool B ID token carries
 * (decoded from what the broker sent, through a recording proxy), the deny lists as moto stores
 * them, and each session evaluated with the IAM policy simulator against those very documents
 * (moto evaluates no conditions). Volume is the domain suite's (test/unit/deny-lists.test.ts).
 */
let aws: LocalAws;
let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
let broker: BrokerUnderTest;
let admin: TestPoolAUser;
let adminToken: string;

beforeAll(async () => {
  aws = await startLocalAws();
  proxy = await startRecordingProxy(aws.moto.endpoint);
  broker = await startBroker(aws.stack, { AWS_ENDPOINT_URL: proxy.endpoint, RATE_LIMIT_MUTATIONS_PER_MINUTE: "100000", RATE_LIMIT_FIELDS_PER_MINUTE: "100000" });
  admin = await freshPoolAUser(aws.stack, { tenant: "acme", admin: true });
  adminToken = (await admin.signIn()).idToken;
});

afterAll(async () => {
  await broker?.close();
  await proxy?.stop();
  await aws?.stop();
});

async function provisioned(tenant = "acme", on: BrokerUnderTest = broker): Promise<{ user: TestPoolAUser; idToken: string }> {
  const user = await freshPoolAUser(aws.stack, { tenant });
  const { idToken } = await user.signIn();
  expect((await execute(on.url, ProvisionDataPlatformUserDocument, {}, idToken)).errors).toBeUndefined();
  return { user, idToken };
}

/** Issues CLASSIC credentials and returns the session tag of the Pool B ID token the broker exchanged for them. */
async function issueAndReadTag(idToken: string, durationSeconds = 3600): Promise<{ accessKeyId: string; sid: string | undefined }> {
  const from = proxy.calls.length;
  const issued = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds }, idToken);
  expect(issued.errors).toBeUndefined();
  return { accessKeyId: issued.data!.issueCredentials.accessKeyId, sid: lastExchangedTag(from) };
}

/** The custom:sid claim of the last ID token the broker sent to the identity pool since call `from` (undefined when nothing was exchanged). */
function lastExchangedTag(from: number): string | undefined {
  const exchanged = proxy.calls.slice(from).filter((c) => c.operation === "GetOpenIdToken" || c.operation === "GetCredentialsForIdentity");
  if (exchanged.length === 0) return undefined;
  const logins = (JSON.parse(exchanged.at(-1)!.body) as { Logins: Record<string, string> }).Logins;
  const claim = decomposeUnverifiedJwt(Object.values(logins)[0]!).payload["custom:sid"];
  return typeof claim === "string" ? claim : undefined;
}

/** What IAM would decide for a session of `tenant` carrying `sid`, reading its own object, under the documents moto stores. */
async function sessionMay(tenant: string, sid: string): Promise<string> {
  const result = await runSimulation(
    {
      request: {
        principal: "arn:aws:sts::123456789012:assumed-role/tenant-reader/dp-test",
        action: "s3:GetObject",
        resource: { resource: `arn:aws:s3:::${aws.stack.bucket}/tenants/${tenant}/readings/2026-11-01.csv`, accountId: "123456789012" },
        contextVariables: { "aws:PrincipalTag/tenant": tenant, "aws:PrincipalTag/sid": sid, "aws:TokenIssueTime": new Date(Date.now() - 1_000).toISOString().replace(/\.\d{3}Z$/, "Z") },
      },
      identityPolicies: await storedReaderDocuments(aws.stack, SESSION_TAG_ALPHABET.indexOf(sid[0]!)),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

const revoke = (userId: string) => execute(broker.url, RevokeDataPlatformUserDocument, { userId }, adminToken);

describe("the session tag", () => {
  it("is readable by the broker's Pool B client and writable by none (so no one but the broker sets it)", async () => {
    const client = poolBAdmin(aws.stack);
    try {
      const described = await client.send(new DescribeUserPoolClientCommand({ UserPoolId: aws.stack.poolB.userPoolId, ClientId: aws.stack.poolB.clientId }));
      expect(described.UserPoolClient!.ReadAttributes).toContain("custom:sid");
      expect(described.UserPoolClient!.WriteAttributes).toEqual([]);
    } finally {
      client.destroy();
    }
  });

  it("rides on every exchanged ID token, and is the connection's current one", async () => {
    const { user, idToken } = await provisioned();
    const { sid } = await issueAndReadTag(idToken);
    const connection = (await broker.broker.store.getConnection(user.sub))!;
    expect(sid).toBe(connection.sessionTag);
    expect(sid).toMatch(/^[ab][a-z2-7]{5}$/);
    // The deny must last as long as the credential: the broker recorded how long that is.
    expect(connection.tagLiveUntil!.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    expect(await sessionMay("acme", sid!)).toBe("Allowed");
  });

  it("is never exchanged when it is not the user's current one: a stored or refreshed token of another tag is not sent", async () => {
    const { user, idToken } = await provisioned();
    const before = (await issueAndReadTag(idToken)).sid!;
    // The connection's tag changes behind Pool B's back (as if Pool B had not taken the new value).
    const rotated = `${before[0]}zzzzz` === before ? `${before[0]}yyyyy` : `${before[0]}zzzzz`;
    expect(await broker.broker.store.claimSessionTag(user.sub, rotated)).toBe(true);
    const from = proxy.calls.length;
    const refused = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 1900 }, idToken);
    expect(errorCodes(refused)).toEqual(["UPSTREAM_REJECTED"]);
    expect(proxy.calls.slice(from).filter((c) => c.operation === "GetOpenIdToken" || c.operation === "GetCredentialsForIdentity")).toEqual([]);
    // Once Pool B carries the tag, a token with it is minted and exchanged.
    const client = poolBAdmin(aws.stack);
    try {
      const { poolBUsername } = (await broker.broker.store.getConnection(user.sub))!;
      await client.send(new AdminUpdateUserAttributesCommand({ UserPoolId: aws.stack.poolB.userPoolId, Username: poolBUsername, UserAttributes: [{ Name: "custom:sid", Value: rotated }] }));
    } finally {
      client.destroy();
    }
    expect((await issueAndReadTag(idToken, 1901)).sid).toBe(rotated);
  });
});

describe("revocation by session tag", () => {
  it("denies every session the revoked user held and nobody else's; re-revoking writes nothing and is audited as a repeat", async () => {
    const victim = await provisioned();
    const neighbour = await provisioned();
    const stranger = await provisioned("globex");
    const victimTag = (await issueAndReadTag(victim.idToken)).sid!;
    const neighbourTag = (await issueAndReadTag(neighbour.idToken)).sid!;
    const strangerTag = (await issueAndReadTag(stranger.idToken)).sid!;

    expect((await revoke(victim.user.sub)).errors).toBeUndefined();
    expect(await sessionMay("acme", victimTag)).toBe("ExplicitlyDenied");
    expect(await sessionMay("acme", neighbourTag)).toBe("Allowed");
    expect(await sessionMay("globex", strangerTag)).toBe("Allowed");

    // Credentials handed out again to the others are alive: the same tag, not denied.
    const again = await issueAndReadTag(neighbour.idToken);
    expect(again.sid).toBeUndefined(); // from the cache: nothing was exchanged
    expect((await broker.broker.store.getConnection(neighbour.user.sub))!.sessionTag).toBe(neighbourTag);

    const writesBefore = proxy.calls.filter((c) => c.operation === "CreatePolicyVersion").length;
    const repeated = await revoke(victim.user.sub);
    expect(repeated.errors).toBeUndefined();
    expect(proxy.calls.filter((c) => c.operation === "CreatePolicyVersion").length).toBe(writesBefore);
    const events = await broker.broker.store.auditEvents(victim.user.sub, 50);
    expect(events.filter((e) => e.action === "REVOKE_DATA_PLATFORM_USER").map((e) => e.reason ?? null)).toEqual(["ALREADY_REVOKED", null]);
  });

  it("an immediate reinstatement gets a new tag: its first credentials, and a client key's, are alive", async () => {
    const { user, idToken } = await provisioned();
    const oldTag = (await issueAndReadTag(idToken)).sid!;
    expect((await revoke(user.sub)).errors).toBeUndefined();
    expect(errorCodes(await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, idToken))).toEqual(["FORBIDDEN"]);
    // Reinstated at once (no clock margin to wait out): the old tag stays denied, the new one is not.
    expect((await execute(broker.url, ProvisionDataPlatformUserDocument, { userId: user.sub }, adminToken)).errors).toBeUndefined();
    const first = await issueAndReadTag(idToken);
    expect(first.sid).not.toBe(oldTag);
    expect(first.sid).toBe((await broker.broker.store.getConnection(user.sub))!.sessionTag);
    expect(await sessionMay("acme", first.sid!)).toBe("Allowed");
    expect(await sessionMay("acme", oldTag)).toBe("ExplicitlyDenied");

    const key = await execute(broker.url, CreateClientKeyDocument, { input: { name: "after-reinstatement", flow: "CLASSIC", durationSeconds: 1800 } }, idToken);
    expect(key.errors).toBeUndefined();
    const from = proxy.calls.length;
    expect((await fetchCredentials(baseUrlOf(broker.url), key.data!.createClientKey.secret)).status).toBe(200);
    const keyTag = lastExchangedTag(from);
    expect(keyTag).toBe(first.sid);
    expect(await sessionMay("acme", keyTag!)).toBe("Allowed");
  });

  it("a move denies the old tag and the first credentials in the new tenant are alive under a new one", async () => {
    const { user, idToken } = await provisioned();
    const oldTag = (await issueAndReadTag(idToken)).sid!;
    await user.setTenant("globex");
    expect((await execute(broker.url, MoveDataPlatformUserDocument, { userId: user.sub, tenant: "globex" }, adminToken)).errors).toBeUndefined();
    const fresh = (await user.signIn()).idToken;
    const first = await issueAndReadTag(fresh);
    expect(first.sid).not.toBe(oldTag);
    expect(await sessionMay("globex", first.sid!)).toBe("Allowed");
    expect(await sessionMay("acme", oldTag)).toBe("ExplicitlyDenied");
  });

  it("revoking a leaked client key can cut off the sessions it obtained; the user stays active and gets new credentials under a new tag", async () => {
    const { user, idToken } = await provisioned();
    const key = await execute(broker.url, CreateClientKeyDocument, { input: { name: "leaked", flow: "CLASSIC", durationSeconds: 3600 } }, idToken);
    const from = proxy.calls.length;
    expect((await fetchCredentials(baseUrlOf(broker.url), key.data!.createClientKey.secret)).status).toBe(200);
    const leakedTag = lastExchangedTag(from)!;
    expect(await sessionMay("acme", leakedTag)).toBe("Allowed");
    const revoked = await execute(broker.url, RevokeClientKeyDocument, { id: key.data!.createClientKey.key.id, cutOffSessions: true }, idToken);
    expect(revoked.errors).toBeUndefined();
    // What the key obtained is denied in AWS; the key is refused; the user is not revoked.
    expect(await sessionMay("acme", leakedTag)).toBe("ExplicitlyDenied");
    expect((await fetchCredentials(baseUrlOf(broker.url), key.data!.createClientKey.secret)).status).toBe(403);
    const connection = (await broker.broker.store.getConnection(user.sub))!;
    expect(connection.state).toBe("ACTIVE");
    expect(connection.sessionTag).not.toBe(leakedTag);
    // The user's next credentials (the same request as the key's: not from a cache) are alive under the new tag.
    const next = await issueAndReadTag(idToken, 3600);
    expect(next.sid).toBe(connection.sessionTag);
    expect(await sessionMay("acme", next.sid!)).toBe("Allowed");
    expect((await broker.broker.store.auditEvents(user.sub, 20)).find((e) => e.action === "CLIENT_KEY_REVOKE")).toMatchObject({ reason: "SESSIONS_CUT_OFF", outcome: "SUCCESS" });
  });

  it("a user who never held a credential is revoked without any IAM write: nothing to deny", async () => {
    const { user } = await provisioned();
    const writesBefore = proxy.calls.filter((c) => c.operation === "CreatePolicyVersion").length;
    expect((await revoke(user.sub)).errors).toBeUndefined();
    expect(proxy.calls.filter((c) => c.operation === "CreatePolicyVersion").length).toBe(writesBefore);
  });
});

describe("limits on revocation, and the bulk path", () => {
  it("limits revocations per actor: a flooding administrator is RATE_LIMITED as itself, another is not", async () => {
    const limited = await startBroker(aws.stack, { RATE_LIMIT_REVOCATIONS_PER_MINUTE: "3" });
    try {
      const other = await freshPoolAUser(aws.stack, { tenant: "globex", admin: true });
      const otherToken = (await other.signIn()).idToken;
      const users = await Promise.all(Array.from({ length: 5 }, () => provisioned("acme", limited)));
      const answers = [];
      for (const { user } of users.slice(0, 4)) answers.push(await execute(limited.url, RevokeDataPlatformUserDocument, { userId: user.sub }, adminToken));
      expect(answers.slice(0, 3).map((a) => a.errors)).toEqual([undefined, undefined, undefined]);
      expect(errorCodes(answers[3]!)).toEqual(["RATE_LIMITED"]);
      expect(answers[3]!.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
      // Refused before anything happened to the user.
      expect((await limited.broker.store.getConnection(users[3]!.user.sub))!.state).toBe("ACTIVE");
      expect((await execute(limited.url, RevokeDataPlatformUserDocument, { userId: users[4]!.user.sub }, otherToken)).errors).toBeUndefined();
    } finally {
      await limited.close();
    }
  });

  it("revokes a list of users in one call, batching the deny-list writes; one user's failure is that user's outcome", async () => {
    const users = await Promise.all(Array.from({ length: 24 }, () => provisioned()));
    const tags: string[] = [];
    for (const { idToken } of users) tags.push((await issueAndReadTag(idToken)).sid!);
    const writesBefore = proxy.calls.filter((c) => c.operation === "CreatePolicyVersion").length;
    const unknown = "00000000-0000-0000-0000-000000000000";
    const result = await execute(broker.url, RevokeDataPlatformUsersDocument, { userIds: [...users.map((u) => u.user.sub), unknown, users[0]!.user.sub] }, adminToken);
    expect(result.errors).toBeUndefined();
    const outcomes = result.data!.revokeDataPlatformUsers;
    expect(outcomes).toHaveLength(25);
    expect(outcomes.slice(0, 24).map((o) => o.status?.state)).toEqual(Array(24).fill("REVOKED"));
    expect(outcomes[24]).toMatchObject({ userId: unknown, status: null, errorCode: expect.stringMatching(/FORBIDDEN|NOT_PROVISIONED/) });
    for (const [i, tag] of tags.entries()) expect(await sessionMay("acme", tag), `user ${i}`).toBe("ExplicitlyDenied");
    // Each shard's deny lists written once at the end: at most one write per document, not one per user.
    const documents = aws.stack.shards.reduce((n, s) => n + s.denyListPolicyArns.length, 0);
    expect(proxy.calls.filter((c) => c.operation === "CreatePolicyVersion").length - writesBefore).toBeLessThanOrEqual(documents);
  });

  it("is for administrators only, at most 100 users a call", async () => {
    const { idToken, user } = await provisioned();
    expect(errorCodes(await execute(broker.url, RevokeDataPlatformUsersDocument, { userIds: [user.sub] }, idToken))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await execute(broker.url, RevokeDataPlatformUsersDocument, { userIds: Array.from({ length: 101 }, (_, i) => `u-${i}`) }, adminToken))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await execute(broker.url, RevokeDataPlatformUsersDocument, { userIds: [] }, adminToken))).toEqual(["BAD_USER_INPUT"]);
  });
});
