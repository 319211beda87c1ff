import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { ForbiddenError } from "../../src/errors.js";
import { formatErrorFor, isExpectedError, withoutInputValues } from "../../src/http/error-formatting.js";

describe("error formatting", () => {
  const format = formatErrorFor({ production: false });
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

describe("input values in production error messages", () => {
  it.each([
    ['Variable "$flow" got invalid value "<script>"; Value "<script>" does not exist in "CredentialFlow" enum.', 'Variable "$flow" got an invalid value.'],
    ['Value "<img>" does not exist in "CredentialFlow" enum. Did you mean the enum value "CLASSIC"?', 'A value does not exist in the "CredentialFlow" enum.'],
    ['Int cannot represent non-integer value: "DROP TABLE"', "Int cannot represent the given value."],
    ['Expected value of type "Int", found "payload".', 'Expected a value of type "Int".'],
    ['Argument "userId" has invalid value {a: 1}.', 'Argument "userId" has an invalid value.'],
  ])("%s", (message, expected) => {
    expect(withoutInputValues(message)).toBe(expected);
  });

  it("leaves messages without input values alone", () => {
    expect(withoutInputValues('Cannot query field "nope" on type "Query".')).toBe('Cannot query field "nope" on type "Query".');
  });

  it("is applied only in production", () => {
    const error = new GraphQLError('Int cannot represent non-integer value: "x"', { extensions: { code: "BAD_USER_INPUT" } });
    const formatted = { message: error.message, extensions: { code: "BAD_USER_INPUT" } };
    expect(formatErrorFor({ production: true })(formatted, error).message).toBe("Int cannot represent the given value.");
    expect(formatErrorFor({ production: false })(formatted, error).message).toBe(error.message);
  });
});
