import { Field, GraphQLISODateTime, ID, InputType, ObjectType } from "type-graphql";
import { AccessPermission } from "./enums.js";

@ObjectType({ simpleResolvers: true, description: "A location under a tenant's root that its users may reach, with a permission." })
export class AccessGrant {
  @Field(() => ID, { description: "`default` for the grant a tenant without configured grants has: READ on its whole prefix." })
  id!: string;

  @Field(() => String)
  tenant!: string;

  @Field(() => String, { description: "Relative to the tenant's root: \"\" (all of it), a prefix ending in \"/\", or one object key." })
  location!: string;

  @Field(() => AccessPermission)
  permission!: AccessPermission;

  @Field(() => GraphQLISODateTime)
  createdAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: "What a user can reach: their tenant's prefix and its grants." })
export class Access {
  @Field(() => ID)
  userId!: string;

  @Field(() => String)
  tenant!: string;

  @Field(() => String, { description: "The tenant's root prefix in the bucket; every location is relative to it." })
  prefix!: string;

  @Field(() => [AccessGrant])
  grants!: AccessGrant[];
}

@ObjectType({ simpleResolvers: true, description: "What a set of credentials may reach, and the grant that allowed it." })
export class CredentialScope {
  @Field(() => String, { description: "Relative to the tenant's root (\"\" = all of it)." })
  target!: string;

  @Field(() => String, { description: "The full prefix or key in the bucket." })
  reach!: string;

  @Field(() => AccessPermission)
  permission!: AccessPermission;

  @Field(() => AccessGrant, { description: "The narrowest of the tenant's grants that allows this scope." })
  grant!: AccessGrant;
}

@InputType({ description: "Least privilege: exactly what the credentials need. CLASSIC flow only (it carries a session policy)." })
export class CredentialScopeInput {
  @Field(() => String, { description: "Relative to the tenant's root: a prefix ending in \"/\" (lists and reads only under it) or one object key (reads only it)." })
  target!: string;

  @Field(() => AccessPermission, { defaultValue: AccessPermission.READ })
  permission!: AccessPermission;
}

@InputType()
export class CreateAccessGrantInput {
  @Field(() => String)
  tenant!: string;

  @Field(() => String, { description: "Relative to the tenant's root: \"\" (all of it), a prefix ending in \"/\", or one object key. Never outside the tenant's prefix." })
  location!: string;

  @Field(() => AccessPermission, { defaultValue: AccessPermission.READ })
  permission!: AccessPermission;
}
