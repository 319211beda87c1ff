import type { BrokerConfig } from "../../config/environment.js";
import type { ApplicationDirectory } from "../../cognito/application-directory.js";

/** Raised at start-up when users of Pool A's app client could write their own tenant. */
export class TenantWritableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TenantWritableError";
  }
}

/**
 * The tenant is only as trustworthy as the attribute it comes from: a user holding their own
 * access token can change any attribute the app client's WriteAttributes allows (and an unset list
 * has meant "all" or "all standard" over time). The broker refuses to start unless the list is set
 * and leaves the tenant attribute out; POOL_A_SKIP_TENANT_WRITE_CHECK turns this off for pools
 * whose tenant claim comes from elsewhere.
 */
export async function checkTenantNotWritable(config: BrokerConfig, directory: ApplicationDirectory): Promise<"checked" | "skipped"> {
  if (config.poolA.skipTenantWriteCheck) return "skipped";
  const attribute = config.poolA.tenantClaim;
  const writable = await directory.clientWriteAttributes(config.poolA.clientId);
  if (writable === null) {
    throw new TenantWritableError(
      `Pool A's app client ${config.poolA.clientId} sets no WriteAttributes, so its users may be able to change ${attribute} and move themselves into another tenant. ` +
        `List WriteAttributes explicitly without ${attribute} (or set POOL_A_SKIP_TENANT_WRITE_CHECK=true if the tenant claim does not come from a user-writable attribute).`,
    );
  }
  if (writable.includes(attribute)) {
    throw new TenantWritableError(
      `Pool A's app client ${config.poolA.clientId} lets users write ${attribute}: anyone could move themselves into another tenant. Remove it from the client's WriteAttributes.`,
    );
  }
  return "checked";
}
