import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { ForbiddenError } from "../../src/errors.js";
import { formatError, isExpectedError } from "../../src/http/error-formatting.js";

describe("error formatting", () => {
  const format = formatError;
  const resolverError = (original: Error) =>
    new GraphQLError(original.message, { originalError: original, path: ["issueCredentials"] });

  it("passes the broker's typed errors through with their code", () => {
    const formatted = format({ message: "x" }, resolverError(new ForbiddenError()));
    expect(formatted).toMatchObject({ message: "You may not act for another user.", extensions: { code: "FORBIDDEN" } });
  });

  it("masks anything else, which the server logs as unexpected", () => {
    const secret = new Error("arn:aws:iam::123456789012:role/x rejected token eyJhbGciOi...");
    const formatted = format({ message: secret.message, extensions: { code: "INTERNAL_SERVER_ERROR", stacktrace: ["at x"] } }, resolverError(secret));
    expect(formatted).toEqual({ message: "Internal server error.", path: undefined, extensions: { code: "INTERNAL_SERVER_ERROR" } });
    expect(isExpectedError(resolverError(secret))).toBe(false);
    expect(isExpectedError(resolverError(new ForbiddenError()))).toBe(true);
  });

  it("keeps request validation errors, which describe the document", () => {
    const validation = new GraphQLError('Unknown argument "foo".', { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } });
    expect(format({ message: validation.message, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }, validation)).toMatchObject({
      message: 'Unknown argument "foo".',
      extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
    });
  });
});
