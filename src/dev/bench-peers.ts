/**
 * The benchmark's peers, each the fastest of its kind on Node, in a process of its own; prints its
 * URL on stdout. `fastify`: a bare Fastify route answering the JSON the broker's connectionStatus
 * answers (no GraphQL at all). `mercurius`: Mercurius with graphql-jit (every query compiled after
 * its first use) on the baseline's one-field schema.
 */
import Fastify from "fastify";
import { buildSchema } from "graphql";
import mercurius from "mercurius";

const peer = process.argv[2];
const app = Fastify({ logger: false });
if (peer === "fastify") {
  const answer = { data: { connectionStatus: { state: "ACTIVE", tenant: "acme", prefix: "tenants/acme/", identityId: "eu-west-1:00000000-0000-0000-0000-000000000000" } } };
  app.post("/graphql", async () => answer);
} else if (peer === "mercurius") {
  await app.register(mercurius, { schema: buildSchema("type Query { hello: String }"), resolvers: { Query: { hello: () => "world" } }, jit: 1, path: "/graphql" });
} else {
  throw new Error(`unknown peer ${peer}; fastify or mercurius`);
}
app.get("/healthz", async () => ({ status: "ok" }));
const url = await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) });
process.stdout.write(`${url}\n`);
