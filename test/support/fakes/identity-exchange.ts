import { randomBytes } from "node:crypto";
import { decomposeUnverifiedJwt } from "aws-jwt-verify/jwt";
import { UpstreamError } from "../../../src/cognito/aws-errors.js";
import type { ClassicRequest, IdentityExchange, IssuedCredentials } from "../../../src/cognito/identity-exchange.js";
import { SESSION_TAG_ATTRIBUTE } from "../../../src/policy/policies.js";

/** What AWS handed out, with what it was asked: the tag the session carries, the role and session policy (classic). */
export interface FakeIssuance extends IssuedCredentials {
  flow: "ENHANCED" | "CLASSIC";
  identityId: string;
  /** The principal tag the session carries (the ID token's custom:sid): what a deny list matches. */
  tag: string | undefined;
  request?: ClassicRequest;
}

/**
 * The identity pool and STS in memory, behind the service layer's interface (IdentityExchange):
 * one identity per Pool B user, the enhanced flow's one hour, the classic flow's chosen duration,
 * and an expired ID token refused as AWS refuses it. Records every issuance, so a test can tell a
 * cached answer from a new one and see the tag and session policy each session carries.
 */
export class InMemoryIdentityExchange {
  readonly issued: FakeIssuance[] = [];
  identityLookUps = 0;
  failNext: { count: number; error: () => Error } | undefined;

  constructor(private readonly now: () => number) {}

  async getIdentityId(idToken: string): Promise<string> {
    this.identityLookUps += 1;
    const sub = this.claims(idToken, "GetId").sub;
    return `eu-west-1:${String(sub)}`;
  }

  async enhancedCredentials(identityId: string, idToken: string): Promise<IssuedCredentials> {
    return this.issue("ENHANCED", identityId, idToken, 3600);
  }

  async classicCredentials(request: ClassicRequest): Promise<IssuedCredentials> {
    return this.issue("CLASSIC", request.identityId, request.idToken, request.durationSeconds, request);
  }

  /** As the broker's services take it. */
  asExchange(): IdentityExchange {
    return this as unknown as IdentityExchange;
  }

  private issue(flow: FakeIssuance["flow"], identityId: string, idToken: string, seconds: number, request?: ClassicRequest): IssuedCredentials {
    const claims = this.claims(idToken, flow === "ENHANCED" ? "GetCredentialsForIdentity" : "AssumeRoleWithWebIdentity");
    const credentials: IssuedCredentials = {
      accessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: randomBytes(48).toString("base64"),
      // AWS gives whole seconds.
      expiration: new Date(Math.floor(this.now() / 1000) * 1000 + seconds * 1000),
    };
    const tag = claims[SESSION_TAG_ATTRIBUTE];
    this.issued.push({ ...credentials, flow, identityId, tag: typeof tag === "string" ? tag : undefined, ...(request ? { request } : {}) });
    return credentials;
  }

  private claims(idToken: string, operation: string): Record<string, unknown> {
    if (this.failNext) {
      const error = this.failNext.error();
      if (--this.failNext.count <= 0) this.failNext = undefined;
      throw error;
    }
    const payload = decomposeUnverifiedJwt(idToken).payload as Record<string, unknown>;
    if (typeof payload.exp !== "number" || payload.exp * 1000 <= this.now()) throw new UpstreamError(operation, "NOT_AUTHORIZED", "NotAuthorizedException", 400);
    return payload;
  }
}
