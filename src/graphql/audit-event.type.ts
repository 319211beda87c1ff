import { Field, GraphQLISODateTime, ID, Int, ObjectType } from "type-graphql";
import { PageInfo } from "./connection-status.type.js";
import { CredentialFlow } from "./enums.js";

@ObjectType({ simpleResolvers: true, description: "One audited action: who did what, for whom, when. Never carries secrets." })
export class AuditEvent {
  @Field(() => ID)
  id!: string;

  @Field(() => GraphQLISODateTime)
  at!: Date;

  @Field(() => ID, { description: "The Pool A user who made the request (an administrator when acting for someone)." })
  actorUserId!: string;

  @Field(() => ID)
  subjectUserId!: string;

  @Field(() => String, { description: "PROVISION, ISSUE, REFRESH, REVOKE_DATA_PLATFORM_USER, CLIENT_KEY_CREATE, CLIENT_KEY_FIRST_USE or CLIENT_KEY_REVOKE." })
  action!: string;

  @Field(() => String, { description: "SUCCESS or FAILURE." })
  outcome!: string;

  @Field(() => String)
  requestId!: string;

  @Field(() => CredentialFlow, { nullable: true })
  flow!: CredentialFlow | null;

  @Field(() => Int, { nullable: true })
  durationSeconds!: number | null;

  @Field(() => String, { nullable: true })
  errorCode!: string | null;

  @Field(() => ID, { nullable: true })
  clientKeyId!: string | null;
}

@ObjectType({ simpleResolvers: true, description: "A page of audit events, newest first." })
export class AuditEventPage {
  @Field(() => [AuditEvent])
  nodes!: AuditEvent[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
