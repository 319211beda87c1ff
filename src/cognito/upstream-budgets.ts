import type { FinalizeRequestMiddleware, MiddlewareStack } from "@smithy/types";
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterQueue, RateLimiterQueueError, RateLimiterRedis, type RateLimiterAbstract } from "rate-limiter-flexible";
import { UpstreamUnavailableError } from "../errors.js";
import { upstreamBudgetRefusals, upstreamBudgetWaits } from "../metrics.js";

/**
 * AWS request quotas are per account and Region, shared by every tenant (and by every other
 * application in the account): a storm of scheduled jobs at the top of the hour must not go
 * straight to them. Each AWS operation the broker calls draws on a budget named after the quota
 * it counts against (Cognito user pools group operations into categories), in requests per second.
 *
 * Defaults: the Cognito user pool categories and the identity pool operations' published default
 * quotas; STS and IAM publish no per-operation figure, so theirs are cautious choices. Set
 * UPSTREAM_BUDGETS to your account's quotas (Service Quotas console), minus what other
 * applications use.
 */
export const UPSTREAM_BUDGETS = {
  UserCreation: { perSecond: 50, operations: ["AdminCreateUser"] },
  UserAuthentication: { perSecond: 120, operations: ["AdminInitiateAuth"] },
  UserRead: { perSecond: 120, operations: ["AdminGetUser", "AdminListGroupsForUser"] },
  UserList: { perSecond: 30, operations: ["ListUsers"] },
  UserUpdate: { perSecond: 25, operations: ["AdminDisableUser", "AdminEnableUser", "AdminSetUserPassword", "AdminUpdateUserAttributes", "AdminUserGlobalSignOut"] },
  UserPoolClientRead: { perSecond: 15, operations: ["DescribeUserPoolClient"] },
  GetId: { perSecond: 25, operations: ["GetId"] },
  GetOpenIdToken: { perSecond: 200, operations: ["GetOpenIdToken"] },
  GetCredentialsForIdentity: { perSecond: 200, operations: ["GetCredentialsForIdentity"] },
  AssumeRoleWithWebIdentity: { perSecond: 600, operations: ["AssumeRoleWithWebIdentity"] },
  RolePolicyWrite: { perSecond: 10, operations: ["PutRolePolicy", "DeleteRolePolicy"] },
} as const satisfies Record<string, { perSecond: number; operations: readonly string[] }>;

export type UpstreamBudgetName = keyof typeof UPSTREAM_BUDGETS;
export const UPSTREAM_BUDGET_NAMES = Object.keys(UPSTREAM_BUDGETS) as UpstreamBudgetName[];

const BUDGET_OF_OPERATION = new Map<string, UpstreamBudgetName>(
  UPSTREAM_BUDGET_NAMES.flatMap((name) => UPSTREAM_BUDGETS[name].operations.map((operation) => [operation, name] as const)),
);

/** The budget an AWS operation draws on, or undefined for one the broker does not call. */
export function budgetOf(operation: string): UpstreamBudgetName | undefined {
  return BUDGET_OF_OPERATION.get(operation);
}

export interface UpstreamBudgetSettings {
  /** Requests per second per budget, for all replicas together; a budget left out keeps its default. */
  perSecond: Partial<Record<UpstreamBudgetName, number>>;
  /** How long a request may wait for its turn before it is refused (retryable, with a retry time). */
  maxWaitMs: number;
  /** Counters of one AWS account and Region share this (in Redis). */
  scope: string;
}

/**
 * Token buckets per budget (rate-limiter-flexible, one-second windows), in Redis when the broker
 * has one so that replicas share them, with a bounded queue in front: a request over the budget
 * waits for its turn rather than being throttled by AWS, and one that would wait longer than
 * `maxWaitMs` is refused at once with UPSTREAM_UNAVAILABLE and a retry time.
 */
export class UpstreamBudgets {
  private readonly queues = new Map<UpstreamBudgetName, RateLimiterQueue>();
  private readonly retryAfterSeconds: number;

  constructor(
    private readonly settings: UpstreamBudgetSettings,
    redis?: Redis,
  ) {
    this.retryAfterSeconds = Math.max(1, Math.ceil(settings.maxWaitMs / 1000));
    for (const name of UPSTREAM_BUDGET_NAMES) {
      // One-second windows, each call spread evenly over its window (execEvenly): a sliding second can
      // then see one call more than a window holds, so a window holds one less than the budget.
      const points = Math.max(1, this.rateOf(name) - 1);
      const options = { keyPrefix: `s3broker:aws:${settings.scope}:${name}`, points, duration: 1, execEvenly: true };
      // Redis trouble falls back to a bucket in this process (each replica then spends the whole budget).
      const limiter: RateLimiterAbstract = redis
        ? new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: new RateLimiterMemory(options) })
        : new RateLimiterMemory(options);
      // The queue holds what the budget serves within the longest wait; beyond that, refuse now.
      this.queues.set(name, new RateLimiterQueue(limiter, { maxQueueSize: Math.max(1, Math.floor((points * settings.maxWaitMs) / 1000)) }));
    }
  }

  rateOf(name: UpstreamBudgetName): number {
    return this.settings.perSecond[name] ?? UPSTREAM_BUDGETS[name].perSecond;
  }

  /** Waits for a turn to call `operation`; throws UPSTREAM_UNAVAILABLE (retryable) when the wait would be too long. */
  async take(operation: string): Promise<void> {
    const name = budgetOf(operation);
    if (!name) return;
    const started = Date.now();
    try {
      // The deadline also bounds waits that replicas sharing the budget make longer.
      await this.queues.get(name)!.removeTokens(1, "calls", Math.ceil((started + this.settings.maxWaitMs) / 1000));
    } catch (error) {
      // A full queue, or a deadline passed while waiting.
      if (error instanceof RateLimiterQueueError) {
        upstreamBudgetRefusals.inc({ budget: name });
        throw new UpstreamUnavailableError(`The broker is pacing its requests to AWS to stay within the account's quotas; try again in ${this.retryAfterSeconds} s.`, this.retryAfterSeconds);
      }
      throw error;
    }
    if (Date.now() - started >= 5) upstreamBudgetWaits.inc({ budget: name });
  }

  /** Every attempt the client sends (retries included) takes its turn first. */
  attachTo<Input extends object, Output extends object>(client: { middlewareStack: MiddlewareStack<Input, Output> }): void {
    const middleware: FinalizeRequestMiddleware<Input, Output> = (next, context) => async (args) => {
      await this.take((context.commandName ?? "").replace(/Command$/, ""));
      return next(args);
    };
    client.middlewareStack.addRelativeTo(middleware, { relation: "after", toMiddleware: "retryMiddleware", name: "brokerUpstreamBudget", override: true },
    );
  }
}
