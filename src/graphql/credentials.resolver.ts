import { Arg, Authorized, Ctx, ID, Int, Mutation, Resolver } from "type-graphql";
import type { Principal } from "../auth/principal.js";
import type { TemporaryCredentialsView } from "../broker/views.js";
import type { GraphQLContext } from "./context.type.js";
import { CurrentUser } from "./current-user.decorator.js";
import { CredentialFlow } from "./enums.js";
import { TemporaryCredentials } from "./temporary-credentials.type.js";

@Authorized()
@Resolver(() => TemporaryCredentials)
export class CredentialsResolver {
  @Mutation(() => TemporaryCredentials, { description: "Issues temporary AWS credentials scoped to the user's tenant prefix." })
  issueCredentials(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("flow", () => CredentialFlow) flow: CredentialFlow,
    @Arg("durationSeconds", () => Int, {
      nullable: true,
      description: "CLASSIC only: 900 to the role maximum (at most 43200); default 3600. Not allowed for ENHANCED (fixed at 3600).",
    })
    durationSeconds?: number | null,
    @Arg("userId", () => ID, { nullable: true, description: "Act for this Pool A user (administrators only)." }) userId?: string | null,
  ): Promise<TemporaryCredentialsView> {
    return context.broker.issueCredentials(principal, { flow, durationSeconds, userId }, context);
  }
}
