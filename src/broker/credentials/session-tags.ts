import { createHash, randomInt } from "node:crypto";
import type { DataPlatformPool } from "../../cognito/data-platform-pool.js";
import { isSessionTag, SESSION_TAG_ALPHABET, SESSION_TAG_LENGTH, shardOfTag, shardTagPrefix } from "../../policy/policies.js";
import type { Connection, Store } from "../../store/store.js";
import { upstream } from "../upstream-errors.js";

/** Random draws before giving up: with tens of millions of values per shard, a second draw is already rare. */
const CLAIM_ATTEMPTS = 8;

/**
 * Each user's session tag (src/policy/policies.ts): which shard a user belongs to, drawing a new
 * tag that no other user and no deny list holds, and setting it on the data platform user in
 * Pool B (the attribute no app client can write), so that the next ID token carries it.
 */
export class SessionTags {
  constructor(private readonly deps: { store: Store; pool: DataPlatformPool; shardCount: number }) {}

  /** The user's shard among those configured: stable for a user while the number of shards stays. */
  shardFor(userId: string): number {
    return createHash("sha256").update(userId).digest().readUInt32BE(0) % this.deps.shardCount;
  }

  /** Whether the connection's tag can be issued under: it exists and names a configured shard. */
  usable(connection: Pick<Connection, "sessionTag">): connection is { sessionTag: string } {
    return isSessionTag(connection.sessionTag) && shardOfTag(connection.sessionTag) < this.deps.shardCount;
  }

  /**
   * Draws a fresh tag for the user, records it on the connection (clearing how long the old one
   * lives: the caller denies the old one first where it matters) and sets it in Pool B. Runs under
   * the user lock.
   */
  async rotate(connection: Pick<Connection, "userId" | "poolBUsername" | "tenant">, options: { setInPool: boolean } = { setInPool: true }): Promise<string> {
    const prefix = shardTagPrefix(this.shardFor(connection.userId));
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      let tag = prefix;
      while (tag.length < SESSION_TAG_LENGTH) tag += SESSION_TAG_ALPHABET[randomInt(SESSION_TAG_ALPHABET.length)];
      if (await this.deps.store.claimSessionTag(connection.userId, tag)) {
        if (options.setInPool) await upstream(() => this.deps.pool.setAttributes(connection.poolBUsername, { tenant: connection.tenant, sessionTag: tag }));
        return tag;
      }
    }
    throw new Error("could not draw an unused session tag");
  }
}
