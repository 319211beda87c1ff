import type { Principal } from "../../auth/principal.js";
import type { BrokerConfig } from "../../config/environment.js";
import { BadUserInputError, ForbiddenError } from "../../errors.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import type { RequestMeta } from "../request-meta.js";
import type { Subject } from "./subject.js";
import type { ApplicationStanding } from "./standing.js";
import { isValidTenant, prefixForTenant } from "../../policy/tenant.js";

/**
 * Where a tenant is decided. The rules, in one place:
 * - The tenant comes from Pool A's tenant attribute (POOL_A_TENANT_CLAIM), which no app client may
 *   write (checked at start-up, tenant-write-check.ts). ID tokens carry it as a claim; access
 *   tokens do not, so for them it is read from Pool A (cached for at most a minute).
 * - No tenant is FORBIDDEN (TENANT_MISSING), unless POOL_A_TENANT_FALLBACK=sub makes every such
 *   user their own tenant on purpose. An unusable value is FORBIDDEN (TENANT_INVALID).
 * - The connection's tenant is pinned at the first provisioning. A caller whose tenant differs is
 *   refused (TENANT_MISMATCH, audited) before anything reaches Cognito; only an administrator's
 *   moveDataPlatformUser changes a pinned tenant (lifecycle/revocation.ts).
 */
export class Tenancy {
  constructor(
    private readonly config: BrokerConfig,
    private readonly standing: ApplicationStanding,
    private readonly audit: AuditTrail,
  ) {}

  /** The tenant of a caller acting for themselves. */
  async ofCaller(principal: Principal): Promise<string> {
    if (principal.tokenUse === "id") return this.decide(principal.tenantClaim, principal.userId);
    const standing = await this.standing.of(principal.userId, principal.username);
    return this.decide(standing.present ? standing.attributes[this.config.poolA.tenantClaim] : undefined, principal.userId);
  }

  /** The tenant Pool A gives a user an administrator names. */
  async ofUser(userId: string): Promise<string> {
    const standing = await this.standing.of(userId);
    if (!standing.present) throw new BadUserInputError("No user with that userId exists in the application's user pool.", "userId");
    return this.decide(standing.attributes[this.config.poolA.tenantClaim], userId);
  }

  /** A user's usable tenant per Pool A, or null when the user does not exist or has none usable (no error to tell which). */
  async ofUserIfAny(userId: string): Promise<string | null> {
    const standing = await this.standing.of(userId);
    if (!standing.present) return null;
    try {
      return this.decide(standing.attributes[this.config.poolA.tenantClaim], userId);
    } catch (error) {
      if (error instanceof ForbiddenError) return null;
      throw error;
    }
  }

  /** The tenant a subject's connection is (or would be) pinned to: the caller's, the partner-checked one, or the named user's. */
  async ofSubject(subject: Subject, principal: Principal): Promise<string> {
    if (subject.self) return this.ofCaller(principal);
    return subject.partnerTenant ?? this.ofUser(subject.userId);
  }

  /**
   * A connection may be used only by whoever its pinned tenant fits: the user themselves with that
   * tenant now, a partner whose checked tenant it is; administrators act for users in any tenant.
   */
  async requireSubjectBound(subject: Subject, principal: Principal, pinned: string, parties: { actorUserId: string; subjectUserId: string }, meta: RequestMeta): Promise<void> {
    if (subject.self) return this.requireBound(pinned, await this.ofCaller(principal), parties, meta);
    if (subject.partnerTenant !== undefined) return this.requireBound(pinned, subject.partnerTenant, parties, meta);
  }

  /** For display only (NOT_PROVISIONED status): the caller's claim when it is a usable tenant, never a look-up. */
  hintOf(principal: Principal): string | null {
    const claim = principal.tenantClaim ?? (this.config.poolA.tenantFallback === "sub" && principal.tokenUse === "id" ? principal.userId : null);
    return isValidTenant(claim) ? claim : null;
  }

  prefixFor(tenant: string): string {
    return prefixForTenant(this.config.s3.prefixTemplate, tenant);
  }

  /** Refuses, and audits, a caller whose tenant is not the one pinned on the connection. */
  async requireBound(pinned: string, claimed: string, parties: { actorUserId: string; subjectUserId: string }, meta: RequestMeta): Promise<void> {
    if (pinned === claimed) return;
    await this.audit.record("ACCESS_REFUSED", parties, meta, "FAILURE", { tenant: pinned, previousTenant: claimed, reason: "TENANT_MISMATCH" });
    meta.log.warn({ event: "tenant_mismatch", subjectUserId: parties.subjectUserId }, "token tenant differs from the pinned tenant");
    throw new ForbiddenError(
      "This user's tenant does not match the tenant their data platform access is bound to; an administrator must move the user (moveDataPlatformUser).",
      "TENANT_MISMATCH",
    );
  }

  private decide(raw: string | null | undefined, sub: string): string {
    if (raw === null || raw === undefined) {
      if (this.config.poolA.tenantFallback === "sub") return this.valid(sub);
      throw new ForbiddenError("This user has no tenant in the application's user pool; ask an administrator to set it.", "TENANT_MISSING");
    }
    return this.valid(raw);
  }

  private valid(tenant: string): string {
    if (!isValidTenant(tenant)) {
      throw new ForbiddenError(
        "This user's tenant value cannot name an S3 prefix safely (letters, digits, '-' and '_' only, at most 64); ask an administrator to correct it.",
        "TENANT_INVALID",
      );
    }
    return tenant;
  }
}
