import type { Principal } from "../../auth/principal.js";
import type { BrokerConfig } from "../../config/environment.js";
import type { AccessPermission, CredentialFlow } from "../../store/store.js";
import type { Acting } from "../access/acting.js";
import type { Tenancy } from "../access/tenancy.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import { displayText } from "../display-text.js";
import type { RequestMeta } from "../request-meta.js";
import type { TemporaryCredentialsView } from "../views.js";
import { credentialRequest } from "./credential-request.js";
import type { CredentialIssuer } from "./issuer.js";

export interface IssueArgs {
  flow: CredentialFlow;
  durationSeconds?: number | null;
  userId?: string | null;
  scope?: { target: string; permission: AccessPermission } | null;
  auditContext?: string | null;
}

/** An audit context is the caller's free text, shown in the audit trail: plain text, at most 256 characters. */
function auditContextOf(raw: string | null | undefined): string | undefined {
  if (raw === null || raw === undefined || raw === "") return undefined;
  return displayText(raw, "auditContext", 256);
}

/**
 * Issuance for a caller (issueCredentials, and the presigned URLs and listings that sign with the
 * user's own credentials): who may act for whom, the request decided (credential-request.ts), the
 * caller bound to the pinned tenant, audited; the issuer does the rest.
 */
export class IssuanceService {
  constructor(private readonly deps: { config: BrokerConfig; acting: Acting; tenancy: Tenancy; audit: AuditTrail; issuer: CredentialIssuer }) {}

  async issue(
    principal: Principal,
    args: IssueArgs,
    meta: RequestMeta,
  ): Promise<TemporaryCredentialsView> {
    const { acting, audit, issuer, config } = this.deps;
    const subject = await acting.subjectFor(principal, args.userId, meta);
    const request = credentialRequest(args, { roleMaxSeconds: config.classicRole.maxSessionSeconds, shards: config.shards });
    const { durationSeconds, target } = request;
    const auditContext = auditContextOf(args.auditContext);
    let tenant: string | undefined;
    const parties = { actorUserId: principal.userId, subjectUserId: subject.userId };
    return audit.audited("ISSUE", parties, meta, () => ({ flow: args.flow, durationSeconds, target, ...(auditContext ? { auditContext } : {}), ...(tenant ? { tenant } : {}) }), () =>
      issuer.credentialsFor(subject.userId, request, meta, {
        checkTenant: async (pinned) => {
          tenant = pinned;
          await this.deps.tenancy.requireSubjectBound(subject, principal, pinned, parties, meta);
        },
      }),
    );
  }}
