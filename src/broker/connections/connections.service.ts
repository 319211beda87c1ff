import type { Principal } from "../../auth/principal.js";
import type { BrokerConfig } from "../../config/environment.js";
import type { Connection, Issuance, Store } from "../../store/store.js";
import type { Acting } from "../access/acting.js";
import type { Tenancy } from "../access/tenancy.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import { requireUsable } from "../credentials/issuer.js";
import type { TokenCustody } from "../credentials/token-custody.js";
import { displayText } from "../display-text.js";
import { pageSize } from "../paging.js";
import type { RequestMeta } from "../request-meta.js";
import type { UserLocks } from "../user-lock.js";
import { type ConnectionPageView, connectionStatusView, type ConnectionStatusView, type CredentialExpiryView } from "../views.js";

/**
 * Reads a request may repeat for many users (one per listed connection): the GraphQL layer batches
 * them per request (DataLoader, src/graphql/request-loaders.ts); the domain only asks.
 */
export interface BatchedReads {
  connection(userId: string): Promise<Connection | null>;
  lastIssuance(userId: string): Promise<Issuance | null>;
}

/**
 * A user's connection as callers see it: its status, when the last credentials expire, the
 * administrators' list of every connection, and a forced refresh of its Pool B tokens. Provisioning,
 * revocation and moves change it (lifecycle/); this service only reads it, and refreshes tokens.
 */
export class ConnectionsService {
  constructor(
    private readonly deps: { config: BrokerConfig; store: Store; acting: Acting; tenancy: Tenancy; audit: AuditTrail; custody: TokenCustody; locks: UserLocks; now: () => number },
  ) {}

  async status(principal: Principal, userId: string | null | undefined, reads: BatchedReads, meta: RequestMeta): Promise<ConnectionStatusView> {
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
  async list(principal: Principal, args: { first: number; after?: string | null; tenant?: string | null; search?: string | null }, meta: RequestMeta): Promise<ConnectionPageView> {
    await this.deps.acting.requireAdmin(principal, meta);
    const first = pageSize(args.first);
    const search = args.search === null || args.search === undefined || args.search === "" ? null : displayText(args.search, "search", 128);
    await this.deps.audit.record("ADMIN_READ", { actorUserId: principal.userId, subjectUserId: principal.userId }, meta, "SUCCESS", args.tenant ? { tenant: args.tenant } : {});
    const page = await this.deps.store.listConnections({ first, after: args.after ?? null, tenant: args.tenant ?? null, search });
    const nodes = page.items.map((c) => connectionStatusView(this.deps.config.s3, c.userId, c, null));
    return { nodes, hasNextPage: page.hasNextPage, endCursor: nodes.at(-1)?.userId ?? null };
  }

  /** A new Pool B ID token now (the stored one is replaced), for the user or by an administrator. */
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
