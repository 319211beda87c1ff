import type { Principal } from "../../auth/principal.js";
import { BadUserInputError } from "../../errors.js";
import type { Store } from "../../store/store.js";
import type { Acting } from "../access/acting.js";
import { pageSize } from "../paging.js";
import type { RequestMeta } from "../request-meta.js";
import type { AuditEventPageView } from "../views.js";

/** Reading the audit trail: a user's events, newest first, administrators for anyone and users for themselves. */
export class AuditEventsService {
  constructor(private readonly deps: { store: Store; acting: Acting }) {}

  async page(principal: Principal, args: { userId?: string | null; first: number; after?: string | null }, meta: RequestMeta): Promise<AuditEventPageView> {
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
      traceId: e.traceId ?? null,
    }));
    return { nodes, hasNextPage: page.hasNextPage, endCursor: nodes.at(-1)?.id ?? null };
  }
}
