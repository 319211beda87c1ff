import { setTimeout as sleep } from "node:timers/promises";
import { AdminGetUserCommand } from "@aws-sdk/client-cognito-identity-provider";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientKeysDocument,
  CreateClientKeyDocument,
  IssueCredentialsDocument,
  ProvisionDataPlatformUserDocument,
  RevokeClientKeyDocument,
  RevokeDataPlatformUserDocument,
} from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf, fetchCredentials } from "../support/credential-endpoint.js";
import { errorCodes, execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { mintPoolAToken } from "../../src/dev/moto-tokens.js";
import { demoUser, poolBAdmin, tokenFor } from "../support/users.js";

let aws: LocalAws;
let broker: BrokerUnderTest;
let base: string;
let alice: string;
let bob: string;
let admin: string;

async function createKey(token: string, input: Record<string, unknown>, userId?: string) {
  const result = await execute(broker.url, CreateClientKeyDocument, { input: { name: "job", ...input } as never, userId }, token);
  expect(result.errors).toBeUndefined();
  return result.data!.createClientKey;
}

async function issuancesForKey(userId: string, keyId: string): Promise<number> {
  const events = await broker.broker.store.auditEvents(userId, 10_000);
  return events.filter((e) => e.action === "ISSUE" && e.clientKeyId === keyId).length;
}

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack);
  base = baseUrlOf(broker.url);
  [alice, bob, admin] = await Promise.all([tokenFor(aws.stack, "alice"), tokenFor(aws.stack, "bob"), tokenFor(aws.stack, "admin")]);
  for (const token of [alice, bob]) expect((await execute(broker.url, ProvisionDataPlatformUserDocument, {}, token)).errors).toBeUndefined();
});

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
});

describe("client keys over GraphQL", () => {
  it("returns the secret once, with a recognisable prefix and ready-to-paste set-ups", async () => {
    const created = await createKey(alice, { name: "nightly export", flow: "CLASSIC", durationSeconds: 3600 });
    expect(created.secret).toMatch(/^s3bk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.key).toMatchObject({ name: "nightly export", flow: "CLASSIC", durationSeconds: 3600, revoked: false, expired: false, lastUsedAt: null });
    expect(created.setup.endpoint).toBe(`${base}/v1/credentials`);
    expect(created.setup.containerEnvironment).toContain(`AWS_CONTAINER_AUTHORIZATION_TOKEN='${created.secret}'`);
    expect(created.setup.credentialProcessProfile).toContain(`credential_process = s3-broker credential-process --endpoint ${base}/v1/credentials`);
    expect(created.setup.installHelper).toBe(`npm install -g ${base}/helper/s3-broker.tgz`);
    expect(created.setup.credentialsFileUpdate).toContain(`s3-broker update --endpoint ${base}/v1/credentials --key-file ~/.config/s3-broker/s3-broker-nightly-export.key --profile s3-broker-nightly-export`);
    expect(created.setup.localEndpoint).toContain(`s3-broker serve --endpoint ${base}/v1/credentials`);
    // Default lifetime: 90 days.
    expect(new Date(created.key.expiresAt).getTime() - Date.now()).toBeGreaterThan(89 * 86_400_000);

    const listed = await execute(broker.url, ClientKeysDocument, {}, alice);
    expect(listed.data!.clientKeys.map((k) => k.id)).toContain(created.key.id);
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    const stored = await broker.broker.store.getClientKey(created.key.id);
    expect(stored!.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored!.secretHash).not.toContain(created.secret);
  });

  it.each([
    [{ name: "" }, "name"],
    [{ name: "x".repeat(65) }, "name"],
    [{ flow: "ENHANCED", durationSeconds: 900 }, "durationSeconds"],
    [{ flow: "CLASSIC", durationSeconds: 60 }, "durationSeconds"],
    [{ expiresAt: "2020-01-01T00:00:00Z" }, "expiresAt"],
    [{ expiresAt: "2099-01-01T00:00:00Z" }, "expiresAt"],
  ])("refuses %j with BAD_USER_INPUT naming %s", async (input, field) => {
    const result = await execute(broker.url, CreateClientKeyDocument, { input: { name: "job", ...input } as never }, alice);
    expect(errorCodes(result)).toEqual(["BAD_USER_INPUT"]);
    expect(result.errors![0]!.extensions!.field).toBe(field);
  });

  it("never lets a request's Host header choose the address the set-ups name", async () => {
    const { request } = await import("node:http");
    const { print } = await import("graphql");
    const body = JSON.stringify({ query: print(CreateClientKeyDocument), variables: { input: { name: "host-header" } } });
    const target = new URL(broker.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const sent = request({ host: target.hostname, port: target.port, path: target.pathname, method: "POST", headers: { host: "attacker.example", "content-type": "application/json", authorization: `Bearer ${alice}` } }, (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => resolve(text));
      });
      sent.on("error", reject);
      sent.end(body);
    });
    const { setup } = (JSON.parse(answer) as { data: { createClientKey: { setup: { endpoint: string; installHelper: string } } } }).data.createClientKey;
    expect(setup.endpoint).toBe(`${base}/v1/credentials`);
    expect(JSON.stringify(setup)).not.toContain("attacker.example");
  });

  it("refuses key names that would read differently to the owner (bidi overrides, controls, lone surrogates), also from an administrator", async () => {
    const admin = await tokenFor(aws.stack, "admin");
    const aliceSub = demoUser(aws.stack, "alice").sub;
    for (const name of ["report\u202Efdp.exe", "a\u0000b", "half \uD83D"]) {
      const refused = await execute(broker.url, CreateClientKeyDocument, { input: { name, flow: "ENHANCED" }, userId: aliceSub }, admin);
      expect(refused.errors?.[0]?.extensions, JSON.stringify(name)).toMatchObject({ code: "BAD_USER_INPUT", field: "name" });
    }
    const created = await createKey(alice, { name: "cafe\u0301 export" });
    expect(created.key.name).toBe("caf\u00e9 export");
  });

  it("answers NOT_PROVISIONED for a user without a connection", async () => {
    const stranger = await mintPoolAToken(aws.stack, "no-connection-user");
    const result = await execute(broker.url, CreateClientKeyDocument, { input: { name: "job" } as never }, stranger);
    expect(errorCodes(result)).toEqual(["NOT_PROVISIONED"]);
  });

  it("answers UPSTREAM_REJECTED, as issuance does, for a disabled data platform user", async () => {
    const bobId = demoUser(aws.stack, "bob").sub;
    // The state a failed sign-in of a disabled Pool B user leaves behind.
    await broker.broker.store.updateConnection(bobId, { state: "DISABLED" });
    try {
      const result = await execute(broker.url, CreateClientKeyDocument, { input: { name: "job" } as never }, bob);
      expect(errorCodes(result)).toEqual(["UPSTREAM_REJECTED"]);
      expect(result.errors![0]!.message).toMatch(/disabled/);
    } finally {
      await broker.broker.store.updateConnection(bobId, { state: "ACTIVE" });
    }
  });

  it("keeps keys to their owner: others get FORBIDDEN, administrators may act", async () => {
    const created = await createKey(alice, { name: "owned" });
    const aliceId = demoUser(aws.stack, "alice").sub;
    expect(errorCodes(await execute(broker.url, ClientKeysDocument, { userId: aliceId }, bob))).toEqual(["FORBIDDEN"]);
    // Another user's key id and an id that does not exist get the same answer: no oracle for key ids.
    const othersKey = await execute(broker.url, RevokeClientKeyDocument, { id: created.key.id }, bob);
    const unknownKey = await execute(broker.url, RevokeClientKeyDocument, { id: "0000000000000000" }, bob);
    expect(othersKey.errors?.[0]).toEqual({ ...unknownKey.errors?.[0], extensions: { ...unknownKey.errors?.[0]?.extensions, requestId: othersKey.errors?.[0]?.extensions?.requestId } });
    expect(errorCodes(othersKey)).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await execute(broker.url, CreateClientKeyDocument, { input: { name: "x" } as never, userId: aliceId }, bob))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await execute(broker.url, RevokeClientKeyDocument, { id: "0000000000000000" }, alice))).toEqual(["BAD_USER_INPUT"]);

    const adminView = await execute(broker.url, ClientKeysDocument, { userId: aliceId }, admin);
    expect(adminView.data!.clientKeys.map((k) => k.id)).toContain(created.key.id);
    const revoked = await execute(broker.url, RevokeClientKeyDocument, { id: created.key.id }, admin);
    expect(revoked.data!.revokeClientKey).toMatchObject({ revoked: true });
    const events = await broker.broker.store.auditEvents(aliceId, 200);
    expect(events.some((e) => e.action === "CLIENT_KEY_REVOKE" && e.clientKeyId === created.key.id && e.actorUserId === demoUser(aws.stack, "admin").sub)).toBe(true);
    expect(events.some((e) => e.action === "CLIENT_KEY_CREATE" && e.clientKeyId === created.key.id)).toBe(true);
  });
});

describe("the credential endpoint", () => {
  it("answers the container-provider format, with the account of classic-flow credentials", async () => {
    const { secret, key } = await createKey(alice, { name: "format", flow: "CLASSIC", durationSeconds: 3600 });
    const answer = await fetchCredentials(base, secret);
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual(["AccessKeyId", "AccountId", "Expiration", "SecretAccessKey", "Token"]);
    expect(answer.body.AccountId).toBe(aws.stack.roleArn.split(":")[4]);
    expect(new Date(answer.body.Expiration as string).toISOString()).toBe(answer.body.Expiration);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    const events = await broker.broker.store.auditEvents(demoUser(aws.stack, "alice").sub, 200);
    expect(events.filter((e) => e.clientKeyId === key.id).map((e) => e.action).sort()).toEqual(["CLIENT_KEY_CREATE", "CLIENT_KEY_FIRST_USE", "ISSUE"]);
    const listed = await execute(broker.url, ClientKeysDocument, {}, alice);
    expect(listed.data!.clientKeys.find((k) => k.id === key.id)!.lastUsedAt).not.toBeNull();
  });

  it("issues once for many concurrent requests with one key, then serves from the cache", async () => {
    const { secret, key } = await createKey(alice, { name: "storm", flow: "CLASSIC", durationSeconds: 7200 });
    const answers = await Promise.all(Array.from({ length: 40 }, () => fetchCredentials(base, secret)));
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(200));
    expect(new Set(answers.map((a) => a.body.AccessKeyId)).size).toBe(1);
    expect(await issuancesForKey(demoUser(aws.stack, "alice").sub, key.id)).toBe(1);
    for (let i = 0; i < 5; i += 1) expect((await fetchCredentials(base, secret)).body.AccessKeyId).toBe(answers[0]!.body.AccessKeyId);
    expect(await issuancesForKey(demoUser(aws.stack, "alice").sub, key.id)).toBe(1);
  });

  it("shares one in-flight issuance even for credentials too short-lived to cache", async () => {
    const { secret, key } = await createKey(alice, { name: "enhanced-storm", flow: "ENHANCED" });
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetchCredentials(base, secret)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(await issuancesForKey(demoUser(aws.stack, "alice").sub, key.id)).toBe(1);
  });

  it.each([
    ["no key", undefined, 401],
    ["a malformed key", "hello", 401],
    ["a well-formed unknown key", `s3bk_0123456789abcdef_${"A".repeat(43)}`, 401],
    ["a Pool A token instead of a key", "eyJhbGciOiJSUzI1NiJ9.e30.sig", 401],
  ])("answers %s with %i and a {Code, Message} body", async (_name, key, status) => {
    const answer = await fetchCredentials(base, key);
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ Code: "UNAUTHENTICATED", Message: expect.any(String) });
  });

  it("answers 401 for the right key id with a wrong secret", async () => {
    const { secret } = await createKey(alice, { name: "wrong-secret" });
    const forged = `${secret.slice(0, -4)}AAAA` === secret ? `${secret.slice(0, -4)}BBBB` : `${secret.slice(0, -4)}AAAA`;
    expect((await fetchCredentials(base, forged)).status).toBe(401);
  });

  it("answers 403 for a revoked key, at once", async () => {
    const { secret, key } = await createKey(alice, { name: "to-revoke", flow: "CLASSIC", durationSeconds: 3600 });
    expect((await fetchCredentials(base, secret)).status).toBe(200);
    await execute(broker.url, RevokeClientKeyDocument, { id: key.id }, alice);
    const answer = await fetchCredentials(base, secret);
    expect(answer.status).toBe(403);
    expect(answer.body).toEqual({ Code: "FORBIDDEN", Message: "The client key was revoked." });
  });

  it("answers 403 for an expired key", async () => {
    // Long enough that a slow machine still creates it before it expires.
    const { secret } = await createKey(alice, { name: "short-lived", expiresAt: new Date(Date.now() + 4000).toISOString() });
    await sleep(4200);
    const answer = await fetchCredentials(base, secret);
    expect(answer).toMatchObject({ status: 403, body: { Code: "FORBIDDEN", Message: "The client key has expired." } });
  });

  it("answers 405 to other methods and 431 to oversized headers, never 500", async () => {
    const { secret } = await createKey(alice, { name: "methods" });
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const answer = await fetchCredentials(base, secret, { method });
      expect(answer.status).toBe(405);
      expect(answer.headers.get("allow")).toBe("GET, HEAD");
    }
    expect((await fetchCredentials(base, "s3bk_" + "a".repeat(20_000))).status).toBe(431);
  });
});

describe("revoking a data platform user", () => {
  it("disables the Pool B user, revokes every key and makes the endpoint and issuance refuse at once", async () => {
    const bobId = demoUser(aws.stack, "bob").sub;
    const { secret } = await createKey(bob, { name: "bob-job", flow: "CLASSIC", durationSeconds: 3600 });
    expect((await fetchCredentials(base, secret)).status).toBe(200);

    const revoked = await execute(broker.url, RevokeDataPlatformUserDocument, {}, bob);
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data!.revokeDataPlatformUser.state).toBe("REVOKED");

    expect((await fetchCredentials(base, secret)).status).toBe(403);
    expect(errorCodes(await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC" }, bob))).toEqual(["FORBIDDEN"]);
    expect((await execute(broker.url, ClientKeysDocument, {}, bob)).data!.clientKeys.every((k) => k.revoked)).toBe(true);
    const pool = poolBAdmin(aws.stack);
    const { poolBUsername } = (await broker.broker.store.getConnection(bobId))!;
    expect((await pool.send(new AdminGetUserCommand({ UserPoolId: aws.stack.poolB.userPoolId, Username: poolBUsername }))).Enabled).toBe(false);
    pool.destroy();
    expect(await broker.broker.store.getPoolBTokens(bobId)).toBeNull();
  });

  it("cannot be undone by the user; an administrator can reinstate", async () => {
    expect(errorCodes(await execute(broker.url, ProvisionDataPlatformUserDocument, {}, bob))).toEqual(["FORBIDDEN"]);
    const bobId = demoUser(aws.stack, "bob").sub;
    const reinstated = await execute(broker.url, ProvisionDataPlatformUserDocument, { userId: bobId }, admin);
    expect(reinstated.errors).toBeUndefined();
    expect(reinstated.data!.provisionDataPlatformUser.state).toBe("ACTIVE");
    expect((await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 900 }, bob)).errors).toBeUndefined();
  });

  it("is refused to an ordinary user for someone else", async () => {
    const result = await execute(broker.url, RevokeDataPlatformUserDocument, { userId: demoUser(aws.stack, "alice").sub }, bob);
    expect(errorCodes(result)).toEqual(["FORBIDDEN"]);
  });
});
