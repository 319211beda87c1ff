import { clientKeyIdOf, secretMatches } from "../broker/client-keys/client-key-secret.js";
import type { AuditTrail } from "../broker/audit/audit-trail.js";
import type { RateLimits } from "../broker/rate-limits.js";
import type { RequestMeta } from "../broker/request-meta.js";
import { ForbiddenError, type ForbiddenReason, RateLimitedError, UnauthenticatedError } from "../errors.js";
import type { ClientKey, Store } from "../store/store.js";

/** Compared against when no key has the presented id (no secret hashes to it). */
const UNKNOWN_KEY_HASH = "0".repeat(64);

/** A refused use of a key, in the audit trail of the key's owner. */
export async function recordKeyRefusal(audit: AuditTrail, key: ClientKey, reason: ForbiddenReason, meta: RequestMeta, tenant?: string): Promise<void> {
  await audit.record("CLIENT_KEY_REFUSED", { actorUserId: key.userId, subjectUserId: key.userId }, meta, "FAILURE", {
    clientKeyId: key.id,
    reason,
    errorCode: "FORBIDDEN",
    ...(tenant ? { tenant } : {}),
  });
}

/**
 * The credential endpoint's callers: unattended clients presenting a client key (the other
 * callers, Pool A users and partners, are authenticated in authentication.ts). Whether the people
 * behind a key still stand is the client keys' own rule (broker/client-keys/), checked on every use.
 */
export class ClientKeyAuthenticator {
  constructor(private readonly deps: { store: Store; audit: AuditTrail; rateLimits: RateLimits; now: () => number }) {}

  /**
   * The key behind a secret while it stands (not revoked, not expired, the secret right): the
   * credential endpoint's first step, and alone the status check for helpers that serve cached
   * credentials and must stop soon after a revocation (no AWS call, no write). A wrong secret counts
   * against the source address, which is refused before any key is looked at once it is used up.
   */
  async check(secret: string | undefined, meta: RequestMeta & { sourceAddress?: string | undefined }): Promise<ClientKey> {
    const { rateLimits } = this.deps;
    const source = meta.sourceAddress ?? "unknown";
    const blockedFor = await rateLimits.exhausted("key-failure", source);
    if (blockedFor !== null) throw new RateLimitedError(blockedFor);
    try {
      return await this.authenticate(secret, meta);
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
      await rateLimits.consume("key-failure", source).catch(() => undefined);
      // Guesses at one key from many addresses count against the key too; past the limit they are
      // answered RATE_LIMITED. Only failures count, so the owner's right secret always works.
      const id = secret ? clientKeyIdOf(secret) : null;
      if (id) await rateLimits.consume("key-failure", `key:${id}`);
      throw error;
    }
  }

  private async authenticate(secret: string | undefined, meta: RequestMeta): Promise<ClientKey> {
    if (!secret) throw new UnauthenticatedError("A client key is required in the Authorization header.");
    const id = clientKeyIdOf(secret);
    const key = id ? await this.deps.store.getClientKey(id) : null;
    // The same hashing work for an unknown id as for a known one: the answer's time tells no ids apart.
    const matches = secretMatches(secret, key?.secretHash ?? UNKNOWN_KEY_HASH);
    if (!key || !matches) throw new UnauthenticatedError("The client key is not valid.");
    if (key.revokedAt) {
      await recordKeyRefusal(this.deps.audit, key, "KEY_REVOKED", meta);
      throw new ForbiddenError("The client key was revoked.", "KEY_REVOKED");
    }
    if (key.expiresAt.getTime() <= this.deps.now()) {
      await recordKeyRefusal(this.deps.audit, key, "KEY_EXPIRED", meta);
      throw new ForbiddenError("The client key has expired.", "KEY_EXPIRED");
    }
    return key;
  }}
