import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuditEventsDocument,
  ConnectionsDocument,
  ConnectionStatusDocument,
  CreateAccessGrantDocument,
  CreateClientKeyDocument,
  IssueCredentialsDocument,
  MoveDataPlatformUserDocument,
  ProvisionDataPlatformUserDocument,
  RevokeDataPlatformUserDocument,
} from "../../src/client/graphql.js";
import type { PartnerScope } from "../../src/auth/partners.js";
import { mintPartnerToken, mintPoolAToken } from "../../src/dev/moto-tokens.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf, fetchCredentials } from "../support/credential-endpoint.js";
import { errorCodes, execute, post } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser, type TestPoolAUser } from "../support/pool-a-users.js";

/**
 * Partners' back ends act with client-credentials tokens of the partner app client the local
 * stack creates in Pool A (allowed in tenant acme). moto has no OAuth token endpoint, so the
 * tokens are minted with moto's signing key and the claims Cognito's endpoint gives them.
 */
let aws: LocalAws;
let broker: BrokerUnderTest;
const ALL: PartnerScope[] = ["provision", "issue", "keys", "audit"];

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack);
});

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
});

const reasonOf = (result: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> | undefined }) => result.errors?.[0]?.extensions?.reason;
const partnerActor = () => `partner:${aws.stack.partner.clientId}`;

async function partnerProvisioned(tenant = "acme"): Promise<TestPoolAUser> {
  const user = await freshPoolAUser(aws.stack, { tenant });
  const result = await execute(broker.url, ProvisionDataPlatformUserDocument, { userId: user.sub }, await mintPartnerToken(aws.stack, ["provision"]));
  expect(result.errors).toBeUndefined();
  return user;
}

describe("a partner acts for the users of its tenants", () => {
  it("provisions and issues for a named user of its tenant, audited as the partner, credentials for that tenant's prefix only", async () => {
    const user = await partnerProvisioned();
    const token = await mintPartnerToken(aws.stack, ALL);
    const issued = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 900, userId: user.sub }, token);
    expect(issued.errors).toBeUndefined();
    expect(issued.data!.issueCredentials).toMatchObject({ prefix: "tenants/acme/", durationSeconds: 900 });

    const events = await broker.broker.store.auditEvents(user.sub, 50);
    expect(events.filter((e) => e.action === "PROVISION" || e.action === "ISSUE")).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: "PROVISION", actorUserId: partnerActor(), subjectUserId: user.sub, outcome: "SUCCESS", tenant: "acme" }),
        expect.objectContaining({ action: "ISSUE", actorUserId: partnerActor(), subjectUserId: user.sub, outcome: "SUCCESS", tenant: "acme" }),
      ]),
    );
    // The user's own trail, read by the partner with the audit scope, shows the partner as the actor; the read itself is recorded.
    const trail = await execute(broker.url, AuditEventsDocument, { userId: user.sub, first: 20 }, await mintPartnerToken(aws.stack, ["audit"]));
    expect(trail.errors).toBeUndefined();
    expect(trail.data!.auditEvents.nodes.map((e) => [e.action, e.actorUserId])).toContainEqual(["ISSUE", partnerActor()]);
    expect((await broker.broker.store.auditEvents(user.sub, 50)).some((e) => e.action === "PARTNER_READ" && e.actorUserId === partnerActor())).toBe(true);
  });

  it("must name userId: a partner is never a user itself", async () => {
    const token = await mintPartnerToken(aws.stack, ALL);
    for (const result of [
      await execute(broker.url, ProvisionDataPlatformUserDocument, {}, token),
      await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC" }, token),
      await execute(broker.url, ConnectionStatusDocument, {}, token),
    ]) {
      expect(errorCodes(result)).toEqual(["BAD_USER_INPUT"]);
      expect(result.errors![0]!.extensions).toMatchObject({ field: "userId" });
    }
    // Naming its own actor id gives it nothing either.
    const self = await execute(broker.url, ConnectionStatusDocument, { userId: partnerActor() }, token);
    expect(reasonOf(self)).toBe("PARTNER_TENANT");
    expect(await broker.broker.store.getConnection(partnerActor())).toBeNull();
  });

  it("is refused for another tenant's user and for an unknown user alike (PARTNER_TENANT), audited, nothing provisioned", async () => {
    const other = await freshPoolAUser(aws.stack, { tenant: "globex" });
    const token = await mintPartnerToken(aws.stack, ALL);
    const cross = await execute(broker.url, ProvisionDataPlatformUserDocument, { userId: other.sub }, token);
    const unknown = await execute(broker.url, ProvisionDataPlatformUserDocument, { userId: "00000000-0000-4000-8000-000000000000" }, token);
    for (const result of [cross, unknown]) {
      expect(errorCodes(result)).toEqual(["FORBIDDEN"]);
      expect(reasonOf(result)).toBe("PARTNER_TENANT");
    }
    // The same words for both: no way to tell "exists elsewhere" from "does not exist".
    expect(cross.errors![0]!.message).toBe(unknown.errors![0]!.message);
    expect(await broker.broker.store.getConnection(other.sub)).toBeNull();
    expect(await broker.broker.store.auditEvents(other.sub, 10)).toEqual([
      expect.objectContaining({ action: "ACCESS_REFUSED", actorUserId: partnerActor(), reason: "PARTNER_TENANT", outcome: "FAILURE", tenant: "globex" }),
    ]);
  });

  it("cannot reach a user Pool A has moved into its tenant while the connection is still pinned to the old one", async () => {
    const user = await freshPoolAUser(aws.stack, { tenant: "globex" });
    expect((await execute(broker.url, ProvisionDataPlatformUserDocument, {}, (await user.signIn()).idToken)).errors).toBeUndefined();
    await user.setTenant("acme");
    const token = await mintPartnerToken(aws.stack, ALL);
    const [status, issue, trail] = [
      await execute(broker.url, ConnectionStatusDocument, { userId: user.sub }, token),
      await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", userId: user.sub }, token),
      await execute(broker.url, AuditEventsDocument, { userId: user.sub, first: 5 }, token),
    ];
    for (const result of [status, issue, trail]) expect(reasonOf(result)).toBe("PARTNER_TENANT");
  });

  it("does only what its token's scopes open, and never an administrator's work, whatever the token claims", async () => {
    const user = await partnerProvisioned();
    const provisionOnly = await mintPartnerToken(aws.stack, ["provision"]);
    const issue = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", userId: user.sub }, provisionOnly);
    expect(errorCodes(issue)).toEqual(["FORBIDDEN"]);
    expect(reasonOf(issue)).toBe("PARTNER_SCOPE");
    const key = await execute(broker.url, CreateClientKeyDocument, { input: { name: "k", flow: "ENHANCED" }, userId: user.sub }, provisionOnly);
    expect(reasonOf(key)).toBe("PARTNER_SCOPE");
    // A field inside an allowed one is checked too: a connection's client keys need the keys scope.
    const nested = await post(broker.url, { query: "query($u: ID) { connectionStatus(userId: $u) { state clientKeys { id } } }", variables: { u: user.sub } }, { authorization: `Bearer ${provisionOnly}` });
    expect(reasonOf(nested)).toBe("PARTNER_SCOPE");

    // Every scope, an admin group and a tenant claim in the token: still no administrator's field.
    const loaded = await mintPartnerToken(aws.stack, ALL, { claims: { "cognito:groups": [aws.stack.adminGroup], "custom:tenant": "globex" } });
    for (const result of [
      await execute(broker.url, ConnectionsDocument, { first: 5 }, loaded),
      await execute(broker.url, CreateAccessGrantDocument, { input: { tenant: "acme", location: "x/", permission: "READWRITE" } }, loaded),
      await execute(broker.url, MoveDataPlatformUserDocument, { userId: user.sub, tenant: "globex" }, loaded),
    ]) {
      expect(errorCodes(result)).toEqual(["FORBIDDEN"]);
      expect(reasonOf(result)).toBe("PARTNER_SCOPE");
    }
    // The tenant claim in a partner token is ignored: globex's users stay out of reach.
    const globexUser = await freshPoolAUser(aws.stack, { tenant: "globex" });
    expect(reasonOf(await execute(broker.url, ProvisionDataPlatformUserDocument, { userId: globexUser.sub }, loaded))).toBe("PARTNER_TENANT");
  });

  it("may revoke its users (provision scope) but never reinstate them: that stays an administrator's decision", async () => {
    const user = await partnerProvisioned();
    const token = await mintPartnerToken(aws.stack, ["provision"]);
    const revoked = await execute(broker.url, RevokeDataPlatformUserDocument, { userId: user.sub }, token);
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data!.revokeDataPlatformUser.state).toBe("REVOKED");
    const again = await execute(broker.url, ProvisionDataPlatformUserDocument, { userId: user.sub }, token);
    expect(errorCodes(again)).toEqual(["FORBIDDEN"]);
    expect(reasonOf(again)).toBe("REVOKED");
    expect((await broker.broker.store.auditEvents(user.sub, 20)).find((e) => e.action === "REVOKE_DATA_PLATFORM_USER")).toMatchObject({ actorUserId: partnerActor(), outcome: "SUCCESS" });
    // Another tenant's user cannot be revoked by it.
    const other = await freshPoolAUser(aws.stack, { tenant: "globex" });
    expect((await execute(broker.url, ProvisionDataPlatformUserDocument, {}, (await other.signIn()).idToken)).errors).toBeUndefined();
    expect(reasonOf(await execute(broker.url, RevokeDataPlatformUserDocument, { userId: other.sub }, token))).toBe("PARTNER_TENANT");
    expect((await broker.broker.store.getConnection(other.sub))!.state).toBe("ACTIVE");
  });

  it("a scope of another resource server opens nothing", async () => {
    const user = await partnerProvisioned();
    const token = await mintPartnerToken(aws.stack, null, { claims: { scope: "other-api/issue aws.cognito.signin.user.admin" } });
    expect(reasonOf(await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", userId: user.sub }, token))).toBe("PARTNER_SCOPE");
  });
});

describe("which tokens are a partner's", () => {
  const invalid = async (token: string) => {
    const result = await execute(broker.url, ConnectionStatusDocument, { userId: "x" }, token);
    expect(result.status).toBe(401);
    return result.errors?.[0]?.extensions;
  };

  it("only client-credentials tokens of a configured partner app client, with scopes, signed by Pool A", async () => {
    // An app client that is not configured as a partner: not the application's client either.
    expect(await invalid(await mintPartnerToken(aws.stack, ALL, { clientId: "unconfiguredclient0000000" }))).toMatchObject({ code: "UNAUTHENTICATED", reason: "INVALID" });
    // A user's token obtained through the partner's app client (sub is a user, a username): partner clients are for machines only.
    expect(await invalid(await mintPartnerToken(aws.stack, ALL, { claims: { sub: "b5c0e0de-0000-4000-8000-000000000001", username: "alice" } }))).toMatchObject({ reason: "INVALID" });
    // No scope claim at all.
    expect(await invalid(await mintPartnerToken(aws.stack, null))).toMatchObject({ reason: "INVALID" });
    // An ID token naming the partner client as its audience is not a partner token.
    expect(await invalid(await mintPoolAToken(aws.stack, aws.stack.partner.clientId, { claims: { aud: aws.stack.partner.clientId } }))).toMatchObject({ reason: "INVALID" });
    // Expired: refresh (fetch a new token from the token endpoint).
    const now = Math.floor(Date.now() / 1000);
    expect(await invalid(await mintPartnerToken(aws.stack, ALL, { claims: { iat: now - 7200, exp: now - 3600 } }))).toMatchObject({ reason: "EXPIRED" });
    // Another issuer's signature: the partner's token must come from Pool A.
    expect(await invalid(await mintPartnerToken(aws.stack, ALL, { claims: { iss: `https://cognito-idp.${aws.stack.region}.amazonaws.com/${aws.stack.poolB.userPoolId}` } }))).toMatchObject({ reason: "INVALID" });
  });

  it("a broker without PARTNER_CLIENTS accepts no partner token", async () => {
    const plain = await startBroker(aws.stack, { PARTNER_CLIENTS: "" });
    try {
      const result = await execute(plain.url, ConnectionStatusDocument, { userId: "x" }, await mintPartnerToken(aws.stack, ALL));
      expect(result.status).toBe(401);
      expect(result.errors![0]!.extensions).toMatchObject({ reason: "INVALID" });
    } finally {
      await plain.close();
    }
  });
});

describe("client keys a partner made", () => {
  it("work while the partner may act in the key's tenant, and stop (PARTNER_NOT_ALLOWED, audited) once the config no longer allows it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "partner-keys-"));
    const shared = { DATABASE_PATH: join(dir, "broker.sqlite"), TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64") };
    const first = await startBroker(aws.stack, shared);
    let secret: string;
    let keyId: string;
    const user = await freshPoolAUser(aws.stack, { tenant: "acme" });
    try {
      const token = await mintPartnerToken(aws.stack, ALL);
      expect((await execute(first.url, ProvisionDataPlatformUserDocument, { userId: user.sub }, token)).errors).toBeUndefined();
      const created = await execute(first.url, CreateClientKeyDocument, { input: { name: "partner-made", flow: "ENHANCED" }, userId: user.sub }, token);
      expect(created.errors).toBeUndefined();
      secret = created.data!.createClientKey.secret;
      keyId = created.data!.createClientKey.key.id;
      expect((await fetchCredentials(baseUrlOf(first.url), secret)).status).toBe(200);
    } finally {
      await first.close();
    }
    // The operator takes acme away from the partner (or removes it): its keys stop at the next real issuance.
    const second = await startBroker(aws.stack, { ...shared, PARTNER_CLIENTS: `${aws.stack.partner.clientId}=globex` });
    try {
      // What the first broker issued is shared through the store; forget it so the next request really issues.
      await second.broker.store.forgetCachedCredentials(user.sub);
      const refused = await fetchCredentials(baseUrlOf(second.url), secret);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ Code: "FORBIDDEN", Message: "The partner that created this key may no longer act in its tenant." });
      expect((await second.broker.store.auditEvents(user.sub, 20)).find((e) => e.action === "CLIENT_KEY_REFUSED")).toMatchObject({ clientKeyId: keyId, reason: "PARTNER_NOT_ALLOWED" });
    } finally {
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
