import { JwtVerifier } from "aws-jwt-verify";
import { JwtExpiredError, JwtParseError } from "aws-jwt-verify/error";
import { validateCognitoJwtFields } from "aws-jwt-verify/cognito-verifier";
import { hash } from "node:crypto";
import type { Fetcher } from "aws-jwt-verify/https";
import { LRUCache } from "lru-cache";
import { cacheLookups } from "../metrics.js";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import type { JwtPayload } from "aws-jwt-verify/jwt-model";
import type { BrokerConfig } from "../config/environment.js";
import { partnerActorId, partnerScopesOf, type PartnerSettings } from "./partners.js";
import { verifiedEmail, type Principal } from "./principal.js";

/** Longer than any Cognito token; refusing earlier spares the parser. */
const MAX_TOKEN_LENGTH = 8 * 1024;
/** Allowed clock difference for `iat` in the future. */
const CLOCK_SKEW_SECONDS = 60;
/**
 * Cognito's longest ID or access token validity (a day): a token that claims to live longer was not
 * issued by Pool A as configured, and would outlive every revocation of it.
 */
const MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

/** What a client can act on: MALFORMED and INVALID mean sign in again, EXPIRED means refresh the token. */
export type TokenRejectionReason = "MALFORMED" | "EXPIRED" | "INVALID";

export class TokenRejected extends Error {
  constructor(
    readonly reason: TokenRejectionReason,
    readonly detail: string,
  ) {
    super(`token rejected: ${detail}`);
    this.name = "TokenRejected";
  }
}

/** Pool A's keys could not be fetched: not the token's fault, so not UNAUTHENTICATED. */
export class JwksUnavailable extends Error {
  constructor(detail: string) {
    super(`JWKS unavailable: ${detail}`);
    this.name = "JwksUnavailable";
  }
}

function rejectionOf(error: unknown): TokenRejected | JwksUnavailable {
  if (error instanceof TokenRejected || error instanceof JwksUnavailable) return error;
  if (error instanceof JwtExpiredError) return new TokenRejected("EXPIRED", "expired");
  if (error instanceof JwtParseError) return new TokenRejected("MALFORMED", "not a JWT");
  return new TokenRejected("INVALID", (error as Error).name ?? "invalid");
}

/**
 * aws-jwt-verify's own fetcher speaks https only; a local emulator serves its JWKS over plain
 * http on loopback (config refuses http anywhere else), so JWKS documents are fetched with fetch().
 */
const jwksFetcher: Fetcher = {
  async fetch(uri) {
    let response;
    try {
      response = await fetch(uri, { signal: AbortSignal.timeout(5_000), redirect: "error" });
    } catch (error) {
      throw new JwksUnavailable((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name);
    }
    if (response.status !== 200) throw new JwksUnavailable(`answered ${response.status}`);
    return response.arrayBuffer();
  },
};

/**
 * Verifies Pool A tokens: RS256 signature against Pool A's JWKS (fetched once and cached by
 * aws-jwt-verify, refetched for an unknown kid with a rate limit), issuer, expiry, token use and
 * client id. Issuer and JWKS URI come from config so an emulator can serve them.
 */
export class PoolATokenVerifier {
  private readonly verifier;

  constructor(
    private readonly settings: BrokerConfig["poolA"],
    private readonly partners: PartnerSettings = { resourceServer: "", clients: new Map() },
  ) {
    this.verifier = JwtVerifier.create({
      issuer: settings.issuer,
      jwksUri: settings.jwksUri,
      audience: null, // checked per token use below: `aud` on ID tokens, `client_id` on access tokens
      customJwtCheck: ({ payload }) => {
        if (this.isPartnerToken(payload)) {
          // Cognito's client-credentials tokens: an access token whose sub is the app client itself.
          validateCognitoJwtFields(payload, { tokenUse: "access", clientId: [...partners.clients.keys()], groups: null });
          if (payload.sub !== payload.client_id || payload.username !== undefined) throw new TokenRejected("INVALID", "partner app clients are for client credentials only");
          if (typeof payload.scope !== "string") throw new TokenRejected("INVALID", "scope missing");
        } else {
          validateCognitoJwtFields(payload, { tokenUse: settings.tokenUse, clientId: settings.clientId, groups: null });
        }
        if (typeof payload.iat !== "number" || payload.iat > Date.now() / 1000 + CLOCK_SKEW_SECONDS) {
          throw new TokenRejected("INVALID", "iat missing or in the future");
        }
        // aws-jwt-verify checks exp only when present; a token without one would never expire.
        if (typeof payload.exp !== "number") throw new TokenRejected("INVALID", "exp missing");
        if (payload.exp - payload.iat > MAX_TOKEN_LIFETIME_SECONDS) throw new TokenRejected("INVALID", "lifetime longer than Cognito gives");
        if (typeof payload.sub !== "string" || payload.sub.length === 0) throw new TokenRejected("INVALID", "sub missing");
      },
    }, { jwksCache: new SimpleJwksCache({ fetcher: jwksFetcher }) });
  }

  /** Loads the JWKS ahead of the first request. */
  async warmUp(): Promise<void> {
    await this.verifier.hydrate();
    this.hydrated = true;
  }

  /** Loaded (and cached by aws-jwt-verify) once the JWKS has been fetched. */
  get jwksLoaded(): boolean {
    return this.hydrated;
  }
  private hydrated = false;

  /**
   * Verified tokens are remembered until they expire, keyed by a hash of the token, so signature
   * checks do not dominate under load; a token is only ever cached after full verification.
   */
  private readonly verified = new LRUCache<string, Principal>({ max: 20_000, ttlAutopurge: false });

  async verify(token: string): Promise<Principal> {
    if (token.length > MAX_TOKEN_LENGTH) throw new TokenRejected("MALFORMED", "token too long");
    // One-shot hashing: the key is computed on every request, the Hash object API costs twice as much.
    const cacheKey = hash("sha256", token, "base64url");
    const cached = this.verified.get(cacheKey);
    if (cached) {
      cacheLookups.inc({ cache: "verified_tokens", result: "hit" });
      return cached;
    }
    cacheLookups.inc({ cache: "verified_tokens", result: "miss" });
    const { principal, expiresAt } = await this.verifyUncached(token);
    // Forget it a second before it expires, so an expired token is never served from the cache.
    const ttl = expiresAt - Date.now() - 1000;
    if (ttl > 0) this.verified.set(cacheKey, principal, { ttl });
    return principal;
  }

  /** Whether a token claims to come from a partner app client (its signature and claims are checked all the same). */
  private isPartnerToken(payload: JwtPayload): boolean {
    return payload.token_use === "access" && typeof payload.client_id === "string" && this.partners.clients.has(payload.client_id);
  }

  private async verifyUncached(token: string): Promise<{ principal: Principal; expiresAt: number }> {
    let payload: JwtPayload;
    try {
      payload = await this.verifier.verify(token);
    } catch (error) {
      throw rejectionOf(error);
    }
    this.hydrated = true;
    const expiresAt = (payload.exp as number) * 1000;
    if (this.isPartnerToken(payload)) {
      const clientId = payload.client_id as string;
      const partner = { clientId, tenants: this.partners.clients.get(clientId)!, scopes: partnerScopesOf(payload.scope as string, this.partners.resourceServer) };
      return { principal: { kind: "partner", userId: partnerActorId(clientId), username: null, email: null, tokenUse: "access", tenantClaim: null, groups: [], isAdmin: false, partner }, expiresAt };
    }
    const sub = payload.sub as string;
    const claim = payload[this.settings.tenantClaim];
    const groups = Array.isArray(payload["cognito:groups"]) ? (payload["cognito:groups"] as unknown[]).filter((g): g is string => typeof g === "string") : [];
    const username = payload["cognito:username"] ?? payload.username;
    const principal: Principal = {
      kind: "user",
      userId: sub,
      username: typeof username === "string" && username.length > 0 ? username : null,
      email: verifiedEmail(payload.email, payload.email_verified),
      tokenUse: this.settings.tokenUse,
      // Absent stays absent (null) and a non-string becomes "": tenancy refuses both rather than guessing.
      tenantClaim: claim === undefined ? null : typeof claim === "string" ? claim : "",
      groups,
      isAdmin: groups.includes(this.settings.adminGroup),
    };
    return { principal, expiresAt };
  }
}

/** `Authorization: Bearer <jwt>` → the token, or null when the header is absent or of another scheme. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim());
  return match ? match[1]! : null;
}
