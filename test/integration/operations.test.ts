import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionStatusDocument, IssueCredentialsDocument, ProvisionDataPlatformUserDocument } from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf } from "../support/credential-endpoint.js";
import { execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { tokenFor } from "../support/users.js";

let aws: LocalAws;
let broker: BrokerUnderTest;
let base: string;
let alice: string;

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(broker.metricsUrl)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack, { AWS_REQUEST_TIMEOUT_MS: "3000", AWS_MAX_ATTEMPTS: "1" });
  base = baseUrlOf(broker.url);
  alice = await tokenFor(aws.stack, "alice");
  expect((await execute(broker.url, ProvisionDataPlatformUserDocument, {}, alice)).errors).toBeUndefined();
});

afterAll(async () => {
  aws?.moto.resume();
  await broker?.close();
  await aws?.stop();
});

describe("operations", () => {
  it("reports ready once the store answers and the JWKS is loaded", async () => {
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ready", checks: { shuttingDown: false, store: "ok", jwks: "ok" } });
  });

  it("exposes Prometheus metrics: requests by operation, upstream calls by AWS operation, cache hits", async () => {
    const before = {
      requests: await metric("broker_http_requests_total", { route: "/graphql", operation: "connectionStatus", status: "200" }),
      assume: await metric("broker_upstream_calls_total", { operation: "AssumeRoleWithWebIdentity" }),
      tokenHits: await metric("broker_cache_lookups_total", { cache: "verified_tokens", result: "hit" }),
      credentialHits: await metric("broker_cache_lookups_total", { cache: "credentials", result: "hit" }),
    };
    await execute(broker.url, ConnectionStatusDocument, {}, alice);
    await execute(broker.url, ConnectionStatusDocument, {}, alice);
    await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, alice);
    await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, alice);
    expect(await metric("broker_http_requests_total", { route: "/graphql", operation: "connectionStatus", status: "200" })).toBe(before.requests + 2);
    expect(await metric("broker_upstream_calls_total", { operation: "AssumeRoleWithWebIdentity" })).toBe(before.assume + 1);
    expect(await metric("broker_cache_lookups_total", { cache: "verified_tokens", result: "hit" })).toBeGreaterThanOrEqual(before.tokenHits + 4);
    expect(await metric("broker_cache_lookups_total", { cache: "credentials", result: "hit" })).toBe(before.credentialHits + 1);
    const text = await (await fetch(broker.metricsUrl)).text();
    expect(text).toContain("broker_http_request_duration_seconds_bucket");
    expect(text).toContain("broker_process_resident_memory_bytes");
  });

  it("serves metrics on a loopback listener of their own, never on the public one", async () => {
    expect(new URL(broker.metricsUrl).hostname).toBe("127.0.0.1");
    expect(new URL(broker.metricsUrl).port).not.toBe(new URL(base).port);
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    const scraped = await fetch(broker.metricsUrl);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain("broker_http_requests_total");
    expect((await fetch(broker.metricsUrl.replace(/\/metrics$/, "/graphql"))).status).toBe(404);
  });

  it("counts graphql-armor's refusals by limit, once per refused request", async () => {
    const before = await metric("broker_graphql_refusals_total", { limit: "aliases" });
    const aliases = Array.from({ length: 12 }, (_, i) => `a${i}: connectionStatus { state }`).join(" ");
    for (let i = 0; i < 3; i += 1) {
      const refused = await fetch(broker.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: `{ ${aliases} }` }) });
      expect(refused.status).toBe(400);
    }
    expect((await metric("broker_graphql_refusals_total", { limit: "aliases" })) - before).toBe(3);
  });

  it("labels operations only with names the schema defines", async () => {
    await fetch(broker.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ __typename }" }) });
    const text = await (await fetch(broker.metricsUrl)).text();
    expect(text).toMatch(/operation="other"/);
    expect(text).not.toMatch(/operation="__typename"/);
  });

  it("shuts down gracefully: readiness fails first, the in-flight request finishes, then the store closes", async () => {
    aws.moto.pause();
    // An issuance that waits on AWS (a new duration, so no cache can answer it).
    const inFlight = execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 1800 }, alice);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stopping = broker.broker.shutdown(800);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const readiness = await fetch(`${base}/readyz`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toMatchObject({ status: "not ready", checks: { shuttingDown: true } });
    aws.moto.resume();
    const finished = await inFlight;
    expect(finished.errors).toBeUndefined();
    expect(finished.data!.issueCredentials.durationSeconds).toBe(1800);
    await stopping;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    await expect(broker.broker.store.ping()).rejects.toThrow();
  });
});
