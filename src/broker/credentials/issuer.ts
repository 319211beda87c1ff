import type { BrokerConfig } from "../../config/environment.js";
import type { IdentityExchange, IssuedCredentials } from "../../cognito/identity-exchange.js";
import { asParty } from "../../cognito/upstream-budgets.js";
import { ForbiddenError, NotProvisionedError, UpstreamUnavailableError } from "../../errors.js";
import { scopeSessionPolicy, shardOfTag } from "../../policy/policies.js";
import { requireSessionPolicyFits } from "../grants/location.js";
import { type CredentialRequest, roleFor } from "./credential-request.js";
import type { DenyLists } from "../lifecycle/deny-lists.js";
import type { AccessGrant, AccessPermission, Connection, CredentialFlow, Store } from "../../store/store.js";
import type { GrantsService } from "../grants/grants.service.js";
import { prefixForTenant } from "../../policy/tenant.js";
import { type ClientConfiguration, clientConfiguration } from "../client-config.js";
import type { RequestMeta } from "../request-meta.js";
import { upstream } from "../upstream-errors.js";
import type { UserLocks } from "../user-lock.js";
import type { TemporaryCredentialsView } from "../views.js";
import { CredentialCache, reusable } from "./credential-cache.js";
import { issuedFor } from "./issued-for.js";
import type { SessionTags } from "./session-tags.js";
import type { TokenCustody } from "./token-custody.js";

/** A connection that may obtain credentials: provisioned and not revoked. */
export function requireUsable(connection: Connection | null): Connection {
  if (!connection || connection.state === "PROVISIONING" || !connection.identityId) throw new NotProvisionedError();
  if (connection.state === "REVOKED") throw new ForbiddenError("This user's data platform access was revoked.", "REVOKED");
  return connection;
}

/** A request decided by credentialRequest (credential-request.ts), or a client key's, decided when it was made. */
export type IssueRequest = CredentialRequest;


/** Whether credentials a last-resort tenant cut-off has killed (issued before it): never handed out. */
function killedBy(cutoff: Date | null, credentials: IssuedCredentials): boolean {
  return cutoff !== null && (credentials.issuedAt === undefined || credentials.issuedAt.getTime() < cutoff.getTime());
}

export interface IssueOptions {
  /** The caller's own tenant, when they act for themselves: refused unless it is the pinned one. */
  checkTenant?: (pinned: string) => Promise<void>;
  /**
   * Runs on every request before any credentials leave, from the cache or new (the standing of
   * whoever a client key depends on: the cache is per user and scope, not per key).
   */
  admit?: (connection: Connection) => Promise<void>;
  /** Runs when AWS was really called (audit of each real issuance). */
  onIssued?: () => Promise<void>;
}

/**
 * Issuance: credentials for a provisioned user, reused while they have comfortably more than the
 * SDKs' refresh window left and were issued for exactly this request (issued-for.ts), otherwise
 * issued once however many requests wait. Shared by the GraphQL API and client keys.
 */
export class CredentialIssuer {
  private readonly cache: CredentialCache;

  constructor(
    private readonly deps: {
      config: BrokerConfig;
      store: Store;
      exchange: IdentityExchange;
      custody: TokenCustody;
      grants: Pick<GrantsService, "match">;
      tags: SessionTags;
      denyLists: Pick<DenyLists, "shard" | "tenantCutoff">;
      locks: UserLocks;
      now: () => number;
    },
  ) {
    this.cache = new CredentialCache(deps.now);
  }

  /** Every state or tenant change forgets what was issued, in memory and in the shared store. */
  async forget(userId: string): Promise<void> {
    this.cache.forgetUser(userId);
    await this.deps.store.forgetCachedCredentials(userId);
  }

  async credentialsFor(userId: string, request: IssueRequest, meta: RequestMeta, options: IssueOptions = {}): Promise<TemporaryCredentialsView> {
    const { store, locks } = this.deps;
    const { flow, durationSeconds, target, permission } = request;
    const connection = requireUsable(await store.getConnection(userId));
    await options.checkTenant?.(connection.tenant);
    await options.admit?.(connection);
    // Least privilege: the scope must lie within one of the tenant's grants (FORBIDDEN otherwise).
    const grant = await this.deps.grants.match(connection.tenant, target, permission);
    const prefix = prefixForTenant(this.deps.config.s3.prefixTemplate, connection.tenant);
    if (flow === "CLASSIC") requireSessionPolicyFits(this.deps.config.s3.bucket, prefix + target, permission, "scope.target");
    const wanted = issuedFor(connection, prefix, flow, durationSeconds, target, permission);
    const tenantCutoff = await this.deps.denyLists.tenantCutoff(connection.tenant);
    // The AWS calls below are this tenant's turns in the upstream budgets (fair between tenants).
    const issue = () =>
      asParty(`tenant:${connection.tenant}`, () => locks.run(userId, async () => {
        // Read again under the lock: a revocation or move that ran first is final for this request.
        let current = requireUsable(await store.getConnection(userId));
        if (issuedFor(current, prefix, flow, durationSeconds, target, permission) !== wanted) throw accessChanged();
        // Another replica may have issued while this one waited for the lock: reuse what it stored.
        const shared = current.state === "ACTIVE" ? await store.getCachedCredentials(userId, flow, durationSeconds) : null;
        if (shared && shared.issuedFor === wanted && reusable(shared, this.deps.now(), durationSeconds) && !killedBy(tenantCutoff, shared)) return shared;
        // Connections made before session tags (or of a shard no longer configured) get one now.
        if (!this.deps.tags.usable(current)) {
          await this.deps.tags.rotate(current);
          current = requireUsable(await store.getConnection(userId));
        }
        const shard = this.deps.denyLists.shard(shardOfTag(current.sessionTag!))!;
        const roleArn = roleFor(shard, { permission });
        const issued = await this.issueUpstream(current, { flow, durationSeconds, roleArn, permission }, prefix + target, meta);
        if (killedBy(tenantCutoff, issued)) {
          // Issued in the same second as a last-resort tenant cut-off: dead at birth, so not handed out.
          throw new UpstreamUnavailableError("The tenant's sessions were just cut off; try again in a second.", 1);
        }
        await options.onIssued?.();
        if (current.state === "ACTIVE") await store.putCachedCredentials(userId, flow, durationSeconds, { ...issued, issuedFor: wanted });
        return issued;
      }));
    // A DISABLED connection must ask Cognito again every time, so it never takes from a cache.
    const cacheKey = CredentialCache.keyFor(userId, wanted);
    const credentials =
      connection.state === "ACTIVE"
        ? (await this.cache.getOrIssue(cacheKey, durationSeconds, issue, (hit) => !killedBy(tenantCutoff, hit))).credentials
        : await issue();
    // Nothing is handed out once a revocation or a move has been recorded, even from the cache; nor
    // anything issued under a tag other than the user's current one (the tag a revocation denies).
    const after = await store.getConnection(userId);
    if (after?.state === "REVOKED") throw new ForbiddenError("This user's data platform access was revoked.", "REVOKED");
    if (!after || after.epoch !== connection.epoch || after.tenant !== connection.tenant) throw accessChanged();
    if (credentials.sessionTag !== undefined && credentials.sessionTag !== after.sessionTag) throw accessChanged();
    return this.view(credentials, flow, durationSeconds, connection.identityId!, prefix, { target, permission, grant });
  }

  /** `reach`: the full prefix or key the session may read (the tenant's prefix plus the scope's target). */
  private async issueUpstream(
    connection: Connection,
    how: { flow: CredentialFlow; durationSeconds: number; roleArn: string; permission: AccessPermission },
    reach: string,
    meta: RequestMeta,
  ): Promise<IssuedCredentials> {
    const { flow, durationSeconds } = how;
    const { config, exchange, store, custody } = this.deps;
    const identityId = connection.identityId!;
    const idToken = await custody.freshIdToken(connection);
    const issuedAt = new Date(this.deps.now());
    const issued = await upstream(() =>
      flow === "ENHANCED"
        ? exchange.enhancedCredentials(identityId, idToken)
        : exchange.classicCredentials({
            identityId,
            idToken,
            roleArn: how.roleArn,
            durationSeconds,
            // Per user, so CloudTrail names who acted (the enhanced flow's name is fixed by Cognito).
            sessionName: connection.poolBUsername,
            sessionPolicy: JSON.stringify(scopeSessionPolicy(config.s3.bucket, reach, how.permission)),
          }),
    );
    const credentials: IssuedCredentials = { ...issued, issuedAt, sessionTag: connection.sessionTag! };
    // How long a deny of this tag must last: until the last credential issued under it has expired.
    if (!connection.tagLiveUntil || connection.tagLiveUntil < credentials.expiration) {
      await store.updateConnection(connection.userId, { tagLiveUntil: credentials.expiration });
    }
    await store.recordIssuance({
      userId: connection.userId,
      flow,
      durationSeconds,
      issuedAt: new Date(this.deps.now()),
      expiresAt: credentials.expiration,
      requestId: meta.requestId,
    });
    return credentials;
  }

  private view(
    credentials: IssuedCredentials,
    flow: CredentialFlow,
    durationSeconds: number,
    identityId: string,
    prefix: string,
    scope: { target: string; permission: AccessPermission; grant: AccessGrant },
  ): TemporaryCredentialsView {
    const { target } = scope;
    const { config } = this.deps;
    let snippets: ClientConfiguration | undefined;
    return {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
      expiration: credentials.expiration,
      durationSeconds,
      flow,
      region: config.aws.region,
      bucket: config.s3.bucket,
      prefix,
      s3Uri: `s3://${config.s3.bucket}/${prefix}${target}`,
      identityId,
      scope: { ...scope, reach: `${prefix}${target}` },
      // Built only when a client asks for it: most callers select the keys alone.
      get clientConfiguration() {
        return (snippets ??= clientConfiguration(credentials, config.aws.region));
      },
    };
  }
}

function accessChanged(): ForbiddenError {
  return new ForbiddenError("This user's data platform access changed while the request waited; try again.", "ACCESS_CHANGED");
}
