import type { FastifyBaseLogger } from "fastify";
import type { RequestMeta } from "../broker/request-meta.js";
import { UnauthenticatedError, UpstreamUnavailableError } from "../errors.js";
import type { ClientKeyAuthenticator } from "./client-keys.js";
import { JwksUnavailable, TokenRejected, bearerToken, type PoolATokenVerifier } from "./pool-a-verifier.js";
import type { ClientKeyPrincipal, Principal } from "./principal.js";

/**
 * Who is asking, decided once per request at the HTTP layer. A request without a token goes on
 * (introspection, the Sandbox; every field then refuses it as MISSING); a token that was presented
 * and fails is refused before execution, with a reason a client can act on.
 */
export type Authentication = { principal: Principal; failure?: undefined } | { principal: null; failure: UnauthenticatedError | UpstreamUnavailableError };

const MESSAGES = {
  MISSING: "Sign in: a bearer token from the application's user pool is required.",
  MALFORMED: "The Authorization header does not hold a bearer token in JWT form; sign in again.",
  EXPIRED: "The token has expired; refresh it (or sign in again) and retry.",
  INVALID: "The token is not valid for this broker; sign in again.",
} as const;

export function missingToken(): UnauthenticatedError {
  return new UnauthenticatedError(MESSAGES.MISSING, "MISSING");
}

/**
 * The one authenticator, with a strategy per kind of caller (src/auth/principal.ts): a Pool A
 * bearer token for users and partners (the GraphQL API; one verifier tells them apart), a client key
 * for unattended clients (the credential endpoint). The HTTP layer asks it once per request.
 */
export class Authenticator {
  constructor(
    /** Also what readiness asks whether Pool A's keys are loaded. */
    readonly poolA: PoolATokenVerifier,
    private readonly clientKeys: Pick<ClientKeyAuthenticator, "check">,
  ) {}

  /** Users and partners: the Authorization header of a GraphQL request. */
  bearer(header: string | undefined, log: FastifyBaseLogger): Promise<Authentication> {
    return authenticateBearer(header, this.poolA, log);
  }

  /** Unattended clients: the client key presented at the credential endpoint, while it stands (not revoked, not expired). */
  async clientKey(secret: string | undefined, meta: RequestMeta & { sourceAddress?: string | undefined }): Promise<ClientKeyPrincipal> {
    return { kind: "client-key", key: await this.clientKeys.check(secret, meta) };
  }
}

async function authenticateBearer(header: string | undefined, verifier: PoolATokenVerifier, log: FastifyBaseLogger): Promise<Authentication> {
  if (header === undefined) return { principal: null, failure: missingToken() };
  const token = bearerToken(header);
  if (!token) {
    log.info({ event: "auth_rejected", reason: "MALFORMED", detail: "not a Bearer authorization header" }, "request not authenticated");
    return { principal: null, failure: new UnauthenticatedError(MESSAGES.MALFORMED, "MALFORMED") };
  }
  try {
    return { principal: await verifier.verify(token) };
  } catch (error) {
    if (error instanceof JwksUnavailable) {
      log.warn({ event: "jwks_unavailable", detail: error.message }, "Pool A's keys could not be fetched");
      return { principal: null, failure: new UpstreamUnavailableError("The application's user pool could not be reached to verify the token; try again shortly.") };
    }
    const rejection = error instanceof TokenRejected ? error : new TokenRejected("INVALID", "invalid");
    log.info({ event: "auth_rejected", reason: rejection.reason, detail: rejection.detail }, "request not authenticated");
    return { principal: null, failure: new UnauthenticatedError(MESSAGES[rejection.reason], rejection.reason) };
  }
}

/** RFC 6750's challenge: no error attribute for a missing token, invalid_token for one that failed. */
export function bearerChallenge(failure: UnauthenticatedError): string {
  return failure.reason === "MISSING" || failure.reason === undefined
    ? 'Bearer realm="s3-access-broker"'
    : `Bearer realm="s3-access-broker", error="invalid_token", error_description="${failure.reason.toLowerCase()}"`;
}

/** An answer whose every error is UNAUTHENTICATED and that has no data: HTTP 401, as for a refused token. */
export function onlyUnauthenticated(errors: ReadonlyArray<{ extensions?: Record<string, unknown> }> | undefined, data: unknown): boolean {
  return data === null && !!errors?.length && errors.every((e) => e.extensions?.code === "UNAUTHENTICATED");
}
