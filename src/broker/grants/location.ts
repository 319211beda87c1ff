import { BadUserInputError } from "../../errors.js";
import { SESSION_POLICY_BUDGET_CHARS, SESSION_POLICY_MAX_CHARS, scopeSessionPolicySize, type ScopePermission } from "../../policy/policies.js";

/**
 * What no segment may hold: IAM's wildcards ("*", "?") and policy variables ("$", "{", "}"), which
 * would widen a policy's match; "\\"; and any control, format (bidi overrides, zero-width),
 * private-use, surrogate or unassigned character, which would hide what a name says.
 */
const FORBIDDEN = /[*?${}\\\p{C}]/u;
const MAX_SEGMENT_CHARS = 128;
/** In UTF-8 bytes, as S3 counts keys (1,024 with the tenant's prefix): 512 ASCII characters, about 170 Japanese ones. */
const MAX_BYTES = 512;

/** A segment: letters, digits, punctuation and spaces of any script (a Japanese file name is one), no space at either end, never "." or "..". */
const validSegment = (s: string) => s.length > 0 && s.length <= MAX_SEGMENT_CHARS && s.trim() === s && s !== "." && s !== ".." && !FORBIDDEN.test(s);

/**
 * A location relative to the tenant's root: "" (the whole prefix), a prefix ending in "/"
 * ("readings/2026/"), or one object key ("readings/2026-11-01.csv", "議事録/2026年 第1回.txt").
 * It can never leave the tenant's prefix or widen an IAM match: no leading "/", no empty, "." or
 * ".." segment, no wildcard, policy variable or hidden character (FORBIDDEN). Not normalised:
 * S3 keys are bytes, and a name is reached as it was written.
 */
export function parseLocation(raw: string, field: string): string {
  if (raw === "") return "";
  const segments = raw.endsWith("/") ? raw.slice(0, -1).split("/") : raw.split("/");
  const valid = Buffer.byteLength(raw, "utf8") <= MAX_BYTES && segments.every(validSegment);
  if (!valid) {
    throw new BadUserInputError(
      `${field} must be a path under the tenant's prefix: segments separated by '/' (not empty, '.' or '..', no space at either end, at most ${MAX_SEGMENT_CHARS} characters), ` +
        `ending in '/' for a prefix, without '*', '?', '$', '{', '}', '\\' or control characters; at most ${MAX_BYTES} bytes in UTF-8.`,
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
  const size = scopeSessionPolicySize(bucket, reach, permission);
  if (size <= SESSION_POLICY_BUDGET_CHARS) return;
  throw new BadUserInputError(
    `${field} is too long: credentials for it would carry a session policy of ${size} characters, over the ${SESSION_POLICY_BUDGET_CHARS} the broker allows ` +
      `(AWS takes ${SESSION_POLICY_MAX_CHARS}, packed with the session tags); use a shorter location.`,
    field,
  );
}
