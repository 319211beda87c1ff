import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { FastifyInstance } from "fastify";
import { tracer } from "../telemetry.js";

/**
 * The HTTP server with a span around each request (src/telemetry.ts): started when the request
 * arrives (continuing a W3C traceparent a load balancer or client sent), active for everything the
 * request does, ended when the answer is sent. Only the method, the path (never the query), the
 * route, the status and the request id are recorded.
 */
export function tracedServer(handler: (request: IncomingMessage, response: ServerResponse) => void): Server {
  return createServer((request, response) => {
    const parent = propagation.extract(context.active(), request.headers);
    const method = request.method ?? "HTTP";
    const span = tracer.startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: { "http.request.method": method, "url.path": (request.url ?? "/").split("?")[0]!, "url.scheme": "http" } },
      parent,
    );
    response.once("close", () => {
      span.setAttribute("http.response.status_code", response.statusCode);
      if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), () => handler(request, response));
  });
}

/** Names each request's span after its route once Fastify knows it ("POST /graphql"), with the broker's request id. */
export function nameRequestSpans(app: FastifyInstance): void {
  app.addHook("onRequest", async (request) => {
    const span = trace.getActiveSpan();
    if (!span) return;
    const route = request.routeOptions.url;
    if (route) span.updateName(`${request.method} ${route}`).setAttribute("http.route", route);
    span.setAttribute("broker.request_id", request.id);
  });
}
