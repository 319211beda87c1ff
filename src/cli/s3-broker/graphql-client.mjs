// The broker's GraphQL API for scripts: the typed operations this package ships (operations/*.graphql,
// the documents src/client/graphql.ts is generated from; operations.json holds each one ready to
// send), over HTTPS with a bearer token.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { checkEndpoint, readSecret } from "./broker-client.mjs";
import { EXIT, HelperError } from "./errors.mjs";

const REQUEST_TIMEOUT_MS = 30_000;
const OPERATIONS_FILE = fileURLToPath(new URL("./operations.json", import.meta.url));

/** What exit code a GraphQL error code means: retry, fix the command, or a person must act. */
const EXIT_BY_CODE = /** @type {Record<string, number>} */ ({
  UPSTREAM_UNAVAILABLE: EXIT.TRANSIENT,
  RATE_LIMITED: EXIT.TRANSIENT,
  INTERNAL_SERVER_ERROR: EXIT.TRANSIENT,
  BAD_USER_INPUT: EXIT.USAGE,
  GRAPHQL_VALIDATION_FAILED: EXIT.USAGE,
  GRAPHQL_PARSE_FAILED: EXIT.USAGE,
  BAD_REQUEST: EXIT.USAGE,
  // The HTTP edge's refusals: the --broker URL or the request is wrong, not the broker's state.
  NOT_FOUND: EXIT.USAGE,
  METHOD_NOT_ALLOWED: EXIT.USAGE,
  PAYLOAD_TOO_LARGE: EXIT.USAGE,
  UNSUPPORTED_MEDIA_TYPE: EXIT.USAGE,
  UNAUTHENTICATED: EXIT.REFUSED,
  FORBIDDEN: EXIT.REFUSED,
  NOT_PROVISIONED: EXIT.REFUSED,
  UPSTREAM_REJECTED: EXIT.REFUSED,
});

/** The broker's answer was an error: its code, reason and message, for the JSON output and the exit code. */
export class ApiError extends HelperError {
  /** @param {{ code: string, message: string, reason?: string, field?: string, retryAfterSeconds?: number }} error */
  constructor(error) {
    super(`${error.code}${error.reason ? ` (${error.reason})` : ""}: ${error.message}`, EXIT_BY_CODE[error.code] ?? EXIT.TRANSIENT, error.code);
    this.error = error;
  }

  /** @override */
  toJSON() {
    return this.error;
  }
}

/** @type {Record<string, string> | undefined} */
let documents;

/** The document of an operation, with the fragments it uses (operations.json, written by `npm run codegen`). @param {string} operationName */
function documentOf(operationName) {
  documents ??= /** @type {Record<string, string>} */ (JSON.parse(readFileSync(OPERATIONS_FILE, "utf8")));
  const document = documents[operationName];
  if (!document) throw new Error(`no operation ${operationName} in ${OPERATIONS_FILE}`);
  return document;
}

/** The broker's GraphQL URL from --broker or S3_BROKER_URL (its base URL; /graphql is added). @param {string | undefined} broker */
export function graphqlUrl(broker) {
  const base = broker ?? process.env.S3_BROKER_URL;
  if (!base) throw new HelperError("--broker is required (or set S3_BROKER_URL): the broker's base URL, e.g. https://broker.example.com", EXIT.USAGE);
  return checkEndpoint(new URL("graphql", base.endsWith("/") ? base : `${base}/`).toString());
}

/** The bearer token from --token-file, else S3_BROKER_TOKEN. @param {string | undefined} tokenFile */
export function readToken(tokenFile) {
  return readSecret(tokenFile, "S3_BROKER_TOKEN", {
    what: "token",
    missing: "no token: pass --token-file PATH or set S3_BROKER_TOKEN (a user's Pool A token or a partner's access token)",
  });
}

/**
 * Runs one named operation; resolves to its data, rejects with an ApiError (the broker answered
 * with an error) or a HelperError (the broker could not be reached).
 * @param {string} url @param {string} token @param {string} operationName @param {Record<string, unknown>} variables
 */
export async function runOperation(url, token, operationName, variables) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json, application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: documentOf(operationName), operationName, variables }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = /** @type {{ cause?: { code?: string } }} */ (error).cause?.code ?? /** @type {Error} */ (error).name;
    throw new HelperError(`cannot reach the broker at ${url} (${cause})`, EXIT.TRANSIENT);
  }
  /** @type {any} */
  let body;
  try {
    body = JSON.parse(await response.text());
  } catch {
    throw new ApiError({ code: response.status >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST", message: `the broker answered HTTP ${response.status} without a GraphQL body` });
  }
  const first = Array.isArray(body?.errors) ? body.errors[0] : undefined;
  if (first) {
    const extensions = first.extensions ?? {};
    throw new ApiError({
      code: typeof extensions.code === "string" ? extensions.code : "INTERNAL_SERVER_ERROR",
      message: String(first.message ?? "error"),
      ...(typeof extensions.reason === "string" ? { reason: extensions.reason } : {}),
      ...(typeof extensions.field === "string" ? { field: extensions.field } : {}),
      ...(typeof extensions.retryAfterSeconds === "number" ? { retryAfterSeconds: extensions.retryAfterSeconds } : {}),
    });
  }
  return body.data;
}
