import { UpstreamError } from "../../cognito/aws-errors.js";
import { currentTraceId } from "../../telemetry.js";
import { BrokerError, ForbiddenError, InternalError } from "../../errors.js";
import type { AuditAction, AuditEvent, Store } from "../../store/store.js";
import type { RequestMeta } from "../request-meta.js";
import { toBrokerError } from "../upstream-errors.js";

/** What an event says beyond who, what and when. Never a secret. */
export type AuditDetails = Pick<AuditEvent, "flow" | "durationSeconds" | "clientKeyId" | "tenant" | "previousTenant" | "reason" | "errorCode" | "target" | "auditContext">;

/** Who acts (a Pool A user, or the client key's owner) on whom. */
export interface AuditParties {
  actorUserId: string;
  subjectUserId: string;
}

/** The audit trail: one event per mutation (success or failure), refusal and administrator read. */
export class AuditTrail {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  /** Writes one event; a failing audit write is logged, never hidden behind the request's own answer. */
  async record(action: AuditAction, parties: AuditParties, meta: RequestMeta, outcome: AuditEvent["outcome"], details: AuditDetails = {}): Promise<void> {
    await this.store.appendAudit({
      ...parties,
      action,
      outcome,
      requestId: meta.requestId,
      ...(meta.clientRequestId ? { clientRequestId: meta.clientRequestId } : {}),
      ...details,
      // The trace the work runs in (src/telemetry.ts), so an event leads to its spans and logs.
      ...traceOf(),
      at: new Date(this.now()),
    });
  }

  /**
   * Runs a mutation and writes one event for it, success or failure. A failure's event carries its
   * error code and, for refusals, the typed reason. `details` may be a function, read after the run,
   * for what only the run finds out (the tenant).
   */
  async audited<T>(action: AuditAction, parties: AuditParties, meta: RequestMeta, details: AuditDetails | (() => AuditDetails), run: () => Promise<T>): Promise<T> {
    const detailsNow = () => (typeof details === "function" ? details() : details);
    try {
      const result = await run();
      await this.record(action, parties, meta, "SUCCESS", detailsNow());
      return result;
    } catch (error) {
      const brokerError = toBrokerError(error);
      const code = brokerError instanceof BrokerError ? brokerError.code : "INTERNAL_SERVER_ERROR";
      const cause = error instanceof UpstreamError ? error : brokerError instanceof BrokerError ? brokerError.cause : undefined;
      if (cause instanceof UpstreamError) {
        // The AWS error name and status only: AWS's message can carry identifiers.
        meta.log.warn({ event: "upstream_error", operation: cause.operation, awsError: cause.awsErrorName, httpStatus: cause.httpStatus, code }, "AWS call failed");
      }
      const reason = brokerError instanceof ForbiddenError ? { reason: brokerError.reason } : {};
      await this.store
        .appendAudit({
          ...parties,
          action,
          outcome: "FAILURE",
          requestId: meta.requestId,
          ...(meta.clientRequestId ? { clientRequestId: meta.clientRequestId } : {}),
          ...detailsNow(),
          ...reason,
          errorCode: code,
          ...traceOf(),
          at: new Date(this.now()),
        })
        .catch((auditError: unknown) => meta.log.error({ event: "audit_write_failed", err: auditError }, "could not write audit event"));
      throw brokerError instanceof BrokerError ? brokerError : error instanceof Error ? error : new InternalError();
    }
  }
}

function traceOf(): { traceId?: string } {
  const traceId = currentTraceId();
  return traceId ? { traceId } : {};
}
