import type { Principal } from "../../auth/principal.js";
import type { BrokerConfig } from "../../config/environment.js";
import { BadUserInputError, ForbiddenError } from "../../errors.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import type { RequestMeta } from "../request-meta.js";
import type { ApplicationStanding } from "./standing.js";

/** The end user a request acts on: the caller, or (administrators only) the user named by `userId`. */
export interface Subject {
  userId: string;
  /** True when the caller acts for themselves. */
  self: boolean;
}

/**
 * Who may act for whom. Anyone for themselves; only administrators for others, and an
 * administrator's role is re-checked in Pool A (at most a minute old), not taken from the token
 * alone. Refusals are audited; so are administrators' reads of other users.
 */
export class Acting {
  constructor(
    private readonly config: BrokerConfig,
    private readonly standing: ApplicationStanding,
    private readonly audit: AuditTrail,
  ) {}

  async subjectFor(principal: Principal, userId: string | null | undefined, meta: RequestMeta, options: { read?: boolean } = {}): Promise<Subject> {
    if (userId === null || userId === undefined || userId === principal.userId) return { userId: principal.userId, self: true };
    if (userId.length === 0 || userId.length > 128) throw new BadUserInputError("userId must be a Pool A user's sub.", "userId");
    const parties = { actorUserId: principal.userId, subjectUserId: userId };
    await this.requireAdmin(principal, meta, parties);
    if (options.read) await this.audit.record("ADMIN_READ", parties, meta, "SUCCESS");
    return { userId, self: false };
  }

  /** The caller is an administrator now: in the token and, within the last minute, in Pool A. */
  async requireAdmin(principal: Principal, meta: RequestMeta, parties: { actorUserId: string; subjectUserId: string } = { actorUserId: principal.userId, subjectUserId: principal.userId }): Promise<void> {
    if (!principal.isAdmin) {
      await this.audit.record("ACCESS_REFUSED", parties, meta, "FAILURE", { reason: "NOT_ADMIN", errorCode: "FORBIDDEN" });
      throw new ForbiddenError();
    }
    if (!(await this.isAdminNow(principal.userId, principal.username))) {
      await this.audit.record("ACCESS_REFUSED", parties, meta, "FAILURE", { reason: "ADMIN_ROLE_LOST", errorCode: "FORBIDDEN" });
      throw new ForbiddenError("Your administrator role is no longer current in the application's user pool.", "ADMIN_ROLE_LOST");
    }
  }

  /** Present, enabled and in the admin group, per Pool A. */
  async isAdminNow(userId: string, username?: string | null): Promise<boolean> {
    const standing = await this.standing.of(userId, username);
    return standing.present && standing.enabled && standing.groups.includes(this.config.poolA.adminGroup);
  }
}
