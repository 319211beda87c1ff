import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from "fastify";
import { onlyUnauthenticated } from "../auth/authentication.js";
import { type BrokerError, ErrorCode } from "../errors.js";

/** Codes of refusals made at the HTTP edge, before a request reaches GraphQL or the credential endpoint's logic. */
export const EdgeErrorCode = {
  BAD_REQUEST: "BAD_REQUEST",
  NOT_FOUND: "NOT_FOUND",
  METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  CORS_ORIGIN_NOT_ALLOWED: "CORS_ORIGIN_NOT_ALLOWED",
} as const;
export type EdgeErrorCode = (typeof EdgeErrorCode)[keyof typeof EdgeErrorCode];

/**
 * The one code → HTTP status table: the status of an answer that refuses a whole request with this
 * code (the credential endpoint, the HTTP edge, a GraphQL request refused before execution).
 * Errors of single fields inside an executed GraphQL operation come with 200 and `data` (GraphQL
 * over HTTP), except when every error is UNAUTHENTICATED and there is no data (401).
 * docs/errors.md shows this table; test/unit/docs.test.ts keeps the two alike.
 */
export const REFUSAL_STATUS: Readonly<Record<ErrorCode | EdgeErrorCode | "GRAPHQL_PARSE_FAILED" | "GRAPHQL_VALIDATION_FAILED", number>> = {
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.BAD_USER_INPUT]: 400,
  [ErrorCode.NOT_PROVISIONED]: 403,
  [ErrorCode.UPSTREAM_UNAVAILABLE]: 503,
  [ErrorCode.UPSTREAM_REJECTED]: 403,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.INTERNAL_SERVER_ERROR]: 500,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  [EdgeErrorCode.BAD_REQUEST]: 400,
  [EdgeErrorCode.NOT_FOUND]: 404,
  [EdgeErrorCode.METHOD_NOT_ALLOWED]: 405,
  [EdgeErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [EdgeErrorCode.UNSUPPORTED_MEDIA_TYPE]: 415,
  [EdgeErrorCode.CORS_ORIGIN_NOT_ALLOWED]: 403,
};

export function refusalStatus(code: string): number {
  return (REFUSAL_STATUS as Record<string, number>)[code] ?? 500;
}

/**
 * The HTTP status of a GraphQL answer, on both paths (Apollo's pipeline and the hot path): a server
 * failure 500; 401 when every error is UNAUTHENTICATED and there is no data; a request refused
 * before it ran (no `data`) its code's status from the table, unless one was already chosen below
 * 500 (Apollo's 405 for a mutation over GET); an executed one 200 with its field errors, or the
 * status an error asked for (`extensions.http`).
 */
export function graphqlAnswerStatus(answer: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> | undefined; data?: unknown; thrown?: boolean }, chosen?: number): number {
  if (answer.thrown) return 500;
  if (onlyUnauthenticated(answer.errors, answer.data)) return refusalStatus(ErrorCode.UNAUTHENTICATED);
  if (answer.data === undefined && answer.errors?.length) {
    if (chosen !== undefined && chosen < 500) return chosen;
    return Math.max(...answer.errors.map((e) => refusalStatus(String(e.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR))));
  }
  return chosen ?? 200;
}

export interface Refusal {
  code: string;
  message: string;
  /** More of `extensions` (reason, field, retryAfterSeconds, …). */
  extensions?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** The credential endpoint speaks the AWS SDKs' container provider's language: `{Code, Message}`. */
const CREDENTIAL_ROUTES_PREFIX = "/v1/";

/**
 * Sends a refusal in the shape of the route it is for: `{"errors":[{message, extensions:{code,
 * requestId, …}}]}` everywhere but under /v1/, where it is `{Code, Message}`. Every non-2xx answer
 * the broker makes goes through here (or through Apollo, whose answers carry the same shape).
 */
export function sendRefusal(request: FastifyRequest, reply: FastifyReply, refusal: Refusal): FastifyReply {
  for (const [name, value] of Object.entries(refusal.headers ?? {})) void reply.header(name, value);
  const retryAfter = refusal.extensions?.retryAfterSeconds;
  if (typeof retryAfter === "number") void reply.header("retry-after", String(retryAfter));
  void reply.code(refusalStatus(refusal.code)).header("cache-control", "no-store").type("application/json; charset=utf-8");
  if (request.url.startsWith(CREDENTIAL_ROUTES_PREFIX)) return reply.send(`${JSON.stringify({ Code: refusal.code, Message: refusal.message })}\n`);
  const extensions = { code: refusal.code, ...refusal.extensions, requestId: request.id };
  return reply.send(`${JSON.stringify({ errors: [{ message: refusal.message, extensions }] })}\n`);
}

/** A typed error of the broker as a refusal of the whole request. */
export function refusalOf(error: BrokerError): Refusal {
  const { code: _code, ...extensions } = error.extensions;
  return { code: error.code, message: error.message, extensions };
}

/** Fastify's own refusals (body parsing, content types), said in the broker's words. */
function fastifyRefusalOf(error: FastifyError): Refusal | undefined {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return { code: EdgeErrorCode.PAYLOAD_TOO_LARGE, message: "The request body is too large." };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return { code: EdgeErrorCode.UNSUPPORTED_MEDIA_TYPE, message: "Send the request as Content-Type: application/json." };
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return { code: EdgeErrorCode.BAD_REQUEST, message: "The request body is not valid JSON." };
    default:
      // Any other client error Fastify raises (a malformed header, a bad content length) keeps its status class.
      return error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
        ? { code: EdgeErrorCode.BAD_REQUEST, message: "The request is malformed." }
        : undefined;
  }
}

/**
 * Browsers send a preflight before a cross-origin call; one from an origin that is not listed in
 * CORS_ALLOWED_ORIGINS is refused here in words that say so (not left to look like a CSRF refusal).
 */
function isRefusedPreflight(request: FastifyRequest, allowedOrigins: readonly string[]): boolean {
  if (request.method !== "OPTIONS" || request.headers["access-control-request-method"] === undefined) return false;
  const origin = request.headers.origin;
  return origin === undefined || !allowedOrigins.includes(origin);
}

/** The edge's refusals: preflights from origins not allowed, unknown paths, and Fastify's own errors; anything unexpected is logged and masked. */
export function registerEdgeRefusals(app: FastifyInstance, allowedOrigins: readonly string[]): void {
  app.addHook("onRequest", async (request, reply) => {
    if (!isRefusedPreflight(request, allowedOrigins)) return;
    return sendRefusal(request, reply, {
      code: EdgeErrorCode.CORS_ORIGIN_NOT_ALLOWED,
      message: "This origin may not call the broker from a browser; an operator lists the origins that may in CORS_ALLOWED_ORIGINS.",
    });
  });
  app.setNotFoundHandler((request, reply) => sendRefusal(request, reply, { code: EdgeErrorCode.NOT_FOUND, message: "No such path." }));
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const refusal = fastifyRefusalOf(error);
    if (refusal) return sendRefusal(request, reply, refusal);
    request.log.error({ event: "unexpected_error", err: error }, "unexpected error in an HTTP route");
    return sendRefusal(request, reply, { code: ErrorCode.INTERNAL_SERVER_ERROR, message: "Internal server error." });
  });
}

const SIMPLE_CONTENT_TYPES = new Set(["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]);
const PREFLIGHT_FORCING_HEADERS = ["apollo-require-preflight", "x-apollo-operation-name"];

/**
 * A request a browser would send cross-site without a preflight (a form post, an image's GET):
 * refused, so no other site can make a signed-in user's browser call the API (the same rule as
 * Apollo's CSRF prevention, decided here so the refusal says what to send instead).
 */
export function isSimpleRequest(request: FastifyRequest): boolean {
  const contentType = request.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (contentType && !SIMPLE_CONTENT_TYPES.has(contentType)) return false;
  return !PREFLIGHT_FORCING_HEADERS.some((name) => {
    const value = request.headers[name];
    return typeof value === "string" && value.trim() !== "";
  });
}

export const CSRF_REFUSAL: Refusal = {
  code: EdgeErrorCode.BAD_REQUEST,
  message: "Refused as a possible cross-site request: send a POST with Content-Type: application/json, or a GET with the header apollo-require-preflight: true.",
  extensions: { reason: "CSRF_PREVENTION" },
};

/**
 * The other methods of a path that answers only some: 405 with Allow, in the path's shape, decided
 * before the body is read (a DELETE with a JSON content type and no body is still a 405).
 */
export function methodNotAllowed(app: FastifyInstance, url: string, methods: HTTPMethods[], allow: string): void {
  const refuse = async (request: FastifyRequest, reply: FastifyReply) =>
    sendRefusal(request, reply, { code: EdgeErrorCode.METHOD_NOT_ALLOWED, message: `This path answers ${allow} only.`, headers: { allow } });
  app.route({ method: methods, url, onRequest: refuse, handler: refuse });
}
