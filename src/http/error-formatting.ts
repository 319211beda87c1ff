import type { GraphQLError, GraphQLFormattedError } from "graphql";
import { unwrapResolverError } from "@apollo/server/errors";
import { BrokerError, ErrorCode } from "../errors.js";

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
 * Lets the broker's typed errors and request errors through and masks everything else, so no
 * stack, AWS message or internal detail ever reaches a client.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof BrokerError) {
    return { message: original.message, path: formatted.path, locations: formatted.locations, extensions: { ...original.extensions } };
  }
  const code = formatted.extensions?.code;
  if (isRequestError(error, code)) {
    return { message: formatted.message, locations: formatted.locations, extensions: { code } };
  }
  return { message: "Internal server error.", path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
}
