import { setTimeout as sleep } from "node:timers/promises";
import { UpstreamError } from "../../cognito/aws-errors.js";
import type { IamDocuments } from "../../cognito/role-policies.js";
import { UpstreamRejectedError, UpstreamUnavailableError } from "../../errors.js";
import { denyListEntries, denyListFill, denyListWrites, tenantCutoffsWritten } from "../../metrics.js";
import { denyListCapacity, denyListDocument, shardOfTag, tenantCutoffPolicy } from "../../policy/policies.js";
import type { SessionDenial, Store, TenantCutoff } from "../../store/store.js";
import type { RequestMeta } from "../request-meta.js";
import type { UserLocks } from "../user-lock.js";

/** One shard: its roles (every session of its users has one of them) and its deny-list policies, attached to both. */
export interface Shard {
  readerRoleArn: string;
  writerRoleArn?: string | undefined;
  denyListPolicyArns: readonly string[];
}

export interface DenyListSettings {
  shards: readonly Shard[];
  /** A deny-list document's budget (IAM's managed-policy quota, 6,144). */
  denyListMaxChars: number;
  /** The last-resort inline policy on every tenant role, and its share of the role's 10,240 inline characters. */
  tenantCutoffPolicyName: string;
  tenantCutoffMaxChars: number;
}

export interface DenyEntry {
  tag: string;
  tenant: string;
  userId: string;
  /** When the last credential issued under the tag has expired (plus a margin). */
  until: Date;
}

/** What a deny did: wrote a document, found the tag already in force, or had to cut off the tenant (the last resort). */
export type DenyOutcome = "DENIED" | "ALREADY_IN_FORCE" | "TENANT_CUT_OFF";

/** An entry no write has placed yet. Placed entries have a slot from 0; this one is also what a tenant cut-off covers (applied). */
const UNPLACED = -1;
const FILL_WARNING = 0.5;
const FILL_ALARM = 0.8;
/** How long a process trusts what it read of the tenant cut-offs (another replica's is seen within this). */
const TENANT_CUTOFF_REFRESH_MS = 1_000;
const WRITE_ATTEMPTS = 3;

/**
 * Revocation at scale without collateral (docs/revocation.md). Each user's sessions carry a session
 * tag the broker owns; revoking denies the tag in one of the shard's deny-list documents (pure
 * membership), kept until the last credential issued under it has expired. Nothing else is
 * touched: no other user's tag is listed, no time condition can catch a credential issued later.
 *
 * Group commit: a deny records its entry, then takes the shard's lock; whoever holds the lock
 * places every waiting entry and writes each document that changed once, so a storm costs one write
 * per document per turn, not one per revocation. A deny whose entry is already applied writes
 * nothing (re-revocation converges). When every document of a shard is full (the fill gauges warn
 * at 50% and alarm at 80% long before), the only fallback is a deny on the one tenant's sessions
 * issued before now, audited and alarmed; it is never wider than that tenant.
 */
export class DenyLists {
  readonly capacityPerDocument: number;
  private tenantCutoffCache: { readAt: number; cutoffs: Map<string, Date> } | undefined;

  constructor(
    private readonly deps: { store: Store; iam: IamDocuments; locks: UserLocks; settings: DenyListSettings; now: () => number; log?: RequestMeta["log"] },
  ) {
    this.capacityPerDocument = denyListCapacity(deps.settings.denyListMaxChars);
  }

  get shardCount(): number {
    return this.deps.settings.shards.length;
  }

  shard(index: number): Shard | undefined {
    return this.deps.settings.shards[index];
  }

  /** Denies every session issued under `tag` until `until`. Idempotent: a tag already in force writes nothing. */
  async deny(entry: DenyEntry, meta: RequestMeta): Promise<DenyOutcome> {
    return this.flush(await this.record(entry), entry.tag, meta);
  }

  /** Records the entry for the shard's next write (the bulk path flushes each shard once); returns the shard. */
  async record(entry: DenyEntry): Promise<number> {
    const shard = shardOfTag(entry.tag);
    if (!this.shard(shard)) throw new Error(`session tag of an unconfigured shard ${shard}`);
    await this.deps.store.putSessionDenial({ tag: entry.tag, shard, slot: UNPLACED, tenant: entry.tenant, userId: entry.userId, expiresAt: entry.until });
    return shard;
  }

  /**
   * Places every entry of the shard no write has placed yet and writes each document that gained
   * one, once. Returns how `tag` (when given) stands afterwards; a write that fails leaves its
   * entries unplaced for the next turn (or a repeated revocation) and throws.
   */
  async flush(shard: number, tag: string | undefined, meta: RequestMeta): Promise<DenyOutcome> {
    const { store, locks } = this.deps;
    return locks.run(`deny-lists/${shard}`, async () => {
      const mine = tag === undefined ? null : await store.getSessionDenial(tag);
      if (mine?.applied) return "ALREADY_IN_FORCE";
      const counts = await store.denialSlotCounts(shard, new Date(this.deps.now()));
      const { placed, overflowed } = this.place(shard, await store.unplacedDenials(shard), counts);
      for (const [slot, added] of placed) await this.writeDocument(shard, slot, added, meta);
      if (overflowed.length > 0) await this.cutOffTenants(overflowed, meta);
      return mine && overflowed.some((d) => d.tag === mine.tag) ? "TENANT_CUT_OFF" : "DENIED";
    });
  }

  /**
   * The tenant's last-resort cut-off, if one is in force: credentials of the tenant issued before it
   * are dead and must not be handed out. Read at most once a second per process.
   */
  async tenantCutoff(tenant: string): Promise<Date | null> {
    const now = this.deps.now();
    if (!this.tenantCutoffCache || now - this.tenantCutoffCache.readAt > TENANT_CUTOFF_REFRESH_MS) {
      const cutoffs = await this.deps.store.tenantCutoffs(new Date(now));
      this.tenantCutoffCache = { readAt: now, cutoffs: new Map(cutoffs.map((c) => [c.tenant, roundedUp(c.cutoffAt)])) };
    }
    return this.tenantCutoffCache.cutoffs.get(tenant) ?? null;
  }

  /** Chooses the least-filled document for each unplaced entry; returns the entries each document gains, and those that fit nowhere. */
  private place(shard: number, unplaced: SessionDenial[], counts: Map<number, number>): { placed: Map<number, SessionDenial[]>; overflowed: SessionDenial[] } {
    const slots = Array.from({ length: this.shard(shard)!.denyListPolicyArns.length }, (_, slot) => counts.get(slot) ?? 0);
    const placed = new Map<number, SessionDenial[]>();
    const overflowed: SessionDenial[] = [];
    for (const denial of unplaced) {
      const slot = slots.indexOf(Math.min(...slots));
      if (slots[slot]! >= this.capacityPerDocument) {
        overflowed.push(denial);
        continue;
      }
      slots[slot]! += 1;
      placed.set(slot, [...(placed.get(slot) ?? []), denial]);
    }
    return { placed, overflowed };
  }

  /** Writes one document with the entries it holds and those it gains; then records the new ones as placed and applied. */
  private async writeDocument(shard: number, slot: number, added: SessionDenial[], meta: RequestMeta): Promise<void> {
    const policyArn = this.shard(shard)!.denyListPolicyArns[slot]!;
    const tags = [...(await this.deps.store.denialsInSlot(shard, slot)).map((d) => d.tag), ...added.map((d) => d.tag)].sort();
    await this.withRetries(() => this.deps.iam.putManagedPolicy(policyArn, denyListDocument(tags)), meta);
    await this.deps.store.placeDenials(added.map((d) => ({ tag: d.tag, slot, applied: true })));
    const fill = tags.length / this.capacityPerDocument;
    const labels = { shard: String(shard), slot: String(slot) };
    denyListEntries.set(labels, tags.length);
    denyListFill.set(labels, fill);
    const detail = { event: "deny_list_fill", shard, slot, entries: tags.length, capacity: this.capacityPerDocument, fill: Number(fill.toFixed(3)) };
    if (fill >= FILL_ALARM) meta.log.error(detail, "a deny-list document is over 80% full: add deny-list policies or shards (docs/revocation.md)");
    else if (fill >= FILL_WARNING) meta.log.warn(detail, "a deny-list document is over half full");
  }

  /**
   * The last resort: the overflowing users' tenants, each denied for sessions issued before now,
   * on every shard's roles (a tenant's users are on every shard). Never another tenant.
   */
  private async cutOffTenants(overflowed: SessionDenial[], meta: RequestMeta): Promise<void> {
    const { store, settings } = this.deps;
    const now = new Date(this.deps.now());
    for (const d of overflowed) await store.putTenantCutoff({ tenant: d.tenant, cutoffAt: now, expiresAt: d.expiresAt });
    const cutoffs: TenantCutoff[] = await store.tenantCutoffs(now);
    const rendered = tenantCutoffPolicy(cutoffs, settings.tenantCutoffMaxChars);
    if (!rendered || !rendered.fits) {
      denyListWrites.inc({ outcome: "quota_exceeded" });
      meta.log.error({ event: "tenant_cutoff_over_budget", tenants: cutoffs.length }, "the tenant cut-off policy is over its budget: the revocation is recorded but not in force");
      throw new UpstreamRejectedError("The broker's deny lists are full; the revocation is recorded and will be applied when room is made (operators are alarmed).");
    }
    for (const shard of settings.shards) {
      for (const roleArn of [shard.readerRoleArn, ...(shard.writerRoleArn ? [shard.writerRoleArn] : [])]) {
        await this.withRetries(() => this.deps.iam.putRolePolicy(roleArn, settings.tenantCutoffPolicyName, rendered.document), meta);
      }
    }
    await store.placeDenials(overflowed.map((d) => ({ tag: d.tag, slot: UNPLACED, applied: true })));
    this.tenantCutoffCache = undefined;
    tenantCutoffsWritten.inc(overflowed.length);
    meta.log.error(
      { event: "tenant_cutoff", tenants: [...new Set(overflowed.map((d) => d.tenant))], shard: overflowed[0]!.shard },
      "a shard's deny lists are full: the revoked users' tenants are cut off for sessions issued before now (their other users get new credentials)",
    );
  }

  /**
   * IAM writes are made with one SDK attempt (its LimitExceeded is a quota, not throttling): retryable
   * failures are tried again here a few times; an over-quota refusal is never retried, and is an
   * alarm rather than an outage.
   */
  private async withRetries(write: () => Promise<void>, meta: RequestMeta): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await write();
        denyListWrites.inc({ outcome: "ok" });
        return;
      } catch (error) {
        if (error instanceof UpstreamError && error.reason === "QUOTA_EXCEEDED") {
          denyListWrites.inc({ outcome: "quota_exceeded" });
          meta.log.error({ event: "deny_list_quota_exceeded", operation: error.operation, awsError: error.awsErrorName }, "IAM refused a deny-list write as over quota");
          throw new UpstreamRejectedError("AWS refused the deny-list write as over its quota; the revocation is recorded and operators are alarmed.").causedBy(error);
        }
        denyListWrites.inc({ outcome: "retryable_failure" });
        if (!(error instanceof UpstreamError && error.retryable) || attempt >= WRITE_ATTEMPTS) {
          throw error instanceof UpstreamError && error.retryable ? new UpstreamUnavailableError().causedBy(error) : error;
        }
        await sleep(100 * 2 ** attempt);
      }
    }
  }
}

const roundedUp = (at: Date) => new Date(Math.ceil(at.getTime() / 1000) * 1000);
