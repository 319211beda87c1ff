import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import type { ClientKeyService } from "../../src/broker/client-keys/client-keys.service.js";
import { registerCredentialEndpoint } from "../../src/http/credential-endpoint.js";
import { graphqlAnswerStatus, refusalStatus, registerEdgeRefusals } from "../../src/http/refusals.js";

const error = (code: string) => ({ extensions: { code } });

describe("the HTTP status of a GraphQL answer (one rule for Apollo's path and the hot path)", () => {
  it("an executed operation: 200 with its field errors, 401 only when every error is UNAUTHENTICATED and there is no data", () => {
    expect(graphqlAnswerStatus({ data: { a: 1 } })).toBe(200);
    expect(graphqlAnswerStatus({ errors: [error("FORBIDDEN")], data: { a: null } })).toBe(200);
    expect(graphqlAnswerStatus({ errors: [error("UNAUTHENTICATED")], data: null })).toBe(401);
    expect(graphqlAnswerStatus({ errors: [error("UNAUTHENTICATED"), error("FORBIDDEN")], data: null })).toBe(200);
    expect(graphqlAnswerStatus({ errors: [error("RATE_LIMITED")], data: null }, 429)).toBe(429);
  });

  it("a request refused before it ran: its code's status from the one table, never a 500 for the client's document", () => {
    expect(graphqlAnswerStatus({ errors: [error("GRAPHQL_VALIDATION_FAILED")] }, 500)).toBe(400);
    expect(graphqlAnswerStatus({ errors: [error("GRAPHQL_PARSE_FAILED")] })).toBe(refusalStatus("GRAPHQL_PARSE_FAILED"));
    expect(graphqlAnswerStatus({ errors: [error("BAD_USER_INPUT")] })).toBe(400);
    expect(graphqlAnswerStatus({ errors: [error("BAD_REQUEST")] }, 405)).toBe(405);
    expect(graphqlAnswerStatus({ errors: [error("INTERNAL_SERVER_ERROR")] })).toBe(500);
    expect(graphqlAnswerStatus({ errors: [error("GRAPHQL_VALIDATION_FAILED")], thrown: true })).toBe(500);
  });
});

describe("a failure nobody expected", () => {
  it("is masked in the shape of its route and logged once, by the edge's one error handler", async () => {
    const lines: string[] = [];
    const app = Fastify({ logger: { level: "error", stream: { write: (line: string) => void lines.push(line) } } });
    registerEdgeRefusals(app, []);
    const failing = async () => {
      throw new Error("database file is locked: /var/lib/broker/secret-path");
    };
    registerCredentialEndpoint(app, { clientKeys: { credentialsFor: failing } as unknown as ClientKeyService, authenticator: { clientKey: failing }, accountIdFor: () => undefined });
    for (const url of ["/v1/credentials", "/v1/credentials/status"]) {
      const answer = await app.inject({ url, headers: { authorization: "s3bk_x" } });
      expect(answer.statusCode, url).toBe(500);
      expect(answer.json(), url).toEqual({ Code: "INTERNAL_SERVER_ERROR", Message: "Internal server error." });
    }
    const logged = lines.filter((line) => line.includes('"event":"unexpected_error"'));
    expect(logged).toHaveLength(2);
    expect(logged.join("")).toContain("database file is locked");
    await app.close();
  });
});
