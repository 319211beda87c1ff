import { BadUserInputError } from "../../errors.js";
import { SESSION_POLICY_BUDGET_CHARS, SESSION_POLICY_MAX_CHARS, scopeSessionPolicyChars, type ScopePermission } from "../../policy/policies.js";

/** A segment of a location: plain characters only, so no location can name `..`, a wildcard or a policy variable. */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const MAX_LENGTH = 512;

/**
 * A location relative to the tenant's root: "" (the whole prefix), a prefix ending in "/"
 * ("readings/2026/"), or one object key ("readings/2026-11-01.csv"). It can never leave the
 * tenant's prefix: no leading "/", no "." or ".." segments, no "*", "?", "$" or other characters
 * that would widen an IAM match.
 */
export function parseLocation(raw: string, field: string): string {
  if (raw === "") return "";
  const segments = raw.endsWith("/") ? raw.slice(0, -1).split("/") : raw.split("/");
  const valid = raw.length <= MAX_LENGTH && segments.every((s) => SEGMENT.test(s) && s !== "." && s !== "..");
  if (!valid) {
    throw new BadUserInputError(
      `${field} must be a path under the tenant's prefix: segments of letters, digits, '.', '_' and '-' (not '.' or '..') separated by '/', ending in '/' for a prefix; at most ${MAX_LENGTH} characters.`,
      field,
    );
  }
  return raw;
}

/** Whether a grant's location covers a requested target: the whole root, a prefix it lies under, or the very object. */
export function covers(grantLocation: string, target: string): boolean {
  if (grantLocation === "") return true;
  return grantLocation.endsWith("/") ? target.startsWith(grantLocation) : target === grantLocation;
}

/**
 * A location is only as long as the session policy it renders lets it be: STS takes 2,048
 * characters of policy, packed with the session tags, so a scope (or a grant, for the widest scope
 * it allows) whose policy would be longer is the caller's BAD_USER_INPUT, said here with the limit,
 * never AWS's refusal. `reach` is the tenant's prefix plus the location.
 */
export function requireSessionPolicyFits(bucket: string, reach: string, permission: ScopePermission, field: string): void {
  const chars = scopeSessionPolicyChars(bucket, reach, permission);
  if (chars <= SESSION_POLICY_BUDGET_CHARS) return;
  throw new BadUserInputError(
    `${field} is too long: credentials for it would carry a session policy of ${chars} characters, over the ${SESSION_POLICY_BUDGET_CHARS} the broker allows ` +
      `(AWS takes ${SESSION_POLICY_MAX_CHARS}, packed with the session tags); use a shorter location.`,
    field,
  );
}
