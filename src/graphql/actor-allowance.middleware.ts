import type { MiddlewareFn } from "type-graphql";
import { asParty } from "../cognito/upstream-budgets.js";
import type { Principal } from "../auth/principal.js";
import type { GraphQLContext } from "./context.type.js";

/**
 * Every actor's allowance (RATE_LIMIT_FIELDS_PER_MINUTE): each root field of a query or mutation
 * costs a point, so ten aliases cost ten, whoever is named in them. Per actor: a user's sub, an
 * administrator's, or `partner:<client id>` for a partner, shared by replicas through Redis. Root
 * fields are where AWS can be reached; nested fields are read from what those returned. Anonymous
 * callers never reach a resolver (the auth checker refuses them first).
 *
 * The resolver's AWS calls are attributed to the caller's party for the upstream budgets' fair
 * turns: a partner, or the tenant of the user's token (issuance names the user's pinned tenant itself).
 */
export const ActorAllowance: MiddlewareFn<GraphQLContext> = async ({ context, info }, next) => {
  const principal = context.principal;
  if (!principal || (info.parentType.name !== "Query" && info.parentType.name !== "Mutation")) return next();
  await context.rateLimits.consume("actor", principal.userId);
  return asParty(partyOf(principal), next);
};

function partyOf(principal: Principal): string {
  if (principal.kind === "partner") return principal.userId;
  return principal.tenantClaim ? `tenant:${principal.tenantClaim}` : `user:${principal.userId}`;
}
