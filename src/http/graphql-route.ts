import { ApolloServer } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from "@as-integrations/fastify";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { bearerChallenge, missingToken, type Authentication } from "../auth/authentication.js";
import { createRequestLoaders } from "../graphql/request-loaders.js";
import { RateLimitedError, UnauthenticatedError, UpstreamUnavailableError } from "../errors.js";
import type { GraphQLContext } from "../graphql/context.type.js";
import { SANDBOX_EXAMPLES } from "../graphql/sandbox-examples.js";
import { documentCacheBytes, documentCacheDocuments, graphqlPaths, graphqlRefusals } from "../metrics.js";
import { formatErrorFor, logUnexpectedErrors, withRequestId } from "./error-formatting.js";
import { formatExecutionErrors, PreparedOperations, rootFieldOf } from "./prepared-operations.js";
import { CSRF_REFUSAL, EdgeErrorCode, graphqlAnswerStatus, isSimpleRequest, methodNotAllowed, refusalOf, refusalStatus, sendRefusal } from "./refusals.js";
import { clientRequestIdOf } from "./request-ids.js";
import type { HttpServerDependencies } from "./dependencies.js";
import { inSpan } from "../telemetry.js";

const MAX_DOCUMENT_TOKENS = 1000;

const SUBSCRIPTION_REFUSAL = () =>
  new GraphQLError("This API has no subscriptions: send a query or a mutation.", { extensions: { code: EdgeErrorCode.BAD_REQUEST, http: { status: refusalStatus(EdgeErrorCode.BAD_REQUEST) } } });

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

/**
 * The GraphQL endpoint: Apollo Server with its document limits and plugins, and the hot path for
 * documents already validated (prepared-operations.ts), one route for both.
 */
export async function registerGraphQL(app: FastifyInstance, deps: HttpServerDependencies): Promise<void> {
  const { config } = deps;
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
              // The same status rule as the hot path's (refusals.ts): a document graphql-armor refused
              // from a plugin is the client's fault (400, never 500); only UNAUTHENTICATED is 401.
              if (response.body.kind === "single") {
                const { errors, data } = response.body.singleResult;
                if (errors?.length) response.http.status = graphqlAnswerStatus({ errors, data }, response.http.status);
                if (response.http.status === 401) response.http.headers.set("www-authenticate", bearerChallenge(missingToken()));
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
    (request.authentication ??= deps.authenticator.bearer(request.headers.authorization, request.log));

  const contextFor = async (request: FastifyRequest): Promise<GraphQLContext> => ({
    principal: (await authenticationOf(request)).principal,
    requestId: request.id,
    clientRequestId: clientRequestIdOf(request),
    log: request.log,
    services: deps.services,
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
        return operationSpan(request, "apollo", async () => apolloHandler.call(app, request, reply));
      }
      graphqlPaths.inc({ path: "prepared" });
      return operationSpan(request, "prepared", () => answerPrepared(request, reply, match));
    },
  });

  /** The hot path: a document validated before, executed against the schema without Apollo's pipeline. */
  async function answerPrepared(request: FastifyRequest, reply: FastifyReply, match: NonNullable<ReturnType<PreparedOperations["match"]>>) {
    const context = await contextFor(request);
    context.labelOperation(match.prepared.rootField);
    const result = await prepared!.execute(match, context);
    let status = graphqlAnswerStatus(result);
    let errors: GraphQLFormattedError[] | undefined;
    if (result.errors?.length) {
      logUnexpectedErrors(result.errors, context.log);
      const formatted = formatExecutionErrors(result.errors, formatError);
      for (const [name, value] of formatted.headers) void reply.header(name, value);
      status = graphqlAnswerStatus({ ...result, errors: formatted.formatted }, formatted.status);
      errors = withRequestId(formatted.formatted, context.requestId);
    }
    // Apollo's field order and trailing newline, so both paths answer byte for byte alike.
    const body = `${JSON.stringify({ errors, data: result.data, extensions: result.extensions })}\n`;
    if (status === 401) void reply.header("www-authenticate", bearerChallenge(missingToken()));
    return reply.code(status).type(match.contentType).send(body);
  }

  // Preflights were answered before routing (CORS); a plain OPTIONS learns the methods.
  app.options("/graphql", async (_request, reply) => reply.code(204).header("allow", "GET, POST, OPTIONS").send());
  methodNotAllowed(app, "/graphql", ["PUT", "PATCH", "DELETE"], "GET, POST, OPTIONS");
}

/**
 * A span for the GraphQL operation a request executes, on either path; named after its first root
 * field once known (a bounded set: src/http/graphql-route.ts labelOperation), never its text or variables.
 */
function operationSpan<T>(request: FastifyRequest, path: "apollo" | "prepared", work: () => Promise<T>): Promise<T> {
  return inSpan("graphql", { attributes: { "broker.graphql.path": path } }, async (span) => {
    try {
      return await work();
    } finally {
      const field = request.operationLabel ?? "other";
      span.updateName(`graphql ${field}`).setAttribute("graphql.operation.root_field", field);
    }
  });
}
