import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { RateLimitedError } from "../errors.js";

export interface RateLimitSettings {
  /** Per principal, shared by provisionDataPlatformUser, issueCredentials, refreshTokens and createClientKey. */
  mutationsPerMinute: number;
  /** Per client key, for the credential endpoint. */
  credentialEndpointPerMinute: number;
  /** Per actor (administrator, partner, user), for revokeDataPlatformUser: a revocation costs Cognito's unraisable 25/s quota. */
  revocationsPerMinute: number;
  /** Per administrator, users revoked through revokeDataPlatformUsers (the bulk path). */
  bulkRevocationsPerMinute: number;
  /** Counters in Redis (shared by replicas) instead of in this process. */
  redisUrl?: string | undefined;
}

export type RateLimitBucket = "mutation" | "credential-endpoint" | "revocation" | "bulk-revocation";

/**
 * Rate limits with rate-limiter-flexible: in memory by default, in Redis when configured (with an
 * in-memory limiter as insurance while Redis is unreachable, so an outage neither opens the gate
 * nor takes the API down). A refusal carries a retry-after hint, never the limit itself.
 */
export class RateLimits {
  private readonly limiters: Record<RateLimitBucket, RateLimiterAbstract>;
  private readonly redis: Redis | undefined;

  constructor(settings: RateLimitSettings) {
    const options = {
      mutation: { keyPrefix: "s3broker:rl:mutation", points: settings.mutationsPerMinute, duration: 60 },
      "credential-endpoint": { keyPrefix: "s3broker:rl:endpoint", points: settings.credentialEndpointPerMinute, duration: 60 },
      revocation: { keyPrefix: "s3broker:rl:revocation", points: settings.revocationsPerMinute, duration: 60 },
      "bulk-revocation": { keyPrefix: "s3broker:rl:bulk-revocation", points: settings.bulkRevocationsPerMinute, duration: 60 },
    } as const;
    if (settings.redisUrl) {
      this.redis = new Redis(settings.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
      // Connection trouble is absorbed by the insurance limiter; keep it out of the unhandled-error path.
      this.redis.on("error", () => undefined);
      const redis = this.redis;
      const make = (o: (typeof options)[RateLimitBucket]) =>
        new RateLimiterRedis({ ...o, storeClient: redis, insuranceLimiter: new RateLimiterMemory(o) });
      this.limiters = {
        mutation: make(options.mutation),
        "credential-endpoint": make(options["credential-endpoint"]),
        revocation: make(options.revocation),
        "bulk-revocation": make(options["bulk-revocation"]),
      };
    } else {
      this.limiters = {
        mutation: new RateLimiterMemory(options.mutation),
        "credential-endpoint": new RateLimiterMemory(options["credential-endpoint"]),
        revocation: new RateLimiterMemory(options.revocation),
        "bulk-revocation": new RateLimiterMemory(options["bulk-revocation"]),
      };
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
      if (rejection instanceof RateLimiterRes) throw new RateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
      throw rejection;
    }
  }

  async close(): Promise<void> {
    if (this.redis) await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}
