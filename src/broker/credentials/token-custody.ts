import type { BrokerConfig } from "../../config/environment.js";
import { UpstreamError } from "../../cognito/aws-errors.js";
import type { DataPlatformPool } from "../../cognito/data-platform-pool.js";
import { NotProvisionedError } from "../../errors.js";
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
   * A Pool B ID token valid for at least the safety margin: the stored one, else a refresh, else
   * (refresh token expired, revoked or refused) a fresh administrator sign-in.
   */
  async freshIdToken(connection: Connection, options: { force?: boolean } = {}): Promise<string> {
    const { store, pool, config, now } = this.deps;
    const marginMs = config.tokenSafetyMarginSeconds * 1000;
    const stored = await store.getPoolBTokens(connection.userId);
    // A DISABLED connection never uses its stored token: Cognito must say the user is enabled again.
    if (!options.force && connection.state === "ACTIVE" && stored && stored.idTokenExpiresAt.getTime() - now() > marginMs) {
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
    tokens ??= await this.signIn(connection);
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
