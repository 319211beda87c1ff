/**
 * A tenant value becomes an S3 prefix, a Cognito attribute, a principal tag and an IAM policy
 * variable. Only a plain identifier is safe in all four: no '/', '.', '*', '?', '$', spaces or
 * non-ASCII, which could widen a prefix or a wildcard match.
 */
const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function isValidTenant(tenant: unknown): tenant is string {
  return typeof tenant === "string" && TENANT_PATTERN.test(tenant);
}

/** `tenants/{tenant}/` → `tenants/acme/`. The tenant must already be valid. */
export function prefixForTenant(template: string, tenant: string): string {
  if (!isValidTenant(tenant)) throw new Error("invalid tenant");
  return template.replaceAll("{tenant}", tenant);
}
