import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { decomposeUnverifiedJwt } from "aws-jwt-verify/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { budgetOf } from "../../src/cognito/upstream-budgets.js";
import { freePort } from "../../src/dev/moto.js";
import { peakCalls, startRecordingProxy } from "../../src/dev/recording-proxy.js";
import { IssueCredentialsDocument, ProvisionDataPlatformUserDocument } from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser } from "../support/pool-a-users.js";

/**
 * Upstream budgets (src/cognito/upstream-budgets.ts): brokers reach moto through a proxy that
 * records every request, so the test sees when each AWS call really went out.
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
let aws: LocalAws;
let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
const brokers: BrokerUnderTest[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  proxy = await startRecordingProxy(aws.moto.endpoint);
});

afterAll(async () => {
  for (const broker of brokers) await broker.close();
  await proxy?.stop();
  await aws?.stop();
});

async function budgetedBroker(env: Record<string, string>): Promise<BrokerUnderTest> {
  const broker = await startBroker(aws.stack, { AWS_ENDPOINT_URL: proxy.endpoint, RATE_LIMIT_MUTATIONS_PER_MINUTE: "100000", RATE_LIMIT_FIELDS_PER_MINUTE: "100000", ...env });
  brokers.push(broker);
  return broker;
}

/** Fresh, provisioned users: each one's first classic issuance needs GetOpenIdToken and AssumeRoleWithWebIdentity. */
async function provisionedTokens(broker: BrokerUnderTest, count: number, tenant = "acme"): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const token = (await (await freshPoolAUser(aws.stack, { tenant })).signIn()).idToken;
      expect((await execute(broker.url, ProvisionDataPlatformUserDocument, {}, token)).errors).toBeUndefined();
      return token;
    }),
  );
}

/** Whose call an identity pool request was: the tenant claim of the Pool B ID token in its Logins. */
const tenantOf = (body: string) => decomposeUnverifiedJwt(Object.values((JSON.parse(body) as { Logins: Record<string, string> }).Logins)[0]!).payload["custom:tenant"];

/**
 * The budget spaces calls as the broker sends them; the proxy sees them after a network hop whose
 * delay varies (more on a loaded machine), which can bring two paced calls closer. A window this
 * much shorter than a second forgives that, and still catches any burst.
 */
const ARRIVAL_JITTER_MS = 100;
const peakArrivals = (calls: Parameters<typeof peakCalls>[0], operation: string) => peakCalls(calls, operation, 1000 - ARRIVAL_JITTER_MS);

/** Everyone issues at once; answers in the order of `targets`. */
async function storm(targets: Array<{ broker: BrokerUnderTest; token: string }>) {
  const from = Date.now();
  const answers = await Promise.all(targets.map(({ broker, token }) => execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, token)));
  return { answers, calls: proxy.calls.filter((c) => c.at >= from), seconds: (Date.now() - from) / 1000 };
}

describe("upstream budgets", () => {
  it("makes a storm wait for its turn: every issuance answered, AWS never asked faster than the budget", async () => {
    const broker = await budgetedBroker({ UPSTREAM_BUDGETS: "GetOpenIdToken=5,AssumeRoleWithWebIdentity=5", UPSTREAM_MAX_WAIT_MS: "20000" });
    const tokens = await provisionedTokens(broker, 15);
    const { answers, calls, seconds } = await storm(tokens.map((token) => ({ broker, token })));
    expect(answers.filter((a) => a.errors)).toEqual([]);
    expect(calls.filter((c) => c.operation === "AssumeRoleWithWebIdentity")).toHaveLength(15);
    console.log(`15 issuances at 5/s: ${seconds.toFixed(1)} s; peak per second GetOpenIdToken ${peakCalls(calls, "GetOpenIdToken")}, AssumeRoleWithWebIdentity ${peakCalls(calls, "AssumeRoleWithWebIdentity")}`);
    expect(peakArrivals(calls, "GetOpenIdToken")).toBeLessThanOrEqual(5);
    expect(peakArrivals(calls, "AssumeRoleWithWebIdentity")).toBeLessThanOrEqual(5);
    // 15 calls at most 5 in any second cannot take less than two seconds.
    expect(seconds).toBeGreaterThanOrEqual(2);
  });

  it("serves tenants in fair turns when contended: a tenant's first calls never wait behind another tenant's backlog", async () => {
    const broker = await budgetedBroker({ UPSTREAM_BUDGETS: "GetOpenIdToken=4", UPSTREAM_MAX_WAIT_MS: "20000" });
    const flooder = await provisionedTokens(broker, 14, "acme");
    const other = await provisionedTokens(broker, 2, "globex");
    const from = proxy.calls.length;
    const flood = Promise.all(flooder.map((token) => execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, token)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const theirs = await Promise.all(other.map((token) => execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, token)));
    expect((await flood).filter((a) => a.errors)).toEqual([]);
    expect(theirs.filter((a) => a.errors)).toEqual([]);
    // Whose call each GetOpenIdToken was: the tenant claim of the Pool B ID token the broker sent.
    const order = proxy.calls
      .slice(from)
      .filter((c) => c.operation === "GetOpenIdToken")
      .map((c) => tenantOf(c.body));
    console.log(`fair turns, GetOpenIdToken at 4/s: ${order.join(" ")}`);
    expect(order).toHaveLength(16);
    // First come, first served would put globex last (places 14 and 15, after acme's whole backlog);
    // in fair turns globex's calls alternate with acme's from the turn they arrive.
    expect(order.lastIndexOf("globex") - order.indexOf("globex")).toBeLessThanOrEqual(2);
    expect(order.lastIndexOf("globex")).toBeLessThanOrEqual(8);
  });

  it("bounds each tenant's queue: the flooder's excess is refused as its own, another tenant arriving later is still served", async () => {
    const broker = await budgetedBroker({ UPSTREAM_BUDGETS: "GetOpenIdToken=3", UPSTREAM_MAX_WAIT_MS: "2000" });
    const flooder = await provisionedTokens(broker, 16, "acme");
    const [other] = await provisionedTokens(broker, 1, "globex");
    const flood = Promise.all(flooder.map((token) => execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, token)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const sentAt = Date.now();
    const theirs = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, other!);
    const refused = (await flood).filter((a) => a.errors);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) expect(answer.errors![0]!.extensions).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", retryable: true });
    expect(theirs.errors).toBeUndefined();
    // First come, first served would have made it wait out the flooder's whole admitted backlog
    // (about 5 calls); in fair turns only the call under way and one more of acme go first, and on
    // a loaded machine one more paced call (333 ms) while the request reaches the queue.
    const after = proxy.calls.filter((c) => c.operation === "GetOpenIdToken" && c.at >= sentAt).map((c) => tenantOf(c.body));
    console.log(`bounded queues at 3/s, 2 s bound: ${refused.length} of 16 flooding issuances refused; GetOpenIdToken after the other tenant asked: ${after.join(" ")}`);
    expect(after.indexOf("globex")).toBeLessThanOrEqual(3);
  });

  it("refuses at once, retryable with a retry time, what would wait longer than the bound, and sends it nowhere", async () => {
    const broker = await budgetedBroker({ UPSTREAM_BUDGETS: "GetOpenIdToken=3", UPSTREAM_MAX_WAIT_MS: "1000" });
    const tokens = await provisionedTokens(broker, 10);
    const { answers, calls } = await storm(tokens.map((token) => ({ broker, token })));
    const refused = answers.filter((a) => a.errors);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer.errors![0]!.extensions).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", retryable: true, retryAfterSeconds: 1 });
      expect(answer.errors![0]!.message).not.toMatch(/\d+ ?(requests|\/s)/);
    }
    // Only what was served went to AWS.
    expect(calls.filter((c) => c.operation === "GetOpenIdToken")).toHaveLength(answers.length - refused.length);
    const metrics = await (await fetch(broker.metricsUrl)).text();
    expect(metrics).toMatch(/broker_upstream_budget_refusals_total\{budget="GetOpenIdToken"\} [1-9]/);
  });

  it("is shared by replicas through Redis: two brokers together stay within one budget", async () => {
    const shared = { UPSTREAM_BUDGETS: "GetOpenIdToken=4,AssumeRoleWithWebIdentity=4", UPSTREAM_MAX_WAIT_MS: "20000", REDIS_URL, UPSTREAM_BUDGET_SCOPE: `test-${randomUUID()}` };
    const [one, two] = [await budgetedBroker(shared), await budgetedBroker(shared)];
    // Each test broker has a store of its own; the budget is what they share.
    const targets = [...(await provisionedTokens(one!, 6)).map((token) => ({ broker: one!, token })), ...(await provisionedTokens(two!, 6)).map((token) => ({ broker: two!, token }))];
    const { answers, calls } = await storm(targets);
    expect(answers.filter((a) => a.errors)).toEqual([]);
    console.log(`12 issuances on two replicas at 4/s: peak per second AssumeRoleWithWebIdentity ${peakCalls(calls, "AssumeRoleWithWebIdentity")}`);
    expect(peakArrivals(calls, "AssumeRoleWithWebIdentity")).toBeLessThanOrEqual(4);
  });

  it("keeps pacing in the process while Redis does not answer, and serves", async () => {
    const closed = await freePort();
    const broker = await budgetedBroker({ UPSTREAM_BUDGETS: "GetOpenIdToken=5,AssumeRoleWithWebIdentity=5", UPSTREAM_MAX_WAIT_MS: "20000", REDIS_URL: `redis://127.0.0.1:${closed}` });
    const tokens = await provisionedTokens(broker, 8);
    const { answers, calls } = await storm(tokens.map((token) => ({ broker, token })));
    expect(answers.filter((a) => a.errors)).toEqual([]);
    expect(peakArrivals(calls, "AssumeRoleWithWebIdentity")).toBeLessThanOrEqual(5);
  });

  it("has a budget for every AWS operation the service layer calls", () => {
    const operations = new Set<string>();
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith(".ts")) for (const match of readFileSync(path, "utf8").matchAll(/awsCall\("([A-Za-z0-9]+)"/g)) operations.add(match[1]!);
      }
    };
    walk(resolve(import.meta.dirname, "../../src"));
    expect(operations.size).toBeGreaterThan(10);
    expect([...operations].filter((operation) => budgetOf(operation) === undefined)).toEqual([]);
  });
});
