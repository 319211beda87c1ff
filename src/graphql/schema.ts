import "reflect-metadata";
import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { ActorAllowance } from "./actor-allowance.middleware.js";
import { authChecker } from "./auth-checker.js";
import { ClientKeyResolver } from "./client-key.resolver.js";
import { ConnectionResolver } from "./connection.resolver.js";
import { CredentialsResolver } from "./credentials.resolver.js";
import { GrantsResolver } from "./grants.resolver.js";
import { ObjectsResolver } from "./objects.resolver.js";

let built: Promise<GraphQLSchema> | undefined;

/**
 * The broker's schema; built once per process (type-graphql metadata is global). Every object type
 * is plain data with `simpleResolvers`: who may read what is decided by the root resolvers
 * (`@Authorized` on each resolver class, which still covers its field resolvers) and the domain,
 * so type-graphql need not wrap each plain field in a middleware stack.
 */
export function brokerSchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers: [ConnectionResolver, CredentialsResolver, ClientKeyResolver, GrantsResolver, ObjectsResolver],
    authChecker,
    globalMiddlewares: [ActorAllowance],
    validate: false,
  });
  return built;
}
