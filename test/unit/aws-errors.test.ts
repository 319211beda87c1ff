import { describe, expect, it } from "vitest";
import { toUpstreamError } from "../../src/cognito/aws-errors.js";
import { toBrokerError } from "../../src/broker/upstream-errors.js";

const awsError = (name: string, status: number) => Object.assign(new Error("AWS's own words, with arn:aws:iam::123456789012:policy/x"), { name, $metadata: { httpStatusCode: status } });

describe("classifying what AWS answered", () => {
  it("an IAM write's LimitExceeded is a quota (never retried, never an outage); Cognito's is throttling", () => {
    for (const operation of ["CreatePolicyVersion", "DeletePolicyVersion", "PutRolePolicy", "DeleteRolePolicy"]) {
      const error = toUpstreamError(operation, awsError("LimitExceededException", 409));
      expect(error.reason).toBe("QUOTA_EXCEEDED");
      expect(error.retryable).toBe(false);
      expect(toBrokerError(error)).toMatchObject({ extensions: { code: "UPSTREAM_REJECTED" } });
    }
    const cognito = toUpstreamError("AdminDisableUser", awsError("LimitExceededException", 400));
    expect(cognito.reason).toBe("UNAVAILABLE");
    expect(toBrokerError(cognito)).toMatchObject({ extensions: { code: "UPSTREAM_UNAVAILABLE", retryable: true } });
  });

  it("an over-size policy (MalformedPolicyDocument on an IAM write) is a quota too, and IAM throttling stays retryable", () => {
    expect(toUpstreamError("CreatePolicyVersion", awsError("MalformedPolicyDocumentException", 400)).reason).toBe("QUOTA_EXCEEDED");
    expect(toUpstreamError("CreatePolicyVersion", awsError("Throttling", 400)).retryable).toBe(true);
  });

  it("never carries AWS's message to the client", () => {
    const message = (toBrokerError(toUpstreamError("CreatePolicyVersion", awsError("LimitExceededException", 409))) as Error).message;
    expect(message).not.toContain("arn:aws");
    expect(message).not.toContain("AWS's own words");
  });
});
