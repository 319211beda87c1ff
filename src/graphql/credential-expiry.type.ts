import { Field, GraphQLISODateTime, Int, ObjectType } from "type-graphql";
import { CredentialFlow } from "./enums.js";

@ObjectType({ simpleResolvers: true, description: "When the most recently issued credentials expire." })
export class CredentialExpiry {
  @Field(() => GraphQLISODateTime)
  expiresAt!: Date;

  @Field(() => Int)
  secondsRemaining!: number;

  @Field(() => Boolean)
  expired!: boolean;

  @Field(() => CredentialFlow)
  flow!: CredentialFlow;
}
