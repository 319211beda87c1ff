import { partnerClientIdOf, partnerMayActIn } from "../../auth/partners.js";
import type { PartnerPrincipal, Principal } from "../../auth/principal.js";
import type { BrokerConfig } from "../../config/environment.js";
import { BadUserInputError, ForbiddenError } from "../../errors.js";
import type { Store } from "../../store/store.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import type { RequestMeta } from "../request-meta.js";
import type { ApplicationStanding } from "./standing.js";
import type { Subject } from "./subject.js";
import type { Tenancy } from "./tenancy.js";

/** The end user a request acts on: the caller, or the user named by `userId` (administrators, partners). */

/**
 * Who may act for whom. Anyone for themselves; administrators for others, and an administrator's
 * role is re-checked in Pool A (at most a minute old), not taken from the token alone; partners
 * only for a named user whose tenant in Pool A is one of theirs, never for themselves. Refusals
 * are audited; so are administrators' and partners' reads of other users.
 */
export class Acting {
  constructor(
    private readonly config: BrokerConfig,
    private readonly standing: ApplicationStanding,
    private readonly tenancy: Tenancy,
    private readonly audit: AuditTrail,
    private readonly store: Pick<Store, "getConnection">,
    /** Takes one of a partner's look-ups of users the broker does not know (RATE_LIMITED when used up). */
    private readonly chargePartnerLookup: (partner: string) => Promise<void>,
  ) {}

  async subjectFor(principal: Principal, userId: string | null | undefined, meta: RequestMeta, options: { read?: boolean } = {}): Promise<Subject> {
    if (principal.kind === "partner") return this.partnerSubject(principal, userId, meta, options);
    if (userId === null || userId === undefined || userId === principal.userId) return { userId: principal.userId, self: true };
    validUserId(userId);
    const parties = { actorUserId: principal.userId, subjectUserId: userId };
    await this.requireAdmin(principal, meta, parties);
    if (options.read) await this.audit.record("ADMIN_READ", parties, meta, "SUCCESS");
    return { userId, self: false };
  }

  /**
   * A partner names the user, and the user's tenant in Pool A must be one of the partner's, and so
   * must the tenant the user's connection is pinned to, if any (a user Pool A has moved but the
   * broker not yet: the old tenant's trail and keys are not the partner's). An unknown user gets
   * the same refusal as another tenant's, so a partner cannot probe for users.
   *
   * What the broker already knows is answered without AWS: a user whose connection is pinned to a
   * tenant not the partner's is refused before any Pool A call. A user the broker has no connection
   * for costs one of the partner's look-ups (RATE_LIMIT_PARTNER_LOOKUPS_PER_MINUTE), charged before
   * Pool A is asked, so random ids (which defeat any negative cache) are the flooder's own cost.
   */
  private async partnerSubject(principal: PartnerPrincipal, userId: string | null | undefined, meta: RequestMeta, options: { read?: boolean }): Promise<Subject> {
    if (userId === null || userId === undefined) throw new BadUserInputError("A partner acts for a user of its tenants: name that user's userId (their Pool A sub).", "userId");
    validUserId(userId);
    const parties = { actorUserId: principal.userId, subjectUserId: userId };
    const refuse = async (tenant: string | null) => {
      await this.audit.record("ACCESS_REFUSED", parties, meta, "FAILURE", { reason: "PARTNER_TENANT", errorCode: "FORBIDDEN", ...(tenant ? { tenant } : {}) });
      return new ForbiddenError("No user with that userId is in a tenant this partner may act in.", "PARTNER_TENANT");
    };
    const connection = await this.store.getConnection(userId);
    if (connection && !principal.partner.tenants.includes(connection.tenant)) throw await refuse(connection.tenant);
    if (!connection) await this.chargePartnerLookup(principal.userId);
    const tenant = await this.tenancy.ofUserIfAny(userId);
    const pinned = tenant === null ? null : (connection?.tenant ?? tenant);
    if (tenant === null || pinned !== tenant || !principal.partner.tenants.includes(tenant)) throw await refuse(tenant);
    if (options.read) await this.audit.record("PARTNER_READ", parties, meta, "SUCCESS", { tenant });
    return { userId, self: false, partnerTenant: tenant };
  }

  /**
   * Whether whoever made a client key for someone else may still stand behind it: an
   * administrator still holding the role, or a partner still configured for the key's tenant.
   */
  async creatorStillEntitled(createdBy: string, tenant: string): Promise<boolean> {
    const partnerClientId = partnerClientIdOf(createdBy);
    if (partnerClientId !== null) return partnerMayActIn(this.config.partners, partnerClientId, tenant);
    return this.isAdminNow(createdBy);
  }

  /** The caller is an administrator now: in the token and in Pool A as it is at this moment. */
  async requireAdmin(principal: Principal, meta: RequestMeta, parties: { actorUserId: string; subjectUserId: string } = { actorUserId: principal.userId, subjectUserId: principal.userId }): Promise<void> {
    if (!principal.isAdmin) {
      await this.audit.record("ACCESS_REFUSED", parties, meta, "FAILURE", { reason: "NOT_ADMIN", errorCode: "FORBIDDEN" });
      throw new ForbiddenError();
    }
    if (!(await this.isAdminNow(principal.userId, principal.username, { fresh: true }))) {
      await this.audit.record("ACCESS_REFUSED", parties, meta, "FAILURE", { reason: "ADMIN_ROLE_LOST", errorCode: "FORBIDDEN" });
      throw new ForbiddenError("Your administrator role is no longer current in the application's user pool.", "ADMIN_ROLE_LOST");
    }
  }

  /**
   * Present, enabled and in the admin group, per Pool A: as it is now when `fresh` (an
   * administrator acting), else within POOL_A_STANDING_CACHE_SECONDS (a key's creator, checked on
   * every request to the credential endpoint).
   */
  async isAdminNow(userId: string, username?: string | null, options: { fresh?: boolean } = {}): Promise<boolean> {
    const standing = options.fresh ? await this.standing.current(userId, username) : await this.standing.of(userId, username);
    return standing.present && standing.enabled && standing.groups.includes(this.config.poolA.adminGroup);
  }
}

function validUserId(userId: string): void {
  if (userId.length === 0 || userId.length > 128) throw new BadUserInputError("userId must be a Pool A user's sub.", "userId");
}
