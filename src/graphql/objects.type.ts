import { GraphQLJSONObject } from "graphql-scalars";
import { Field, Float, GraphQLISODateTime, InputType, ObjectType } from "type-graphql";
import { PageInfo } from "./connection-status.type.js";

@ObjectType({ simpleResolvers: true, description: "A download link for one object, signed with the user's own scoped credentials." })
export class PresignedDownload {
  @Field(() => String, { description: "Relative to the tenant's root." })
  key!: string;

  @Field(() => String, { description: "GET it; no AWS credentials needed." })
  url!: string;

  @Field(() => GraphQLISODateTime, { description: "Never later than the credentials that signed it." })
  expiresAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: "A browser form upload (S3 presigned POST) of exactly one key, size-limited." })
export class PresignedUpload {
  @Field(() => String)
  key!: string;

  @Field(() => String, { description: "POST a multipart/form-data body here: every field below, then the file as `file` (last)." })
  url!: string;

  @Field(() => GraphQLJSONObject, { description: "Form fields to send as they are (key, policy, signature, credential, token, …)." })
  fields!: Record<string, string>;

  @Field(() => Float)
  maxBytes!: number;

  @Field(() => GraphQLISODateTime)
  expiresAt!: Date;
}

@ObjectType({ simpleResolvers: true })
export class StoredObject {
  @Field(() => String, { description: "Relative to the tenant's root." })
  key!: string;

  @Field(() => Float)
  size!: number;

  @Field(() => GraphQLISODateTime)
  lastModified!: Date;
}

@ObjectType({ simpleResolvers: true, description: "A page of objects under a granted prefix." })
export class ObjectPage {
  @Field(() => [StoredObject])
  objects!: StoredObject[];

  @Field(() => [String], { description: 'Listed byFolder: the folders directly under the prefix, each ending in "/" (relative to the tenant\'s root), to list in turn. Otherwise empty.' })
  folders!: string[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@InputType({ description: "One file of presignUploads." })
export class UploadFileInput {
  @Field(() => String, { description: "Relative to the tenant's root." })
  key!: string;

  @Field(() => Float, { description: "The largest body S3 accepts for this upload (1 byte to 5 GiB)." })
  maxBytes!: number;

  @Field(() => String, { nullable: true, description: "When set, the upload must carry exactly this Content-Type." })
  contentType?: string | null;
}
