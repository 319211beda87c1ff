import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateClientKeyDocument, PresignDownloadsDocument, ProvisionDataPlatformUserDocument, RevokeClientKeyDocument } from "../../src/client/graphql.js";
import { mintPartnerToken } from "../../src/dev/moto-tokens.js";
import { startRecordingProxy } from "../../src/dev/recording-proxy.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf, fetchCredentials } from "../support/credential-endpoint.js";
import { errorCodes, execute, post } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser } from "../support/pool-a-users.js";

/**
 * One tenant never hurts another: every actor is throttled as itself, and what the broker already
 * knows is answered without spending the AWS quotas every tenant shares. Brokers reach moto through
 * a recording proxy, so the tests see which Pool A calls really went out.
 */
let aws: LocalAws;
let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  for (const stop of stops) await stop();
  await aws?.stop();
});

/** A broker of the test's own, behind a recording proxy of its own (what it sent, and nothing another test's broker still sends). */
async function brokerWith(env: Record<string, string>): Promise<BrokerUnderTest> {
  proxy = await startRecordingProxy(aws.moto.endpoint);
  const broker = await startBroker(aws.stack, { AWS_ENDPOINT_URL: proxy.endpoint, ...env });
  const own = proxy;
  stops.push(() => broker.close(), () => own.stop());
  return broker;
}

async function provisionedOn(broker: BrokerUnderTest, tenant: string) {
  const user = await freshPoolAUser(aws.stack, { tenant });
  const { idToken } = await user.signIn();
  expect((await execute(broker.url, ProvisionDataPlatformUserDocument, {}, idToken)).errors).toBeUndefined();
  return { user, idToken };
}

/** One request with `aliases` connectionStatus fields, each naming a user id. */
const aliased = (userIds: string[]) => ({ query: `{ ${userIds.map((id, i) => `s${i}: connectionStatus(userId: "${id}") { state }`).join(" ")} }` });

const callsOf = (operation: string, from: number) => proxy.calls.slice(from).filter((c) => c.operation === operation).length;

describe("every actor's allowance", () => {
  it("counts each alias: a flooding partner is RATE_LIMITED as itself, while another tenant's user is served", async () => {
    const broker = await brokerWith({ RATE_LIMIT_FIELDS_PER_MINUTE: "20", RATE_LIMIT_PARTNER_LOOKUPS_PER_MINUTE: "1000" });
    const partner = await mintPartnerToken(aws.stack, ["provision"]);
    const { idToken } = await provisionedOn(broker, "globex");
    const first = await post(broker.url, aliased(Array.from({ length: 10 }, () => randomUUID())), { authorization: `Bearer ${partner}` });
    const second = await post(broker.url, aliased(Array.from({ length: 10 }, () => randomUUID())), { authorization: `Bearer ${partner}` });
    for (const answer of [first, second]) expect(new Set(errorCodes(answer))).toEqual(new Set(["FORBIDDEN"]));
    const third = await post(broker.url, aliased(Array.from({ length: 10 }, () => randomUUID())), { authorization: `Bearer ${partner}` });
    // graphql-js answers with the first error of a non-null root field; every alias was refused.
    expect(third.data).toBeNull();
    expect(third.errors!.length).toBeGreaterThanOrEqual(1);
    for (const e of third.errors!) expect(e.extensions).toMatchObject({ code: "RATE_LIMITED", retryAfterSeconds: expect.any(Number) });
    // The metrics say who was limited (a kind of actor, never an id).
    expect(await (await fetch(broker.metricsUrl)).text()).toMatch(/broker_rate_limited_total\{bucket="actor",actor="partner"\} [1-9]/);
    // The other tenant's user has an allowance of its own.
    const own = await post(broker.url, { query: "{ connectionStatus { state } }" }, { authorization: `Bearer ${idToken}` });
    expect(own.errors).toBeUndefined();
    expect(own.data).toEqual({ connectionStatus: { state: "ACTIVE" } });
  });

  it("counts a batch of presigned downloads as one mutation: a user who floods them is RATE_LIMITED as herself, another tenant's user is served", async () => {
    const broker = await brokerWith({ RATE_LIMIT_MUTATIONS_PER_MINUTE: "3" });
    const [{ idToken: flooder }, { idToken: neighbour }] = [await provisionedOn(broker, "acme"), await provisionedOn(broker, "globex")];
    // A page of 100 files is one request and one unit of the allowance (the provisioning was the first).
    const keys = Array.from({ length: 100 }, (_, i) => `reports/f${i}.csv`);
    for (let i = 0; i < 2; i += 1) {
      const page = await execute(broker.url, PresignDownloadsDocument, { keys }, flooder);
      expect(page.errors).toBeUndefined();
      expect(page.data!.presignDownloads).toHaveLength(100);
    }
    const flooded = await execute(broker.url, PresignDownloadsDocument, { keys }, flooder);
    expect(flooded.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", retryAfterSeconds: expect.any(Number) });
    // The neighbour's allowance is her own.
    expect((await execute(broker.url, PresignDownloadsDocument, { keys }, neighbour)).errors).toBeUndefined();
  });

  it("charges a partner's look-ups of users the broker does not know before Pool A is asked, and refuses users pinned elsewhere without asking", async () => {
    const broker = await brokerWith({ RATE_LIMIT_PARTNER_LOOKUPS_PER_MINUTE: "5" });
    const partner = await mintPartnerToken(aws.stack, ["provision"]);
    const { user: stranger } = await provisionedOn(broker, "globex");
    const from = proxy.calls.length;
    const results = [];
    for (let i = 0; i < 8; i++) results.push(errorCodes(await post(broker.url, aliased([randomUUID()]), { authorization: `Bearer ${partner}` }))[0]);
    expect(results).toEqual([...Array(5).fill("FORBIDDEN"), ...Array(3).fill("RATE_LIMITED")]);
    // Only the charged look-ups reached Pool A.
    expect(callsOf("ListUsers", from)).toBe(5);
    // A user the broker knows, pinned to a tenant that is not the partner's: refused with no Pool A call, and no look-up charged.
    const before = proxy.calls.length;
    const pinned = await post(broker.url, aliased([stranger.sub]), { authorization: `Bearer ${partner}` });
    expect(pinned.errors![0]!.extensions).toMatchObject({ code: "FORBIDDEN", reason: "PARTNER_TENANT" });
    expect(proxy.calls.slice(before).filter((c) => c.operation === "ListUsers" || c.operation === "AdminGetUser")).toEqual([]);
  });
});

describe("callers without a valid token", () => {
  it("are limited per address: a flood of them is refused as itself, a signed-in user or another address is not", async () => {
    const broker = await brokerWith({ RATE_LIMIT_ANONYMOUS_PER_MINUTE: "3", TRUSTED_PROXY_HOPS: "1" });
    const { idToken } = await provisionedOn(broker, "globex");
    const from = (address: string, token?: string) => ({ "x-forwarded-for": address, ...(token ? { authorization: `Bearer ${token}` } : {}) });
    const query = { query: "{ connectionStatus { state } }" };
    for (let i = 0; i < 3; i++) expect((await post(broker.url, query, from("198.51.100.7", i === 0 ? "not-a-jwt" : undefined))).status).toBe(401);
    const refused = await post(broker.url, query, from("198.51.100.7"));
    expect(refused.status).toBe(429);
    expect(refused.errors![0]!.extensions).toMatchObject({ code: "RATE_LIMITED", retryAfterSeconds: expect.any(Number), requestId: expect.any(String) });
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    // The same address with a valid token, and another address without one, are served as usual.
    expect((await post(broker.url, query, from("198.51.100.7", idToken))).data).toEqual({ connectionStatus: { state: "ACTIVE" } });
    expect((await post(broker.url, query, from("203.0.113.9"))).status).toBe(401);
  });
});

describe("client keys", () => {
  it("check their owner's standing with one AdminGetUser (the username the broker kept), never a ListUsers search", async () => {
    const broker = await brokerWith({});
    const { user, idToken } = await provisionedOn(broker, "acme");
    expect((await broker.broker.store.getConnection(user.sub))!.poolAUsername).toBe(user.username);
    const key = await execute(broker.url, CreateClientKeyDocument, { input: { name: "nightly", flow: "CLASSIC", durationSeconds: 900 } }, idToken);
    const from = proxy.calls.length;
    expect((await fetchCredentials(baseUrlOf(broker.url), key.data!.createClientKey.secret)).status).toBe(200);
    expect(callsOf("AdminGetUser", from)).toBeGreaterThanOrEqual(1);
    expect(callsOf("ListUsers", from)).toBe(0);
  });

  it("are capped per user; revoking one makes room", async () => {
    const broker = await brokerWith({ CLIENT_KEYS_PER_USER: "2" });
    const { idToken } = await provisionedOn(broker, "acme");
    const create = (name: string) => execute(broker.url, CreateClientKeyDocument, { input: { name, flow: "ENHANCED" } }, idToken);
    const first = await create("one");
    expect((await create("two")).errors).toBeUndefined();
    const third = await create("three");
    expect(errorCodes(third)).toEqual(["BAD_USER_INPUT"]);
    expect(third.errors![0]!.message).toMatch(/at most 2 live client keys/);
    expect((await execute(broker.url, RevokeClientKeyDocument, { id: first.data!.createClientKey.key.id }, idToken)).errors).toBeUndefined();
    expect((await create("three")).errors).toBeUndefined();
  });

  it("limit failed attempts per source address: a guesser is refused before any key is looked at, another address is not", async () => {
    const broker = await brokerWith({ RATE_LIMIT_KEY_FAILURES_PER_MINUTE: "3", TRUSTED_PROXY_HOPS: "1" });
    const { idToken } = await provisionedOn(broker, "acme");
    const key = await execute(broker.url, CreateClientKeyDocument, { input: { name: "job", flow: "ENHANCED" } }, idToken);
    const secret = key.data!.createClientKey.secret;
    const from = (address: string) => ({ headers: { "x-forwarded-for": address } });
    for (let i = 0; i < 3; i++) expect((await fetchCredentials(baseUrlOf(broker.url), `${secret.slice(0, -4)}AAAA`, from("198.51.100.7"))).status).toBe(401);
    const blocked = await fetchCredentials(baseUrlOf(broker.url), secret, from("198.51.100.7"));
    expect(blocked.status).toBe(429);
    expect(blocked.body).toMatchObject({ Code: "RATE_LIMITED" });
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await fetchCredentials(baseUrlOf(broker.url), secret, from("203.0.113.9"))).status).toBe(200);
  });

  it("limit failed attempts per key id too, across addresses, without ever locking the owner out", async () => {
    const broker = await brokerWith({ RATE_LIMIT_KEY_FAILURES_PER_MINUTE: "3", TRUSTED_PROXY_HOPS: "1" });
    const { idToken } = await provisionedOn(broker, "acme");
    const key = await execute(broker.url, CreateClientKeyDocument, { input: { name: "job", flow: "ENHANCED" } }, idToken);
    const secret = key.data!.createClientKey.secret;
    const wrong = `${secret.slice(0, -4)}AAAA`;
    const from = (n: number) => ({ headers: { "x-forwarded-for": `198.51.100.${n}` } });
    // A botnet: every guess from another address, all at the same key.
    for (let n = 1; n <= 3; n++) expect((await fetchCredentials(baseUrlOf(broker.url), wrong, from(n))).status).toBe(401);
    const fourth = await fetchCredentials(baseUrlOf(broker.url), wrong, from(4));
    expect(fourth).toMatchObject({ status: 429, body: { Code: "RATE_LIMITED" } });
    // The owner's right secret still works, from a fresh address.
    expect((await fetchCredentials(baseUrlOf(broker.url), secret, from(50))).status).toBe(200);
  });
});
