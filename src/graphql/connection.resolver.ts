import { readsOf } from "./request-loaders.js";
import { Arg, Authorized, Ctx, FieldResolver, GraphQLISODateTime, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Principal } from "../auth/principal.js";
import { clientKeyView, type AuditEventPageView, type ClientKeyView, type ConnectionPageView, type ConnectionStatusView, type CredentialExpiryView } from "../broker/views.js";
import { AuditEventPage } from "./audit-event.type.js";
import { ClientKey } from "./client-key.type.js";
import { ConnectionPage, ConnectionStatus, RevocationOutcome } from "./connection-status.type.js";
import { CredentialFlow } from "./enums.js";
import { userIdArg } from "./user-id-arg.js";
import type { PartnerScope } from "../auth/partners.js";
import type { GraphQLContext } from "./context.type.js";
import { CredentialExpiry } from "./credential-expiry.type.js";
import { CurrentUser } from "./current-user.decorator.js";
import { RateLimited } from "./rate-limit.middleware.js";


@Authorized()
@Resolver(() => ConnectionStatus)
export class ConnectionResolver {
  @Authorized<PartnerScope>(["provision", "issue"])
  @Query(() => ConnectionStatus, { description: "Where the user stands: provisioned, tokens, last credentials." })
  connectionStatus(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<ConnectionStatusView> {
    return context.services.connections.status(principal, userId, readsOf(context.loaders), context);
  }

  @Authorized<PartnerScope>(["provision", "issue"])
  @Query(() => CredentialExpiry, { nullable: true, description: "Expiry of the most recently issued credentials; null when none were issued." })
  credentialExpiry(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<CredentialExpiryView | null> {
    return context.services.connections.credentialExpiry(principal, userId, readsOf(context.loaders), context);
  }

  @Query(() => ConnectionPage, { description: "Administrators: all connections, a page at a time, optionally of one tenant, or those whose Pool A username, e-mail address or id starts with `search`." })
  async connections(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("first", () => Int, { defaultValue: 20, description: "1 to 100." }) first: number,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
    @Arg("tenant", () => String, { nullable: true }) tenant?: string | null,
    @Arg("search", () => String, { nullable: true, description: "The start of a Pool A username, verified e-mail address or id, any case (1 to 128 characters)." }) search?: string | null,
  ) {
    const page: ConnectionPageView = await context.services.connections.list(principal, { first, after, tenant, search }, context);
    return { nodes: page.nodes, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  }

  @Authorized<PartnerScope>(["audit"])
  @Query(() => AuditEventPage, { description: "A user's audit trail, newest first (administrators for anyone)." })
  async auditEvents(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
    @Arg("first", () => Int, { defaultValue: 20, description: "1 to 100." }) first: number = 20,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ) {
    const page: AuditEventPageView = await context.services.auditEvents.page(principal, { userId, first, after }, context);
    return { nodes: page.nodes, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  }

  // Per-connection lookups are field resolvers batched through DataLoader, so a list of any length
  // costs one store call per kind of lookup.
  @Authorized<PartnerScope>(["provision", "issue"])
  @FieldResolver(() => CredentialFlow, { nullable: true })
  async lastCredentialFlow(@Root() status: ConnectionStatusView, @Ctx() context: GraphQLContext) {
    return (await context.loaders.lastIssuance.load(status.userId))?.flow ?? null;
  }

  @Authorized<PartnerScope>(["provision", "issue"])
  @FieldResolver(() => GraphQLISODateTime, { nullable: true })
  async lastCredentialExpiresAt(@Root() status: ConnectionStatusView, @Ctx() context: GraphQLContext) {
    return (await context.loaders.lastIssuance.load(status.userId))?.expiresAt ?? null;
  }

  @Authorized<PartnerScope>(["keys"])
  @FieldResolver(() => [ClientKey], { description: "The user's client keys (never their secrets)." })
  async clientKeys(@Root() status: ConnectionStatusView, @Ctx() context: GraphQLContext): Promise<ClientKeyView[]> {
    return (await context.loaders.clientKeys.load(status.userId)).map((key) => clientKeyView(key, Date.now()));
  }

  @Authorized<PartnerScope>(["provision"])
  @Mutation(() => ConnectionStatus, { description: "Creates (or finds) the user's data platform user. Idempotent." })
  @RateLimited()
  provisionDataPlatformUser(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<ConnectionStatusView> {
    return context.services.lifecycle.provision(principal, userId, context);
  }

  @Authorized<PartnerScope>(["provision"])
  @Mutation(() => ConnectionStatus, {
    description:
      "Revokes the user's data platform access: disables the data platform user, signs it out everywhere, revokes every client key and cuts off the AWS sessions already issued (an IAM deny on the user's session tag, effective as IAM propagates; nobody else's sessions are touched). Final until an administrator reinstates with provisionDataPlatformUser(userId), which gives the user a new session tag. Revoking a revoked user completes any step left undone and writes nothing new. Administrators, partners for their tenants' users, and the user themselves; limited per actor (RATE_LIMIT_REVOCATIONS_PER_MINUTE).",
  })
  @RateLimited("revocation")
  revokeDataPlatformUser(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<ConnectionStatusView> {
    return context.services.lifecycle.revoke(principal, userId, context);
  }

  @Mutation(() => [RevocationOutcome], {
    description:
      "Administrators: revokes up to 100 users in one call, for large off-boardings. Each is revoked as revokeDataPlatformUser does; their deny-list writes are batched, and Cognito is called within its quota. One outcome per distinct user id, in order; a failure of one never stops the others.",
  })
  @RateLimited("bulk-revocation")
  revokeDataPlatformUsers(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userIds", () => [ID], { description: "Pool A user ids (sub), 1 to 100." }) userIds: string[],
  ) {
    return context.services.lifecycle.revokeMany(principal, userIds, context);
  }

  @Mutation(() => ConnectionStatus, {
    description:
      "Administrators: moves a user to another tenant, after the application set the user's tenant attribute in Pool A to it. Ends everything of the old tenant (client keys, data platform tokens, cached credentials, sessions already issued), then provisions under the new one.",
  })
  moveDataPlatformUser(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, { description: "The Pool A user to move." }) userId: string,
    @Arg("tenant", () => String, { description: "The tenant to move to; must equal the user's tenant attribute in Pool A." }) tenant: string,
  ): Promise<ConnectionStatusView> {
    return context.services.lifecycle.move(principal, userId, tenant, context);
  }

  @Authorized<PartnerScope>(["issue"])
  @Mutation(() => ConnectionStatus, { description: "Renews the data platform user's tokens now." })
  @RateLimited()
  refreshTokens(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<ConnectionStatusView> {
    return context.services.connections.refreshTokens(principal, userId, context);
  }
}
