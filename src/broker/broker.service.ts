import { type IssueArgs, IssuanceService } from "./credentials/issuance.service.js";
import type { Principal } from "../auth/principal.js";
import type { BrokerConfig } from "../config/environment.js";
import { BadUserInputError } from "../errors.js";
import type { AccessGrant, AccessPermission, Connection, Issuance, Store } from "../store/store.js";
import type { Acting } from "./access/acting.js";
import type { Tenancy } from "./access/tenancy.js";
import type { AuditTrail } from "./audit/audit-trail.js";
import { type CredentialIssuer, requireUsable } from "./credentials/issuer.js";
import type { TokenCustody } from "./credentials/token-custody.js";
import type { LifecycleService, RevocationOutcomeView } from "./lifecycle/lifecycle.service.js";
import type { AccessView, GrantsService } from "./grants/grants.service.js";
import type { RequestMeta } from "./request-meta.js";
import type { UserLocks } from "./user-lock.js";
import {
  type AuditEventPageView,
  type ConnectionPageView,
  connectionStatusView,
  type ConnectionStatusView,
  type CredentialExpiryView,
  type TemporaryCredentialsView,
} from "./views.js";

const MAX_PAGE_SIZE = 100;


function pageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`first must be a whole number from 1 to ${MAX_PAGE_SIZE}.`, "first");
  }
  return first;
}

export interface BrokerDependencies {
  config: BrokerConfig;
  store: Store;
  acting: Acting;
  tenancy: Tenancy;
  audit: AuditTrail;
  issuer: CredentialIssuer;
  custody: TokenCustody;
  lifecycle: LifecycleService;
  grants: GrantsService;
  issuance: IssuanceService;
  locks: UserLocks;
  now: () => number;
}

/**
 * What the GraphQL resolvers call: who may act (access/), then the concern that does the work:
 * status and audit reads here, issuance (credentials/), provisioning, revocation and moves
 * (lifecycle/). No AWS call is made here.
 */
/**
 * Reads a request may repeat for many users (one per listed connection): the GraphQL layer batches
 * them per request (DataLoader, src/graphql/request-loaders.ts); the domain only asks.
 */
export interface BatchedReads {
  connection(userId: string): Promise<Connection | null>;
  lastIssuance(userId: string): Promise<Issuance | null>;
}

export class BrokerService {
  constructor(private readonly deps: BrokerDependencies) {}

  // ---- queries --------------------------------------------------------------------------------

  async connectionStatus(principal: Principal, userId: string | null | undefined, reads: BatchedReads, meta: RequestMeta): Promise<ConnectionStatusView> {
    const subject = await this.deps.acting.subjectFor(principal, userId, meta, { read: true });
    const hint = subject.self ? this.deps.tenancy.hintOf(principal) : null;
    return connectionStatusView(this.deps.config.s3, subject.userId, await reads.connection(subject.userId), hint);
  }

  async credentialExpiry(principal: Principal, userId: string | null | undefined, reads: BatchedReads, meta: RequestMeta): Promise<CredentialExpiryView | null> {
    const subject = await this.deps.acting.subjectFor(principal, userId, meta, { read: true });
    const last = await reads.lastIssuance(subject.userId);
    if (!last) return null;
    const secondsRemaining = Math.max(0, Math.floor((last.expiresAt.getTime() - this.deps.now()) / 1000));
    return { expiresAt: last.expiresAt, secondsRemaining, expired: secondsRemaining === 0, flow: last.flow };
  }

  /** Administrators: every connection, a page at a time (cursor: the last user id seen). Audited as a read by the administrator. */
  async connections(principal: Principal, args: { first: number; after?: string | null; tenant?: string | null }, meta: RequestMeta): Promise<ConnectionPageView> {
    await this.deps.acting.requireAdmin(principal, meta);
    const first = pageSize(args.first);
    await this.deps.audit.record("ADMIN_READ", { actorUserId: principal.userId, subjectUserId: principal.userId }, meta, "SUCCESS", args.tenant ? { tenant: args.tenant } : {});
    const page = await this.deps.store.listConnections({ first, after: args.after ?? null, tenant: args.tenant ?? null });
    const nodes = page.items.map((c) => connectionStatusView(this.deps.config.s3, c.userId, c, null));
    return { nodes, hasNextPage: page.hasNextPage, endCursor: nodes.at(-1)?.userId ?? null };
  }

  /** A user's audit trail, newest first: administrators for anyone, users for themselves. */
  async auditEvents(principal: Principal, args: { userId?: string | null; first: number; after?: string | null }, meta: RequestMeta): Promise<AuditEventPageView> {
    const subject = await this.deps.acting.subjectFor(principal, args.userId, meta, { read: true });
    const after = args.after === null || args.after === undefined ? null : Number(args.after);
    if (after !== null && !Number.isSafeInteger(after)) throw new BadUserInputError("after must be a cursor returned by auditEvents.", "after");
    const page = await this.deps.store.auditEventsPage(subject.userId, { first: pageSize(args.first), after });
    const nodes = page.items.map((e) => ({
      id: String(e.id),
      at: e.at,
      actorUserId: e.actorUserId,
      subjectUserId: e.subjectUserId,
      action: e.action,
      outcome: e.outcome,
      requestId: e.requestId,
      clientRequestId: e.clientRequestId ?? null,
      flow: e.flow ?? null,
      durationSeconds: e.durationSeconds ?? null,
      errorCode: e.errorCode ?? null,
      reason: e.reason ?? null,
      tenant: e.tenant ?? null,
      previousTenant: e.previousTenant ?? null,
      clientKeyId: e.clientKeyId ?? null,
      target: e.target ?? null,
      auditContext: e.auditContext ?? null,
    }));
    return { nodes, hasNextPage: page.hasNextPage, endCursor: nodes.at(-1)?.id ?? null };
  }

  // ---- mutations ------------------------------------------------------------------------------

  provision(principal: Principal, userId: string | null | undefined, meta: RequestMeta): Promise<ConnectionStatusView> {
    return this.deps.lifecycle.provision(principal, userId, meta);
  }

  myAccess(principal: Principal, userId: string | null | undefined, meta: RequestMeta): Promise<AccessView> {
    return this.deps.grants.myAccess(principal, userId, meta);
  }

  accessGrants(principal: Principal, tenant: string, meta: RequestMeta): Promise<AccessGrant[]> {
    return this.deps.grants.list(principal, tenant, meta);
  }

  createAccessGrant(principal: Principal, input: { tenant: string; location: string; permission: AccessPermission }, meta: RequestMeta): Promise<AccessGrant> {
    return this.deps.grants.create(principal, input, meta);
  }

  deleteAccessGrant(principal: Principal, id: string, meta: RequestMeta): Promise<AccessGrant> {
    return this.deps.grants.remove(principal, id, meta);
  }

  revokeDataPlatformUser(principal: Principal, userId: string | null | undefined, meta: RequestMeta): Promise<ConnectionStatusView> {
    return this.deps.lifecycle.revoke(principal, userId, meta);
  }

  revokeDataPlatformUsers(principal: Principal, userIds: readonly string[], meta: RequestMeta): Promise<RevocationOutcomeView[]> {
    return this.deps.lifecycle.revokeMany(principal, userIds, meta);
  }

  moveDataPlatformUser(principal: Principal, userId: string, tenant: string, meta: RequestMeta): Promise<ConnectionStatusView> {
    return this.deps.lifecycle.move(principal, userId, tenant, meta);
  }

  issueCredentials(principal: Principal, args: IssueArgs, meta: RequestMeta): Promise<TemporaryCredentialsView> {
    return this.deps.issuance.issue(principal, args, meta);
  }


  async refreshTokens(principal: Principal, userId: string | null | undefined, meta: RequestMeta): Promise<ConnectionStatusView> {
    const { acting, audit, store, locks, custody, tenancy } = this.deps;
    const subject = await acting.subjectFor(principal, userId, meta);
    const parties = { actorUserId: principal.userId, subjectUserId: subject.userId };
    return audit.audited("REFRESH", parties, meta, {}, async () => {
      const pinned = requireUsable(await store.getConnection(subject.userId)).tenant;
      await tenancy.requireSubjectBound(subject, principal, pinned, parties, meta);
      await locks.run(subject.userId, async () => custody.freshIdToken(requireUsable(await store.getConnection(subject.userId)), { force: true }));
      return connectionStatusView(this.deps.config.s3, subject.userId, await store.getConnection(subject.userId), null);
    });
  }
}
