import { Field, GraphQLISODateTime, ID, ObjectType } from "type-graphql";
import { ConnectionState } from "./enums.js";

@ObjectType({ simpleResolvers: true, description: "Where an end user stands with the data platform. Never carries tokens." })
export class ConnectionStatus {
  @Field(() => ID, { description: "The end user's Pool A subject." })
  userId!: string;

  @Field(() => String, { nullable: true, description: "The end user's Pool A username, as the broker learnt it when the user was provisioned." })
  username!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The end user's Pool A e-mail address, as the broker learnt it when the user was provisioned, and only if Pool A had verified it (users may change their own).",
  })
  email!: string | null;

  @Field(() => Boolean)
  provisioned!: boolean;

  @Field(() => ConnectionState)
  state!: ConnectionState;

  @Field(() => String, { nullable: true, description: "The Cognito identity pool IdentityId, once provisioned." })
  identityId!: string | null;

  @Field(() => String, { nullable: true })
  tenant!: string | null;

  @Field(() => String)
  bucket!: string;

  @Field(() => String, { nullable: true, description: "The S3 key prefix the user's credentials reach." })
  prefix!: string | null;

  @Field(() => GraphQLISODateTime, { nullable: true, description: "When the data platform user's ID token held by the broker expires." })
  idTokenExpiresAt!: Date | null;

  @Field(() => GraphQLISODateTime, { nullable: true, description: "When the data platform user's refresh token held by the broker expires." })
  refreshTokenExpiresAt!: Date | null;
}

@ObjectType({ simpleResolvers: true })
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: "Pass as `after` for the next page." })
  endCursor!: string | null;
}

@ObjectType({ simpleResolvers: true, description: "A page of connections, ordered by user id." })
export class ConnectionPage {
  @Field(() => [ConnectionStatus])
  nodes!: ConnectionStatus[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ simpleResolvers: true, description: "One user's outcome in revokeDataPlatformUsers: the connection as it stands, or why it could not be revoked." })
export class RevocationOutcome {
  @Field(() => ID)
  userId!: string;

  @Field(() => ConnectionStatus, { nullable: true, description: "Set when the user is revoked (now or already before)." })
  status!: ConnectionStatus | null;

  @Field(() => String, { nullable: true, description: "The error code when this user failed (the others are unaffected); UPSTREAM_UNAVAILABLE is worth a retry of the same list." })
  errorCode!: string | null;

  @Field(() => String, { nullable: true })
  message!: string | null;
}
