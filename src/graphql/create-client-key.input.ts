import { Field, GraphQLISODateTime, InputType, Int } from "type-graphql";
import { CredentialScopeInput } from "./access-grant.type.js";
import { CredentialFlow } from "./enums.js";

@InputType()
export class CreateClientKeyInput {
  @Field(() => String, { description: "What the key is for, e.g. the job that uses it (1-64 characters)." })
  name!: string;

  @Field(() => CredentialFlow, { defaultValue: CredentialFlow.ENHANCED })
  flow!: CredentialFlow;

  @Field(() => Int, { nullable: true, description: "CLASSIC only: the lifetime of each credential (900 to the role maximum). Shorter bounds the exposure of a leaked credential." })
  durationSeconds?: number | null;

  @Field(() => GraphQLISODateTime, { nullable: true, description: "When the key stops working; default 90 days, at most 397 days ahead." })
  expiresAt?: Date | null;

  @Field(() => CredentialScopeInput, { nullable: true, description: "CLASSIC only: what each credential reaches, within one of the tenant's grants. Default: the whole prefix." })
  scope?: CredentialScopeInput | null;
}
