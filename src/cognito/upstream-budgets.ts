import type { FinalizeRequestMiddleware, MiddlewareStack } from "@smithy/types";
import type { Redis } from "ioredis";
import { AsyncLocalStorage } from "node:async_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { UpstreamUnavailableError } from "../errors.js";
import { upstreamBudgetRefusals, upstreamBudgetWaits } from "../metrics.js";
import { spanEvent } from "../telemetry.js";
import { UPSTREAM_BUDGETS, UPSTREAM_BUDGET_NAMES, type UpstreamBudgetName } from "../config/upstream-quotas.js";

// The budgets, their defaults and operations are settings: src/config/upstream-quotas.ts.
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
 * Spaces calls at least `intervalMs` apart (a leaky bucket without burst): no second then holds
 * more than the budget, and a call that finds the way clear goes at once. `reserve` waits for this
 * call's slot and answers how long that took, or answers undefined at once (no slot taken) when the
 * wait would be longer than `maxWaitMs`.
 */
interface Pacer {
  reserve(intervalMs: number, maxWaitMs: number): Promise<number | undefined>;
}

/**
 * One process's slots, spaced from when each call really left: a timer that fires late (a busy
 * event loop) delays the calls after it instead of letting them bunch up.
 */
class LocalPacer implements Pacer {
  private lastSent = 0;
  private queued = 0;
  private tail: Promise<void> = Promise.resolve();

  async reserve(intervalMs: number, maxWaitMs: number): Promise<number | undefined> {
    const ahead = Math.max(0, this.lastSent + intervalMs - Date.now()) + this.queued * intervalMs;
    if (ahead > maxWaitMs) return undefined;
    this.queued += 1;
    const started = Date.now();
    const turn = this.tail.then(async () => {
      const wait = this.lastSent + intervalMs - Date.now();
      if (wait > 0) await sleep(wait);
      this.lastSent = Date.now();
      this.queued -= 1;
    });
    this.tail = turn;
    await turn;
    return Date.now() - started;
  }
}

/**
 * The same slots kept in Redis, so that replicas share them: one atomic script reads Redis's own
 * clock (replicas' clocks may differ) and takes the next slot. rate-limiter-flexible, used for the
 * client rate limits, counts whole-second windows in Redis, which let two windows meeting make a
 * burst of twice the budget; well-kept libraries for shared sub-second pacing on plain Redis were
 * not found (Bottleneck's clustering is unmaintained), hence these few lines.
 */
const RESERVE_SLOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nextSlot = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nextSlot)
local wait = slot - now
if wait > tonumber(ARGV[2]) then return -1 end
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', slot + interval), 'PX', math.ceil((wait + interval) / 1000) + 1000)
return math.ceil(wait / 1000)
`;

class SharedPacer implements Pacer {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    /** While Redis does not answer, this process keeps its own slots (each replica then spends the whole budget). */
    private readonly fallback: LocalPacer,
  ) {}

  async reserve(intervalMs: number, maxWaitMs: number): Promise<number | undefined> {
    let answer: unknown;
    try {
      answer = await this.redis.eval(RESERVE_SLOT, 1, this.key, String(Math.ceil(intervalMs * 1000)), String(maxWaitMs * 1000));
    } catch {
      return this.fallback.reserve(intervalMs, maxWaitMs);
    }
    const wait = Number(answer);
    if (wait < 0) return undefined;
    if (wait > 0) await sleep(wait);
    // This process's own spacing too, so that late timers here cannot bunch calls together.
    const local = await this.fallback.reserve(intervalMs, maxWaitMs);
    return local === undefined ? undefined : wait + local;
  }
}

/**
 * Who an AWS call is made for (a tenant, or a partner for its look-ups), so that a contended budget
 * serves them in fair turns. The domain names the party around the work it does for one
 * (`asParty`); calls made outside any party share one queue ("unattributed").
 */
const upstreamParty = new AsyncLocalStorage<string>();

export function asParty<T>(party: string, work: () => Promise<T>): Promise<T> {
  return upstreamParty.run(party, work);
}

interface Waiter {
  release: (granted: boolean) => void;
  deadline: number;
}

/**
 * Fair turns in front of a pacer: waiting calls queue per party, and each slot the pacer grants
 * goes to the next party in round-robin order, so a party never waits behind another party's
 * backlog, only behind one call of each other waiting party. Each party's queue is bounded by the
 * wait it implies (its place times the waiting parties times the interval): a flooder is refused
 * its own excess at once (retryable), while another party is still admitted. Across replicas the
 * slots stay shared (the pacer); the turns are per process.
 */
class FairTurns {
  private readonly queues = new Map<string, Waiter[]>();
  /** Parties with waiting calls, in the order of their next turn. */
  private readonly order: string[] = [];
  private pumping = false;

  constructor(private readonly pacer: Pacer) {}

  /** Waits for `party`'s turn and a slot: how long that took, or undefined (nothing taken) when the wait would pass `maxWaitMs`. */
  async reserve(party: string, intervalMs: number, maxWaitMs: number): Promise<number | undefined> {
    const queue = this.queues.get(party);
    const parties = this.queues.size + (queue ? 0 : 1);
    if (((queue?.length ?? 0) + 1) * parties * intervalMs > maxWaitMs) return undefined;
    const started = Date.now();
    const granted = await new Promise<boolean>((release) => {
      const waiter = { release, deadline: started + maxWaitMs };
      if (queue) queue.push(waiter);
      else {
        this.queues.set(party, [waiter]);
        this.order.push(party);
      }
      void this.pump(intervalMs);
    });
    return granted ? Date.now() - started : undefined;
  }

  private async pump(intervalMs: number): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.order.length > 0) {
        const party = this.order.shift()!;
        const queue = this.queues.get(party)!;
        const waiter = queue.shift()!;
        if (queue.length > 0) this.order.push(party);
        else this.queues.delete(party);
        if (Date.now() > waiter.deadline) {
          waiter.release(false);
          continue;
        }
        // The slot itself: local, or shared by the replicas through Redis (which may be busier).
        const waited = await this.pacer.reserve(intervalMs, Math.max(0, waiter.deadline - Date.now()));
        waiter.release(waited !== undefined);
      }
    } finally {
      this.pumping = false;
    }
  }
}

/**
 * Per budget, a pacer behind fair turns per party: in this process, or with Redis shared by the replicas of one AWS account and
 * Region (`scope`). A request over the budget waits for its turn rather than being throttled by
 * AWS; one that would wait longer than `maxWaitMs` is refused at once with UPSTREAM_UNAVAILABLE and
 * a retry time, and never reaches AWS.
 */
export class UpstreamBudgets {
  private readonly pacers = new Map<UpstreamBudgetName, FairTurns>();
  private readonly retryAfterSeconds: number;

  constructor(
    private readonly settings: UpstreamBudgetSettings,
    redis?: Redis,
  ) {
    this.retryAfterSeconds = Math.max(1, Math.ceil(settings.maxWaitMs / 1000));
    for (const name of UPSTREAM_BUDGET_NAMES) {
      const local = new LocalPacer();
      this.pacers.set(name, new FairTurns(redis ? new SharedPacer(redis, `s3broker:aws:${settings.scope}:${name}`, local) : local));
    }
  }

  private rateOf(name: UpstreamBudgetName): number {
    return this.settings.perSecond[name] ?? UPSTREAM_BUDGETS[name].perSecond;
  }

  /** Waits for a turn to call `operation`; throws UPSTREAM_UNAVAILABLE (retryable) when the wait would be too long. */
  async take(operation: string): Promise<void> {
    const name = budgetOf(operation);
    if (!name) return;
    // 10% slower than the budget: the time between a call leaving and reaching AWS varies (a busy
    // event loop, a new connection), and a budget's calls then span 1.1 s, so up to 100 ms of such
    // jitter still keeps any second AWS measures within the budget. 5% was measured not enough: a
    // loaded test machine once showed 6 arrivals in a second for a budget of 5.
    const waited = await this.pacers.get(name)!.reserve(upstreamParty.getStore() ?? "unattributed", 1100 / this.rateOf(name), this.settings.maxWaitMs);
    if (waited === undefined) {
      upstreamBudgetRefusals.inc({ budget: name });
      throw new UpstreamUnavailableError(`The broker is pacing its requests to AWS to stay within the account's quotas; try again in ${this.retryAfterSeconds} s.`, this.retryAfterSeconds);
    }
    if (waited >= 5) {
      upstreamBudgetWaits.inc({ budget: name });
      // On the AWS call's span (src/cognito/aws-clients.ts): how long its turn took.
      spanEvent("upstream_budget_wait", { "broker.upstream_budget": name, "broker.waited_ms": Math.round(waited) });
    }
  }

  /** Every attempt the client sends (retries included) takes its turn first. */
  attachTo<Input extends object, Output extends object>(client: { middlewareStack: MiddlewareStack<Input, Output> }): void {
    const middleware: FinalizeRequestMiddleware<Input, Output> = (next, context) => async (args) => {
      await this.take((context.commandName ?? "").replace(/Command$/, ""));
      return next(args);
    };
    client.middlewareStack.addRelativeTo(middleware, { relation: "after", toMiddleware: "retryMiddleware", name: "brokerUpstreamBudget", override: true });
  }
}
