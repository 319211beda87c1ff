import { randomUUID } from "node:crypto";
import { ApolloServer } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from "@as-integrations/fastify";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import { authenticate, bearerChallenge, missingToken, onlyUnauthenticated, type Authentication } from "../auth/authentication.js";
import type { PoolATokenVerifier } from "../auth/pool-a-verifier.js";
import { RateLimitedError, UnauthenticatedError, UpstreamUnavailableError } from "../errors.js";
import type { BrokerService } from "../broker/broker.service.js";
import type { ObjectAccessService } from "../broker/grants/object-access.service.js";
import type { ClientKeyService } from "../broker/client-keys/client-keys.service.js";
import type { RateLimits } from "../broker/rate-limits.js";
import { createRequestLoaders } from "../broker/request-loaders.js";
import type { Store } from "../store/store.js";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import cors from "@fastify/cors";
import type { BrokerConfig } from "../config/environment.js";
import type { GraphQLContext } from "../graphql/context.type.js";
import { SANDBOX_EXAMPLES } from "../graphql/sandbox-examples.js";
import { registerCredentialEndpoint } from "./credential-endpoint.js";
import { registerConsole } from "./console.js";
import { registerHelperDownload } from "./helper-download.js";
import { documentCacheBytes, documentCacheDocuments, enableDefaultMetrics, graphqlPaths, graphqlRefusals, httpDuration, httpRequests } from "../metrics.js";
import { clientRequestIdOf } from "./request-ids.js";
import { CSRF_REFUSAL, EdgeErrorCode, isSimpleRequest, methodNotAllowed, refusalOf, refusalStatus, registerEdgeRefusals, sendRefusal } from "./refusals.js";
import { formatErrorFor, logUnexpectedErrors, withRequestId } from "./error-formatting.js";
import { formatExecutionErrors, PreparedOperations, rootFieldOf } from "./prepared-operations.js";

const MAX_DOCUMENT_TOKENS = 1000;

const SUBSCRIPTION_REFUSAL = () =>
  new GraphQLError("This API has no subscriptions: send a query or a mutation.", { extensions: { code: EdgeErrorCode.BAD_REQUEST, http: { status: refusalStatus(EdgeErrorCode.BAD_REQUEST) } } });

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

/** Shared between the server and the process that runs it: readiness fails first on shutdown. */
export interface Lifecycle {
  shuttingDown: boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    /** A bounded label for metrics: the first root field of the GraphQL operation. */
    operationLabel?: string;
    /** Who is asking, decided once (src/auth/authentication.ts). */
    authentication?: Promise<Authentication>;
  }
}

export interface HttpServerDependencies {
  config: BrokerConfig;
  schema: GraphQLSchema;
  verifier: PoolATokenVerifier;
  broker: BrokerService;
  clientKeys: ClientKeyService;
  objects: ObjectAccessService;
  rateLimits: RateLimits;
  store: Store;
  lifecycle: Lifecycle;
  /** A pino destination for tests that read what was logged. */
  logStream?: NodeJS.WritableStream;
  sandboxHeaders?: Record<string, string>;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * The broker's own address outside production (PUBLIC_URL is required there): the request's Host
 * only when it names loopback, else the loopback address the request came in on, so a crafted
 * Host header can never make set-up snippets point at another machine.
 */
function loopbackUrlOf(request: FastifyRequest): string {
  const host = request.host;
  const hostname = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  if (LOOPBACK_HOSTS.has(hostname.toLowerCase()) && /^[\w.[\]:-]+$/.test(host)) return `${request.protocol}://${host}`;
  return `http://127.0.0.1:${request.socket.localPort}`;
}

export async function createHttpServer(deps: HttpServerDependencies): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    logger: {
      level: config.logLevel,
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

  // Liveness: the process answers. Readiness: it can do its job (store reachable, JWKS loaded) and
  // is not shutting down, so a load balancer stops sending traffic before the server closes.
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const checks = { shuttingDown: deps.lifecycle.shuttingDown, store: "ok", jwks: "ok" };
    try {
      await deps.store.ping();
    } catch {
      checks.store = "unreachable";
    }
    if (!deps.verifier.jwksLoaded) {
      checks.jwks = await deps.verifier.warmUp().then(
        () => "ok",
        () => "not loaded",
      );
    }
    const ready = !checks.shuttingDown && checks.store === "ok" && checks.jwks === "ok";
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", checks });
  });

  // Document limits, as validation rules (no per-request plugin); a refusal says the document is
  // too large or complex, never what the limit is. Refusals are counted by limit; only Apollo's copy
  // of the rules counts, because every refused document ends there (the hot path hands it over).
  const armorFor = (count: boolean) => {
    const counted = (limit: string) => (count ? { onReject: [() => graphqlRefusals.inc({ limit })] } : {});
    return new ApolloArmor({
      // Our own types nest 4 deep; 16 leaves room for Sandbox's introspection query, which counts too.
      maxDepth: { n: 16, exposeLimits: false, ignoreIntrospection: false, ...counted("depth") },
      maxAliases: { n: 10, exposeLimits: false, ...counted("aliases") },
      maxDirectives: { n: 10, exposeLimits: false, ...counted("directives") },
      // Tokens are limited by the parser itself (parseOptions below): armor's token plugin answers 500.
      maxTokens: { enabled: false },
      costLimit: { maxCost: 5000, exposeLimits: false, ignoreIntrospection: false, ...counted("cost") },
      // Apollo's hideSchemaDetailsFromClientErrors already hides suggestions in production.
      blockFieldSuggestion: { enabled: false },
    }).protect();
  };
  const armor = armorFor(true);

  const apollo = new ApolloServer<GraphQLContext>({
    schema: deps.schema,
    // Apollo's own warnings go to the broker's structured log, not to the console.
    logger: app.log,
    validationRules: armor.validationRules,
    parseOptions: { maxTokens: MAX_DOCUMENT_TOKENS },
    introspection: config.graphql.introspection,
    csrfPrevention: true,
    // main.ts drains on SIGTERM/SIGINT (readiness fails, the listener keeps serving for the drain
    // period); Apollo's own signal handler would stop the server at once, before any drain.
    stopOnTerminationSignals: false,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: config.production,
    formatError: formatErrorFor({ production: config.production }),
    plugins: [
      fastifyApolloDrainPlugin(app),
      // No cache hints in this schema; the plugin would wrap every resolver to compute none. The
      // route sets Cache-Control: no-store itself.
      ApolloServerPluginCacheControlDisabled(),
      // Apollo installs these by itself when APOLLO_KEY (or APOLLO_SCHEMA_REPORTING) is set; they
      // would see only the requests Apollo answers, not the hot path's, and send operations and
      // the schema to a third party. Off, whatever the environment says.
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      config.graphql.sandbox
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, document: SANDBOX_EXAMPLES, headers: deps.sandboxHeaders ?? { Authorization: "Bearer <Pool A ID token>" } })
        : ApolloServerPluginLandingPageDisabled(),
      {
        // The same three steps as the hot path in the /graphql route below: label, log what is unexpected, request id on errors.
        async requestDidStart() {
          return {
            async didResolveOperation({ operation, contextValue }) {
              contextValue.labelOperation(rootFieldOf(operation));
              // The API has no subscriptions; graphql-js 16 would only find out while executing (a 500).
              if (operation?.operation === "subscription") throw SUBSCRIPTION_REFUSAL();
            },
            async didEncounterErrors({ errors, contextValue }) {
              logUnexpectedErrors(errors, contextValue.log);
            },
            async willSendResponse({ response, contextValue }) {
              // A document refused before execution (graphql-armor throws some refusals from a plugin)
              // is the client's fault: 400, never 500.
              const errors = response.body.kind === "single" ? response.body.singleResult.errors : undefined;
              if (errors?.length && errors.every((e) => e.extensions?.code === "GRAPHQL_VALIDATION_FAILED" || e.extensions?.code === "GRAPHQL_PARSE_FAILED")) {
                if (response.http.status === undefined || response.http.status >= 500) response.http.status = 400;
              }
              if (response.body.kind === "single" && onlyUnauthenticated(response.body.singleResult.errors, response.body.singleResult.data)) {
                response.http.status = 401;
                response.http.headers.set("www-authenticate", bearerChallenge(missingToken()));
              }
              if (response.body.kind === "single" && response.body.singleResult.errors) {
                response.body.singleResult.errors = withRequestId(response.body.singleResult.errors, contextValue.requestId);
              }
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  const authenticationOf = (request: FastifyRequest): Promise<Authentication> =>
    (request.authentication ??= authenticate(request.headers.authorization, deps.verifier, request.log));

  const contextFor = async (request: FastifyRequest): Promise<GraphQLContext> => ({
    principal: (await authenticationOf(request)).principal,
    requestId: request.id,
    clientRequestId: clientRequestIdOf(request),
    log: request.log,
    broker: deps.broker,
    clientKeys: deps.clientKeys,
    objects: deps.objects,
    rateLimits: deps.rateLimits,
    loaders: createRequestLoaders(deps.store),
    // Only names the schema defines reach the label, so its values stay a small, fixed set.
    labelOperation: (field: string) => {
      request.operationLabel = deps.schema.getQueryType()?.getFields()[field] || deps.schema.getMutationType()?.getFields()[field] ? field : "other";
    },
    publicUrl: config.publicUrl ?? loopbackUrlOf(request),
    region: config.aws.region,
  });

  const apolloHandler = fastifyApolloHandler(apollo, { context: contextFor });
  const prepared = config.graphql.hotPath
    ? new PreparedOperations(deps.schema, {
        validationRules: armorFor(false).validationRules,
        maxTokens: MAX_DOCUMENT_TOKENS,
        maxCacheBytes: config.graphql.documentCacheBytes,
        onCacheChange: ({ bytes, documents }) => {
          documentCacheBytes.set(bytes);
          documentCacheDocuments.set(documents);
        },
      })
    : undefined;
  const formatError = formatErrorFor({ production: config.production });
  app.route<{ Reply: string }>({
    method: ["GET", "POST"],
    url: "/graphql",
    handler: async (request, reply) => {
      // Credentials must never sit in a shared cache; no GraphQL answer is cacheable.
      void reply.header("cache-control", "no-store");
      // A browser opening the page (Apollo Sandbox) is answered by Apollo, which serves the page
      // and nothing else to it, and keeps its own CSRF prevention for anything that would execute.
      const opensPage = config.graphql.sandbox && request.method === "GET" && (request.headers.accept ?? "").includes("text/html");
      if (!opensPage && isSimpleRequest(request)) return sendRefusal(request, reply, CSRF_REFUSAL);
      // A token that was presented and failed is refused before execution (no data entry: a 4xx);
      // a missing one goes on, for introspection and the Sandbox, and every field refuses it.
      const { principal, failure } = await authenticationOf(request);
      // Callers without a valid token are limited per address (RATE_LIMIT_ANONYMOUS_PER_MINUTE), so
      // that a flood of them is refused as itself; a Pool A outage (no keys to check with) is not theirs.
      if (!principal && !(failure instanceof UpstreamUnavailableError)) {
        try {
          await deps.rateLimits.consume("anonymous", request.ip);
        } catch (error) {
          if (!(error instanceof RateLimitedError)) throw error;
          return sendRefusal(request, reply, refusalOf(error));
        }
      }
      if (failure && !(failure instanceof UnauthenticatedError && failure.reason === "MISSING")) {
        const headers: Record<string, string> = failure instanceof UnauthenticatedError ? { "www-authenticate": bearerChallenge(failure) } : { "retry-after": "5" };
        return sendRefusal(request, reply, { ...refusalOf(failure), headers });
      }
      const match =
        request.method === "POST"
          ? prepared?.match(request.body, { contentType: request.headers["content-type"], accept: request.headers.accept, mayRemember: principal !== null })
          : undefined;
      if (!match) {
        graphqlPaths.inc({ path: "apollo" });
        return apolloHandler.call(app, request, reply);
      }
      graphqlPaths.inc({ path: "prepared" });
      const context = await contextFor(request);
      context.labelOperation(match.prepared.rootField);
      const result = await prepared!.execute(match, context);
      let status = result.thrown ? 500 : result.data === undefined ? 400 : onlyUnauthenticated(result.errors, result.data) ? 401 : 200;
      if (status === 401) void reply.header("www-authenticate", bearerChallenge(missingToken()));
      let errors: GraphQLFormattedError[] | undefined;
      if (result.errors?.length) {
        logUnexpectedErrors(result.errors, context.log);
        const formatted = formatExecutionErrors(result.errors, formatError);
        for (const [name, value] of formatted.headers) void reply.header(name, value);
        if (formatted.status !== undefined) status = formatted.status;
        errors = withRequestId(formatted.formatted, context.requestId);
      }
      // Apollo's field order and trailing newline, so both paths answer byte for byte alike.
      const body = `${JSON.stringify({ errors, data: result.data, extensions: result.extensions })}\n`;
      return reply.code(status).type(match.contentType).send(body);
    },
  });

  // Preflights were answered before routing (CORS); a plain OPTIONS learns the methods.
  app.options("/graphql", async (_request, reply) => reply.code(204).header("allow", "GET, POST, OPTIONS").send());
  methodNotAllowed(app, "/graphql", ["PUT", "PATCH", "DELETE"], "GET, POST, OPTIONS");

  const accountId = config.aws.accountId;
  registerCredentialEndpoint(app, {
    clientKeys: deps.clientKeys,
    // Classic-flow credentials belong to the configured role's account; the enhanced flow's role is the identity pool's choice.
    accountIdFor: (flow) => (flow === "CLASSIC" ? accountId : undefined),
  });

  registerHelperDownload(app);
  registerConsole(app, config);

  app.get("/", async (_request, reply) => reply.redirect("/graphql"));

  return app;
}
