import { randomBytes } from "node:crypto";
import { UpstreamError } from "../../../src/cognito/aws-errors.js";
import type { DataPlatformAttributes, DataPlatformPool, FreshIdToken, SignInTokens } from "../../../src/cognito/data-platform-pool.js";
import { SESSION_TAG_ATTRIBUTE, TENANT_ATTRIBUTE } from "../../../src/policy/policies.js";

const ID_TOKEN_SECONDS = 3600;
const REFRESH_TOKEN_SECONDS = 30 * 86_400;

interface PoolBUser {
  attributes: Map<string, string>;
  enabled: boolean;
  /** Refresh tokens that still work: a global sign-out empties it. */
  refreshTokens: Set<string>;
}

/** An ID token as Pool B mints one (unsigned: the broker reads its claims without verifying, as it does from Pool B). */
export function fakeIdToken(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "RS256", kid: "pool-b" })}.${part(claims)}.${randomBytes(16).toString("base64url")}`;
}

/**
 * Pool B in memory, behind the service layer's interface (DataPlatformPool), with Cognito's
 * behaviour that the domain relies on: a disabled user cannot sign in, a global sign-out ends every
 * refresh token, a refresh gives the user's current attributes, unknown users are USER_NOT_FOUND.
 * Counts every call by operation (a refresh as "AdminInitiateAuth:REFRESH_TOKEN_AUTH"); `failNext`
 * makes the next calls fail (an outage, or a crash between two steps). The end-to-end
 * suites prove the real DataPlatformPool against moto.
 */
export class InMemoryDataPlatformPool {
  readonly users = new Map<string, PoolBUser>();
  readonly calls: string[] = [];
  /** The next calls (of `operation` only, when given) throw this, then it is cleared: a crash or an outage. */
  failNext: { count: number; error: () => Error; operation?: string } | undefined;

  constructor(private readonly now: () => number) {}

  async createUser(username: string, attributes: DataPlatformAttributes): Promise<boolean> {
    this.call("AdminCreateUser");
    if (this.users.has(username)) return false;
    this.users.set(username, { attributes: new Map(), enabled: true, refreshTokens: new Set() });
    this.write(username, attributes);
    return true;
  }

  async setAttributes(username: string, attributes: DataPlatformAttributes): Promise<void> {
    this.call("AdminUpdateUserAttributes");
    this.write(username, attributes);
  }

  async signInWithNewPassword(username: string): Promise<SignInTokens> {
    this.call("AdminSetUserPassword");
    this.call("AdminInitiateAuth");
    const user = this.existing(username, "AdminInitiateAuth");
    if (!user.enabled) throw new UpstreamError("AdminInitiateAuth", "USER_DISABLED", "NotAuthorizedException", 400);
    const refreshToken = randomBytes(24).toString("base64url");
    user.refreshTokens.add(refreshToken);
    return { ...this.idTokenOf(username, user), refreshToken, refreshTokenExpiresAt: new Date(this.now() + REFRESH_TOKEN_SECONDS * 1000) };
  }

  async refresh(username: string, refreshToken: string): Promise<FreshIdToken> {
    this.call("AdminInitiateAuth:REFRESH_TOKEN_AUTH");
    const user = this.existing(username, "AdminInitiateAuth");
    if (!user.enabled || !user.refreshTokens.has(refreshToken)) throw new UpstreamError("AdminInitiateAuth", "NOT_AUTHORIZED", "NotAuthorizedException", 400);
    return this.idTokenOf(username, user);
  }

  async disableUser(username: string): Promise<void> {
    this.call("AdminDisableUser");
    this.existing(username, "AdminDisableUser").enabled = false;
  }

  async enableUser(username: string): Promise<void> {
    this.call("AdminEnableUser");
    this.existing(username, "AdminEnableUser").enabled = true;
  }

  async globalSignOut(username: string): Promise<void> {
    this.call("AdminUserGlobalSignOut");
    this.existing(username, "AdminUserGlobalSignOut").refreshTokens.clear();
  }

  /** How many calls of `operation` were made. */
  count(operation: string): number {
    return this.calls.filter((c) => c === operation).length;
  }

  attribute(username: string, name: string): string | undefined {
    return this.users.get(username)?.attributes.get(name);
  }

  /** As the broker's services take it. */
  asPool(): DataPlatformPool {
    return this as unknown as DataPlatformPool;
  }

  private write(username: string, attributes: DataPlatformAttributes): void {
    const user = this.existing(username, "AdminUpdateUserAttributes");
    user.attributes.set(TENANT_ATTRIBUTE, attributes.tenant);
    if (attributes.sessionTag) user.attributes.set(SESSION_TAG_ATTRIBUTE, attributes.sessionTag);
  }

  private existing(username: string, operation: string): PoolBUser {
    const user = this.users.get(username);
    if (!user) throw new UpstreamError(operation, "USER_NOT_FOUND", "UserNotFoundException", 400);
    return user;
  }

  private idTokenOf(username: string, user: PoolBUser): FreshIdToken {
    const exp = Math.floor(this.now() / 1000) + ID_TOKEN_SECONDS;
    return { idToken: fakeIdToken({ sub: `sub-${username}`, "cognito:username": username, exp, ...Object.fromEntries(user.attributes) }), idTokenExpiresAt: new Date(exp * 1000) };
  }

  private call(operation: string): void {
    this.calls.push(operation);
    if (!this.failNext || (this.failNext.operation !== undefined && this.failNext.operation !== operation)) return;
    const error = this.failNext.error();
    if (--this.failNext.count <= 0) this.failNext = undefined;
    throw error;
  }
}
