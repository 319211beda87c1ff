import { LRUCache } from "lru-cache";
import { cacheLookups } from "../../metrics.js";
import type { IssuedCredentials } from "../../cognito/identity-exchange.js";

/**
 * When credentials are handed out again, decided here for every path (GraphQL, client keys, the
 * shared store). SDKs refresh before expiry: botocore (boto3, the AWS CLI) 15 minutes before
 * (advisory; 10 mandatory), the JS SDK v3 and the Java SDK v2 5 minutes before, the Go SDK v2 not
 * at all unless configured. Credentials handed out inside a client's window make it ask again on
 * every call, so long-lived ones are reused only while more than 20 minutes remain (botocore's 15
 * plus 5 of slack).
 *
 * Short classic keys (under 40 minutes) can never be outside botocore's window, and with the
 * 20-minute floor they were never reused at all: each poll cost an issuance. They are reused until
 * half their lifetime is gone, but never with 6 minutes or less left, so the 5-minute SDKs always
 * get credentials they accept without refreshing (botocore accepts them too, and asks again,
 * which the cache answers). A 900 s key: 8 issuances an hour instead of one per poll.
 */
export const REUSE_MIN_REMAINING_MS = 20 * 60 * 1000;
/** The JS and Java SDKs' 5-minute refresh window, plus a minute of slack. */
export const SHORT_REUSE_MIN_REMAINING_MS = 6 * 60 * 1000;

/** The remaining life below which credentials of this lifetime are not handed out again. */
export function reuseFloorMs(lifetimeSeconds: number): number {
  return Math.min(REUSE_MIN_REMAINING_MS, Math.max(SHORT_REUSE_MIN_REMAINING_MS, (lifetimeSeconds * 1000) / 2));
}

/** Whether credentials issued for `lifetimeSeconds` may still be handed out again at `now`. */
export function reusable(credentials: { expiration: Date }, now: number, lifetimeSeconds: number): boolean {
  return credentials.expiration.getTime() - now > reuseFloorMs(lifetimeSeconds);
}

/**
 * Issued credentials kept in memory (never on disk) per user and what they were issued for
 * (issued-for.ts: tenant, prefix, flow, duration, epoch), so that
 * repeated requests reuse them instead of calling AWS, and concurrent misses share one issuance.
 */
export class CredentialCache {
  private readonly entries: LRUCache<string, IssuedCredentials>;
  private readonly inFlight = new Map<string, Promise<IssuedCredentials>>();

  constructor(
    private readonly now: () => number = Date.now,
    maxEntries = 50_000,
  ) {
    this.entries = new LRUCache({ max: maxEntries });
  }

  static keyFor(userId: string, issuedFor: string): string {
    return `${userId}\u0000${issuedFor}`;
  }

  /** Cached credentials with enough life left, else the result of one shared call to `issue`. */
  async getOrIssue(
    key: string,
    lifetimeSeconds: number,
    issue: () => Promise<IssuedCredentials>,
    alive: (hit: IssuedCredentials) => boolean = () => true,
  ): Promise<{ credentials: IssuedCredentials; cached: boolean }> {
    const hit = this.entries.get(key);
    if (hit && reusable(hit, this.now(), lifetimeSeconds) && alive(hit)) {
      cacheLookups.inc({ cache: "credentials", result: "hit" });
      return { credentials: hit, cached: true };
    }
    cacheLookups.inc({ cache: "credentials", result: "miss" });
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = issue()
        .then((credentials) => {
          this.entries.set(key, credentials);
          return credentials;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return { credentials: await pending, cached: false };
  }

  /** Drops everything cached for a user (every state or tenant change). */
  forgetUser(userId: string): void {
    for (const key of this.entries.keys()) {
      if (key.startsWith(`${userId}\u0000`)) this.entries.delete(key);
    }
  }
}
