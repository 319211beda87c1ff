import { describe, expect } from "vitest";
import type { StackInfo } from "../../src/dev/bootstrap.js";
import { ConnectionStatusDocument, ProvisionDataPlatformUserDocument } from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { errorCodes, execute, post } from "../support/graphql-client.js";
import { emulatorTest } from "../support/fixtures.js";
import { b64url, mintPoolAToken } from "../../src/dev/moto-tokens.js";
import { demoUser, tokenFor } from "../support/users.js";

const it = emulatorTest();

async function statusWith(broker: BrokerUnderTest, token: string) {
  return execute(broker.url, ConnectionStatusDocument, {}, token);
}

describe("Pool A token verification", () => {
  it("accepts a real Pool A ID token and a correctly minted one", async ({ aws, broker }) => {
    expect((await statusWith(broker, await tokenFor(aws.stack, "alice"))).errors).toBeUndefined();
    expect((await statusWith(broker, await mintPoolAToken(aws.stack, "minted-user"))).data!.connectionStatus.userId).toBe("minted-user");
  });

  const now = () => Math.floor(Date.now() / 1000);
  const cases: Array<[string, (stack: StackInfo) => Promise<string>, "EXPIRED" | "INVALID" | "MALFORMED"]> = [
    ["an expired token", (stack) => mintPoolAToken(stack, "u", { claims: { iat: now() - 7200, exp: now() - 3600 } }), "EXPIRED"],
    ["a token without exp (it would never expire)", (stack) => mintPoolAToken(stack, "u", { claims: { exp: undefined } }), "INVALID"],
    ["a token from another issuer", (stack) => mintPoolAToken(stack, "u", { claims: { iss: `https://cognito-idp.${stack.region}.amazonaws.com/${stack.region}_Other` } }), "INVALID"],
    ["a token for another client", (stack) => mintPoolAToken(stack, "u", { claims: { aud: "some-other-client" } }), "INVALID"],
    ["an access token where ID tokens are configured", (stack) => mintPoolAToken(stack, "u", { claims: { token_use: "access", client_id: stack.poolA.clientId, aud: undefined } }), "INVALID"],
    ["a token with an unknown kid", (stack) => mintPoolAToken(stack, "u", { header: { kid: "not-in-the-jwks" } }), "INVALID"],
    ["a token issued in the future", (stack) => mintPoolAToken(stack, "u", { claims: { iat: now() + 3600, exp: now() + 7200 } }), "INVALID"],
    [
      "a tampered payload (signature no longer matches)",
      async (stack) => {
        const [header, , signature] = (await mintPoolAToken(stack, "u")).split(".");
        return `${header}.${b64url({ sub: "admin", aud: stack.poolA.clientId, token_use: "id", "cognito:groups": ["broker-admins"], exp: now() + 3600, iat: now(), iss: `https://cognito-idp.${stack.region}.amazonaws.com/${stack.poolA.userPoolId}` })}.${signature}`;
      },
      "INVALID",
    ],
    [
      "an alg: none token",
      async (stack) => {
        const payload = { sub: "u", aud: stack.poolA.clientId, token_use: "id", exp: now() + 3600, iat: now(), iss: `https://cognito-idp.${stack.region}.amazonaws.com/${stack.poolA.userPoolId}` };
        return `${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.`;
      },
      "MALFORMED",
    ],
    ["garbage", async () => "not-a-jwt", "MALFORMED"],
    ["a huge token (over 8 KiB)", async (stack) => `${await mintPoolAToken(stack, "u", { claims: { padding: "x".repeat(9_000) } })}`, "MALFORMED"],
  ];

  it.for(cases)("refuses %s before execution: 401, UNAUTHENTICATED with its reason", async ([, make, reason], { aws, broker }) => {
    const result = await statusWith(broker, await make(aws.stack));
    expect(result.status).toBe(401);
    expect(result.headers.get("www-authenticate")).toBe(`Bearer realm="s3-access-broker", error="invalid_token", error_description="${reason.toLowerCase()}"`);
    expect(result.errors).toEqual([{ message: expect.any(String), extensions: { code: "UNAUTHENTICATED", reason, requestId: result.headers.get("x-request-id") } }]);
    expect(result.data).toBeUndefined();
  });

  it("tells a missing token (sign in) from an expired one (refresh): different reasons and messages", async ({ aws, broker }) => {
    const missing = await post(broker.url, { query: "{ connectionStatus { state } }" });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="s3-access-broker"');
    expect(missing.errors![0]!.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason: "MISSING" });
    expect(missing.data).toBeNull();
    const expired = await statusWith(broker, await mintPoolAToken(aws.stack, "u", { claims: { iat: now() - 7200, exp: now() - 3600 } }));
    expect(expired.errors![0]!.message).toMatch(/expired; refresh it/);
    expect(missing.errors![0]!.message).toMatch(/^Sign in/);
    // Introspection needs no token, and a missing one does not stop it.
    expect((await post(broker.url, { query: "{ __typename }" })).status).toBe(200);
  });

  it("answers UNAUTHENTICATED to a Pool B token presented as a Pool A token", async ({ aws, broker }) => {
    const alice = await tokenFor(aws.stack, "alice");
    await execute(broker.url, ProvisionDataPlatformUserDocument, {}, alice);
    const poolBToken = (await broker.broker.store.getPoolBTokens(demoUser(aws.stack, "alice").sub))!.idToken;
    expect(poolBToken.split(".")).toHaveLength(3);
    const answer = await statusWith(broker, poolBToken);
    expect(answer.status).toBe(401);
    expect(answer.errors![0]!.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason: "INVALID" });
  });

  it("answers 431, not a crash, to headers larger than the server accepts", async ({ broker }) => {
    const result = await statusWith(broker, "a".repeat(20_000));
    expect(result.status).toBe(431);
  });

  it("answers UNAUTHENTICATED to an authorization header of another scheme", async ({ aws, broker }) => {
    const alice = await tokenFor(aws.stack, "alice");
    const result = await post(broker.url, { query: "{ connectionStatus { state } }" }, { authorization: `Basic ${alice}` });
    expect(result.status).toBe(401);
    expect(result.errors![0]!.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason: "MALFORMED" });
  });

  it("answers UPSTREAM_UNAVAILABLE (503, retryable), not UNAUTHENTICATED, when Pool A's keys cannot be fetched", async ({ aws }) => {
    const unreachable = await startBroker(aws.stack, { POOL_A_JWKS_URI: "http://127.0.0.1:9/jwks.json" });
    try {
      const result = await execute(unreachable.url, ConnectionStatusDocument, {}, await tokenFor(aws.stack, "alice"));
      expect(result.status).toBe(503);
      expect(result.headers.get("retry-after")).toBe("5");
      expect(result.errors![0]!.extensions).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", retryable: true });
    } finally {
      await unreachable.close();
    }
  });

  it("treats a forged admin group claim as nothing without a valid signature", async ({ aws, broker }) => {
    const forged = await mintPoolAToken(aws.stack, "not-an-admin", { claims: { "cognito:groups": ["users"] } });
    const result = await execute(broker.url, ConnectionStatusDocument, { userId: demoUser(aws.stack, "bob").sub }, forged);
    expect(errorCodes(result)).toEqual(["FORBIDDEN"]);
  });
});
