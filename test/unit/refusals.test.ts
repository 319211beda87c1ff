import { describe, expect, it } from "vitest";
import { graphqlAnswerStatus, refusalStatus } from "../../src/http/refusals.js";

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
