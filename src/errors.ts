import { GraphQLError } from "graphql";

/** The broker's error codes, sent in `extensions.code` (see docs/architecture.md). */
export const ErrorCode = {
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  BAD_USER_INPUT: "BAD_USER_INPUT",
  NOT_PROVISIONED: "NOT_PROVISIONED",
  UPSTREAM_UNAVAILABLE: "UPSTREAM_UNAVAILABLE",
  UPSTREAM_REJECTED: "UPSTREAM_REJECTED",
  RATE_LIMITED: "RATE_LIMITED",
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Base of every error the broker shows to a client. The message is ours, written for the caller;
 * nothing from AWS, no ARN, token or secret is ever put in it.
 */
export abstract class BrokerError extends GraphQLError {
  abstract readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extra } });
  }

  /** Keeps what caused this error for the server's logs; clients only ever see message and extensions. */
  causedBy(cause: unknown): this {
    Object.defineProperty(this, "cause", { value: cause, enumerable: false, configurable: true });
    return this;
  }
}

/** Why a request is not authenticated, in `extensions.reason`: MISSING (sign in), MALFORMED and INVALID (sign in again), EXPIRED (refresh the token). */
export type UnauthenticatedReason = "MISSING" | "MALFORMED" | "EXPIRED" | "INVALID";

export class UnauthenticatedError extends BrokerError {
  readonly code = ErrorCode.UNAUTHENTICATED;
  constructor(message = "A valid bearer token from the application's user pool is required.", readonly reason?: UnauthenticatedReason) {
    super(message, ErrorCode.UNAUTHENTICATED, reason ? { reason } : {});
  }
}

/** Why a request was refused, in `extensions.reason` of FORBIDDEN errors and in the audit trail. */
export type ForbiddenReason =
  | "NOT_ADMIN"
  | "ADMIN_ROLE_LOST"
  | "TENANT_MISMATCH"
  | "TENANT_MISSING"
  | "TENANT_INVALID"
  | "REVOKED"
  | "ACCESS_CHANGED"
  | "KEY_REVOKED"
  | "KEY_EXPIRED"
  | "OWNER_GONE"
  | "OWNER_DISABLED"
  | "CREATOR_NOT_ADMIN"
  | "NO_GRANT"
  | "PARTNER_SCOPE"
  | "PARTNER_TENANT"
  | "PARTNER_NOT_ALLOWED";

export class ForbiddenError extends BrokerError {
  readonly code = ErrorCode.FORBIDDEN;
  constructor(message = "You may not act for another user.", readonly reason: ForbiddenReason = "NOT_ADMIN") {
    super(message, ErrorCode.FORBIDDEN, { reason });
  }
}

export class BadUserInputError extends BrokerError {
  readonly code = ErrorCode.BAD_USER_INPUT;
  constructor(message: string, field?: string) {
    super(message, ErrorCode.BAD_USER_INPUT, field ? { field } : {});
  }
}

export class NotProvisionedError extends BrokerError {
  readonly code = ErrorCode.NOT_PROVISIONED;
  constructor(message = "No data platform user is provisioned for this user; call provisionDataPlatformUser first.") {
    super(message, ErrorCode.NOT_PROVISIONED);
  }
}

export class UpstreamUnavailableError extends BrokerError {
  readonly code = ErrorCode.UPSTREAM_UNAVAILABLE;
  constructor(message = "AWS is unavailable or throttling requests; try again shortly.", retryAfterSeconds?: number) {
    super(message, ErrorCode.UPSTREAM_UNAVAILABLE, { retryable: true, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) });
  }
}

export class UpstreamRejectedError extends BrokerError {
  readonly code = ErrorCode.UPSTREAM_REJECTED;
  constructor(message: string) {
    super(message, ErrorCode.UPSTREAM_REJECTED, { retryable: false });
  }
}

export class RateLimitedError extends BrokerError {
  readonly code = ErrorCode.RATE_LIMITED;
  constructor(retryAfterSeconds: number) {
    super("Too many requests; slow down.", ErrorCode.RATE_LIMITED, { retryAfterSeconds });
  }
}

export class InternalError extends BrokerError {
  readonly code = ErrorCode.INTERNAL_SERVER_ERROR;
  constructor() {
    super("Internal server error.", ErrorCode.INTERNAL_SERVER_ERROR);
  }
}
