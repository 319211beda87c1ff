import { Args, Authorized, Ctx, Mutation, Resolver } from "type-graphql";
import type { Principal } from "../auth/principal.js";
import type { TemporaryCredentialsView } from "../broker/views.js";
import type { PartnerScope } from "../auth/partners.js";
import type { GraphQLContext } from "./context.type.js";
import { CurrentUser } from "./current-user.decorator.js";
import { RateLimited } from "./rate-limit.middleware.js";
import { IssueCredentialsArgs } from "./issue-credentials.args.js";
import { TemporaryCredentials } from "./temporary-credentials.type.js";

@Authorized()
@Resolver(() => TemporaryCredentials)
export class CredentialsResolver {
  @Authorized<PartnerScope>(["issue"])
  @Mutation(() => TemporaryCredentials, { description: "Issues temporary AWS credentials scoped to the user's tenant prefix." })
  @RateLimited()
  issueCredentials(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Args(() => IssueCredentialsArgs) args: IssueCredentialsArgs,
  ): Promise<TemporaryCredentialsView> {
    return context.services.issuance.issue(principal, args, context);
  }
}
