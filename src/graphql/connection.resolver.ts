import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { Principal } from "../auth/principal.js";
import type { ConnectionStatusView, CredentialExpiryView } from "../broker/views.js";
import { ConnectionStatus } from "./connection-status.type.js";
import type { GraphQLContext } from "./context.type.js";
import { CredentialExpiry } from "./credential-expiry.type.js";
import { CurrentUser } from "./current-user.decorator.js";
import { RateLimited } from "./rate-limit.middleware.js";

const userIdArg = { nullable: true, description: "Act for this Pool A user (administrators only)." } as const;

@Authorized()
@Resolver(() => ConnectionStatus)
export class ConnectionResolver {
  @Query(() => ConnectionStatus, { description: "Where the user stands: provisioned, tokens, last credentials." })
  connectionStatus(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<ConnectionStatusView> {
    return context.broker.connectionStatus(principal, userId);
  }

  @Query(() => CredentialExpiry, { nullable: true, description: "Expiry of the most recently issued credentials; null when none were issued." })
  credentialExpiry(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<CredentialExpiryView | null> {
    return context.broker.credentialExpiry(principal, userId);
  }

  @Mutation(() => ConnectionStatus, { description: "Creates (or finds) the user's data platform user. Idempotent." })
  @RateLimited()
  provisionDataPlatformUser(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<ConnectionStatusView> {
    return context.broker.provision(principal, userId, context);
  }

  @Mutation(() => ConnectionStatus, {
    description:
      "Revokes the user's data platform access: disables the data platform user, signs it out everywhere and revokes every client key. Credentials already issued stay valid until they expire. Administrators and the user themselves.",
  })
  revokeDataPlatformUser(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<ConnectionStatusView> {
    return context.broker.revokeDataPlatformUser(principal, userId, context);
  }

  @Mutation(() => ConnectionStatus, { description: "Renews the data platform user's tokens now." })
  @RateLimited()
  refreshTokens(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<ConnectionStatusView> {
    return context.broker.refreshTokens(principal, userId, context);
  }
}
