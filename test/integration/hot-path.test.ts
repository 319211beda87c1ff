import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProvisionDataPlatformUserDocument } from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { demoUser, tokenFor } from "../support/users.js";

/**
 * The hot path (src/http/prepared-operations.ts) must answer exactly what Apollo answers. Two
 * production brokers on one local AWS, one with the hot path and one without, get the same
 * requests; status, headers and body must agree, and the counter shows which path answered.
 */

let aws: LocalAws;
let hot: BrokerUnderTest;
let apolloOnly: BrokerUnderTest;
const tokens: Record<"alice" | "bob" | "admin", string> = { alice: "", bob: "", admin: "" };

interface Exchange {
  status: number;
  /** Every response header but the ones that differ on every response (date, x-request-id's value). */
  headers: Record<string, string>;
  /** The body with request ids (different on every request) replaced. */
  body: string;
  requestIdHeader: string | null;
}

/** Headers whose values differ between any two responses, whichever path answers. */
const PER_RESPONSE_HEADERS = new Set(["date", "x-request-id", "keep-alive", "connection"]);

async function send(url: string, body: unknown, headers: Record<string, string>): Promise<Exchange> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await response.text();
  const requestIdHeader = response.headers.get("x-request-id");
  // Every error names the request id the response header carries.
  if (requestIdHeader && text.includes('"requestId"')) expect(text).toContain(`"requestId":"${requestIdHeader}"`);
  return {
    status: response.status,
    headers: Object.fromEntries([...response.headers].filter(([name]) => !PER_RESPONSE_HEADERS.has(name)).sort(([a], [b]) => a.localeCompare(b))),
    // Request ids differ on every request; a retry time may differ by a second between two brokers.
    body: text.replaceAll(/"requestId":"[^"]*"/g, '"requestId":"…"').replaceAll(/"retryAfterSeconds":\d+/g, '"retryAfterSeconds":"…"'),
    requestIdHeader,
  };
}

/** The hot broker's metrics port, read once: a series (name and labels as printed) to its value. */
async function hotMetrics(): Promise<(series: string) => number | undefined> {
  const lines = (await (await fetch(hot.metricsUrl)).text()).split("\n");
  return (series) => {
    const line = lines.find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.split(" ").at(-1));
  };
}

async function pathCounts(): Promise<{ prepared: number; apollo: number }> {
  const value = await hotMetrics();
  return { prepared: value('broker_graphql_requests_total{path="prepared"}') ?? 0, apollo: value('broker_graphql_requests_total{path="apollo"}') ?? 0 };
}

/** The hot path's document cache, as the metrics port reports it. */
async function documentCache(): Promise<{ bytes: number | undefined; documents: number | undefined }> {
  const value = await hotMetrics();
  return { bytes: value("broker_graphql_document_cache_bytes"), documents: value("broker_graphql_document_cache_documents") };
}

/** Sends a request twice to each broker (the first also prepares the document) and compares the second answers. */
async function compare(body: unknown, headers: Record<string, string> = {}) {
  await send(apolloOnly.url, body, headers);
  const fromApollo = await send(apolloOnly.url, body, headers);
  await send(hot.url, body, headers);
  const before = await pathCounts();
  const fromHot = await send(hot.url, body, headers);
  const after = await pathCounts();
  expect(fromHot).toEqual({ ...fromApollo, requestIdHeader: fromHot.requestIdHeader });
  expect(fromHot.requestIdHeader).toMatch(/^[0-9a-f-]{36}$/);
  const tookHotPath = after.prepared - before.prepared === 1 && after.apollo === before.apollo;
  // Credentials are never cached on the way (Apollo sets its own header on some of its refusals).
  if (tookHotPath) expect(fromHot.headers["cache-control"]).toBe("no-store");
  return { answer: fromHot, tookHotPath };
}

const MUTATIONS_PER_MINUTE = 30;
const bearer = (who: keyof typeof tokens) => ({ authorization: `Bearer ${tokens[who]}` });

beforeAll(async () => {
  aws = await startLocalAws();
  [hot, apolloOnly] = await Promise.all([
    startBroker(aws.stack, { NODE_ENV: "production", GRAPHQL_HOT_PATH: "true", RATE_LIMIT_MUTATIONS_PER_MINUTE: String(MUTATIONS_PER_MINUTE), RATE_LIMIT_FIELDS_PER_MINUTE: "100000" }),
    startBroker(aws.stack, { NODE_ENV: "production", GRAPHQL_HOT_PATH: "false", RATE_LIMIT_MUTATIONS_PER_MINUTE: String(MUTATIONS_PER_MINUTE), RATE_LIMIT_FIELDS_PER_MINUTE: "100000" }),
  ]);
  [tokens.alice, tokens.bob, tokens.admin] = await Promise.all([tokenFor(aws.stack, "alice"), tokenFor(aws.stack, "bob"), tokenFor(aws.stack, "admin")]);
  for (const broker of [hot, apolloOnly]) expect((await execute(broker.url, ProvisionDataPlatformUserDocument, {}, tokens.alice)).errors).toBeUndefined();
});

afterAll(async () => {
  await hot?.close();
  await apolloOnly?.close();
  await aws?.stop();
});

describe("the hot path answers validated documents exactly as Apollo does", () => {
  it.each([
    // Not identityId: moto gives each broker's exchange an identity of its own.
    ["a query", { query: "{ connectionStatus { state tenant prefix bucket provisioned userId } }" }, "alice"],
    ["a user who is not provisioned", { query: "{ connectionStatus { state provisioned tenant } }" }, "bob"],
    ["__typename", { query: "{ __typename }" }, "alice"],
    ["variables", { query: "query Status($id: ID) { connectionStatus(userId: $id) { state } }", variables: { id: null } }, "alice"],
    ["another user's data: FORBIDDEN", { query: "query($id: ID) { connectionStatus(userId: $id) { state } }", variables: { id: "someone-else" } }, "alice"],
    ["an administrator reading another user", { query: "query($id: ID) { connectionStatus(userId: $id) { state } }", variables: { id: "someone-else" } }, "admin"],
    ["a domain refusal with a field: BAD_USER_INPUT", { query: "mutation { issueCredentials(flow: CLASSIC, durationSeconds: 5) { accessKeyId } }" }, "alice"],
    ["a mutation", { query: "mutation { provisionDataPlatformUser { state tenant } }" }, "alice"],
    // Input objects whose fields have defaults (flow, expiresAt): coerced as graphql-js does.
    ["an input object literal with defaulted fields", { query: 'mutation { createClientKey(input: { name: "" }) { secret } }' }, "alice"],
    ["an input object variable with defaulted fields", { query: "mutation($input: CreateClientKeyInput!) { createClientKey(input: $input) { secret } }", variables: { input: { name: "" } } }, "alice"],
    ["the operation chosen by name", { query: "query A { __typename } query B { connectionStatus { state } }", operationName: "B" }, "alice"],
    ["JSON null for optional members", { query: "{ __typename }", variables: null, operationName: null, extensions: null }, "alice"],
  ] as const)("%s", async (_name, body, who) => {
    const { answer, tookHotPath } = await compare(body, bearer(who));
    expect(tookHotPath).toBe(true);
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json; charset=utf-8");
  });

  it("answers without a token exactly as Apollo does (401, UNAUTHENTICATED, MISSING), from a document an authenticated caller sent before", async () => {
    const query = "{ connectionStatus { state } }";
    await send(hot.url, { query }, bearer("alice"));
    const { answer, tookHotPath } = await compare({ query });
    expect(tookHotPath).toBe(true);
    expect(answer.status).toBe(401);
    expect(answer.headers["www-authenticate"]).toBe('Bearer realm="s3-access-broker"');
    expect(JSON.parse(answer.body)).toEqual({
      errors: [{ message: expect.any(String), locations: [{ line: 1, column: 3 }], path: ["connectionStatus"], extensions: { code: "UNAUTHENTICATED", reason: "MISSING", requestId: "…" } }],
      data: null,
    });
  });

  it("an unexpected failure in a resolver: the same masked error on both paths", async () => {
    // A store that fails underneath a resolver cannot be produced for a single request on a real
    // SQLite file without breaking the rest of the file, so this one read is replaced for the test.
    const originals = [hot, apolloOnly].map((b) => b.broker.store.getConnections.bind(b.broker.store));
    for (const b of [hot, apolloOnly]) b.broker.store.getConnections = async () => Promise.reject(new Error("disk I/O error"));
    try {
      const { answer, tookHotPath } = await compare({ query: "{ connectionStatus { state } }" }, bearer("alice"));
      expect(tookHotPath).toBe(true);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).errors).toEqual([{ message: "Internal server error.", path: ["connectionStatus"], extensions: { code: "INTERNAL_SERVER_ERROR", requestId: "…" } }]);
      expect(answer.body).not.toContain("disk I/O");
    } finally {
      [hot, apolloOnly].forEach((b, i) => (b.broker.store.getConnections = originals[i]!));
    }
  });

  it("a rate-limited mutation: the same RATE_LIMITED answer on both paths", async () => {
    // Bob's own allowance (RATE_LIMIT_MUTATIONS_PER_MINUTE below), spent on each broker.
    const mutation = { query: "mutation { issueCredentials(flow: CLASSIC, durationSeconds: 5) { accessKeyId } }" };
    for (const broker of [hot, apolloOnly]) {
      for (let i = 0; i < MUTATIONS_PER_MINUTE; i += 1) await send(broker.url, mutation, bearer("bob"));
    }
    const { answer, tookHotPath } = await compare(mutation, bearer("bob"));
    expect(tookHotPath).toBe(true);
    expect(JSON.parse(answer.body).errors[0].extensions).toMatchObject({ code: "RATE_LIMITED", retryAfterSeconds: "…" });
  });

  it("negotiates the response type as Apollo does", async () => {
    for (const accept of ["application/graphql-response+json", "application/json", "*/*", "application/graphql-response+json, application/json;q=0.9"]) {
      const { answer, tookHotPath } = await compare({ query: "{ connectionStatus { state } }" }, { ...bearer("alice"), accept });
      expect(tookHotPath).toBe(true);
      expect(answer.headers["content-type"]).toBe(accept.startsWith("application/graphql-response+json") ? "application/graphql-response+json; charset=utf-8" : "application/json; charset=utf-8");
    }
  });
});

describe("everything else is left to Apollo, with the same answers", () => {
  it.each([
    ["a syntax error", { query: "{ connectionStatus { state " }, 400],
    ["an unknown field", { query: "{ connectionStatu { state } }" }, 400],
    ["introspection (refused in production)", { query: "{ __schema { types { name } } }" }, 400],
    ["variables that do not coerce", { query: "mutation($d: Int) { issueCredentials(flow: CLASSIC, durationSeconds: $d) { accessKeyId } }", variables: { d: "soon" } }, 400],
    ["a missing required variable", { query: "query($id: ID!) { connectionStatus(userId: $id) { state } }" }, 400],
    ["two operations and no name", { query: "query A { __typename } query B { __typename }" }, 400],
    ["an unknown operation name", { query: "query A { __typename }", operationName: "B" }, 400],
    // The persisted-query protocol answers 200 with PERSISTED_QUERY_NOT_FOUND.
    ["a persisted-query extension", { extensions: { persistedQuery: { version: 1, sha256Hash: "ab".repeat(32) } } }, 200],
    ["variables as a string", { query: "{ __typename }", variables: "{}" }, 400],
    ["a batch", [{ query: "{ __typename }" }], 400],
    ["too many aliases", { query: `{ ${Array.from({ length: 12 }, (_, i) => `a${i}: connectionStatus { state }`).join(" ")} }` }, 400],
  ] as const)("%s", async (_name, body, status) => {
    const { answer, tookHotPath } = await compare(body, bearer("alice"));
    expect(tookHotPath).toBe(false);
    expect(answer.status).toBe(status);
    expect(answer.body).toMatch(/error|batching/i);
  });

  it("leaves a new document sent without a token to Apollo, and does not remember it", async () => {
    const before = await documentCache();
    expect(before.documents).toBeGreaterThan(0);
    const { answer, tookHotPath } = await compare({ query: "query NeverSeen { connectionStatus { state } }" });
    expect(tookHotPath).toBe(false);
    expect(answer.status).toBe(401);
    expect(await documentCache()).toEqual(before);
  });

  it.each([
    // A simple request a cross-site form could send: Apollo's CSRF prevention refuses it.
    ["text/plain", 400],
    ["text/plain; charset=utf-8", 400],
    // No body parser for forms: Fastify refuses them before the route.
    ["application/x-www-form-urlencoded", 415],
    ["multipart/form-data; boundary=x", 415],
  ] as const)("leaves a body of type %s to Apollo (or Fastify), with the same answer", async (contentType, status) => {
    const { answer, tookHotPath } = await compare(JSON.stringify({ query: "{ __typename }" }), { ...bearer("alice"), "content-type": contentType });
    expect(tookHotPath).toBe(false);
    expect(answer.status).toBe(status);
  });

  it("leaves an Accept header it does not serve to Apollo", async () => {
    const { answer, tookHotPath } = await compare({ query: "{ __typename }" }, { ...bearer("alice"), accept: "text/html" });
    expect(tookHotPath).toBe(false);
    expect(answer.status).toBe(406);
  });

  it("issues credentials on both paths with the same shape, and audits each", async () => {
    const query = "mutation { issueCredentials(flow: CLASSIC, durationSeconds: 900) { accessKeyId secretAccessKey sessionToken expiration prefix flow } }";
    const shapes = [];
    for (const broker of [apolloOnly, hot]) {
      await send(broker.url, { query }, bearer("alice"));
      const answer = JSON.parse((await send(broker.url, { query }, bearer("alice"))).body);
      shapes.push(Object.fromEntries(Object.entries(answer.data.issueCredentials).map(([k, v]) => [k, k === "prefix" || k === "flow" ? v : typeof v])));
      const events = await broker.broker.store.auditEvents(demoUser(aws.stack, "alice").sub, 50);
      expect(events.filter((e) => e.action === "ISSUE" && e.outcome === "SUCCESS").length).toBeGreaterThanOrEqual(2);
    }
    expect(shapes[1]).toEqual(shapes[0]);
    expect(shapes[0]).toEqual({ accessKeyId: "string", secretAccessKey: "string", sessionToken: "string", expiration: "string", prefix: "tenants/acme/", flow: "CLASSIC" });
  });
});
