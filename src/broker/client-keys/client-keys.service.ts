import { recordKeyRefusal } from "../../auth/client-keys.js";
import { credentialRequest } from "../credentials/credential-request.js";
import { partnerClientIdOf } from "../../auth/partners.js";
import type { ClientKeyPrincipal, Principal } from "../../auth/principal.js";
import type { BrokerConfig } from "../../config/environment.js";
import { displayText } from "../display-text.js";
import { BadUserInputError, ForbiddenError, type ForbiddenReason, UpstreamRejectedError } from "../../errors.js";
import type { AccessPermission, ClientKey, Connection, CredentialFlow, Store } from "../../store/store.js";
import type { Acting } from "../access/acting.js";
import { whoIs, type ApplicationStanding } from "../access/standing.js";
import type { Tenancy } from "../access/tenancy.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import { type CredentialIssuer, requireUsable } from "../credentials/issuer.js";
import type { GrantsService } from "../grants/grants.service.js";
import type { RateLimits } from "../rate-limits.js";
import type { RequestMeta } from "../request-meta.js";
import type { TemporaryCredentialsView } from "../views.js";
import { newClientKeySecret } from "./client-key-secret.js";

export const DEFAULT_KEY_LIFETIME_DAYS = 90;
export const MAX_KEY_LIFETIME_DAYS = 397;
const DAY_MS = 86_400_000;

export interface CreateClientKeyRequest {
  name: string;
  flow: CredentialFlow;
  durationSeconds?: number | null;
  expiresAt?: Date | null;
  /** Relative to the tenant's root, with a permission; CLASSIC only. */
  scope?: { target: string; permission: AccessPermission } | null;
}

export interface CreatedClientKey {
  key: ClientKey;
  /** Shown once, in the answer to createClientKey; only its hash is stored. */
  secret: string;
}

/** What the credential endpoint knows of the key that authenticated a request. */
export interface ClientKeyCredentials {
  key: ClientKey;
  credentials: TemporaryCredentialsView;
}

export interface ClientKeyDependencies {
  config: BrokerConfig;
  store: Store;
  acting: Acting;
  tenancy: Tenancy;
  standing: ApplicationStanding;
  audit: AuditTrail;
  issuer: CredentialIssuer;
  grants: Pick<GrantsService, "match">;
  rateLimits: RateLimits;
  /** Cutting off the sessions a key obtained (lifecycle/), at revocation when asked. */
  sessions: { cutOffSessions(userId: string, meta: RequestMeta): Promise<unknown> };
  now: () => number;
}

/**
 * Client keys: revocable credentials with which unattended clients fetch AWS credentials. A key
 * works only while its owner is present and enabled in Pool A with the tenant the connection is
 * pinned to, and, for a key an administrator made for someone else, while that administrator
 * still holds the role: re-checked in Pool A whenever AWS is really called (at most a minute old).
 */
export class ClientKeyService {
  constructor(private readonly deps: ClientKeyDependencies) {}

  async create(principal: Principal, userId: string | null | undefined, request: CreateClientKeyRequest, meta: RequestMeta): Promise<CreatedClientKey> {
    const { acting, audit, store, config, tenancy, grants } = this.deps;
    const subject = await acting.subjectFor(principal, userId, meta);
    const name = displayText(request.name, "name", 64);
    const decided = credentialRequest(request, { roleMaxSeconds: config.classicRole.maxSessionSeconds, shards: config.shards }, "input.");
    const { durationSeconds, target: scopeTarget, permission: scopePermission } = decided;
    const now = this.deps.now();
    const expiresAt = request.expiresAt ?? new Date(now + DEFAULT_KEY_LIFETIME_DAYS * DAY_MS);
    if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= now || expiresAt.getTime() > now + MAX_KEY_LIFETIME_DAYS * DAY_MS) {
      throw new BadUserInputError(`expiresAt must be in the future and at most ${MAX_KEY_LIFETIME_DAYS} days away.`, "expiresAt");
    }
    const { id, secret, hash } = newClientKeySecret();
    const parties = { actorUserId: principal.userId, subjectUserId: subject.userId };
    return audit.audited("CLIENT_KEY_CREATE", parties, meta, { flow: request.flow, durationSeconds, clientKeyId: id, target: scopeTarget }, async () => {
      // The same answers as issuance: NOT_PROVISIONED, FORBIDDEN when revoked or another tenant; a disabled user gets no new key.
      const connection = requireUsable(await store.getConnection(subject.userId));
      await tenancy.requireSubjectBound(subject, principal, connection.tenant, parties, meta);
      if (connection.state === "DISABLED") throw new UpstreamRejectedError("The data platform user is disabled.");
      // A cap per user: a key is a standing way to reach AWS, and each adds to the shared quotas.
      const live = (await store.listClientKeys(subject.userId)).filter((k) => !k.revokedAt && k.expiresAt.getTime() > now).length;
      if (live >= config.clientKeysPerUser) {
        throw new BadUserInputError(`A user may have at most ${config.clientKeysPerUser} live client keys; revoke one first.`, "input");
      }
      // A key's scope must lie within a grant now; every issuance through it is checked again.
      await grants.match(connection.tenant, scopeTarget, scopePermission);
      const key = {
        id,
        userId: subject.userId,
        name,
        flow: request.flow,
        durationSeconds,
        secretHash: hash,
        scopeTarget,
        scopePermission,
        createdBy: subject.self ? null : principal.userId,
        createdAt: new Date(now),
        expiresAt,
      };
      await store.createClientKey(key);
      return { key: { ...key, revokedAt: null, firstUsedAt: null, lastUsedAt: null }, secret };
    });
  }

  async list(principal: Principal, userId: string | null | undefined, meta: RequestMeta): Promise<ClientKey[]> {
    const subject = await this.deps.acting.subjectFor(principal, userId, meta, { read: true });
    return this.deps.store.listClientKeys(subject.userId);
  }

  /**
   * Revokes a key at once. `cutOffSessions` also cuts off, in AWS, the sessions already issued under
   * the user's current session tag: those the key obtained, and (since keys of one user with the
   * same scope share credentials) the user's and their other keys' current ones, which are then
   * fetched anew under a new tag.
   */
  async revoke(principal: Principal, id: string, meta: RequestMeta, options: { cutOffSessions?: boolean } = {}): Promise<ClientKey> {
    const { acting, audit, store } = this.deps;
    // Another user's key and a key that does not exist get the same answer (the refusal is audited):
    // nobody learns which ids exist.
    const notFound = () => new BadUserInputError("No client key of yours with that id.", "id");
    const key = await store.getClientKey(id);
    if (!key) throw notFound();
    const subject = await acting.subjectFor(principal, key.userId, meta).catch((error: unknown) => {
      throw error instanceof ForbiddenError && (error.reason === "NOT_ADMIN" || error.reason === "PARTNER_TENANT") ? notFound() : error;
    });
    const details = { clientKeyId: id, ...(options.cutOffSessions ? { reason: "SESSIONS_CUT_OFF" } : {}) };
    return audit.audited("CLIENT_KEY_REVOKE", { actorUserId: principal.userId, subjectUserId: subject.userId }, meta, details, async () => {
      const revoked = (await store.revokeClientKey(id, new Date(this.deps.now())))!;
      if (options.cutOffSessions) await this.deps.sessions.cutOffSessions(key.userId, meta);
      return revoked;
    });
  }

  /**
   * The credential endpoint's work for a key src/auth/ has authenticated (a wrong secret never gets
   * here, and costs the guesser there): the key's rate limit, then credentials through the shared
   * issuance path, while the people behind the key still stand.
   */
  async credentialsFor(caller: ClientKeyPrincipal, meta: RequestMeta): Promise<ClientKeyCredentials> {
    const { key } = caller;
    await this.deps.rateLimits.consume("credential-endpoint", key.id);
    const { audit, store, issuer } = this.deps;
    const parties = { actorUserId: key.userId, subjectUserId: key.userId };
    if (await store.recordClientKeyUse(key.id, new Date(this.deps.now()))) {
      await audit.record("CLIENT_KEY_FIRST_USE", parties, meta, "SUCCESS", { clientKeyId: key.id });
    }
    const details = { flow: key.flow, durationSeconds: key.durationSeconds, clientKeyId: key.id, target: key.scopeTarget };
    // The key's scope, which the tenant's grants must still allow at each issuance.
    const credentials = await issuer.credentialsFor(key.userId, { flow: key.flow, durationSeconds: key.durationSeconds, target: key.scopeTarget, permission: key.scopePermission }, meta, {
      admit: (connection) => this.requireStanding(key, connection, meta),
      // Each real issuance is audited; requests served from the cache are not.
      onIssued: () => audit.record("ISSUE", parties, meta, "SUCCESS", details),
    });
    return { key, credentials };
  }

  /** Leavers: the owner (and the administrator who made the key for them) must still be who they were. */
  private async requireStanding(key: ClientKey, connection: Connection, meta: RequestMeta): Promise<void> {
    const { standing, acting, tenancy, store } = this.deps;
    // With the owner's username the look-up is one AdminGetUser (Pool A's 120/s UserRead), not a ListUsers search (30/s UserList, which others' unknown-user look-ups share).
    const owner = await standing.of(key.userId, connection.poolAUsername);
    if (owner.username && connection.poolAUsername === null) await store.updateConnection(key.userId, { poolAUsername: owner.username, poolAEmail: whoIs(owner).email });
    let refusal: [ForbiddenReason, string] | null = null;
    if (!owner.present) refusal = ["OWNER_GONE", "The key's owner no longer exists in the application's user pool."];
    else if (!owner.enabled) refusal = ["OWNER_DISABLED", "The key's owner is disabled in the application's user pool."];
    // The same look-up (cached); a tenant Pool A no longer gives, or gives differently, is a mismatch.
    else if ((await tenancy.ofUserIfAny(key.userId)) !== connection.tenant) {
      refusal = ["TENANT_MISMATCH", "The key's owner now belongs to another tenant; an administrator must move the user (moveDataPlatformUser)."];
    } else if (key.createdBy && key.createdBy !== key.userId && !(await acting.creatorStillEntitled(key.createdBy, connection.tenant))) {
      refusal = partnerClientIdOf(key.createdBy)
        ? ["PARTNER_NOT_ALLOWED", "The partner that created this key may no longer act in its tenant."]
        : ["CREATOR_NOT_ADMIN", "The administrator who created this key no longer holds the role."];
    }
    if (!refusal) return;
    await recordKeyRefusal(this.deps.audit, key, refusal[0], meta, connection.tenant);
    throw new ForbiddenError(refusal[1], refusal[0]);
  }


}
