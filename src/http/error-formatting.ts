import type { GraphQLError, GraphQLFormattedError } from "graphql";
import { unwrapResolverError } from "@apollo/server/errors";
import { BrokerError, ErrorCode } from "../errors.js";
import type { RequestLogger } from "../broker/request-meta.js";

/** Apollo's own codes for problems with the request document itself; their messages describe the document, not the server. */
const REQUEST_ERROR_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
]);

function isRequestError(error: unknown, code: unknown): boolean {
  return typeof code === "string" && REQUEST_ERROR_CODES.has(code) && unwrapResolverError(error) === error;
}

/** True for errors a client is meant to see as they are; anything else is a fault of ours and gets masked and logged. */
export function isExpectedError(error: GraphQLError): boolean {
  return unwrapResolverError(error) instanceof BrokerError || isRequestError(error, error.extensions?.code);
}

/**
 * graphql-js quotes the offending input in its coercion and validation messages. In production
 * those values are cut out, so that a reflected value can never carry a payload back to a client.
 */
const INPUT_ECHOES: Array<[RegExp, string]> = [
  [/^Variable "(\$[_A-Za-z][_0-9A-Za-z]*)" got invalid value[\s\S]*$/, 'Variable "$1" got an invalid value.'],
  [/^Argument "([_A-Za-z][_0-9A-Za-z]*)" has invalid value[\s\S]*$/, 'Argument "$1" has an invalid value.'],
  [/^Value [\s\S]* does not exist in "([_A-Za-z][_0-9A-Za-z]*)" enum\.[\s\S]*$/, 'A value does not exist in the "$1" enum.'],
  [/^Expected value of type "([^"]+)", found [\s\S]*$/, 'Expected a value of type "$1".'],
  [/^([_A-Za-z][_0-9A-Za-z]*) cannot represent [\s\S]*$/, "$1 cannot represent the given value."],
  [/^Enum "([_A-Za-z][_0-9A-Za-z]*)" cannot represent [\s\S]*$/, 'Enum "$1" cannot represent the given value.'],
];

/** The parser names its token limit; clients are told only that the document is too large. */
function withoutLimits(message: string): string {
  return /Document contains more tha[nt] \d+ tokens/.test(message) ? "Syntax Error: Document is too large." : message;
}

export function withoutInputValues(message: string): string {
  for (const [pattern, replacement] of INPUT_ECHOES) {
    if (pattern.test(message)) return message.replace(pattern, replacement);
  }
  return message;
}

/**
 * Lets the broker's typed errors and request errors through and masks everything else, so no
 * stack, AWS message or internal detail ever reaches a client.
 */
export function formatErrorFor(options: { production: boolean }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof BrokerError) {
      return { message: original.message, path: formatted.path, locations: formatted.locations, extensions: { ...original.extensions } };
    }
    const code = formatted.extensions?.code;
    if (isRequestError(error, code)) {
      const message = withoutLimits(options.production ? withoutInputValues(formatted.message) : formatted.message);
      return { message, locations: formatted.locations, extensions: { code } };
    }
    return { message: "Internal server error.", path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}

/** Errors that are not the client's doing are logged in full (the client sees them masked). */
export function logUnexpectedErrors(errors: readonly GraphQLError[], log: RequestLogger): void {
  for (const error of errors) {
    if (!isExpectedError(error)) {
      log.error({ event: "unexpected_error", err: unwrapResolverError(error) }, "unexpected error in a GraphQL request");
    }
  }
}

/** Every error carries the request id, so a caller can quote it and an operator can find the log lines. */
export function withRequestId(errors: readonly GraphQLFormattedError[], requestId: string): GraphQLFormattedError[] {
  return errors.map((e) => ({ ...e, extensions: { ...e.extensions, requestId } }));
}
