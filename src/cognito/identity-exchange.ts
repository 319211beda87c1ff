import {
  GetCredentialsForIdentityCommand,
  GetIdCommand,
  GetOpenIdTokenCommand,
  type CognitoIdentityClient,
} from "@aws-sdk/client-cognito-identity";
import { AssumeRoleWithWebIdentityCommand, type STSClient } from "@aws-sdk/client-sts";
import { awsCall, UpstreamError } from "./aws-errors.js";

/** Temporary credentials as AWS handed them out. */
export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  /** When the broker asked for them (its clock): a last-resort tenant cut-off kills those issued before it. */
  issuedAt?: Date;
  /** The session tag they were issued under: handed out only while it is the user's current one. */
  sessionTag?: string;
}

export interface IdentitySettings {
  region: string;
  identityPoolId: string;
  poolBUserPoolId: string;
}

export interface ClassicRequest {
  identityId: string;
  idToken: string;
  roleArn: string;
  durationSeconds: number;
  sessionName: string;
  sessionPolicy: string;
}

/** Turns a Pool B ID token into AWS credentials through the identity pool (and STS for the classic flow). */
export class IdentityExchange {
  constructor(
    private readonly identity: CognitoIdentityClient,
    private readonly sts: STSClient,
    private readonly settings: IdentitySettings,
  ) {}

  /** The Logins map takes the user pool ID token (not the access token), keyed by the provider name. */
  private logins(idToken: string): Record<string, string> {
    return { [`cognito-idp.${this.settings.region}.amazonaws.com/${this.settings.poolBUserPoolId}`]: idToken };
  }

  /** GetId is throttled hard (about 25/s per account): call it once per user and store the result. */
  async getIdentityId(idToken: string): Promise<string> {
    const response = await awsCall("GetId", () =>
      this.identity.send(new GetIdCommand({ IdentityPoolId: this.settings.identityPoolId, Logins: this.logins(idToken) })),
    );
    if (!response.IdentityId) throw new UpstreamError("GetId", "REJECTED", "MissingIdentityId", undefined);
    return response.IdentityId;
  }

  /** Enhanced flow: one call, the role the identity pool chooses, one hour. */
  async enhancedCredentials(identityId: string, idToken: string): Promise<IssuedCredentials> {
    const response = await awsCall("GetCredentialsForIdentity", () =>
      this.identity.send(new GetCredentialsForIdentityCommand({ IdentityId: identityId, Logins: this.logins(idToken) })),
    );
    const c = response.Credentials;
    if (!c?.AccessKeyId || !c.SecretKey || !c.SessionToken || !c.Expiration) {
      throw new UpstreamError("GetCredentialsForIdentity", "REJECTED", "IncompleteCredentials", undefined);
    }
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  }

  /** Classic flow: an OpenID token from the identity pool, then STS with a chosen duration and a session policy. */
  async classicCredentials(request: ClassicRequest): Promise<IssuedCredentials> {
    const openId = await awsCall("GetOpenIdToken", () =>
      this.identity.send(new GetOpenIdTokenCommand({ IdentityId: request.identityId, Logins: this.logins(request.idToken) })),
    );
    if (!openId.Token) throw new UpstreamError("GetOpenIdToken", "REJECTED", "MissingToken", undefined);
    const response = await awsCall("AssumeRoleWithWebIdentity", () =>
      this.sts.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: request.roleArn,
          RoleSessionName: request.sessionName,
          WebIdentityToken: openId.Token,
          DurationSeconds: request.durationSeconds,
          Policy: request.sessionPolicy,
        }),
      ),
    );
    const c = response.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new UpstreamError("AssumeRoleWithWebIdentity", "REJECTED", "IncompleteCredentials", undefined);
    }
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
  }
}
