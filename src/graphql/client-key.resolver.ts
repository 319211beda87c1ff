import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { Principal } from "../auth/principal.js";
import { clientKeySetup } from "../broker/client-keys/client-key-setup.js";
import { clientKeyView, type ClientKeyView } from "../broker/views.js";
import { ClientKey, CreatedClientKey } from "./client-key.type.js";
import { userIdArg } from "./user-id-arg.js";
import type { PartnerScope } from "../auth/partners.js";
import type { GraphQLContext } from "./context.type.js";
import { CreateClientKeyInput } from "./create-client-key.input.js";
import { CurrentUser } from "./current-user.decorator.js";
import { RateLimited } from "./rate-limit.middleware.js";


@Authorized()
@Resolver(() => ClientKey)
export class ClientKeyResolver {
  @Authorized<PartnerScope>(["keys"])
  @Query(() => [ClientKey], { description: "The user's client keys, newest last. Secrets are never shown again." })
  async clientKeys(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<ClientKeyView[]> {
    const keys = await context.services.clientKeys.list(principal, userId, context);
    return keys.map((key) => clientKeyView(key, Date.now()));
  }

  @Authorized<PartnerScope>(["keys"])
  @Mutation(() => CreatedClientKey, { description: "Creates a client key for an unattended client. The answer holds the secret, once." })
  @RateLimited()
  async createClientKey(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("input", () => CreateClientKeyInput) input: CreateClientKeyInput,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ) {
    const created = await context.services.clientKeys.create(principal, userId, input, context);
    return {
      key: clientKeyView(created.key, Date.now()),
      secret: created.secret,
      setup: clientKeySetup(context.publicUrl, created.secret, context.region, created.key.name),
    };
  }

  @Authorized<PartnerScope>(["keys"])
  @Mutation(() => ClientKey, {
    description:
      "Revokes a client key at once: the credential endpoint refuses it from now on. With cutOffSessions, the AWS sessions it already obtained are cut off too (an IAM deny on the user's current session tag: the user's own and other keys' current credentials go with them and are fetched anew).",
  })
  async revokeClientKey(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("id", () => ID) id: string,
    @Arg("cutOffSessions", () => Boolean, { defaultValue: false, description: "Also cut off the sessions the key already obtained (for a leaked key)." }) cutOffSessions: boolean,
  ): Promise<ClientKeyView> {
    return clientKeyView(await context.services.clientKeys.revoke(principal, id, context, { cutOffSessions }), Date.now());
  }
}
