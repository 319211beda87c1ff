import { createMethodMiddlewareDecorator } from "type-graphql";
import type { GraphQLContext } from "./context.type.js";

/**
 * Counts one point per field resolution against the caller's mutation allowance. Counting here,
 * not per HTTP request, means ten aliases of a mutation in one document cost ten points.
 */
export function RateLimited() {
  return createMethodMiddlewareDecorator<GraphQLContext>(async ({ context }, next) => {
    if (context.principal) await context.rateLimits.consume("mutation", context.principal.userId);
    return next();
  });
}
