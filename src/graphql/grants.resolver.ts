import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { Principal } from "../auth/principal.js";
import type { AccessView } from "../broker/grants/grants.service.js";
import type { AccessGrant as AccessGrantRecord } from "../store/store.js";
import { Access, AccessGrant, CreateAccessGrantInput } from "./access-grant.type.js";
import type { PartnerScope } from "../auth/partners.js";
import type { GraphQLContext } from "./context.type.js";
import { CurrentUser } from "./current-user.decorator.js";

@Authorized()
@Resolver(() => AccessGrant)
export class GrantsResolver {
  @Authorized<PartnerScope>(["provision", "issue"])
  @Query(() => Access, { description: "What the user can reach (administrators: any user with userId)." })
  myAccess(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, { nullable: true, description: "Act for this Pool A user (administrators only)." }) userId?: string | null,
  ): Promise<AccessView> {
    return context.services.grants.myAccess(principal, userId, context);
  }

  @Query(() => [AccessGrant], { description: "Administrators: a tenant's grants (the default grant when none is configured)." })
  accessGrants(@CurrentUser() principal: Principal, @Ctx() context: GraphQLContext, @Arg("tenant", () => String) tenant: string): Promise<AccessGrantRecord[]> {
    return context.services.grants.list(principal, tenant, context);
  }

  @Mutation(() => AccessGrant, { description: "Administrators: grants a tenant a location. Idempotent; the first grant replaces the default grant (READ on the whole prefix)." })
  createAccessGrant(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("input", () => CreateAccessGrantInput) input: CreateAccessGrantInput,
  ): Promise<AccessGrantRecord> {
    return context.services.grants.create(principal, input, context);
  }

  @Mutation(() => AccessGrant, { description: "Administrators: removes a grant. Never widens access: a tenant whose last grant is removed has no access (not the default grant). Credentials already issued under it run out on their own." })
  deleteAccessGrant(@CurrentUser() principal: Principal, @Ctx() context: GraphQLContext, @Arg("id", () => ID) id: string): Promise<AccessGrantRecord> {
    return context.services.grants.remove(principal, id, context);
  }
}
