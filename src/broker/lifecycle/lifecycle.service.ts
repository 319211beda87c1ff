import { createHash } from "node:crypto";
import type { Principal } from "../../auth/principal.js";
import type { BrokerConfig } from "../../config/environment.js";
import { UpstreamError } from "../../cognito/aws-errors.js";
import type { DataPlatformPool } from "../../cognito/data-platform-pool.js";
import type { IdentityExchange } from "../../cognito/identity-exchange.js";
import { BadUserInputError, BrokerError, ForbiddenError, NotProvisionedError } from "../../errors.js";
import type { Connection, ConnectionPatch, Store } from "../../store/store.js";
import type { Acting } from "../access/acting.js";
import { whoIs, type ApplicationStanding } from "../access/standing.js";
import { isValidTenant } from "../../policy/tenant.js";
import type { Tenancy } from "../access/tenancy.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import type { CredentialIssuer } from "../credentials/issuer.js";
import type { TokenCustody } from "../credentials/token-custody.js";
import type { RequestMeta } from "../request-meta.js";
import { toBrokerError, upstream } from "../upstream-errors.js";
import type { UserLocks } from "../user-lock.js";
import { connectionStatusView, type ConnectionStatusView } from "../views.js";
import type { SessionTags } from "../credentials/session-tags.js";
import type { DenyEntry, DenyLists, DenyOutcome } from "./deny-lists.js";

/**
 * A deny-list entry outlives the last credential issued under its tag by this much, so that an
 * AWS clock slightly behind ours never sees a live credential after its entry was pruned.
 */
export const DENY_EXPIRY_MARGIN_MS = 60_000;

/** The bulk path: at most this many users per call, revoked this many at a time (Cognito's 25/s quota is paced by the upstream budgets). */
export const BULK_REVOCATION_MAX_USERS = 100;
const BULK_REVOCATION_CONCURRENCY = 5;

export interface RevocationOutcomeView {
  userId: string;
  status: ConnectionStatusView | null;
  errorCode: string | null;
  message: string | null;
}

export interface LifecycleDependencies {
  config: BrokerConfig;
  store: Store;
  pool: DataPlatformPool;
  exchange: IdentityExchange;
  acting: Acting;
  tenancy: Tenancy;
  standing: ApplicationStanding;
  audit: AuditTrail;
  issuer: CredentialIssuer;
  custody: TokenCustody;
  denyLists: DenyLists;
  tags: SessionTags;
  locks: UserLocks;
  now: () => number;
}

/**
 * A data platform user's life: provisioning (and an administrator's reinstatement), revocation,
 * and an administrator's move to another tenant. Revocation and moves end everything of before:
 * client keys, Pool B tokens, cached credentials, and (IAM deny) the sessions already issued.
 */
export class LifecycleService {
  constructor(private readonly deps: LifecycleDependencies) {}

  /**
   * Idempotent and crash-safe: every step either finds what an earlier (possibly interrupted)
   * run made or makes it, so running it again converges to one data platform user and one row.
   */
  async provision(principal: Principal, userId: string | null | undefined, meta: RequestMeta): Promise<ConnectionStatusView> {
    const { store, acting, tenancy, audit, locks, pool } = this.deps;
    const subject = await acting.subjectFor(principal, userId, meta);
    const parties = { actorUserId: principal.userId, subjectUserId: subject.userId };
    let tenant: string | undefined;
    return audit.audited("PROVISION", parties, meta, () => (tenant ? { tenant } : {}), () =>
      locks.run(subject.userId, async () => {
        tenant = await tenancy.ofSubject(subject, principal);
        const existing = await store.getConnection(subject.userId);
        // The tenant is pinned at the first provisioning; a different one is refused before any Cognito call.
        if (existing) await tenancy.requireBound(existing.tenant, tenant, parties, meta);
        if (existing?.state === "ACTIVE" && existing.identityId) return this.status(subject.userId, existing);
        const reinstating = existing?.state === "REVOKED";
        if (reinstating) {
          // Reinstating undoes a security decision: administrators only, re-checked in Pool A.
          if (!principal.isAdmin || !(await acting.isAdminNow(principal.userId, principal.username))) {
            throw new ForbiddenError("This user's data platform access was revoked; an administrator can reinstate it.", "REVOKED");
          }
          await upstream(() => pool.enableUser(existing.poolBUsername));
        }
        const connection = existing ?? (await store.createConnection({ userId: subject.userId, tenant, poolBUsername: this.poolBUsernameFor(subject.userId) }));
        // A reinstated user gets a new session tag: the denied one stays denied, and nothing issued from here on is.
        const created = await this.converge(connection, { newTag: reinstating });
        // Kept so that later standing checks (client keys) need AdminGetUser, not a ListUsers search,
        // and so that administrators find and name people without a Pool A search.
        const learnt = subject.self ? { username: principal.username, email: principal.email } : whoIs(await this.deps.standing.of(subject.userId));
        const changed: ConnectionPatch = {};
        if (learnt.username && learnt.username !== connection.poolAUsername) changed.poolAUsername = learnt.username;
        if (learnt.email !== connection.poolAEmail) changed.poolAEmail = learnt.email;
        if (Object.keys(changed).length > 0) await store.updateConnection(subject.userId, changed);
        meta.log.info({ event: "provisioned", subjectUserId: subject.userId, tenant, newPoolBUser: created }, "data platform user provisioned");
        return this.status(subject.userId, await store.getConnection(subject.userId));
      }),
    );
  }

  /**
   * Revocation: marks the connection REVOKED first (so nothing is issued from here on, whatever
   * fails next), forgets cached credentials, revokes every client key, disables and signs out the
   * Pool B user, and denies the user's session tag on its shard's deny list (only while a credential
   * issued under it can still be alive). Final until an administrator reinstates.
   *
   * Revoking a revoked user converges instead: nothing already in force is written again (no new
   * deny), but a step an earlier attempt left undone (Cognito, the deny-list write) is completed;
   * audited as a repeat.
   */
  async revoke(principal: Principal, userId: string | null | undefined, meta: RequestMeta): Promise<ConnectionStatusView> {
    return (await this.revokeOne(principal, userId, meta, { deferDeny: false })).status;
  }

  /** `deferDeny`: the deny is recorded, and the caller writes each shard's deny lists once (the bulk path). */
  private async revokeOne(
    principal: Principal,
    userId: string | null | undefined,
    meta: RequestMeta,
    options: { deferDeny: boolean },
  ): Promise<{ status: ConnectionStatusView; deferredShard: number | null }> {
    const { store, acting, audit, locks } = this.deps;
    const subject = await acting.subjectFor(principal, userId, meta);
    const parties = { actorUserId: principal.userId, subjectUserId: subject.userId };
    let tenant: string | undefined;
    let repeat = false;
    return audit.audited("REVOKE_DATA_PLATFORM_USER", parties, meta, () => ({ ...(tenant ? { tenant } : {}), ...(repeat ? { reason: "ALREADY_REVOKED" } : {}) }), () =>
      locks.run(subject.userId, async () => {
        const connection = await store.getConnection(subject.userId);
        if (!connection) throw new NotProvisionedError();
        tenant = connection.tenant;
        repeat = connection.state === "REVOKED";
        const keys = repeat ? 0 : await this.endEverything(connection, new Date(this.deps.now()), { state: "REVOKED" });
        await this.signOutPoolBUser(connection, { disable: true });
        const entry = this.denyEntry(connection);
        let deferredShard: number | null = null;
        let denied: DenyOutcome | "DEFERRED" | "NOTHING_ALIVE" = "NOTHING_ALIVE";
        if (entry && options.deferDeny) {
          deferredShard = await this.deps.denyLists.record(entry);
          denied = "DEFERRED";
        } else if (entry) denied = await this.deps.denyLists.deny(entry, meta);
        meta.log.info({ event: "data_platform_user_revoked", subjectUserId: subject.userId, clientKeysRevoked: keys, deny: denied, repeat }, "data platform user revoked");
        return { status: this.status(subject.userId, await store.getConnection(subject.userId)), deferredShard };
      }),
    );
  }

  /**
   * The bulk path for large off-boardings (administrators only): each user revoked as `revoke`
   * does, a few at a time so that the Cognito calls wait briefly in the upstream budget instead of
   * being refused, with the denies recorded and each shard's deny lists written once at the end.
   * One user's failure is that user's outcome; the others go on. If a shard's write fails, its users
   * are REVOKED (nothing more is handed out) and their outcome carries the error: run the same list
   * again to complete it.
   */
  async revokeMany(principal: Principal, userIds: readonly string[], meta: RequestMeta): Promise<RevocationOutcomeView[]> {
    await this.deps.acting.requireAdmin(principal, meta);
    const distinct = [...new Set(userIds)];
    if (distinct.length < 1 || distinct.length > BULK_REVOCATION_MAX_USERS) {
      throw new BadUserInputError(`userIds must name 1 to ${BULK_REVOCATION_MAX_USERS} users.`, "userIds");
    }
    const outcomes: Array<RevocationOutcomeView & { shard: number | null }> = [];
    const asOutcome = (error: unknown) => {
      const known = error instanceof BrokerError ? error : toBrokerError(error);
      if (!(known instanceof BrokerError)) throw error;
      return { errorCode: known.code, message: known.message };
    };
    for (let i = 0; i < distinct.length; i += BULK_REVOCATION_CONCURRENCY) {
      const batch = distinct.slice(i, i + BULK_REVOCATION_CONCURRENCY);
      outcomes.push(
        ...(await Promise.all(
          batch.map(async (userId) => {
            try {
              const { status, deferredShard } = await this.revokeOne(principal, userId, meta, { deferDeny: true });
              return { userId, status, errorCode: null, message: null, shard: deferredShard };
            } catch (error) {
              return { userId, status: null, ...asOutcome(error), shard: null };
            }
          }),
        )),
      );
    }
    for (const shard of new Set(outcomes.flatMap((o) => (o.shard === null ? [] : [o.shard])))) {
      try {
        await this.deps.denyLists.flush(shard, undefined, meta);
      } catch (error) {
        const failed = asOutcome(error);
        for (const o of outcomes) if (o.shard === shard) Object.assign(o, { errorCode: failed.errorCode, message: `Revoked, but the deny on sessions already issued was not written: ${failed.message} Run the same list again.` });
      }
    }
    return outcomes.map(({ shard: _, ...outcome }) => outcome);
  }

  /**
   * An administrator moves a user to another tenant, after the application has changed the user's
   * tenant attribute in Pool A (the broker checks it, so that the user's next tokens match). Ends
   * everything of the old tenant like a revocation (its session tag denied), then provisions under
   * the new one with a new tag; a revoked user stays revoked (and gets a new tag at reinstatement).
   */
  async move(principal: Principal, userId: string, target: string, meta: RequestMeta): Promise<ConnectionStatusView> {
    const { store, acting, tenancy, standing, audit, locks, pool } = this.deps;
    const parties = { actorUserId: principal.userId, subjectUserId: userId };
    await acting.requireAdmin(principal, meta, parties);
    if (!isValidTenant(target)) throw new BadUserInputError("tenant must be letters, digits, '-' and '_' (at most 64), starting with a letter or digit.", "tenant");
    let from: string | undefined;
    return audit.audited("MOVE_TENANT", parties, meta, () => ({ tenant: target, ...(from ? { previousTenant: from } : {}) }), () =>
      locks.run(userId, async () => {
        standing.forget(userId);
        if ((await tenancy.ofUser(userId)) !== target) {
          throw new BadUserInputError(`Set the user's ${this.deps.config.poolA.tenantClaim} to "${target}" in the application's user pool first.`, "tenant");
        }
        const connection = await store.getConnection(userId);
        if (!connection) throw new NotProvisionedError();
        from = connection.tenant;
        if (connection.tenant === target) return this.status(userId, connection);
        const revoked = connection.state === "REVOKED";
        const keys = await this.endEverything(connection, new Date(this.deps.now()), { tenant: target, state: revoked ? "REVOKED" : "PROVISIONING" });
        await this.signOutPoolBUser(connection, { disable: false });
        await this.denySessions(connection, meta);
        const moved = (await store.getConnection(userId))!;
        if (revoked) await upstream(() => pool.setAttributes(connection.poolBUsername, { tenant: target }));
        else await this.converge(moved, { newTag: true });
        meta.log.info({ event: "tenant_moved", subjectUserId: userId, from, to: target, clientKeysRevoked: keys }, "user moved to another tenant");
        return this.status(userId, await store.getConnection(userId));
      }),
    );
  }

  /**
   * Cuts off every session issued under the user's current session tag (a leaked client key's
   * credentials among them; keys of one user with the same scope share credentials) without
   * revoking the user: the tag is denied and replaced, cached credentials are forgotten, and the
   * user and their remaining keys get new credentials under the new tag at their next fetch.
   * Runs under the user lock.
   */
  async cutOffSessions(userId: string, meta: RequestMeta): Promise<DenyOutcome | "NOTHING_ALIVE"> {
    const { store, locks, tags, issuer } = this.deps;
    return locks.run(userId, async () => {
      const connection = await store.getConnection(userId);
      if (!connection) return "NOTHING_ALIVE";
      const denied = await this.denySessions(connection, meta);
      await issuer.forget(userId);
      if (connection.state !== "REVOKED" && tags.usable(connection)) await tags.rotate(connection);
      meta.log.info({ event: "sessions_cut_off", subjectUserId: userId, deny: denied }, "sessions issued under the user's session tag cut off");
      return denied;
    });
  }

  /** Denies the connection's current tag for as long as a credential issued under it can be alive; nothing when none can be. */
  private async denySessions(connection: Connection, meta: RequestMeta): Promise<DenyOutcome | "NOTHING_ALIVE"> {
    const entry = this.denyEntry(connection);
    return entry ? this.deps.denyLists.deny(entry, meta) : "NOTHING_ALIVE";
  }

  /** The deny a connection's current tag needs: until its last credential has expired (plus a margin); null when none can be alive. */
  private denyEntry(connection: Connection): DenyEntry | null {
    const { sessionTag, tagLiveUntil } = connection;
    if (!sessionTag || !tagLiveUntil || tagLiveUntil.getTime() + DENY_EXPIRY_MARGIN_MS <= this.deps.now()) return null;
    return { tag: sessionTag, tenant: connection.tenant, userId: connection.userId, until: new Date(tagLiveUntil.getTime() + DENY_EXPIRY_MARGIN_MS) };
  }

  /** What revocation and moves share: a new epoch, no Pool B tokens, nothing cached, no client key. */
  private async endEverything(connection: Connection, at: Date, patch: ConnectionPatch): Promise<number> {
    const { store, issuer } = this.deps;
    await store.updateConnection(connection.userId, { ...patch, tokens: null, epoch: connection.epoch + 1 });
    await issuer.forget(connection.userId);
    return store.revokeClientKeysOf(connection.userId, at);
  }

  /** No refresh token of the user works any more; `disable` also stops new sign-ins. Already gone from Pool B is as ended as it gets. */
  private async signOutPoolBUser(connection: Connection, options: { disable: boolean }): Promise<void> {
    const { pool } = this.deps;
    try {
      if (options.disable) await pool.disableUser(connection.poolBUsername);
      await pool.globalSignOut(connection.poolBUsername);
    } catch (error) {
      if (!(error instanceof UpstreamError && error.reason === "USER_NOT_FOUND")) throw toBrokerError(error);
    }
  }

  /**
   * Makes the Pool B user exist with the connection's tenant and session tag (a new one when asked,
   * or when it has none), signs in, resolves the identity once: ACTIVE. Returns whether the user was created.
   */
  private async converge(connection: Connection, options: { newTag: boolean }): Promise<boolean> {
    const { pool, exchange, custody, store, tags } = this.deps;
    const sessionTag = options.newTag || !tags.usable(connection) ? await tags.rotate(connection, { setInPool: false }) : connection.sessionTag!;
    const attributes = { tenant: connection.tenant, sessionTag };
    const created = await upstream(() => pool.createUser(connection.poolBUsername, attributes));
    if (!created) await upstream(() => pool.setAttributes(connection.poolBUsername, attributes));
    const tokens = await custody.signIn(connection);
    const identityId = connection.identityId ?? (await upstream(() => exchange.getIdentityId(tokens.idToken)));
    await store.updateConnection(connection.userId, { identityId, tokens, state: "ACTIVE" });
    return created;
  }

  /** Deterministic, so a retried or concurrent provisioning finds the same Pool B user. */
  private poolBUsernameFor(userId: string): string {
    const digest = createHash("sha256").update(`${this.deps.config.poolA.userPoolId}|${userId}`).digest("hex");
    return `dp-${digest.slice(0, 40)}`;
  }

  private status(userId: string, connection: Connection | null): ConnectionStatusView {
    return connectionStatusView(this.deps.config.s3, userId, connection, null);
  }
}
