import { createMethodMiddlewareDecorator } from "type-graphql";
import type { RateLimitBucket } from "../broker/rate-limits.js";
import type { GraphQLContext } from "./context.type.js";

/**
 * Counts points per field resolution against the caller's allowance in `bucket`. Counting here,
 * not per HTTP request, means ten aliases of a mutation in one document cost ten points.
 *
 * `mutation`: a partner acts for many users, so its allowance is per user it names (what reaches
 * AWS stays bounded by the upstream budgets). `revocation`: per actor, whoever is named (a partner
 * off-boarding its tenant shares Cognito's 25/s with every other tenant). `bulk-revocation`: per
 * actor, one point per user in the list.
 */
export function RateLimited(bucket: RateLimitBucket = "mutation") {
  return createMethodMiddlewareDecorator<GraphQLContext>(async ({ context, args }, next) => {
    const principal = context.principal;
    if (principal) {
      if (bucket === "mutation") await context.rateLimits.consume(bucket, principal.kind === "partner" ? `${principal.userId}/${String(args.userId ?? "")}` : principal.userId);
      else if (bucket === "bulk-revocation") await context.rateLimits.consume(bucket, principal.userId, Math.max(1, Array.isArray(args.userIds) ? args.userIds.length : 1));
      else await context.rateLimits.consume(bucket, principal.userId);
    }
    return next();
  });
}
