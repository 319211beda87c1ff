import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditEventsDocument, IssueCredentialsDocument, ProvisionDataPlatformUserDocument } from "../../src/client/graphql.js";
import { freePort } from "../../src/dev/moto.js";
import { startBrokerProcess } from "../support/broker-process.js";
import { execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser } from "../support/pool-a-users.js";

/**
 * OpenTelemetry traces (src/telemetry.ts) from a real broker process, configured only by the
 * standard OTEL_* variables, received by a small OTLP/HTTP receiver in this test: which spans
 * arrive, their names, parents and attributes, and that no token or secret is in any of them.
 */
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
  resource: Record<string, unknown>;
}

type OtlpAttribute = { key: string; value: Record<string, unknown> };
const attributesOf = (list: OtlpAttribute[] = []) => Object.fromEntries(list.map((a) => [a.key, Object.values(a.value)[0]]));

let aws: LocalAws;
let dir: string;
let receiver: Server;
let endpoint: string;
const received: ReceivedSpan[] = [];
const bodies: string[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  dir = mkdtempSync(join(tmpdir(), "traces-"));
  receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      bodies.push(body);
      if (request.url === "/v1/traces" && (request.headers["content-type"] ?? "").includes("json")) {
        for (const rs of JSON.parse(body).resourceSpans ?? []) {
          const resource = attributesOf(rs.resource?.attributes);
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? [])
              received.push({ ...s, attributes: attributesOf(s.attributes), events: (s.events ?? []).map((e: { name: string; attributes?: OtlpAttribute[] }) => ({ name: e.name, attributes: attributesOf(e.attributes) })), resource });
        }
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  const port = await freePort();
  await new Promise<void>((ready) => receiver.listen(port, "127.0.0.1", ready));
  endpoint = `http://127.0.0.1:${port}`;
}, 60_000);

afterAll(async () => {
  await new Promise((done) => receiver?.close(done));
  await aws?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(find: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${what} arrived; received: ${received.map((s) => s.name).join(", ")}`);
}

describe("traces", () => {
  it("nothing is sent, and the broker runs as before, without an OTLP endpoint", { timeout: 60_000 }, async () => {
    const broker = await startBrokerProcess(aws.stack, dir, { LOG_LEVEL: "info" });
    try {
      expect(await broker.listening()).toBe(true);
      await fetch(`${broker.base}/readyz`);
      await new Promise((r) => setTimeout(r, 500));
      expect(bodies).toEqual([]);
      expect(broker.output()).not.toContain('"traceId"');
    } finally {
      await broker.stop();
    }
  });

  it("a request, its GraphQL operation and each AWS call arrive as one trace, named as documented, with the trace id in the logs and the audit trail", { timeout: 90_000 }, async () => {
    const broker = await startBrokerProcess(aws.stack, dir, {
      LOG_LEVEL: "info",
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_SERVICE_NAME: "broker-under-test",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      // One STS call a second, so that two at once make one wait for its turn (an event on its span).
      UPSTREAM_BUDGETS: "AssumeRoleWithWebIdentity=1",
    });
    try {
      expect(await broker.listening()).toBe(true);
      const user = await freshPoolAUser(aws.stack);
      const { idToken } = await user.signIn();
      const graphql = `${broker.base}/graphql`;
      expect((await execute(graphql, ProvisionDataPlatformUserDocument, {}, idToken)).errors).toBeUndefined();
      const issued = await execute(graphql, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 900 }, idToken);
      expect(issued.errors).toBeUndefined();
      const credentials = issued.data!.issueCredentials;
      const requestId = issued.headers.get("x-request-id")!;

      const http = await until(() => received.find((s) => s.name === "POST /graphql" && s.attributes["broker.request_id"] === requestId), "request span");
      expect(http).toMatchObject({ kind: 2, attributes: { "http.request.method": "POST", "http.route": "/graphql", "url.path": "/graphql", "http.response.status_code": 200 } });
      expect(http.resource["service.name"]).toBe("broker-under-test");
      const operation = await until(() => received.find((s) => s.traceId === http.traceId && s.name === "graphql issueCredentials"), "operation span");
      expect(operation.parentSpanId).toBe(http.spanId);
      expect(operation.attributes).toMatchObject({ "graphql.operation.root_field": "issueCredentials" });
      const calls = await until(() => {
        const inTrace = received.filter((s) => s.traceId === http.traceId && s.kind === 3);
        return inTrace.some((s) => s.name === "STS.AssumeRoleWithWebIdentity") ? inTrace : undefined;
      }, "AWS call spans");
      expect(calls.map((s) => s.name)).toEqual(expect.arrayContaining(["CognitoIdentity.GetOpenIdToken", "STS.AssumeRoleWithWebIdentity"]));
      for (const call of calls) {
        expect(call.attributes).toMatchObject({ "rpc.system": "aws-api", "cloud.region": aws.stack.region });
        // Each AWS call hangs under the operation (through the domain's own awaits), not beside it.
        let parent = received.find((s) => s.spanId === call.parentSpanId);
        while (parent && parent.spanId !== operation.spanId) parent = received.find((s) => s.spanId === parent!.parentSpanId);
        expect(parent?.spanId, call.name).toBe(operation.spanId);
      }

      // The same trace id in the broker's log lines for the request and in the audit trail.
      const lines = broker.output().split("\n").filter((l) => l.includes(requestId));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(JSON.parse(line).traceId).toBe(http.traceId);
      const trail = await execute(graphql, AuditEventsDocument, { first: 5 }, idToken);
      expect(trail.data!.auditEvents.nodes.find((e) => e.requestId === requestId)).toMatchObject({ action: "ISSUE", traceId: http.traceId });

      // Two issuances at once within a budget of one a second: the second AWS call's span says it waited.
      const others = await Promise.all([freshPoolAUser(aws.stack), freshPoolAUser(aws.stack)].map(async (p) => (await (await p).signIn()).idToken));
      for (const token of others) expect((await execute(graphql, ProvisionDataPlatformUserDocument, {}, token)).errors).toBeUndefined();
      await Promise.all(others.map((token) => execute(graphql, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 900 }, token)));
      const waited = await until(() => received.find((s) => s.name === "STS.AssumeRoleWithWebIdentity" && s.events.some((e) => e.name === "upstream_budget_wait")), "budget wait event");
      const event = waited.events.find((e) => e.name === "upstream_budget_wait")!;
      expect(event.attributes["broker.upstream_budget"]).toBe("AssumeRoleWithWebIdentity");
      expect(Number(event.attributes["broker.waited_ms"])).toBeGreaterThanOrEqual(5);

      // No token, secret or key anywhere in what was exported.
      const exported = bodies.join("\n");
      for (const secret of [idToken, credentials.secretAccessKey, credentials.sessionToken, credentials.accessKeyId, broker.env.TOKEN_ENCRYPTION_KEY!]) {
        expect(exported.includes(secret)).toBe(false);
      }
      // No header, and no JWT at all (a header and a payload, each base64url of a JSON object: "eyJ…"):
      // case matters for the JWT (AWS's random request ids can hold "EYJ" by chance).
      expect(exported).not.toMatch(/authorization|bearer/i);
      expect(exported).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+/);
    } finally {
      await broker.stop();
    }
  });

  it("continues a trace the caller started (W3C traceparent)", { timeout: 60_000 }, async () => {
    const broker = await startBrokerProcess(aws.stack, dir, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: "100" });
    try {
      expect(await broker.listening()).toBe(true);
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      const answer = await fetch(`${broker.base}/readyz`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
      const requestId = answer.headers.get("x-request-id");
      const span = await until(() => received.find((s) => s.attributes["broker.request_id"] === requestId), "readiness span");
      expect(span).toMatchObject({ traceId, parentSpanId: "00f067aa0ba902b7", name: "GET /readyz" });
    } finally {
      await broker.stop();
    }
  });
});
