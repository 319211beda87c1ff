import { createMethodMiddlewareDecorator } from "type-graphql";
import type { GraphQLContext } from "./context.type.js";

/**
 * Counts one point per field resolution against the caller's mutation allowance. Counting here,
 * not per HTTP request, means ten aliases of a mutation in one document cost ten points. A partner
 * acts for many users, so its allowance is per user it names (what reaches AWS stays bounded by the
 * upstream budgets).
 */
export function RateLimited() {
  return createMethodMiddlewareDecorator<GraphQLContext>(async ({ context, args }, next) => {
    const principal = context.principal;
    if (principal) await context.rateLimits.consume("mutation", principal.partner ? `${principal.userId}/${String(args.userId ?? "")}` : principal.userId);
    return next();
  });
}
