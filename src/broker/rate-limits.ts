import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { RateLimitedError } from "../errors.js";
import { rateLimitRefusals } from "../metrics.js";

export interface RateLimitSettings {
  /** Per principal, shared by provisionDataPlatformUser, issueCredentials, refreshTokens and createClientKey. */
  mutationsPerMinute: number;
  /** Per client key, for the credential endpoint. */
  credentialEndpointPerMinute: number;
  /** Per actor (administrator, partner, user), for revokeDataPlatformUser: a revocation costs Cognito's unraisable 25/s quota. */
  revocationsPerMinute: number;
  /** Per administrator, users revoked through revokeDataPlatformUsers (the bulk path). */
  bulkRevocationsPerMinute: number;
  /** Per actor (user, administrator, partner), every root field of a query or mutation (each alias counts). */
  actorFieldsPerMinute: number;
  /** Per partner, look-ups in Pool A of users the broker has no connection for (each costs Pool A's 30/s ListUsers, shared by all). */
  partnerLookupsPerMinute: number;
  /** Per source address, failed client-key authentications at the credential endpoint. */
  keyFailuresPerMinute: number;
  /** Per source address, GraphQL requests without a valid token (introspection, the Sandbox, refused tokens). */
  anonymousPerMinute: number;
  /** Counters in Redis (shared by replicas) instead of in this process. */
  redisUrl?: string | undefined;
}

export type RateLimitBucket = "mutation" | "credential-endpoint" | "revocation" | "bulk-revocation" | "actor" | "partner-lookup" | "key-failure" | "anonymous";

/**
 * Rate limits with rate-limiter-flexible: in memory by default, in Redis when configured (with an
 * in-memory limiter as insurance while Redis is unreachable, so an outage neither opens the gate
 * nor takes the API down). A refusal carries a retry-after hint, never the limit itself.
 */
export class RateLimits {
  private readonly limiters: Record<RateLimitBucket, RateLimiterAbstract>;
  private readonly redis: Redis | undefined;

  constructor(settings: RateLimitSettings) {
    const options: Record<RateLimitBucket, { keyPrefix: string; points: number; duration: number }> = {
      mutation: { keyPrefix: "s3broker:rl:mutation", points: settings.mutationsPerMinute, duration: 60 },
      "credential-endpoint": { keyPrefix: "s3broker:rl:endpoint", points: settings.credentialEndpointPerMinute, duration: 60 },
      revocation: { keyPrefix: "s3broker:rl:revocation", points: settings.revocationsPerMinute, duration: 60 },
      "bulk-revocation": { keyPrefix: "s3broker:rl:bulk-revocation", points: settings.bulkRevocationsPerMinute, duration: 60 },
      actor: { keyPrefix: "s3broker:rl:actor", points: settings.actorFieldsPerMinute, duration: 60 },
      "partner-lookup": { keyPrefix: "s3broker:rl:partner-lookup", points: settings.partnerLookupsPerMinute, duration: 60 },
      "key-failure": { keyPrefix: "s3broker:rl:key-failure", points: settings.keyFailuresPerMinute, duration: 60 },
      anonymous: { keyPrefix: "s3broker:rl:anonymous", points: settings.anonymousPerMinute, duration: 60 },
    };
    const buckets = Object.keys(options) as RateLimitBucket[];
    if (settings.redisUrl) {
      this.redis = new Redis(settings.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
      // Connection trouble is absorbed by the insurance limiter; keep it out of the unhandled-error path.
      this.redis.on("error", () => undefined);
      const redis = this.redis;
      this.limiters = byBucket(buckets, (b) => new RateLimiterRedis({ ...options[b], storeClient: redis, insuranceLimiter: new RateLimiterMemory(options[b]) }));
    } else {
      this.limiters = byBucket(buckets, (b) => new RateLimiterMemory(options[b]));
    }
  }

  /**
   * Connects to Redis before the broker serves, so the first requests are not counted only in this
   * process's insurance limiter. Resolves false (and the broker starts anyway) when Redis does not
   * answer within the timeout; counting then falls back to memory until it does.
   */
  async connect(timeoutMs = 3000): Promise<boolean> {
    if (!this.redis) return true;
    const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    return Promise.race([this.redis.connect().then(() => true, () => false), timeout]);
  }

  /** The Redis connection, for other counters replicas share (upstream budgets); undefined without REDIS_URL. */
  get sharedRedis(): Redis | undefined {
    return this.redis;
  }

  /** Takes `points` (one by default) for `key` from the bucket, or throws RATE_LIMITED. */
  async consume(bucket: RateLimitBucket, key: string, points = 1): Promise<void> {
    try {
      await this.limiters[bucket].consume(key, points);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        rateLimitRefusals.inc({ bucket, actor: actorKind(bucket, key) });
        throw new RateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
      }
      throw rejection;
    }
  }

  /** Seconds until `key` may act again in the bucket when its allowance is used up, else null (takes nothing). */
  async exhausted(bucket: RateLimitBucket, key: string): Promise<number | null> {
    const state = await this.limiters[bucket].get(key);
    return state && state.remainingPoints <= 0 ? Math.max(1, Math.ceil(state.msBeforeNext / 1000)) : null;
  }

  async close(): Promise<void> {
    if (this.redis) await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}

function byBucket(buckets: RateLimitBucket[], make: (bucket: RateLimitBucket) => RateLimiterAbstract): Record<RateLimitBucket, RateLimiterAbstract> {
  return Object.fromEntries(buckets.map((b) => [b, make(b)])) as unknown as Record<RateLimitBucket, RateLimiterAbstract>;
}

/** Who a refusal limited, as a label with a fixed set of values (never an id). */
function actorKind(bucket: RateLimitBucket, key: string): "user" | "partner" | "client_key" | "address" {
  if (bucket === "key-failure" || bucket === "anonymous") return "address";
  if (bucket === "credential-endpoint") return "client_key";
  return key.startsWith("partner:") ? "partner" : "user";
}
