/**
 * The benchmark's baseline: a bare Apollo Server 5 (startStandaloneServer) with a one-field
 * type-graphql schema, no authentication. Prints its URL on stdout.
 */
import "reflect-metadata";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSchema, Query, Resolver } from "type-graphql";

@Resolver()
class BaselineResolver {
  @Query(() => String)
  hello(): string {
    return "world";
  }
}

const schema = await buildSchema({ resolvers: [BaselineResolver], validate: false });
const server = new ApolloServer({ schema });
const { url } = await startStandaloneServer(server, { listen: { host: "127.0.0.1", port: Number(process.env.PORT ?? 0) } });
process.stdout.write(`${url}\n`);
