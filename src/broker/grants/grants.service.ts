import { randomUUID } from "node:crypto";
import type { Principal } from "../../auth/principal.js";
import { BadUserInputError, ForbiddenError } from "../../errors.js";
import type { AccessGrant, AccessPermission, Store } from "../../store/store.js";
import type { Acting } from "../access/acting.js";
import { isValidTenant } from "../../policy/tenant.js";
import type { Tenancy } from "../access/tenancy.js";
import type { AuditTrail } from "../audit/audit-trail.js";
import type { RequestMeta } from "../request-meta.js";
import { covers, parseLocation, requireSessionPolicyFits } from "./location.js";

/** A tenant that has never had a grant has this one: READ on its whole prefix. */
export const DEFAULT_GRANT_ID = "default";
const defaultGrant = (tenant: string): AccessGrant => ({ id: DEFAULT_GRANT_ID, tenant, location: "", permission: "READ", createdBy: "", createdAt: new Date(0) });

/** What a user can reach: their tenant, its prefix and its grants. */
export interface AccessView {
  userId: string;
  tenant: string;
  prefix: string;
  grants: AccessGrant[];
}

/**
 * Grants: per tenant, named locations under the tenant's root with a permission (administrators
 * create, list and remove them; audited). Every issuance is decided here: a scope (target and
 * permission) must lie within one of the tenant's grants, or it is FORBIDDEN (reason NO_GRANT).
 */
export class GrantsService {
  constructor(private readonly deps: { store: Store; acting: Acting; tenancy: Tenancy; audit: AuditTrail; bucket: string; now: () => number }) {}

  /**
   * The tenant's grants. A tenant that never had one has the default grant; once it has had one it
   * has exactly its grants, so deleting a grant never widens access (deleting the last leaves none).
   */
  async grantsOf(tenant: string): Promise<AccessGrant[]> {
    const stored = await this.deps.store.listGrants(tenant);
    if (stored.length > 0) return stored;
    return (await this.deps.store.grantsManaged(tenant)) ? [] : [defaultGrant(tenant)];
  }

  /** The grant that allows `permission` on `target` (relative to the tenant's root), the narrowest one when several do. */
  async match(tenant: string, target: string, permission: AccessPermission): Promise<AccessGrant> {
    const matching = (await this.grantsOf(tenant)).filter((g) => allows(g.permission, permission) && covers(g.location, target));
    if (matching.length === 0) {
      throw new ForbiddenError(`No access grant of this tenant allows ${permission} on "${target}"; see myAccess for what you can reach.`, "NO_GRANT");
    }
    return matching.sort((a, b) => b.location.length - a.location.length)[0]!;
  }

  async myAccess(principal: Principal, userId: string | null | undefined, meta: RequestMeta): Promise<AccessView> {
    const subject = await this.deps.acting.subjectFor(principal, userId, meta, { read: true });
    const connection = await this.deps.store.getConnection(subject.userId);
    // The pinned tenant once provisioned; before that, the tenant the caller would be pinned to.
    const tenant = connection?.tenant ?? (await this.deps.tenancy.ofSubject(subject, principal));
    return { userId: subject.userId, tenant, prefix: this.deps.tenancy.prefixFor(tenant), grants: await this.grantsOf(tenant) };
  }

  async list(principal: Principal, tenant: string, meta: RequestMeta): Promise<AccessGrant[]> {
    await this.deps.acting.requireAdmin(principal, meta);
    return this.grantsOf(requireTenant(tenant));
  }

  async create(principal: Principal, input: { tenant: string; location: string; permission: AccessPermission }, meta: RequestMeta): Promise<AccessGrant> {
    const { acting, audit, store, now } = this.deps;
    await acting.requireAdmin(principal, meta);
    const tenant = requireTenant(input.tenant);
    const location = parseLocation(input.location, "location");
    // The widest scope the grant allows (its location, its permission) must be issuable.
    requireSessionPolicyFits(this.deps.bucket, this.deps.tenancy.prefixFor(tenant) + location, input.permission, "location");
    const parties = { actorUserId: principal.userId, subjectUserId: principal.userId };
    return audit.audited("GRANT_CREATE", parties, meta, { tenant, target: location }, () =>
      store.createGrant({ id: `grant-${randomUUID()}`, tenant, location, permission: input.permission, createdBy: principal.userId, createdAt: new Date(now()) }),
    );
  }

  async remove(principal: Principal, id: string, meta: RequestMeta): Promise<AccessGrant> {
    const { acting, audit, store } = this.deps;
    await acting.requireAdmin(principal, meta);
    const grant = await store.getGrant(id);
    if (!grant) throw new BadUserInputError("No access grant with that id (the default grant cannot be removed; create a grant to replace it, then remove that one for no access).", "id");
    const parties = { actorUserId: principal.userId, subjectUserId: principal.userId };
    return audit.audited("GRANT_DELETE", parties, meta, { tenant: grant.tenant, target: grant.location }, async () => {
      await store.deleteGrant(id);
      return grant;
    });
  }
}

/** READWRITE allows READ and WRITE; READ and WRITE allow only themselves. */
export function allows(granted: AccessPermission, requested: AccessPermission): boolean {
  return granted === requested || granted === "READWRITE";
}

function requireTenant(tenant: string): string {
  if (!isValidTenant(tenant)) throw new BadUserInputError("tenant must be letters, digits, '-' and '_' (at most 64).", "tenant");
  return tenant;
}
