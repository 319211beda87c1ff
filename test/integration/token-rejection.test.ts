import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionStatusDocument, ProvisionDataPlatformUserDocument } from "../generated/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { errorCodes, execute, post } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { b64url, mintPoolAToken } from "../support/tokens.js";
import { demoUser, tokenFor } from "../support/users.js";

let aws: LocalAws;
let broker: BrokerUnderTest;

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack);
});

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
});

async function statusWith(token: string) {
  return execute(broker.url, ConnectionStatusDocument, {}, token);
}

describe("Pool A token verification", () => {
  it("accepts a real Pool A ID token and a correctly minted one", async () => {
    expect((await statusWith(await tokenFor(aws.stack, "alice"))).errors).toBeUndefined();
    expect((await statusWith(await mintPoolAToken(aws.stack, "minted-user"))).data!.connectionStatus.userId).toBe("minted-user");
  });

  const now = () => Math.floor(Date.now() / 1000);
  const cases: Array<[string, () => Promise<string>]> = [
    ["an expired token", () => mintPoolAToken(aws.stack, "u", { claims: { iat: now() - 7200, exp: now() - 3600 } })],
    ["a token from another issuer", () => mintPoolAToken(aws.stack, "u", { claims: { iss: `https://cognito-idp.${aws.stack.region}.amazonaws.com/${aws.stack.region}_Other` } })],
    ["a token for another client", () => mintPoolAToken(aws.stack, "u", { claims: { aud: "some-other-client" } })],
    ["an access token where ID tokens are configured", () => mintPoolAToken(aws.stack, "u", { claims: { token_use: "access", client_id: aws.stack.poolA.clientId, aud: undefined } })],
    ["a token with an unknown kid", () => mintPoolAToken(aws.stack, "u", { header: { kid: "not-in-the-jwks" } })],
    ["a token issued in the future", () => mintPoolAToken(aws.stack, "u", { claims: { iat: now() + 3600, exp: now() + 7200 } })],
    [
      "a tampered payload (signature no longer matches)",
      async () => {
        const [header, , signature] = (await mintPoolAToken(aws.stack, "u")).split(".");
        return `${header}.${b64url({ sub: "admin", aud: aws.stack.poolA.clientId, token_use: "id", "cognito:groups": ["broker-admins"], exp: now() + 3600, iat: now(), iss: `https://cognito-idp.${aws.stack.region}.amazonaws.com/${aws.stack.poolA.userPoolId}` })}.${signature}`;
      },
    ],
    [
      "an alg: none token",
      async () => {
        const payload = { sub: "u", aud: aws.stack.poolA.clientId, token_use: "id", exp: now() + 3600, iat: now(), iss: `https://cognito-idp.${aws.stack.region}.amazonaws.com/${aws.stack.poolA.userPoolId}` };
        return `${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.`;
      },
    ],
    ["garbage", async () => "not-a-jwt"],
    ["a huge token (over 8 KiB)", async () => `${await mintPoolAToken(aws.stack, "u", { claims: { padding: "x".repeat(9_000) } })}`],
  ];

  it.each(cases)("answers UNAUTHENTICATED to %s", async (_name, make) => {
    const result = await statusWith(await make());
    expect(result.status).toBe(200);
    expect(errorCodes(result)).toEqual(["UNAUTHENTICATED"]);
    expect(result.data).toBeNull();
  });

  it("answers UNAUTHENTICATED to a Pool B token presented as a Pool A token", async () => {
    const alice = await tokenFor(aws.stack, "alice");
    await execute(broker.url, ProvisionDataPlatformUserDocument, {}, alice);
    const poolBToken = (await broker.broker.store.getPoolBTokens(demoUser(aws.stack, "alice").sub))!.idToken;
    expect(poolBToken.split(".")).toHaveLength(3);
    expect(errorCodes(await statusWith(poolBToken))).toEqual(["UNAUTHENTICATED"]);
  });

  it("answers 431, not a crash, to headers larger than the server accepts", async () => {
    const result = await statusWith("a".repeat(20_000));
    expect(result.status).toBe(431);
  });

  it("answers UNAUTHENTICATED to an authorization header of another scheme", async () => {
    const alice = await tokenFor(aws.stack, "alice");
    const result = await post(broker.url, { query: "{ connectionStatus { state } }" }, { authorization: `Basic ${alice}` });
    expect(errorCodes(result)).toEqual(["UNAUTHENTICATED"]);
  });

  it("treats a forged admin group claim as nothing without a valid signature", async () => {
    const forged = await mintPoolAToken(aws.stack, "not-an-admin", { claims: { "cognito:groups": ["users"] } });
    const result = await execute(broker.url, ConnectionStatusDocument, { userId: demoUser(aws.stack, "bob").sub }, forged);
    expect(errorCodes(result)).toEqual(["FORBIDDEN"]);
  });
});
