import { GraphQLJSONObject } from "graphql-scalars";
import { Field, GraphQLISODateTime, Int, ObjectType } from "type-graphql";
import { CredentialScope } from "./access-grant.type.js";
import { CredentialFlow } from "./enums.js";

@ObjectType({ simpleResolvers: true, description: "Configuration to paste into common AWS clients." })
export class ClientConfiguration {
  @Field(() => String, { description: "POSIX shell `export` lines." })
  shellExports!: string;

  @Field(() => String, { description: "A profile block for ~/.aws/credentials (profile `s3-broker`)." })
  credentialsFileProfile!: string;

  @Field(() => GraphQLJSONObject, { description: "The Version 1 object a credential_process command prints." })
  credentialProcessJson!: Record<string, unknown>;
}

@ObjectType({ simpleResolvers: true, description: "Temporary AWS credentials that reach only the tenant's prefix. Shown once; the broker keeps no copy of the secret." })
export class TemporaryCredentials {
  @Field(() => String)
  accessKeyId!: string;

  @Field(() => String)
  secretAccessKey!: string;

  @Field(() => String)
  sessionToken!: string;

  @Field(() => GraphQLISODateTime)
  expiration!: Date;

  @Field(() => Int)
  durationSeconds!: number;

  @Field(() => CredentialFlow)
  flow!: CredentialFlow;

  @Field(() => String)
  region!: string;

  @Field(() => String)
  bucket!: string;

  @Field(() => String)
  prefix!: string;

  @Field(() => String, { description: "s3://bucket/prefix" })
  s3Uri!: string;

  @Field(() => String)
  identityId!: string;

  @Field(() => CredentialScope, { description: "What these credentials may reach, and the grant that allowed it." })
  scope!: CredentialScope;

  @Field(() => ClientConfiguration)
  clientConfiguration!: ClientConfiguration;
}
