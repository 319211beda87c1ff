import { runSimulation } from "@cloud-copilot/iam-simulate";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DenyLists, type Shard } from "../../src/broker/lifecycle/deny-lists.js";
import type { RequestMeta } from "../../src/broker/request-meta.js";
import { UserLocks } from "../../src/broker/user-lock.js";
import { UpstreamError } from "../../src/cognito/aws-errors.js";
import { InMemoryIam } from "../../src/dev/in-memory-iam.js";
import { simulateRevocations } from "../../src/dev/revocation-simulation.js";
import { denyListDocument, tenantReadRolePolicy, type PolicyDocument } from "../../src/policy/policies.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { testCipher } from "../support/store-fixtures.js";

/**
 * The deny-list writer (src/broker/lifecycle/deny-lists.ts) on a real SQLite store and the
 * in-memory IAM that enforces IAM's quotas, with an injectable clock: the rules of revocation at
 * scale, in milliseconds. The emulator suites prove the same shapes reach moto's IAM.
 */
let dir: string;
let store: SqliteStore;
let clock: number;
let iam: InMemoryIam;
const logged: Array<{ level: string; event: unknown }> = [];
const meta: RequestMeta = {
  requestId: "test",
  log: {
    info: (o) => logged.push({ level: "info", event: (o as { event?: unknown }).event }),
    warn: (o) => logged.push({ level: "warn", event: (o as { event?: unknown }).event }),
    error: (o) => logged.push({ level: "error", event: (o as { event?: unknown }).event }),
  },
};
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const HOUR = 3_600_000;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "deny-lists-"));
  store = new SqliteStore(join(dir, "broker.sqlite"), testCipher);
  clock = T0;
  iam = new InMemoryIam(() => clock);
  logged.length = 0;
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function shardsOf(count: number, slots: number): Shard[] {
  return Array.from({ length: count }, (_, s) => {
    const shard = {
      readerRoleArn: `arn:aws:iam::123456789012:role/reader-${s}`,
      writerRoleArn: `arn:aws:iam::123456789012:role/writer-${s}`,
      denyListPolicyArns: Array.from({ length: slots }, (_, k) => `arn:aws:iam::123456789012:policy/deny-${s}-${k}`),
    };
    for (const arn of shard.denyListPolicyArns) iam.createPolicy(arn, denyListDocument([]), [shard.readerRoleArn, shard.writerRoleArn]);
    iam.setRolePermissions(shard.readerRoleArn, "tenant-prefix-read", tenantReadRolePolicy("company-data", "tenants/{tenant}/", s));
    return shard;
  });
}

function denyLists(shards: Shard[], denyListMaxChars = 6144): DenyLists {
  return new DenyLists({ store, iam, locks: new UserLocks(store), settings: { shards, denyListMaxChars, tenantCutoffPolicyName: "broker-tenant-cutoffs", tenantCutoffMaxChars: 8192 }, now: () => clock });
}

const tagOf = (shard: string, n: number) => `${shard}${n.toString(32).padStart(5, "0")}`;

/** A session of `tenant` with session tag `sid` issued at `issuedAt`, on shard 0's reader role as the in-memory IAM holds it. */
async function session(shard: Shard, tenant: string, sid: string, issuedAt: number): Promise<string> {
  const result = await runSimulation(
    {
      request: {
        principal: "arn:aws:sts::123456789012:assumed-role/reader-0/dp-x",
        action: "s3:GetObject",
        resource: { resource: `arn:aws:s3:::company-data/tenants/${tenant}/x`, accountId: "123456789012" },
        contextVariables: { "aws:PrincipalTag/tenant": tenant, "aws:PrincipalTag/sid": sid, "aws:TokenIssueTime": new Date(issuedAt).toISOString().replace(/\.\d{3}Z$/, "Z") },
      },
      identityPolicies: iam.documentsOf(shard.readerRoleArn),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

const denied = (document: PolicyDocument | undefined) =>
  ((document?.Statement[0]?.Condition as { StringEquals: Record<string, string[]> }).StringEquals["aws:PrincipalTag/sid"] ?? []).filter((t) => t !== "-");

describe("revocation at scale, zero collateral (the real writer, an in-memory IAM with IAM's quotas)", () => {
  it("a storm of 1,000 revocations among 1,200 users: every revoked session denied, every other user's allowed, within every quota", async () => {
    const report = await simulateRevocations({
      users: 1_200,
      revocationsPerHour: 10_000,
      hours: 0.1,
      shards: 2,
      denyListsPerShard: 2,
      sessionSeconds: 43_200,
      tenants: 7,
      checkEveryMinutes: 2,
      samplesPerCheck: 6,
      storePath: join(dir, "simulation.sqlite"),
    });
    console.log(`storm: ${JSON.stringify(report)}`);
    expect(report.revocations).toBe(1_000);
    // Far above the old policy's ~170 users before it denied whole roles.
    expect(report.missingLiveEntries).toBe(0);
    expect(report.collateralEntries).toBe(0);
    expect(report.tenantCutoffs).toBe(0);
    expect(report.revokedSessionsDenied).toBe(report.revokedSessionsSampled);
    expect(report.otherSessionsAllowed).toBe(report.otherSessionsSampled);
    expect(report.revokedSessionsSampled).toBeGreaterThan(10);
    expect(report.peakManagedPolicyChars).toBeLessThanOrEqual(6144);
    expect(report.peakEntriesPerDocument).toBeLessThanOrEqual(report.capacityPerDocument);
  });

  it("a tag whose credentials have all expired is pruned, and only then", async () => {
    const [shard] = shardsOf(1, 1);
    const lists = denyLists([shard!]);
    await lists.deny({ tag: tagOf("a", 1), tenant: "acme", userId: "u1", until: new Date(T0 + HOUR) }, meta);
    clock = T0 + HOUR - 1;
    await lists.deny({ tag: tagOf("a", 2), tenant: "acme", userId: "u2", until: new Date(T0 + 2 * HOUR) }, meta);
    expect(denied(iam.managedDocument(shard!.denyListPolicyArns[0]!))).toEqual([tagOf("a", 1), tagOf("a", 2)]);
    clock = T0 + HOUR;
    await lists.deny({ tag: tagOf("a", 3), tenant: "acme", userId: "u3", until: new Date(T0 + 3 * HOUR) }, meta);
    expect(denied(iam.managedDocument(shard!.denyListPolicyArns[0]!))).toEqual([tagOf("a", 2), tagOf("a", 3)]);
  });

  it("re-revocation changes nothing already in force: no IAM write", async () => {
    const [shard] = shardsOf(1, 2);
    const lists = denyLists([shard!]);
    const entry = { tag: tagOf("a", 7), tenant: "acme", userId: "u7", until: new Date(T0 + HOUR) };
    expect(await lists.deny(entry, meta)).toBe("DENIED");
    const writes = iam.writes.length;
    expect(await lists.deny(entry, meta)).toBe("ALREADY_IN_FORCE");
    expect(iam.writes.length).toBe(writes);
  });

  it("completes what an earlier attempt left undone: a failed write leaves the entry for the next turn, which writes it", async () => {
    const [shard] = shardsOf(1, 1);
    const lists = denyLists([shard!]);
    iam.failNext = { count: 3, error: () => new UpstreamError("CreatePolicyVersion", "UNAVAILABLE", "ThrottlingException", 400) };
    await expect(lists.deny({ tag: tagOf("a", 1), tenant: "acme", userId: "u1", until: new Date(T0 + HOUR) }, meta)).rejects.toMatchObject({ extensions: { code: "UPSTREAM_UNAVAILABLE" } });
    expect(denied(iam.managedDocument(shard!.denyListPolicyArns[0]!))).toEqual([]);
    // The same revocation run again (the docs' advice) writes it.
    expect(await lists.deny({ tag: tagOf("a", 1), tenant: "acme", userId: "u1", until: new Date(T0 + HOUR) }, meta)).toBe("DENIED");
    expect(denied(iam.managedDocument(shard!.denyListPolicyArns[0]!))).toEqual([tagOf("a", 1)]);
  });

  it("an over-quota write is an alarm, never retried as throttling nor reported as an outage", async () => {
    const [shard] = shardsOf(1, 1);
    const lists = denyLists([shard!]);
    let attempts = 0;
    iam.failNext = {
      count: 5,
      error: () => {
        attempts += 1;
        return new UpstreamError("CreatePolicyVersion", "QUOTA_EXCEEDED", "LimitExceededException", 409);
      },
    };
    await expect(lists.deny({ tag: tagOf("a", 1), tenant: "acme", userId: "u1", until: new Date(T0 + HOUR) }, meta)).rejects.toMatchObject({ extensions: { code: "UPSTREAM_REJECTED" } });
    expect(attempts).toBe(1);
    expect(logged).toContainEqual({ level: "error", event: "deny_list_quota_exceeded" });
  });

  it("group commit: 60 revocations at once cost a handful of writes, not 60", async () => {
    const [shard] = shardsOf(1, 3);
    const lists = denyLists([shard!]);
    await Promise.all(Array.from({ length: 60 }, (_, i) => lists.deny({ tag: tagOf("a", i), tenant: "acme", userId: `u${i}`, until: new Date(T0 + HOUR) }, meta)));
    const all = shard!.denyListPolicyArns.flatMap((arn) => denied(iam.managedDocument(arn)));
    expect(all.sort()).toEqual(Array.from({ length: 60 }, (_, i) => tagOf("a", i)).sort());
    // Each document write is two IAM writes (a new version, the old one deleted).
    expect(iam.writes.length).toBeLessThanOrEqual(2 * 3 * 2);
  });

  it("warns at half full and alarms at 80%, per document", async () => {
    const [shard] = shardsOf(1, 1);
    const lists = denyLists([shard!], 300);
    const capacity = lists.capacityPerDocument;
    for (let i = 0; i < Math.ceil(capacity * 0.8); i++) await lists.deny({ tag: tagOf("a", i), tenant: "acme", userId: `u${i}`, until: new Date(T0 + HOUR) }, meta);
    expect(logged.filter((l) => l.event === "deny_list_fill").map((l) => l.level)).toContain("warn");
    expect(logged.filter((l) => l.event === "deny_list_fill").at(-1)!.level).toBe("error");
  });

  it("when every document of a shard is full, the last resort cuts off only the overflowing tenant, before now, and audits it", async () => {
    const shards = shardsOf(2, 1);
    const lists = denyLists(shards, 300);
    const capacity = lists.capacityPerDocument;
    for (let i = 0; i < capacity; i++) await lists.deny({ tag: tagOf("a", i), tenant: "acme", userId: `u${i}`, until: new Date(T0 + HOUR) }, meta);
    expect(await lists.tenantCutoff("acme")).toBeNull();
    clock = T0 + 10_000;
    expect(await lists.deny({ tag: tagOf("a", 999), tenant: "acme", userId: "u999", until: new Date(T0 + HOUR) }, meta)).toBe("TENANT_CUT_OFF");
    expect(logged).toContainEqual({ level: "error", event: "tenant_cutoff" });
    // Sessions of acme issued before the cut-off are denied, also the overflowing user's; after it, allowed.
    expect(await session(shards[0]!, "acme", tagOf("a", 999), T0 + 5_000)).toBe("ExplicitlyDenied");
    expect(await session(shards[0]!, "acme", tagOf("a", 5000), T0 + 5_000)).toBe("ExplicitlyDenied");
    expect(await session(shards[0]!, "acme", tagOf("a", 5000), T0 + 12_000)).toBe("Allowed");
    // Another tenant, on the full shard or another, is untouched whatever its sessions' age.
    expect(await session(shards[0]!, "globex", tagOf("a", 5001), T0 - HOUR)).toBe("Allowed");
    expect(await session(shards[1]!, "acme", tagOf("b", 1), T0 + 5_000)).toBe("ExplicitlyDenied");
    expect(await session(shards[1]!, "globex", tagOf("b", 2), T0 - HOUR)).toBe("Allowed");
    // The broker knows which credentials that cut-off killed (it never hands them out).
    expect((await lists.tenantCutoff("acme"))!.getTime()).toBe(T0 + 10_000);
    expect(await lists.tenantCutoff("globex")).toBeNull();
    // Every inline budget still holds.
    expect(iam.peaks.inlineCharsPerRole).toBeLessThanOrEqual(10_240);
  });
});
