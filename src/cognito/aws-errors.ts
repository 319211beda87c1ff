import { BrokerError } from "../errors.js";
import { upstreamCalls, upstreamErrors } from "../metrics.js";

/**
 * What the service layer throws when AWS fails. It keeps AWS's error name and status for the logs
 * (never AWS's message, which can carry identifiers) and a `reason` the domain can act on.
 */
export type UpstreamReason =
  | "UNAVAILABLE"
  | "NOT_AUTHORIZED"
  | "USER_DISABLED"
  | "USER_NOT_FOUND"
  | "USERNAME_EXISTS"
  | "DURATION_TOO_LONG"
  /** An IAM write over a quota (policy size, versions, attachments): never retried, never an outage. */
  | "QUOTA_EXCEEDED"
  | "REJECTED";

export class UpstreamError extends Error {
  constructor(
    readonly operation: string,
    readonly reason: UpstreamReason,
    readonly awsErrorName: string,
    readonly httpStatus: number | undefined,
  ) {
    super(`${operation} failed: ${awsErrorName}${httpStatus ? ` (HTTP ${httpStatus})` : ""}`);
    this.name = "UpstreamError";
  }

  get retryable(): boolean {
    return this.reason === "UNAVAILABLE";
  }
}

const UNAVAILABLE_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "LimitExceededException",
  "RequestLimitExceeded",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "InternalErrorException",
  "InternalFailure",
  "InternalServerError",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
]);

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** IAM's writes: their LimitExceeded is a quota (size, versions), not throttling as it is for Cognito. */
const IAM_WRITES = new Set(["PutRolePolicy", "DeleteRolePolicy", "CreatePolicyVersion", "DeletePolicyVersion"]);

/** Classifies anything an AWS SDK call threw. */
export function toUpstreamError(operation: string, error: unknown): UpstreamError {
  const e = (error ?? {}) as AwsLikeError;
  const name = e.name ?? "UnknownError";
  const status = e.$metadata?.httpStatusCode;
  const networkFailure = e.code !== undefined && NETWORK_CODES.has(e.code);
  let reason: UpstreamReason;
  if (IAM_WRITES.has(operation) && (name === "LimitExceededException" || name === "LimitExceeded" || name === "MalformedPolicyDocumentException")) {
    reason = "QUOTA_EXCEEDED";
  } else if (UNAVAILABLE_NAMES.has(name) || e.$retryable || (status !== undefined && status >= 500) || networkFailure) {
    reason = "UNAVAILABLE";
  } else if (name === "NotAuthorizedException" && /disabled/i.test(e.message ?? "")) {
    reason = "USER_DISABLED";
  } else if (name === "NotAuthorizedException") {
    reason = "NOT_AUTHORIZED";
  } else if (name === "UserNotFoundException") {
    reason = "USER_NOT_FOUND";
  } else if (name === "UsernameExistsException") {
    reason = "USERNAME_EXISTS";
  } else if (name === "ValidationError" && /durationseconds/i.test(e.message ?? "")) {
    reason = "DURATION_TOO_LONG";
  } else {
    reason = "REJECTED";
  }
  return new UpstreamError(operation, reason, name, status);
}

/** True for errors that came from AWS or from the network on the way there (not bugs of ours). */
export function isAwsOrNetworkError(error: unknown): boolean {
  const e = (error ?? {}) as AwsLikeError;
  return e.$metadata !== undefined || (e.code !== undefined && NETWORK_CODES.has(e.code)) || UNAVAILABLE_NAMES.has(e.name ?? "");
}

/** Runs one AWS call and turns what AWS or the network threw into an UpstreamError; anything else passes through. */
export async function awsCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  upstreamCalls.inc({ operation });
  try {
    return await call();
  } catch (error) {
    // The broker's own refusal from inside the SDK's stack (an upstream budget): the SDK adds
    // $metadata to what passes through it, but this never was an AWS answer.
    if (error instanceof BrokerError) throw error;
    const upstream = isAwsOrNetworkError(error) ? toUpstreamError(operation, error) : undefined;
    upstreamErrors.inc({ operation, reason: upstream?.reason ?? "INTERNAL" });
    throw upstream ?? error;
  }
}
