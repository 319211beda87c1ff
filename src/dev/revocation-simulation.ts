import { runSimulation } from "@cloud-copilot/iam-simulate";
import { randomBytes } from "node:crypto";
import { DenyLists, type Shard } from "../broker/lifecycle/deny-lists.js";
import { DENY_EXPIRY_MARGIN_MS } from "../broker/lifecycle/lifecycle.service.js";
import type { RequestMeta } from "../broker/request-meta.js";
import { UserLocks } from "../broker/user-lock.js";
import { denyListDocument, SESSION_TAG_ALPHABET, SESSION_TAG_KEY, shardTagPrefix, TENANT_TAG_KEY, tenantReadRolePolicy } from "../policy/policies.js";
import { SqliteStore } from "../store/sqlite-store.js";
import { TokenCipher } from "../store/token-cipher.js";
import { DEFAULT_IAM_QUOTAS, InMemoryIam } from "./in-memory-iam.js";

/**
 * A simulated stretch of revocations at a steady rate, over the real deny-list writer
 * (src/broker/lifecycle/deny-lists.ts) with a real SQLite store, an injectable clock and the
 * in-memory IAM that enforces IAM's quotas. Every revoked user holds a session of the longest
 * lifetime, issued just before the revocation. At regular instants it checks every live revoked
 * tag is on its shard's deny lists (nothing pruned too early), that nothing else is, and evaluates
 * sampled sessions with the IAM policy simulator against what the in-memory IAM holds.
 */
export interface RevocationSimulationOptions {
  users: number;
  revocationsPerHour: number;
  hours: number;
  shards: number;
  denyListsPerShard: number;
  /** The longest session the broker hands out (the revoked users all hold one). */
  sessionSeconds: number;
  tenants: number;
  /** Simulated minutes between checks, and sessions evaluated with the simulator at each. */
  checkEveryMinutes: number;
  samplesPerCheck: number;
  storePath: string;
  denyListMaxChars?: number;
  /** Revocations sent together (group commit); 1 is the worst case for IAM writes. */
  concurrency?: number;
  attachedPerRole?: number;
}

export interface RevocationSimulationReport {
  revocations: number;
  simulatedHours: number;
  wallSeconds: number;
  revocationsPerWallSecond: number;
  capacityPerDocument: number;
  capacityTotal: number;
  peakLiveEntries: number;
  peakEntriesPerDocument: number;
  peakFill: number;
  peakManagedPolicyChars: number;
  iamWrites: number;
  peakIamWritesPerSecond: number;
  tenantCutoffs: number;
  checks: number;
  /** Live revoked tags missing from their shard's deny lists at a check: must be 0. */
  missingLiveEntries: number;
  /** Tags on a deny list that belong to no revoked user: must be 0. */
  collateralEntries: number;
  revokedSessionsSampled: number;
  revokedSessionsDenied: number;
  otherSessionsSampled: number;
  otherSessionsAllowed: number;
}

const ACCOUNT = "123456789012";
const BUCKET = "company-data";
const TEMPLATE = "tenants/{tenant}/";

const silentMeta: RequestMeta = { requestId: "simulation", log: { info: () => undefined, warn: () => undefined, error: () => undefined } };

/** User i's tag: its shard's letter and i in base32 (unique for up to 32^5 users). */
function tagOf(user: number, shards: number): string {
  let digits = "";
  for (let n = user, k = 0; k < 5; k++, n = Math.floor(n / 32)) digits = SESSION_TAG_ALPHABET[n % 32] + digits;
  return shardTagPrefix(((user * 2654435761) >>> 0) % shards) + digits;
}

export async function simulateRevocations(options: RevocationSimulationOptions): Promise<RevocationSimulationReport> {
  const started = Date.now();
  let clock = Date.UTC(2026, 11, 1, 0, 0, 0);
  const now = () => clock;
  const store = new SqliteStore(options.storePath, new TokenCipher("sim", new Map([["sim", randomBytes(32)]])));
  const iam = new InMemoryIam(now, { ...DEFAULT_IAM_QUOTAS, attachedPerRole: options.attachedPerRole ?? DEFAULT_IAM_QUOTAS.attachedPerRole });
  const shards: Shard[] = [];
  for (let s = 0; s < options.shards; s++) {
    const readerRoleArn = `arn:aws:iam::${ACCOUNT}:role/tenant-reader-${s}`;
    const writerRoleArn = `arn:aws:iam::${ACCOUNT}:role/tenant-writer-${s}`;
    const denyListPolicyArns = Array.from({ length: options.denyListsPerShard }, (_, k) => `arn:aws:iam::${ACCOUNT}:policy/deny-list-${s}-${k}`);
    for (const arn of denyListPolicyArns) iam.createPolicy(arn, denyListDocument([]), [readerRoleArn, writerRoleArn]);
    iam.setRolePermissions(readerRoleArn, "tenant-prefix-read", tenantReadRolePolicy(BUCKET, TEMPLATE, s));
    shards.push({ readerRoleArn, writerRoleArn, denyListPolicyArns });
  }
  const denyLists = new DenyLists({
    store,
    iam,
    locks: new UserLocks(store),
    settings: { shards, denyListMaxChars: options.denyListMaxChars ?? DEFAULT_IAM_QUOTAS.managedPolicyChars, tenantCutoffPolicyName: "broker-tenant-cutoffs", tenantCutoffMaxChars: 8192 },
    now,
  });
  const capacityPerDocument = denyLists.capacityPerDocument;
  const report: RevocationSimulationReport = {
    revocations: 0,
    simulatedHours: options.hours,
    wallSeconds: 0,
    revocationsPerWallSecond: 0,
    capacityPerDocument,
    capacityTotal: capacityPerDocument * options.shards * options.denyListsPerShard,
    peakLiveEntries: 0,
    peakEntriesPerDocument: 0,
    peakFill: 0,
    peakManagedPolicyChars: 0,
    iamWrites: 0,
    peakIamWritesPerSecond: 0,
    tenantCutoffs: 0,
    checks: 0,
    missingLiveEntries: 0,
    collateralEntries: 0,
    revokedSessionsSampled: 0,
    revokedSessionsDenied: 0,
    otherSessionsSampled: 0,
    otherSessionsAllowed: 0,
  };
  const total = Math.round(options.revocationsPerHour * options.hours);
  if (total > options.users) throw new Error("more revocations than users: each user is revoked once");
  const spacingMs = 3_600_000 / options.revocationsPerHour;
  const sessionMs = options.sessionSeconds * 1000;
  /** Revoked users and when their session (issued just before the revocation) expires. */
  const revoked: Array<{ user: number; tag: string; tenant: string; sessionIssuedAt: number; sessionExpiresAt: number }> = [];
  const revokedTags = new Set<string>();
  const concurrency = options.concurrency ?? 1;
  let nextCheck = clock + options.checkEveryMinutes * 60_000;
  const start = clock;
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

  for (let k = 0; k < total; k += concurrency) {
    const batch = [];
    for (let j = k; j < Math.min(total, k + concurrency); j++) {
      clock = start + Math.round(j * spacingMs);
      // A distinct user per revocation (7919 is coprime to any user count not divisible by it).
      const user = (j * 7919) % options.users;
      const tag = tagOf(user, options.shards);
      const tenant = `t${user % options.tenants}`;
      const sessionIssuedAt = clock - Math.floor(random() * 60_000);
      const sessionExpiresAt = sessionIssuedAt + sessionMs;
      revoked.push({ user, tag, tenant, sessionIssuedAt, sessionExpiresAt });
      revokedTags.add(tag);
      batch.push(denyLists.deny({ tag, tenant, userId: `u${user}`, until: new Date(sessionExpiresAt + DENY_EXPIRY_MARGIN_MS) }, silentMeta));
    }
    const outcomes = await Promise.all(batch);
    report.tenantCutoffs += outcomes.filter((o) => o === "TENANT_CUT_OFF").length;
    report.revocations += batch.length;
    while (clock >= nextCheck) {
      await check(nextCheck);
      nextCheck += options.checkEveryMinutes * 60_000;
    }
  }
  await check(clock);

  async function check(at: number): Promise<void> {
    report.checks += 1;
    const listed = new Set<string>();
    for (const shard of shards) {
      for (const arn of shard.denyListPolicyArns) {
        const values = denyTags(iam.managedDocument(arn)!);
        report.peakEntriesPerDocument = Math.max(report.peakEntriesPerDocument, values.length);
        for (const v of values) listed.add(v);
      }
    }
    report.peakFill = report.peakEntriesPerDocument / capacityPerDocument;
    const live = revoked.filter((r) => r.sessionExpiresAt > at);
    report.peakLiveEntries = Math.max(report.peakLiveEntries, live.length);
    report.missingLiveEntries += live.filter((r) => !listed.has(r.tag)).length;
    report.collateralEntries += [...listed].filter((t) => !revokedTags.has(t)).length;
    for (let i = 0; i < options.samplesPerCheck && live.length > 0; i++) {
      const r = live[Math.floor(random() * live.length)]!;
      report.revokedSessionsSampled += 1;
      if ((await decide(r.tag, r.tenant, r.sessionIssuedAt)) === "Denied") report.revokedSessionsDenied += 1;
      // A user nobody revoked, with a session issued before, around or after this revocation.
      let other = Math.floor(random() * options.users);
      while (revokedTags.has(tagOf(other, options.shards))) other = (other + 1) % options.users;
      const issuedAt = at - [sessionMs - 60_000, 1_000, 0][i % 3]!;
      report.otherSessionsSampled += 1;
      if ((await decide(tagOf(other, options.shards), `t${other % options.tenants}`, issuedAt)) === "Allowed") report.otherSessionsAllowed += 1;
    }
  }

  async function decide(tag: string, tenant: string, issuedAt: number): Promise<"Allowed" | "Denied"> {
    const shard = shards[SESSION_TAG_ALPHABET.indexOf(tag[0]!)]!;
    const result = await runSimulation(
      {
        request: {
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/tenant-reader/dp-sim`,
          action: "s3:GetObject",
          resource: { resource: `arn:aws:s3:::${BUCKET}/tenants/${tenant}/readings/x.csv`, accountId: ACCOUNT },
          contextVariables: {
            [`aws:PrincipalTag/${TENANT_TAG_KEY}`]: tenant,
            [`aws:PrincipalTag/${SESSION_TAG_KEY}`]: tag,
            "aws:TokenIssueTime": new Date(issuedAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
          },
        },
        identityPolicies: iam.documentsOf(shard.readerRoleArn),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (result.resultType === "error") throw new Error(`simulation error: ${JSON.stringify(result.errors)}`);
    return result.overallResult === "Allowed" ? "Allowed" : "Denied";
  }

  await store.close();
  report.peakManagedPolicyChars = iam.peaks.managedPolicyChars;
  report.iamWrites = iam.writes.length;
  report.peakIamWritesPerSecond = iam.peakWrites(1000);
  report.wallSeconds = (Date.now() - started) / 1000;
  report.revocationsPerWallSecond = report.revocations / report.wallSeconds;
  return report;
}

function denyTags(document: { Statement: Array<Record<string, unknown>> }): string[] {
  return document.Statement.flatMap((s) => {
    const values = (s.Condition as { StringEquals?: Record<string, string[]> } | undefined)?.StringEquals?.[`aws:PrincipalTag/${SESSION_TAG_KEY}`] ?? [];
    return values.filter((v) => v !== "-");
  });
}
