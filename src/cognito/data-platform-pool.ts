import { randomBytes, timingSafeEqual } from "node:crypto";
import {
  AdminCreateUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminUserGlobalSignOutCommand,
  AdminInitiateAuthCommand,
  AdminSetUserPasswordCommand,
  AdminUpdateUserAttributesCommand,
  DescribeUserPoolClientCommand,
  type AuthenticationResultType,
  type CognitoIdentityProviderClient,
} from "@aws-sdk/client-cognito-identity-provider";
import { decomposeUnverifiedJwt } from "aws-jwt-verify/jwt";
import { SESSION_TAG_ATTRIBUTE, TENANT_ATTRIBUTE } from "../policy/policies.js";
import { awsCall, UpstreamError } from "./aws-errors.js";
import { secretHash } from "./secret-hash.js";

export interface PoolBSettings {
  userPoolId: string;
  clientId: string;
  clientSecret?: string | undefined;
  refreshTokenValiditySeconds: number;
}

export interface FreshIdToken {
  idToken: string;
  idTokenExpiresAt: Date;
}

export interface SignInTokens extends FreshIdToken {
  refreshToken: string;
  refreshTokenExpiresAt: Date;
}

/** What the broker keeps on each data platform user: the tenant and the session tag become principal tags. */
export interface DataPlatformAttributes {
  tenant: string;
  /** Left out where it is not known yet (a revoked user's move keeps the denied tag until reinstatement). */
  sessionTag?: string | undefined;
}

function attributeList(attributes: DataPlatformAttributes) {
  return [
    { Name: TENANT_ATTRIBUTE, Value: attributes.tenant },
    ...(attributes.sessionTag ? [{ Name: SESSION_TAG_ATTRIBUTE, Value: attributes.sessionTag }] : []),
  ];
}

/** The session tag an ID token carries (the claim the identity pool maps to the principal tag), unverified: the broker minted it itself. */
export function sessionTagOf(idToken: string): string | undefined {
  const claim = decomposeUnverifiedJwt(idToken).payload[SESSION_TAG_ATTRIBUTE];
  return typeof claim === "string" ? claim : undefined;
}

/** Raised at start-up when POOL_B_CLIENT_SECRET does not fit Pool B's app client (every sign-in would fail). */
export class PoolBClientSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PoolBClientSecretError";
  }
}

function sameSecret(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A password that meets any Cognito password policy; it lives only for the two calls that use it. */
function randomPassword(): string {
  return `${randomBytes(24).toString("base64url")}Aa1!`;
}

/** The broker's administration of Pool B, where each end user has one data platform user. */
export class DataPlatformPool {
  constructor(
    private readonly client: CognitoIdentityProviderClient,
    private readonly settings: PoolBSettings,
  ) {}

  /**
   * Start-up self-check: the broker signs every Pool B sign-in with SECRET_HASH exactly when it has
   * POOL_B_CLIENT_SECRET, so the setting must match the app client (the CDK stack's has a secret,
   * deliberately not an output). Without this check the first user to provision finds out.
   */
  async checkClientSecret(): Promise<void> {
    const { clientId, userPoolId, clientSecret } = this.settings;
    const response = await awsCall("DescribeUserPoolClient", () => this.client.send(new DescribeUserPoolClientCommand({ UserPoolId: userPoolId, ClientId: clientId })));
    const actual = response.UserPoolClient?.ClientSecret;
    if (actual && !clientSecret) {
      throw new PoolBClientSecretError(
        `Pool B's app client ${clientId} has a secret, and POOL_B_CLIENT_SECRET is not set: every sign-in of a data platform user would fail. ` +
          `Read it into your secret store (aws cognito-idp describe-user-pool-client --user-pool-id ${userPoolId} --client-id ${clientId} --query UserPoolClient.ClientSecret --output text) and set POOL_B_CLIENT_SECRET.`,
      );
    }
    if (!actual && clientSecret) {
      throw new PoolBClientSecretError(`Pool B's app client ${clientId} has no secret, and POOL_B_CLIENT_SECRET is set: unset it.`);
    }
    if (actual && clientSecret && !sameSecret(actual, clientSecret)) {
      throw new PoolBClientSecretError(`POOL_B_CLIENT_SECRET is not the secret of Pool B's app client ${clientId} (was the client recreated?): read it again from Cognito.`);
    }
  }

  /** Creates the user without any invitation; returns false when it already exists. */
  async createUser(username: string, attributes: DataPlatformAttributes): Promise<boolean> {
    try {
      await awsCall("AdminCreateUser", () =>
        this.client.send(
          new AdminCreateUserCommand({
            UserPoolId: this.settings.userPoolId,
            Username: username,
            MessageAction: "SUPPRESS",
            UserAttributes: attributeList(attributes),
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof UpstreamError && error.reason === "USERNAME_EXISTS") return false;
      throw error;
    }
  }

  /**
   * Sets the attributes the broker owns (a crash or an earlier run may have left other values, and
   * reinstatement and moves change them); the next ID token carries them.
   */
  async setAttributes(username: string, attributes: DataPlatformAttributes): Promise<void> {
    await awsCall("AdminUpdateUserAttributes", () =>
      this.client.send(
        new AdminUpdateUserAttributesCommand({
          UserPoolId: this.settings.userPoolId,
          Username: username,
          UserAttributes: attributeList(attributes),
        }),
      ),
    );
  }

  /**
   * Mints a full token set as administrator: sets a new random permanent password and signs in
   * with it at once. The password is never stored; the next sign-in sets another.
   */
  async signInWithNewPassword(username: string): Promise<SignInTokens> {
    const password = randomPassword();
    await awsCall("AdminSetUserPassword", () =>
      this.client.send(
        new AdminSetUserPasswordCommand({ UserPoolId: this.settings.userPoolId, Username: username, Password: password, Permanent: true }),
      ),
    );
    const startedAt = Date.now();
    const result = await this.adminInitiateAuth("ADMIN_USER_PASSWORD_AUTH", username, { USERNAME: username, PASSWORD: password });
    if (!result.RefreshToken) throw new UpstreamError("AdminInitiateAuth", "REJECTED", "MissingRefreshToken", undefined);
    return {
      ...this.idTokenOf(result, startedAt),
      refreshToken: result.RefreshToken,
      refreshTokenExpiresAt: new Date(startedAt + this.settings.refreshTokenValiditySeconds * 1000),
    };
  }

  /** Revocation: no sign-in works until enabled again. */
  async disableUser(username: string): Promise<void> {
    await awsCall("AdminDisableUser", () => this.client.send(new AdminDisableUserCommand({ UserPoolId: this.settings.userPoolId, Username: username })));
  }

  async enableUser(username: string): Promise<void> {
    await awsCall("AdminEnableUser", () => this.client.send(new AdminEnableUserCommand({ UserPoolId: this.settings.userPoolId, Username: username })));
  }

  /** Invalidates every refresh token of the user, so nothing held anywhere can mint new ID tokens. */
  async globalSignOut(username: string): Promise<void> {
    await awsCall("AdminUserGlobalSignOut", () =>
      this.client.send(new AdminUserGlobalSignOutCommand({ UserPoolId: this.settings.userPoolId, Username: username })),
    );
  }

  /** REFRESH_TOKEN_AUTH: a new ID token; Cognito returns no new refresh token (rotation off). */
  async refresh(username: string, refreshToken: string): Promise<FreshIdToken> {
    const startedAt = Date.now();
    const result = await this.adminInitiateAuth("REFRESH_TOKEN_AUTH", username, { REFRESH_TOKEN: refreshToken });
    return this.idTokenOf(result, startedAt);
  }

  private async adminInitiateAuth(
    flow: "ADMIN_USER_PASSWORD_AUTH" | "REFRESH_TOKEN_AUTH",
    username: string,
    parameters: Record<string, string>,
  ): Promise<AuthenticationResultType> {
    const { clientId, clientSecret } = this.settings;
    const authParameters = clientSecret ? { ...parameters, SECRET_HASH: secretHash(username, clientId, clientSecret) } : parameters;
    const response = await awsCall("AdminInitiateAuth", () =>
      this.client.send(
        new AdminInitiateAuthCommand({ UserPoolId: this.settings.userPoolId, ClientId: clientId, AuthFlow: flow, AuthParameters: authParameters }),
      ),
    );
    if (!response.AuthenticationResult?.IdToken) {
      // A challenge (e.g. MFA) cannot be answered by the broker: the pool is misconfigured for it.
      throw new UpstreamError("AdminInitiateAuth", "REJECTED", response.ChallengeName ?? "NoAuthenticationResult", undefined);
    }
    return response.AuthenticationResult;
  }

  /** The ID token's own `exp` (ExpiresIn describes the access token, whose validity may differ). */
  private idTokenOf(result: AuthenticationResultType, startedAt: number): FreshIdToken {
    const idToken = result.IdToken!;
    const exp = decomposeUnverifiedJwt(idToken).payload.exp;
    const expiresAt = typeof exp === "number" ? exp * 1000 : startedAt + (result.ExpiresIn ?? 3600) * 1000;
    return { idToken, idTokenExpiresAt: new Date(expiresAt) };
  }
}
