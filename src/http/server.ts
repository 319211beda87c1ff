import { randomUUID } from "node:crypto";
import cors from "@fastify/cors";
import Fastify, { type FastifyInstance } from "fastify";
import { enableDefaultMetrics, httpDuration, httpRequests } from "../metrics.js";
import { registerConsole } from "./console.js";
import { registerCredentialEndpoint } from "./credential-endpoint.js";
import { registerGraphQL } from "./graphql-route.js";
import { registerHealth } from "./health.js";
import { nameRequestSpans, tracedServer } from "./tracing.js";
import { currentTraceId } from "../telemetry.js";
import { registerHelperDownload } from "./helper-download.js";
import type { HttpServerDependencies } from "./dependencies.js";
import { registerEdgeRefusals } from "./refusals.js";

/** What pino must never print, wherever it appears in a logged object. */
export const LOG_REDACTIONS = [
  "req.headers.authorization",
  "headers.authorization",
  "*.authorization",
  "*.idToken",
  "*.refreshToken",
  "*.accessToken",
  "*.secretAccessKey",
  "*.sessionToken",
  "*.password",
  "*.secret",
  "*.Token",
  "*.SecretAccessKey",
  "variables",
  "*.variables",
];

export async function createHttpServer(deps: HttpServerDependencies): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    // A span around every request (when traces are on: src/telemetry.ts).
    serverFactory: tracedServer,
    logger: {
      level: config.logLevel,
      // The trace a line belongs to, when traces are on.
      mixin: () => {
        const traceId = currentTraceId();
        return traceId ? { traceId } : {};
      },
      // The request id is on every line as reqId (Fastify's label), and in every error's extensions.
      redact: { paths: LOG_REDACTIONS, censor: "[redacted]" },
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    bodyLimit: 100 * 1024,
    // request.ip: the peer, or the address the nearest TRUSTED_PROXY_HOPS proxies (a load balancer) put in X-Forwarded-For.
    ...(config.trustedProxyHops > 0 ? { trustProxy: (_address: string, hop: number) => hop < config.trustedProxyHops } : {}),
    // The broker's own id, always: a client-chosen one could collide with or impersonate another
    // request in the audit trail. The client's X-Request-Id is kept beside it (clientRequestIdOf).
    genReqId: () => randomUUID(),
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  nameRequestSpans(app);
  // Before CORS: a preflight from an origin not listed is refused in words that say so.
  registerEdgeRefusals(app, config.corsAllowedOrigins);

  // Browser front ends on other origins: only the configured ones, none by default. A preflight is
  // answered here, before any route; CSRF prevention still applies to the real request (a
  // browser's cross-origin POST carries content-type: application/json, a non-simple header).
  if (config.corsAllowedOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsAllowedOrigins,
      methods: ["GET", "POST"],
      allowedHeaders: ["authorization", "content-type", "x-request-id", "apollo-require-preflight"],
      exposedHeaders: ["x-request-id", "retry-after"],
      credentials: false,
      maxAge: 600,
      // Preflights from other origins never get here (registerEdgeRefusals); a plain OPTIONS is answered like any other.
      strictPreflight: false,
    });
  }

  enableDefaultMetrics();
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    const operation = request.operationLabel ?? "-";
    httpRequests.inc({ route, operation, status: String(reply.statusCode) });
    httpDuration.observe({ route, operation }, reply.elapsedTime / 1000);
  });

  registerHealth(app, deps.readiness);

  await registerGraphQL(app, deps);

  const accountId = config.aws.accountId;
  registerCredentialEndpoint(app, {
    clientKeys: deps.services.clientKeys,
    authenticator: deps.authenticator,
    // Classic-flow credentials belong to the configured role's account; the enhanced flow's role is the identity pool's choice.
    accountIdFor: (flow) => (flow === "CLASSIC" ? accountId : undefined),
  });

  registerHelperDownload(app);
  registerConsole(app, config);

  app.get("/", async (_request, reply) => reply.redirect("/graphql"));

  return app;
}
