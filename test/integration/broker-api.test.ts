import {
  AdminCreateUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminUserGlobalSignOutCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConnectionStatusDocument,
  CredentialExpiryDocument,
  IssueCredentialsDocument,
  ProvisionDataPlatformUserDocument,
  RefreshTokensDocument,
} from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { errorCodes, execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { demoUser, poolBAdmin, poolBUsers, tokenFor } from "../support/users.js";

let aws: LocalAws;
let broker: BrokerUnderTest;
let alice: string;
let bob: string;
let admin: string;

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack);
  [alice, bob, admin] = await Promise.all([tokenFor(aws.stack, "alice"), tokenFor(aws.stack, "bob"), tokenFor(aws.stack, "admin")]);
});

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
});

describe("provisioning", () => {
  it("reports NOT_PROVISIONED, with the tenant's prefix, before anything was provisioned", async () => {
    const result = await execute(broker.url, ConnectionStatusDocument, {}, bob);
    expect(result.errors).toBeUndefined();
    expect(result.data!.connectionStatus).toMatchObject({ provisioned: false, state: "NOT_PROVISIONED", tenant: "globex", prefix: "tenants/globex/", identityId: null });
    expect((await execute(broker.url, CredentialExpiryDocument, {}, bob)).data!.credentialExpiry).toBeNull();
  });

  it("creates one data platform user with the tenant attribute and resolves the identity once", async () => {
    const first = await execute(broker.url, ProvisionDataPlatformUserDocument, {}, alice);
    expect(first.errors).toBeUndefined();
    const status = first.data!.provisionDataPlatformUser;
    expect(status).toMatchObject({ provisioned: true, state: "ACTIVE", tenant: "acme", prefix: "tenants/acme/", bucket: aws.stack.bucket });
    expect(status.identityId).toMatch(/^[a-z0-9-]+:[0-9a-f-]+$/);
    expect(new Date(status.idTokenExpiresAt!).getTime()).toBeGreaterThan(Date.now());
    expect(new Date(status.refreshTokenExpiresAt!).getTime()).toBeGreaterThan(Date.now() + 29 * 86400_000);

    const again = await execute(broker.url, ProvisionDataPlatformUserDocument, {}, alice);
    expect(again.data!.provisionDataPlatformUser.identityId).toBe(status.identityId);
    const acmeUsers = (await poolBUsers(aws.stack)).filter((u) => u.tenant === "acme");
    expect(acmeUsers).toHaveLength(1);
  });

  it("converges to one user and one connection when many provisionings race", async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => execute(broker.url, ProvisionDataPlatformUserDocument, {}, bob)));
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(new Set(results.map((r) => r.data!.provisionDataPlatformUser.identityId)).size).toBe(1);
    expect((await poolBUsers(aws.stack)).filter((u) => u.tenant === "globex")).toHaveLength(1);
  });

  it("finishes a provisioning that crashed after creating the Pool B user (with a stale tenant)", async () => {
    // The state a crash between AdminCreateUser and the store write leaves behind: a Pool B user
    // under the deterministic name, no connection row. The broker must adopt it, not duplicate it.
    const { createHash } = await import("node:crypto");
    const sub = "crash-test-user-0001";
    const username = `dp-${createHash("sha256").update(`${aws.stack.poolA.userPoolId}|${sub}`).digest("hex").slice(0, 40)}`;
    const pool = poolBAdmin(aws.stack);
    await pool.send(
      new AdminCreateUserCommand({ UserPoolId: aws.stack.poolB.userPoolId, Username: username, MessageAction: "SUPPRESS", UserAttributes: [{ Name: "custom:tenant", Value: "stale" }] }),
    );
    pool.destroy();
    const { mintPoolAToken } = await import("../../src/dev/moto-tokens.js");
    const token = await mintPoolAToken(aws.stack, sub, { claims: { "custom:tenant": "initech" } });

    const result = await execute(broker.url, ProvisionDataPlatformUserDocument, {}, token);
    expect(result.errors).toBeUndefined();
    expect(result.data!.provisionDataPlatformUser).toMatchObject({ state: "ACTIVE", tenant: "initech" });
    const users = (await poolBUsers(aws.stack)).filter((u) => u.username === username);
    expect(users).toEqual([expect.objectContaining({ tenant: "initech" })]);
  });

  it("lets an administrator provision for another user, with that user's tenant from Pool A, and audits the actor", async () => {
    const carol = await execute(broker.url, ProvisionDataPlatformUserDocument, { userId: demoUser(aws.stack, "bob").sub }, admin);
    expect(carol.errors).toBeUndefined();
    expect(carol.data!.provisionDataPlatformUser).toMatchObject({ userId: demoUser(aws.stack, "bob").sub, tenant: "globex" });
    const events = await broker.broker.store.auditEvents(demoUser(aws.stack, "bob").sub, 50);
    expect(events.some((e) => e.action === "PROVISION" && e.actorUserId === demoUser(aws.stack, "admin").sub)).toBe(true);
  });

  it("answers BAD_USER_INPUT when an administrator names a user Pool A does not have", async () => {
    const result = await execute(broker.url, ProvisionDataPlatformUserDocument, { userId: "00000000-0000-0000-0000-000000000000" }, admin);
    expect(errorCodes(result)).toEqual(["BAD_USER_INPUT"]);
  });
});

describe("issuing credentials", () => {
  it("issues ENHANCED credentials for one hour and records them", async () => {
    const result = await execute(broker.url, IssueCredentialsDocument, { flow: "ENHANCED" }, alice);
    expect(result.errors).toBeUndefined();
    const creds = result.data!.issueCredentials;
    expect(creds).toMatchObject({ flow: "ENHANCED", durationSeconds: 3600, region: aws.stack.region, bucket: aws.stack.bucket, prefix: "tenants/acme/" });
    expect(creds.s3Uri).toBe(`s3://${aws.stack.bucket}/tenants/acme/`);
    expect(creds.accessKeyId).not.toBe("");
    expect(creds.clientConfiguration.credentialProcessJson).toMatchObject({ Version: 1, AccessKeyId: creds.accessKeyId, Expiration: creds.expiration });

    const expiry = await execute(broker.url, CredentialExpiryDocument, {}, alice);
    expect(expiry.data!.credentialExpiry).toMatchObject({ flow: "ENHANCED", expiresAt: creds.expiration });
  });

  it("refuses a duration for the ENHANCED flow", async () => {
    const result = await execute(broker.url, IssueCredentialsDocument, { flow: "ENHANCED", durationSeconds: 900 }, alice);
    expect(errorCodes(result)).toEqual(["BAD_USER_INPUT"]);
    expect(result.errors![0]!.message).toMatch(/ENHANCED/);
  });

  it("issues CLASSIC credentials for the requested duration", async () => {
    const before = Date.now();
    const result = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 7200 }, alice);
    expect(result.errors).toBeUndefined();
    const creds = result.data!.issueCredentials;
    expect(creds).toMatchObject({ flow: "CLASSIC", durationSeconds: 7200, prefix: "tenants/acme/" });
    const lifetime = (new Date(creds.expiration).getTime() - before) / 1000;
    expect(lifetime).toBeGreaterThan(7190);
    expect(lifetime).toBeLessThan(7260);

    const status = await execute(broker.url, ConnectionStatusDocument, {}, alice);
    expect(status.data!.connectionStatus).toMatchObject({ lastCredentialFlow: "CLASSIC", lastCredentialExpiresAt: creds.expiration });
  });

  it.each([899, 43201, 0])("refuses a CLASSIC duration of %s seconds", async (durationSeconds) => {
    const result = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds }, alice);
    expect(errorCodes(result)).toEqual(["BAD_USER_INPUT"]);
  });

  it("answers NOT_PROVISIONED for a user without a data platform user", async () => {
    const { mintPoolAToken } = await import("../../src/dev/moto-tokens.js");
    const stranger = await mintPoolAToken(aws.stack, "never-provisioned-user");
    const result = await execute(broker.url, IssueCredentialsDocument, { flow: "ENHANCED" }, stranger);
    expect(errorCodes(result)).toEqual(["NOT_PROVISIONED"]);
    expect(errorCodes(await execute(broker.url, RefreshTokensDocument, {}, stranger))).toEqual(["NOT_PROVISIONED"]);
  });

  it("writes an audit event for each issuance, without any secret", async () => {
    const events = await broker.broker.store.auditEvents(demoUser(aws.stack, "alice").sub, 100);
    const issues = events.filter((e) => e.action === "ISSUE");
    expect(issues.some((e) => e.outcome === "SUCCESS" && e.flow === "CLASSIC" && e.durationSeconds === 7200)).toBe(true);
    expect(issues.every((e) => e.requestId.length > 0)).toBe(true);
    expect(JSON.stringify(events)).not.toMatch(/secret|eyJ/i);
  });
});

describe("tokens", () => {
  it("refreshes the data platform user's ID token", async () => {
    const tokensBefore = await broker.broker.store.getPoolBTokens(demoUser(aws.stack, "alice").sub);
    const result = await execute(broker.url, RefreshTokensDocument, {}, alice);
    expect(result.errors).toBeUndefined();
    expect(result.data!.refreshTokens.state).toBe("ACTIVE");
    const tokensAfter = await broker.broker.store.getPoolBTokens(demoUser(aws.stack, "alice").sub);
    expect(tokensAfter!.idToken).not.toBe(tokensBefore!.idToken);
    // REFRESH_TOKEN_AUTH returns no new refresh token: the broker keeps the one it had.
    expect(tokensAfter!.refreshToken).toBe(tokensBefore!.refreshToken);
  });

  it("signs in afresh when the refresh token was revoked by a global sign-out", async () => {
    const sub = demoUser(aws.stack, "alice").sub;
    const before = await broker.broker.store.getConnection(sub);
    const tokensBefore = await broker.broker.store.getPoolBTokens(sub);
    const pool = poolBAdmin(aws.stack);
    await pool.send(new AdminUserGlobalSignOutCommand({ UserPoolId: aws.stack.poolB.userPoolId, Username: before!.poolBUsername }));
    pool.destroy();

    const result = await execute(broker.url, RefreshTokensDocument, {}, alice);
    expect(result.errors).toBeUndefined();
    const tokensAfter = await broker.broker.store.getPoolBTokens(sub);
    expect(tokensAfter!.refreshToken).not.toBe(tokensBefore!.refreshToken);
    // And the new tokens work for issuance.
    expect((await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 900 }, alice)).errors).toBeUndefined();
  });

  it("reports a disabled data platform user as UPSTREAM_REJECTED and DISABLED, and recovers when re-enabled", async () => {
    const sub = demoUser(aws.stack, "bob").sub;
    const { poolBUsername } = (await broker.broker.store.getConnection(sub))!;
    const pool = poolBAdmin(aws.stack);
    // On AWS, disabling a user also revokes its tokens; moto needs the sign-out done explicitly.
    await pool.send(new AdminDisableUserCommand({ UserPoolId: aws.stack.poolB.userPoolId, Username: poolBUsername }));
    await pool.send(new AdminUserGlobalSignOutCommand({ UserPoolId: aws.stack.poolB.userPoolId, Username: poolBUsername }));

    const refused = await execute(broker.url, RefreshTokensDocument, {}, bob);
    expect(errorCodes(refused)).toEqual(["UPSTREAM_REJECTED"]);
    expect(refused.errors![0]!.message).toBe("The data platform user is disabled.");
    const status = await execute(broker.url, ConnectionStatusDocument, {}, bob);
    expect(status.data!.connectionStatus).toMatchObject({ state: "DISABLED", provisioned: true });
    // A disabled connection never falls back on the ID token it still holds.
    expect(errorCodes(await execute(broker.url, IssueCredentialsDocument, { flow: "ENHANCED" }, bob))).toEqual(["UPSTREAM_REJECTED"]);

    await pool.send(new AdminEnableUserCommand({ UserPoolId: aws.stack.poolB.userPoolId, Username: poolBUsername }));
    pool.destroy();
    const issued = await execute(broker.url, IssueCredentialsDocument, { flow: "ENHANCED" }, bob);
    expect(issued.errors).toBeUndefined();
    expect((await execute(broker.url, ConnectionStatusDocument, {}, bob)).data!.connectionStatus.state).toBe("ACTIVE");
  });

  it("never returns a Pool B token in any field", async () => {
    const tokens = await broker.broker.store.getPoolBTokens(demoUser(aws.stack, "alice").sub);
    const responses = await Promise.all([
      execute(broker.url, ConnectionStatusDocument, {}, alice),
      execute(broker.url, RefreshTokensDocument, {}, alice),
      execute(broker.url, ProvisionDataPlatformUserDocument, {}, alice),
      execute(broker.url, IssueCredentialsDocument, { flow: "ENHANCED" }, alice),
    ]);
    const text = JSON.stringify(responses.map((r) => r.data));
    for (const secret of [tokens!.idToken, tokens!.refreshToken]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });
});

describe("object-level authorisation", () => {
  const operations = (userId: string) => [
    () => execute(broker.url, ConnectionStatusDocument, { userId }, alice),
    () => execute(broker.url, CredentialExpiryDocument, { userId }, alice),
    () => execute(broker.url, ProvisionDataPlatformUserDocument, { userId }, alice),
    () => execute(broker.url, RefreshTokensDocument, { userId }, alice),
    () => execute(broker.url, IssueCredentialsDocument, { flow: "ENHANCED", userId }, alice),
  ];

  it("answers FORBIDDEN to an ordinary user naming another user, on every field", async () => {
    for (const operation of operations(demoUser(aws.stack, "bob").sub)) {
      const result = await operation();
      expect(errorCodes(result)).toEqual(["FORBIDDEN"]);
    }
  });

  it("lets an ordinary user name themselves", async () => {
    const result = await execute(broker.url, ConnectionStatusDocument, { userId: demoUser(aws.stack, "alice").sub }, alice);
    expect(result.data!.connectionStatus.userId).toBe(demoUser(aws.stack, "alice").sub);
  });

  it("lets an administrator issue credentials for another user, scoped to that user's tenant", async () => {
    const result = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", userId: demoUser(aws.stack, "bob").sub }, admin);
    expect(result.errors).toBeUndefined();
    expect(result.data!.issueCredentials.prefix).toBe("tenants/globex/");
  });

  it("answers UNAUTHENTICATED without a token, on every field", async () => {
    const anonymous = [
      () => execute(broker.url, ConnectionStatusDocument, {}),
      () => execute(broker.url, CredentialExpiryDocument, {}),
      () => execute(broker.url, ProvisionDataPlatformUserDocument, {}),
      () => execute(broker.url, RefreshTokensDocument, {}),
      () => execute(broker.url, IssueCredentialsDocument, { flow: "ENHANCED" }),
    ];
    for (const operation of anonymous) expect(errorCodes(await operation())).toEqual(["UNAUTHENTICATED"]);
  });
});

describe("secrets in logs", () => {
  it("never logs a token, secret or session key the broker handled", async () => {
    const tokens = await broker.broker.store.getPoolBTokens(demoUser(aws.stack, "alice").sub);
    const issued = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC" }, alice);
    const log = broker.logs.join("\n");
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [
      alice,
      admin,
      tokens!.idToken,
      tokens!.refreshToken,
      issued.data!.issueCredentials.secretAccessKey,
      issued.data!.issueCredentials.sessionToken,
      aws.stack.poolB.clientSecret,
    ]) {
      expect(log).not.toContain(secret);
    }
  });
});

describe("Apollo Sandbox's first state", () => {
  it("carries the example operations and an Authorization header to fill in", async () => {
    const page = await fetch(broker.url, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    const html = await page.text();
    // The landing page embeds its initial state as JSON inside the page's script.
    const state = html.replaceAll('\\"', '"').replaceAll("\\n", "\n");
    for (const operation of ["query Status", "mutation Provision", "mutation IssueCredentials", "mutation CreateClientKey", "query MyAuditTrail"]) {
      expect(state, operation).toContain(operation);
    }
    expect(state).toContain('"Authorization":"Bearer <Pool A ID token>"');
  });
});
