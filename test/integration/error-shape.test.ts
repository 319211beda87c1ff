import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { tokenFor } from "../support/users.js";

/**
 * One error shape for every refusal: a client (or a developer reading the network tab) parses
 * every non-2xx answer of a GraphQL route the same way, and quotes a request id that finds the
 * log lines; the credential endpoint answers as the AWS SDKs' container provider reads.
 */
const ALLOWED_ORIGIN = "https://app.example.com";

let aws: LocalAws;
let broker: BrokerUnderTest;
let base: string;

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack, { CORS_ALLOWED_ORIGINS: ALLOWED_ORIGIN });
  base = broker.url.replace(/\/graphql$/, "");
});

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
});

interface GraphQLRefusal {
  status: number;
  code: unknown;
  message: string;
  headers: Headers;
}

/** Reads an answer that must be in the GraphQL shape, with the request id of the x-request-id header. */
async function graphqlRefusal(response: Response): Promise<GraphQLRefusal> {
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await response.json()) as { errors?: Array<{ message: string; extensions: Record<string, unknown> }> };
  expect(Object.keys(body)).toEqual(["errors"]);
  expect(body.errors).toHaveLength(1);
  const [error] = body.errors!;
  expect(typeof error!.message).toBe("string");
  expect(error!.extensions.requestId).toBe(response.headers.get("x-request-id"));
  expect(error!.extensions.requestId).toMatch(/^[0-9a-f-]{36}$/);
  return { status: response.status, code: error!.extensions.code, message: error!.message, headers: response.headers };
}

async function endpointRefusal(response: Response): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await response.json()) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(["Code", "Message"]);
  return { status: response.status, body, headers: response.headers };
}

describe("every non-2xx answer of a GraphQL route", () => {
  it("refuses a simple cross-site POST saying what to send instead, with a request id", async () => {
    const refusal = await graphqlRefusal(await fetch(broker.url, { method: "POST", headers: { "content-type": "text/plain" }, body: '{"query":"{ __typename }"}' }));
    expect(refusal).toMatchObject({ status: 400, code: "BAD_REQUEST" });
    expect(refusal.message).toMatch(/Content-Type: application\/json/);
  });

  it("refuses an unmarked GET the same way", async () => {
    const refusal = await graphqlRefusal(await fetch(`${broker.url}?query=${encodeURIComponent("{ __typename }")}`));
    expect(refusal).toMatchObject({ status: 400, code: "BAD_REQUEST" });
    expect(refusal.message).toMatch(/apollo-require-preflight/);
  });

  it("tells a browser's preflight from an origin not listed that the origin is not allowed (not CSRF)", async () => {
    const response = await fetch(broker.url, { method: "OPTIONS", headers: { origin: "https://elsewhere.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    const refusal = await graphqlRefusal(response);
    expect(refusal).toMatchObject({ status: 403, code: "CORS_ORIGIN_NOT_ALLOWED" });
    expect(refusal.message).toMatch(/CORS_ALLOWED_ORIGINS/);
    expect(refusal.message).not.toMatch(/CSRF|forgery/i);
  });

  it("still answers a preflight from a listed origin, and a plain OPTIONS", async () => {
    const preflight = await fetch(broker.url, { method: "OPTIONS", headers: { origin: ALLOWED_ORIGIN, "access-control-request-method": "POST" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    const plain = await fetch(broker.url, { method: "OPTIONS" });
    expect(plain.status).toBe(204);
  });

  it("refuses a body over the limit with PAYLOAD_TOO_LARGE", async () => {
    const body = JSON.stringify({ query: "{ __typename }", variables: { padding: "x".repeat(200_000) } });
    const refusal = await graphqlRefusal(await fetch(broker.url, { method: "POST", headers: { "content-type": "application/json" }, body }));
    expect(refusal).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" });
  });

  it("refuses a media type it does not read with UNSUPPORTED_MEDIA_TYPE", async () => {
    const refusal = await graphqlRefusal(await fetch(broker.url, { method: "POST", headers: { "content-type": "application/xml" }, body: "<query/>" }));
    expect(refusal).toMatchObject({ status: 415, code: "UNSUPPORTED_MEDIA_TYPE" });
  });

  it("refuses a body that is not JSON with BAD_REQUEST, without echoing it", async () => {
    const refusal = await graphqlRefusal(await fetch(broker.url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"query": <script>' }));
    expect(refusal).toMatchObject({ status: 400, code: "BAD_REQUEST" });
    expect(refusal.message).not.toContain("script");
  });

  it("answers an unknown path with NOT_FOUND", async () => {
    const refusal = await graphqlRefusal(await fetch(`${base}/graphql/extra`));
    expect(refusal).toMatchObject({ status: 404, code: "NOT_FOUND" });
  });

  it("answers a method the path does not take with METHOD_NOT_ALLOWED and Allow", async () => {
    for (const method of ["PUT", "DELETE", "PATCH"]) {
      const refusal = await graphqlRefusal(await fetch(broker.url, { method, headers: { "content-type": "application/json" }, body: method === "DELETE" ? undefined : "{}" }));
      expect(refusal, method).toMatchObject({ status: 405, code: "METHOD_NOT_ALLOWED" });
      expect(refusal.headers.get("allow")).toBe("GET, POST, OPTIONS");
    }
  });

  it("keeps the shape for Apollo's own refusals (a mutation over GET, a document that does not parse)", async () => {
    const alice = await tokenFor(aws.stack, "alice");
    const get = await fetch(`${broker.url}?query=${encodeURIComponent("mutation { refreshTokens { state } }")}`, { headers: { authorization: `Bearer ${alice}`, "apollo-require-preflight": "true" } });
    expect(await graphqlRefusal(get)).toMatchObject({ status: 405 });
    const parse = await fetch(broker.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{" }) });
    expect(await graphqlRefusal(parse)).toMatchObject({ status: 400, code: "GRAPHQL_PARSE_FAILED" });
  });

  it("refuses a subscription (the API has none) as BAD_REQUEST, and logs no stack for it", async () => {
    const alice = await tokenFor(aws.stack, "alice");
    const logged = broker.logs.length;
    for (const query of ["subscription { connectionStatus { state } }", "subscription Watch { __typename }"]) {
      const response = await fetch(broker.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${alice}` }, body: JSON.stringify({ query }) });
      const refusal = await graphqlRefusal(response);
      expect(refusal, query).toMatchObject({ status: 400, code: "BAD_REQUEST" });
      expect(refusal.message).toMatch(/subscription/i);
    }
    expect(broker.logs.slice(logged).filter((line) => /unexpected_error|"stack"/.test(line))).toEqual([]);
  });

  it("answers a refused token with 401, the bearer challenge and the shape", async () => {
    const refusal = await graphqlRefusal(await fetch(broker.url, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer not-a-jwt" }, body: JSON.stringify({ query: "{ __typename }" }) }));
    expect(refusal).toMatchObject({ status: 401, code: "UNAUTHENTICATED" });
    expect(refusal.headers.get("www-authenticate")).toMatch(/^Bearer realm=/);
  });
});

describe("the credential endpoint's refusals", () => {
  it("are {Code, Message} for a missing key, a method it does not take, and a path under it that does not exist", async () => {
    const missing = await endpointRefusal(await fetch(`${base}/v1/credentials`));
    expect(missing).toMatchObject({ status: 401, body: { Code: "UNAUTHENTICATED" } });
    const post = await endpointRefusal(await fetch(`${base}/v1/credentials`, { method: "POST" }));
    expect(post).toMatchObject({ status: 405, body: { Code: "METHOD_NOT_ALLOWED" } });
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const unknown = await endpointRefusal(await fetch(`${base}/v1/credentials/elsewhere`));
    expect(unknown).toMatchObject({ status: 404, body: { Code: "NOT_FOUND" } });
  });
});
