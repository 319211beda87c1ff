import { Field, GraphQLISODateTime, ID, Int, ObjectType } from "type-graphql";
import { PageInfo } from "./connection-status.type.js";
import { CredentialFlow } from "./enums.js";

@ObjectType({ simpleResolvers: true, description: "One audited action: who did what, for whom, when. Never carries secrets." })
export class AuditEvent {
  @Field(() => ID)
  id!: string;

  @Field(() => GraphQLISODateTime)
  at!: Date;

  @Field(() => ID, { description: "Who made the request: a Pool A user (an administrator when acting for someone), or partner:<app client id> for a partner." })
  actorUserId!: string;

  @Field(() => ID)
  subjectUserId!: string;

  @Field(() => String, { description: "PROVISION, ISSUE, REFRESH, REVOKE_DATA_PLATFORM_USER, MOVE_TENANT, GRANT_CREATE, GRANT_DELETE, CLIENT_KEY_CREATE, CLIENT_KEY_FIRST_USE, CLIENT_KEY_REVOKE, CLIENT_KEY_REFUSED, ACCESS_REFUSED (cross-user or cross-tenant attempts), ADMIN_READ or PARTNER_READ (another party read the user's data; the actor says who)." })
  action!: string;

  @Field(() => String, { description: "SUCCESS or FAILURE." })
  outcome!: string;

  @Field(() => String, { description: "The broker's own id of the request (also the x-request-id response header)." })
  requestId!: string;

  @Field(() => String, { nullable: true, description: "The X-Request-Id the client sent, recorded beside the broker's own; never trusted as it." })
  clientRequestId!: string | null;

  @Field(() => CredentialFlow, { nullable: true })
  flow!: CredentialFlow | null;

  @Field(() => Int, { nullable: true })
  durationSeconds!: number | null;

  @Field(() => String, { nullable: true })
  errorCode!: string | null;

  @Field(() => String, { nullable: true, description: "Why a request was refused (e.g. TENANT_MISMATCH, NOT_ADMIN, KEY_REVOKED); the error's extensions.reason." })
  reason!: string | null;

  @Field(() => String, { nullable: true, description: "The subject's tenant at the time (the new one, for MOVE_TENANT)." })
  tenant!: string | null;

  @Field(() => String, { nullable: true, description: "MOVE_TENANT: the tenant the user left. A refused cross-tenant attempt: the tenant the caller's token claimed." })
  previousTenant!: string | null;

  @Field(() => ID, { nullable: true })
  clientKeyId!: string | null;

  @Field(() => String, { nullable: true, description: "What the event is about under the tenant's root: an issuance's scope target, a grant's location (\"\" = the whole prefix)." })
  target!: string | null;

  @Field(() => String, { nullable: true, description: "The caller's own words on why (a job or purpose), given with issueCredentials." })
  auditContext!: string | null;

  @Field(() => String, { nullable: true, description: "The OpenTelemetry trace the event was part of (32 hex digits), when the broker exports traces: the same id as in its log lines." })
  traceId!: string | null;
}

@ObjectType({ simpleResolvers: true, description: "A page of audit events, newest first." })
export class AuditEventPage {
  @Field(() => [AuditEvent])
  nodes!: AuditEvent[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
