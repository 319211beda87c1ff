import { LRUCache } from "lru-cache";
import type { ApplicationDirectory } from "../../cognito/application-directory.js";
import { verifiedEmail } from "../../auth/principal.js";
import { upstream } from "../upstream-errors.js";

/** A Pool A user as the broker last saw them. */
export interface Standing {
  present: boolean;
  /** The Pool A username, when present. */
  username: string | null;
  enabled: boolean;
  attributes: Record<string, string>;
  groups: string[];
}

/** Who a standing names, for display: the username, and the e-mail only if Pool A verified it. */
export function whoIs(standing: Standing): { username: string | null; email: string | null } {
  return { username: standing.username, email: verifiedEmail(standing.attributes.email, standing.attributes.email_verified) };
}

const ABSENT: Standing = Object.freeze({ present: false, username: null, enabled: false, attributes: {}, groups: [] });

/**
 * A Pool A user's standing (present, enabled, attributes, groups), re-checked in Pool A and
 * trusted for at most POOL_A_STANDING_CACHE_SECONDS (one minute): what keeps leavers from acting on
 * a token or a key they still hold. An administrator's own standing is read afresh for every act
 * on another user (current()), so losing the role stops them at once.
 */
export class ApplicationStanding {
  private readonly cache = new LRUCache<string, { standing: Standing; at: number }>({ max: 20_000 });
  private readonly inFlight = new Map<string, Promise<Standing>>();

  constructor(
    private readonly directory: ApplicationDirectory,
    private readonly maxAgeMs: number,
    private readonly now: () => number,
  ) {}

  /** `username`, when a token names it, allows the cheaper AdminGetUser; the sub must still match. */
  async of(sub: string, username?: string | null): Promise<Standing> {
    const hit = this.cache.get(sub);
    if (hit && this.now() - hit.at < this.maxAgeMs) return hit.standing;
    let pending = this.inFlight.get(sub);
    if (!pending) {
      pending = this.lookUp(sub, username)
        .then((standing) => {
          this.cache.set(sub, { standing, at: this.now() });
          return standing;
        })
        .finally(() => this.inFlight.delete(sub));
      this.inFlight.set(sub, pending);
    }
    return pending;
  }

  /**
   * Pool A as it is now, never the cache (administrators' acts on other users: a removed
   * administrator stops at once). Look-ups already under way are shared; the answer refreshes the cache.
   */
  async current(sub: string, username?: string | null): Promise<Standing> {
    this.cache.delete(sub);
    return this.of(sub, username);
  }

  /** The next look-up asks Pool A again (an administrator's act that must see the pool as it is now). */
  forget(sub: string): void {
    this.cache.delete(sub);
  }

  private async lookUp(sub: string, username?: string | null): Promise<Standing> {
    const byName = username ? await upstream(() => this.directory.findByUsername(username)) : null;
    const user = byName?.sub === sub ? byName : await upstream(() => this.directory.findBySub(sub));
    if (!user) return ABSENT;
    const groups = await upstream(() => this.directory.groupsOf(user.username));
    return { present: true, username: user.username, enabled: user.enabled, attributes: user.attributes, groups };
  }
}
