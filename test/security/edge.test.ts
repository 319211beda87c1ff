import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientKeysDocument,
  ConnectionStatusDocument,
  CreateClientKeyDocument,
  CredentialExpiryDocument,
  IssueCredentialsDocument,
  ProvisionDataPlatformUserDocument,
  RefreshTokensDocument,
  RevokeDataPlatformUserDocument,
} from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf, fetchCredentials } from "../support/credential-endpoint.js";
import { errorCodes, execute, post } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { mintPoolAToken, motoSigningKey } from "../../src/dev/moto-tokens.js";
import { demoUser, poolBUsers, tokenFor } from "../support/users.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

let aws: LocalAws;
let broker: BrokerUnderTest;
let alice: string;
let bob: string;
let admin: string;
/** Every secret the suite handled, to look for in the logs at the end. */
const handledSecrets = new Set<string>();

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack, { RATE_LIMIT_MUTATIONS_PER_MINUTE: "1000", RATE_LIMIT_FIELDS_PER_MINUTE: "1000" });
  [alice, bob, admin] = await Promise.all([tokenFor(aws.stack, "alice"), tokenFor(aws.stack, "bob"), tokenFor(aws.stack, "admin")]);
  for (const token of [alice, bob, admin]) handledSecrets.add(token);
  for (const token of [alice, bob]) expect((await execute(broker.url, ProvisionDataPlatformUserDocument, {}, token)).errors).toBeUndefined();
});

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
});

describe("JWT attacks", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const issuer = () => `https://cognito-idp.${aws.stack.region}.amazonaws.com/${aws.stack.poolA.userPoolId}`;

  it("refuses HS256 signed with the pool's public key (algorithm confusion)", async () => {
    const { createPublicKey } = await import("node:crypto");
    const publicPem = createPublicKey(motoSigningKey().pem).export({ type: "spki", format: "pem" }).toString();
    const token = await new SignJWT({ sub: "attacker", aud: aws.stack.poolA.clientId, token_use: "id", iss: issuer(), iat: now(), exp: now() + 3600, "cognito:groups": ["broker-admins"] })
      .setProtectedHeader({ alg: "HS256", kid: motoSigningKey().kid })
      .sign(new TextEncoder().encode(publicPem));
    expect(errorCodes(await execute(broker.url, ConnectionStatusDocument, {}, token))).toEqual(["UNAUTHENTICATED"]);
  });

  it("refuses a kid that names another pool's key", async () => {
    const token = await mintPoolAToken(aws.stack, "u", { header: { kid: `${aws.stack.poolB.userPoolId}-key` } });
    expect(errorCodes(await execute(broker.url, ConnectionStatusDocument, {}, token))).toEqual(["UNAUTHENTICATED"]);
  });

  it("refuses a token that claims to live longer than Cognito's longest validity (a day), even correctly signed", async () => {
    const longLived = await mintPoolAToken(aws.stack, "u", { claims: { iat: now() - 60, exp: now() + 30 * 86_400 } });
    const refused = await execute(broker.url, ConnectionStatusDocument, {}, longLived);
    expect(errorCodes(refused)).toEqual(["UNAUTHENTICATED"]);
    expect(refused.errors?.[0]?.extensions?.reason).toBe("INVALID");
    const day = await mintPoolAToken(aws.stack, "u", { claims: { iat: now() - 60, exp: now() + 86_400 - 120 } });
    expect(errorCodes(await execute(broker.url, ConnectionStatusDocument, {}, day))).not.toContain("UNAUTHENTICATED");
  });

  it("refuses a far-future expiry with an iat in the future", async () => {
    const token = await mintPoolAToken(aws.stack, "u", { claims: { iat: now() + 86_400, exp: now() + 10 * 365 * 86_400 } });
    expect(errorCodes(await execute(broker.url, ConnectionStatusDocument, {}, token))).toEqual(["UNAUTHENTICATED"]);
  });
});

describe("tenant values that try to escape", () => {
  it.each(["a/../b", "*", "a*", "", "x".repeat(200), "ünïcödé", "acme/", "${aws:username}", 42])("refuses %j before anything reaches Cognito", async (tenant) => {
    const usersBefore = (await poolBUsers(aws.stack)).length;
    const token = await mintPoolAToken(aws.stack, `escape-${randomUUID()}`, { claims: { "custom:tenant": tenant } });
    const result = await execute(broker.url, ProvisionDataPlatformUserDocument, {}, token);
    expect(errorCodes(result)).toEqual(["FORBIDDEN"]);
    expect((await poolBUsers(aws.stack)).length).toBe(usersBefore);
  });
});

describe("GraphQL abuse", () => {
  const gql = (body: unknown, headers: Record<string, string> = {}) => post(broker.url, body, { authorization: `Bearer ${alice}`, ...headers });

  it("refuses deep nesting without naming the limit", async () => {
    const deep = `{ __schema { types { fields { type { ${"ofType { ".repeat(30)} name ${"} ".repeat(30)} } } } } }`;
    const result = await gql({ query: deep });
    expect(errorCodes(result)).toContain("GRAPHQL_VALIDATION_FAILED");
    for (const error of result.errors!) expect(error.message).not.toMatch(/\d/);
  });

  it("refuses alias flooding", async () => {
    const query = `{ ${Array.from({ length: 50 }, (_, i) => `a${i}: connectionStatus { state }`).join(" ")} }`;
    const result = await gql({ query });
    expect(errorCodes(result)).toContain("GRAPHQL_VALIDATION_FAILED");
    expect(result.data).toBeUndefined();
  });

  it("refuses documents with too many tokens", async () => {
    const query = `{ connectionStatus { ${"state ".repeat(3000)} } }`;
    const result = await gql({ query });
    expect(result.status).toBe(400);
    expect(result.data ?? null).toBeNull();
    expect(result.errors![0]!.message).toBe("Syntax Error: Document is too large.");
  });

  it("refuses huge bodies with 413", async () => {
    const result = await gql({ query: `{ connectionStatus { state } } # ${"x".repeat(200_000)}` });
    expect(result.status).toBe(413);
  });

  it("refuses mutations over GET", async () => {
    const url = `${broker.url}?query=${encodeURIComponent("mutation { refreshTokens { state } }")}`;
    const response = await fetch(url, { headers: { authorization: `Bearer ${alice}`, "apollo-require-preflight": "true" } });
    expect(response.status).toBe(405);
  });

  it("refuses simple-content-type POSTs and unmarked GETs (CSRF prevention)", async () => {
    const simple = await fetch(broker.url, { method: "POST", headers: { "content-type": "text/plain", authorization: `Bearer ${alice}` }, body: JSON.stringify({ query: "mutation { refreshTokens { state } }" }) });
    expect(simple.status).toBe(400);
    const get = await fetch(`${broker.url}?query=${encodeURIComponent("{ connectionStatus { state } }")}`, { headers: { authorization: `Bearer ${alice}` } });
    expect(get.status).toBe(400);
  });

  it("refuses batched requests", async () => {
    const result = await gql([{ query: "{ connectionStatus { state } }" }, { query: "{ connectionStatus { state } }" }]);
    expect(result.status).toBe(400);
  });
});

describe("object-level authorisation on every operation", () => {
  const asUser = (token: string, userId: string) => [
    () => execute(broker.url, ConnectionStatusDocument, { userId }, token),
    () => execute(broker.url, CredentialExpiryDocument, { userId }, token),
    () => execute(broker.url, ProvisionDataPlatformUserDocument, { userId }, token),
    () => execute(broker.url, RefreshTokensDocument, { userId }, token),
    () => execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 900, userId }, token),
    () => execute(broker.url, ClientKeysDocument, { userId }, token),
    () => execute(broker.url, CreateClientKeyDocument, { input: { name: "x" }, userId }, token),
    () => execute(broker.url, RevokeDataPlatformUserDocument, { userId }, token),
  ];

  it("answers FORBIDDEN to an ordinary user on every operation for another user", async () => {
    for (const operation of asUser(alice, demoUser(aws.stack, "bob").sub)) expect(errorCodes(await operation())).toEqual(["FORBIDDEN"]);
  });

  it("lets an administrator do every operation for another user, and audits it as the administrator", async () => {
    const bobId = demoUser(aws.stack, "bob").sub;
    for (const operation of asUser(admin, bobId)) {
      const result = await operation();
      expect(result.errors).toBeUndefined();
      for (const value of JSON.stringify(result.data).match(/s3bk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/g) ?? []) handledSecrets.add(value);
    }
    const adminId = demoUser(aws.stack, "admin").sub;
    const actions = (await broker.broker.store.auditEvents(bobId, 500)).filter((e) => e.actorUserId === adminId).map((e) => e.action);
    expect(new Set(actions)).toEqual(new Set(["PROVISION", "REFRESH", "ISSUE", "CLIENT_KEY_CREATE", "REVOKE_DATA_PLATFORM_USER", "ADMIN_READ"]));
  });
});

describe("rate limits", () => {
  it("counts every aliased mutation and answers RATE_LIMITED with a retry hint", async () => {
    const limited = await startBroker(aws.stack, { RATE_LIMIT_MUTATIONS_PER_MINUTE: "4" });
    try {
      const token = await tokenFor(aws.stack, "alice");
      expect((await execute(limited.url, ProvisionDataPlatformUserDocument, {}, token)).errors).toBeUndefined(); // 1 point
      // Mutation fields run one after another; three more points are left, so the fourth alias is refused.
      const query = `mutation { ${Array.from({ length: 5 }, (_, i) => `r${i}: refreshTokens { state }`).join(" ")} }`;
      const result = await post(limited.url, { query }, { authorization: `Bearer ${token}` });
      expect(result.errors).toHaveLength(1);
      const refusal = result.errors![0]!;
      expect(refusal).toMatchObject({ path: ["r3"], extensions: { code: "RATE_LIMITED" } });
      expect(refusal.extensions!.retryAfterSeconds).toBeGreaterThan(0);
      expect(refusal.message).not.toMatch(/\d/);
    } finally {
      await limited.close();
    }
  });

  it("limits the credential endpoint per client key with 429 and Retry-After", async () => {
    const limited = await startBroker(aws.stack, { RATE_LIMIT_CREDENTIAL_ENDPOINT_PER_MINUTE: "2" });
    try {
      const token = await tokenFor(aws.stack, "alice");
      await execute(limited.url, ProvisionDataPlatformUserDocument, {}, token);
      const { secret } = (await execute(limited.url, CreateClientKeyDocument, { input: { name: "rl", flow: "CLASSIC", durationSeconds: 3600 } }, token)).data!.createClientKey;
      handledSecrets.add(secret);
      const statuses = [];
      for (let i = 0; i < 3; i += 1) statuses.push(await fetchCredentials(baseUrlOf(limited.url), secret));
      expect(statuses.map((s) => s.status)).toEqual([200, 200, 429]);
      expect(statuses[2]!.body).toEqual({ Code: "RATE_LIMITED", Message: expect.any(String) });
      expect(Number(statuses[2]!.headers.get("retry-after"))).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });

  it("shares one allowance between replicas through Redis", async () => {
    const env = { RATE_LIMIT_MUTATIONS_PER_MINUTE: "4", REDIS_URL };
    const [first, second] = await Promise.all([startBroker(aws.stack, env), startBroker(aws.stack, env)]);
    try {
      const token = await mintPoolAToken(aws.stack, `redis-${randomUUID()}`);
      const codes: unknown[] = [];
      for (const replica of [first, second, first, second, first, second]) {
        codes.push(...errorCodes(await execute(replica.url, RefreshTokensDocument, {}, token)));
      }
      // Four points in all (NOT_PROVISIONED still costs one), then refusals on either replica.
      expect(codes).toEqual(["NOT_PROVISIONED", "NOT_PROVISIONED", "NOT_PROVISIONED", "NOT_PROVISIONED", "RATE_LIMITED", "RATE_LIMITED"]);
    } finally {
      await first.close();
      await second.close();
    }
  });
});

describe("rate limits while Redis is unreachable", () => {
  it("still start and still limit, counting in memory", async () => {
    const { freePort } = await import("../../src/dev/moto.js");
    const closedPort = await freePort();
    const limited = await startBroker(aws.stack, { RATE_LIMIT_MUTATIONS_PER_MINUTE: "2", REDIS_URL: `redis://127.0.0.1:${closedPort}` });
    try {
      const token = await mintPoolAToken(aws.stack, `no-redis-${randomUUID()}`);
      const codes: unknown[] = [];
      for (let i = 0; i < 3; i += 1) codes.push(...errorCodes(await execute(limited.url, RefreshTokensDocument, {}, token)));
      expect(codes).toEqual(["NOT_PROVISIONED", "NOT_PROVISIONED", "RATE_LIMITED"]);
      expect(limited.logs.some((line) => line.includes('"event":"redis_unavailable"'))).toBe(true);
    } finally {
      await limited.close();
    }
  });
});

describe("a bounded random-input run", () => {
  it("answers thousands of random documents, variables and headers without a single 5xx, and stays healthy", { timeout: 120_000 }, async () => {
    const fields = ["connectionStatus", "credentialExpiry", "provisionDataPlatformUser", "issueCredentials", "refreshTokens", "clientKeys", "createClientKey", "revokeClientKey", "revokeDataPlatformUser", "__schema", "__typename", "nope"];
    const selection = fc.array(fc.constantFrom("state", "prefix", "userId", "secret", "key { id }", "accessKeyId", "{", "}", "...F", "@skip(if: true)", "__typename"), { maxLength: 6 }).map((parts) => parts.join(" "));
    const args = fc.oneof(
      fc.constant(""),
      fc.constantFrom("(flow: CLASSIC)", "(flow: ENHANCED, durationSeconds: 900)", "(durationSeconds: -1)", "(userId: \"x\")", "(input: {name: \"\"})", "(id: $id)", "(flow: $f)"),
      fc.string({ maxLength: 20 }).map((s) => `(${s})`),
    );
    const document = fc.oneof(
      fc.tuple(fc.constantFrom("", "query", "mutation", "subscription", "query Q($f: CredentialFlow!, $id: ID!)"), fc.constantFrom(...fields), args, selection).map(
        ([op, field, a, sel]) => `${op} { ${field}${a} { ${sel} } }`,
      ),
      fc.string({ maxLength: 200 }),
      fc.constant("{ ".repeat(300)),
    );
    const variables = fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 }), fc.record({ f: fc.oneof(fc.string(), fc.constantFrom("CLASSIC", "ENHANCED")), id: fc.oneof(fc.string(), fc.integer()) }));
    const authorization = fc.oneof(fc.constant(`Bearer ${alice}`), fc.constant(undefined), fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }).map((s) => `Bearer ${s}`));
    const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "application/graphql-response+json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "");
    const request = fc.record({ document, variables, authorization, contentType, operationName: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }), raw: fc.option(fc.string({ maxLength: 100 }), { nil: undefined }) });

    const samples = fc.sample(request, { seed: 20261123, numRuns: 3000 });
    const statuses = new Map<number, number>();
    for (const sample of samples) {
      const headers: Record<string, string> = { "apollo-require-preflight": "true" };
      if (sample.authorization !== undefined) headers.authorization = sample.authorization.replace(/[^\t\x20-\x7e]/g, "?");
      if (sample.contentType) headers["content-type"] = sample.contentType;
      const body = sample.raw ?? JSON.stringify({ query: sample.document, variables: sample.variables, operationName: sample.operationName });
      const response = await fetch(broker.url, { method: "POST", headers, body });
      const text = await response.text();
      if (response.status >= 500) console.log("5xx for", JSON.stringify({ headers, body }).slice(0, 300), "->", text.slice(0, 200));
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    }
    const fiveHundreds = [...statuses].filter(([status]) => status >= 500).reduce((n, [, count]) => n + count, 0);
    console.log(`random-input run: ${samples.length} requests, status counts ${JSON.stringify(Object.fromEntries(statuses))}, 5xx: ${fiveHundreds}`);
    expect(fiveHundreds).toBe(0);
    expect((await fetch(`${baseUrlOf(broker.url)}/healthz`)).status).toBe(200);
    expect((await execute(broker.url, ConnectionStatusDocument, {}, alice)).errors).toBeUndefined();
  });
});

describe("the logs of this whole suite", () => {
  it("contain no token, secret or session key the broker handled", async () => {
    for (const user of ["alice", "bob"] as const) {
      const tokens = await broker.broker.store.getPoolBTokens(demoUser(aws.stack, user).sub);
      if (tokens) {
        handledSecrets.add(tokens.idToken);
        handledSecrets.add(tokens.refreshToken);
      }
    }
    const issued = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 900 }, alice);
    handledSecrets.add(issued.data!.issueCredentials.secretAccessKey);
    handledSecrets.add(issued.data!.issueCredentials.sessionToken);
    handledSecrets.add(aws.stack.poolB.clientSecret);
    const log = broker.logs.join("\n");
    const hits = [...handledSecrets].filter((secret) => log.includes(secret));
    console.log(`log scan: ${broker.logs.length} lines, ${handledSecrets.size} secrets looked for, ${hits.length} found`);
    expect(hits).toEqual([]);
  });
});
