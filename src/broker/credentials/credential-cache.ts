import { LRUCache } from "lru-cache";
import { cacheLookups } from "../../metrics.js";
import type { IssuedCredentials } from "../client-config.js";

/**
 * botocore refreshes credentials 15 minutes before they expire (and the JS SDK 5 minutes before):
 * credentials handed out with less left than that make clients refresh on every call. The cache
 * therefore only hands out credentials with comfortably more left: 15 minutes plus 5 of slack.
 */
export const REUSE_MIN_REMAINING_MS = 20 * 60 * 1000;

/** Whether credentials may still be handed out again: comfortably more than the SDKs' refresh window left. */
export function reusable(credentials: { expiration: Date }, now: number): boolean {
  return credentials.expiration.getTime() - now > REUSE_MIN_REMAINING_MS;
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
  async getOrIssue(key: string, issue: () => Promise<IssuedCredentials>): Promise<{ credentials: IssuedCredentials; cached: boolean }> {
    const hit = this.entries.get(key);
    if (hit && reusable(hit, this.now())) {
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
