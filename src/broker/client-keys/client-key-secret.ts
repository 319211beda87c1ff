import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Client key secrets look like `s3bk_<16 hex id>_<43 base64url>`: the fixed prefix lets secret
 * scanners find leaked keys, the id finds the stored hash without a scan, and 256 random bits make
 * a plain SHA-256 hash safe to store (no password-style stretching needed).
 */
const SECRET_PATTERN = /^s3bk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
export const CLIENT_KEY_PREFIX = "s3bk_";

export interface NewClientKeySecret {
  id: string;
  secret: string;
  hash: string;
}

export function hashClientKeySecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export function newClientKeySecret(): NewClientKeySecret {
  const id = randomBytes(8).toString("hex");
  const secret = `${CLIENT_KEY_PREFIX}${id}_${randomBytes(32).toString("base64url")}`;
  return { id, secret, hash: hashClientKeySecret(secret) };
}

/** The key id inside a well-formed secret, or null. */
export function clientKeyIdOf(secret: string): string | null {
  return SECRET_PATTERN.exec(secret)?.[1] ?? null;
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashClientKeySecret(secret), "hex");
  const stored = Buffer.from(storedHash, "hex");
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
