import type { BrokerConfig } from "../../config/environment.js";
import { UpstreamError } from "../../cognito/aws-errors.js";
import { type DataPlatformPool, sessionTagOf } from "../../cognito/data-platform-pool.js";
import { NotProvisionedError, UpstreamRejectedError } from "../../errors.js";
import type { Connection, PoolBTokens, Store } from "../../store/store.js";
import { toBrokerError } from "../upstream-errors.js";

/**
 * Custody of each data platform user's Pool B tokens: the broker keeps a refresh token (sealed by
 * the store) and an ID token, and mints new ones as administrator when those are gone. Every
 * method runs under the user lock, on a connection the caller has just read under it.
 */
export class TokenCustody {
  constructor(
    private readonly deps: { config: BrokerConfig; store: Store; pool: DataPlatformPool; now: () => number; forgetCredentials: (userId: string) => Promise<void> },
  ) {}

  /**
   * A Pool B ID token valid for at least the safety margin and carrying the connection's current
   * session tag: the stored one, else a refresh, else (refresh token expired, revoked or refused,
   * or a token of an older tag) a fresh administrator sign-in. A token whose tag is not the current
   * one is never returned, so no credential is ever issued under a denied or replaced tag.
   */
  async freshIdToken(connection: Connection, options: { force?: boolean } = {}): Promise<string> {
    const { store, pool, config, now } = this.deps;
    const marginMs = config.tokenSafetyMarginSeconds * 1000;
    const current = (idToken: string) => connection.sessionTag !== null && sessionTagOf(idToken) === connection.sessionTag;
    const stored = await store.getPoolBTokens(connection.userId);
    // A DISABLED connection never uses its stored token: Cognito must say the user is enabled again.
    if (!options.force && connection.state === "ACTIVE" && stored && stored.idTokenExpiresAt.getTime() - now() > marginMs && current(stored.idToken)) {
      return stored.idToken;
    }
    let tokens: PoolBTokens | null = null;
    if (stored && stored.refreshTokenExpiresAt.getTime() > now()) {
      try {
        tokens = { ...stored, ...(await pool.refresh(connection.poolBUsername, stored.refreshToken)) };
      } catch (error) {
        if (!(error instanceof UpstreamError) || error.retryable) throw toBrokerError(error);
        // Refused (revoked by a global sign-out, expired early, user changed): sign in afresh below.
      }
    }
    if (!tokens || !current(tokens.idToken)) tokens = await this.signIn(connection);
    if (!current(tokens.idToken)) {
      // Pool B does not give the tag the broker set (its app client cannot read custom:sid?): never exchange such a token.
      throw new UpstreamRejectedError("The data platform user's ID token does not carry its current session tag; check that Pool B's app client may read custom:sid.");
    }
    await store.updateConnection(connection.userId, { tokens, state: "ACTIVE" });
    return tokens.idToken;
  }

  /** Administrator sign-in with a new random password; a disabled or deleted Pool B user changes the connection's state. */
  async signIn(connection: Connection): Promise<PoolBTokens> {
    const { store, pool } = this.deps;
    try {
      return await pool.signInWithNewPassword(connection.poolBUsername);
    } catch (error) {
      if (error instanceof UpstreamError && error.reason === "USER_DISABLED" && connection.state !== "DISABLED") {
        await store.updateConnection(connection.userId, { state: "DISABLED" });
        await this.deps.forgetCredentials(connection.userId);
      }
      if (error instanceof UpstreamError && error.reason === "USER_NOT_FOUND" && connection.state !== "PROVISIONING") {
        // Deleted from Pool B behind the broker's back: provisioning again recreates it.
        await store.updateConnection(connection.userId, { state: "PROVISIONING", tokens: null });
        await this.deps.forgetCredentials(connection.userId);
        throw new NotProvisionedError("The data platform user no longer exists; call provisionDataPlatformUser to create it again.");
      }
      throw toBrokerError(error);
    }
  }
}
