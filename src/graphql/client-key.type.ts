import { Field, GraphQLISODateTime, ID, Int, ObjectType } from "type-graphql";
import { AccessPermission, CredentialFlow } from "./enums.js";

@ObjectType({ simpleResolvers: true, description: "A revocable key with which an unattended client fetches credentials. Never carries the secret." })
export class ClientKey {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { description: "The Pool A user the key acts for." })
  userId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => CredentialFlow)
  flow!: CredentialFlow;

  @Field(() => Int, { description: "Lifetime of each credential the key obtains." })
  durationSeconds!: number;

  @Field(() => String, { description: "What each credential reaches, relative to the tenant's root (\"\" = the whole prefix)." })
  scopeTarget!: string;

  @Field(() => AccessPermission)
  scopePermission!: AccessPermission;

  @Field(() => GraphQLISODateTime)
  createdAt!: Date;

  @Field(() => GraphQLISODateTime)
  expiresAt!: Date;

  @Field(() => GraphQLISODateTime, { nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => GraphQLISODateTime, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => Boolean)
  revoked!: boolean;

  @Field(() => Boolean)
  expired!: boolean;
}

@ObjectType({ simpleResolvers: true, description: "Configuration for each way an unchanged AWS SDK, CLI or tool fetches credentials with the key." })
export class ClientKeySetup {
  @Field(() => String, { description: "The credential endpoint URL (plain http is accepted by the SDKs only on loopback)." })
  endpoint!: string;

  @Field(() => String, { description: "The one command that puts the s3-broker helper on PATH (npm, which comes with Node)." })
  installHelper!: string;

  @Field(() => String, { description: "Environment variables for the SDKs' container credentials provider, straight to the broker." })
  containerEnvironment!: string;

  @Field(() => String, { description: "A ~/.aws/config profile that runs the helper's credential-process mode." })
  credentialProcessProfile!: string;

  @Field(() => String, { description: "The helper's update mode: a profile of ~/.aws/credentials kept fresh, for tools that read only that file." })
  credentialsFileUpdate!: string;

  @Field(() => String, { description: "The helper's serve mode: a loopback IMDSv2 and container endpoint, for tools that read only the metadata service." })
  localEndpoint!: string;
}

@ObjectType({ simpleResolvers: true, description: "A new client key. The secret is shown here once and never again." })
export class CreatedClientKey {
  @Field(() => ClientKey)
  key!: ClientKey;

  @Field(() => String, { description: "The key's secret (prefix s3bk_). Store it like a password; the broker keeps only a hash." })
  secret!: string;

  @Field(() => ClientKeySetup)
  setup!: ClientKeySetup;
}
