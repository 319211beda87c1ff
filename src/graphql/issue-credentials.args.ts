import { ArgsType, Field, ID, Int } from "type-graphql";
import { CredentialScopeInput } from "./access-grant.type.js";
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

  @Field(() => CredentialScopeInput, {
    nullable: true,
    description: "CLASSIC only: narrow the credentials to a prefix or one object under the tenant's root, within one of the tenant's grants. Default: the whole prefix.",
  })
  scope?: CredentialScopeInput | null;

  @Field(() => String, { nullable: true, description: "Why (a job or purpose, at most 256 characters), recorded in the audit trail with the issuance, as S3 Access Grants' AuditContext." })
  auditContext?: string | null;

  @Field(() => ID, { nullable: true, description: "Act for this Pool A user (administrators only)." })
  userId?: string | null;
}
