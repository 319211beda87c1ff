import { ArgsType, Field, ID, Int } from "type-graphql";
import { CredentialFlow } from "./enums.js";

@ArgsType()
export class IssueCredentialsArgs {
  @Field(() => CredentialFlow)
  flow!: CredentialFlow;

  @Field(() => Int, {
    nullable: true,
    description: "CLASSIC only: 900 to the role maximum (at most 43200); default 3600. Not allowed for ENHANCED (fixed at 3600).",
  })
  durationSeconds?: number | null;

  @Field(() => ID, { nullable: true, description: "Act for this Pool A user (administrators only)." })
  userId?: string | null;
}
