import "reflect-metadata";
import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { authChecker } from "./auth-checker.js";
import { ClientKeyResolver } from "./client-key.resolver.js";
import { ConnectionResolver } from "./connection.resolver.js";
import { CredentialsResolver } from "./credentials.resolver.js";

let built: Promise<GraphQLSchema> | undefined;

/** The broker's schema; built once per process (type-graphql metadata is global). */
export function brokerSchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers: [ConnectionResolver, CredentialsResolver, ClientKeyResolver],
    authChecker,
    validate: false,
  });
  return built;
}
