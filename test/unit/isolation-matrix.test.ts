import { describe, expect } from "vitest";
import type { Principal } from "../../src/auth/principal.js";
import { type DomainKit, forbiddenReasonOf, partnerOf, poolAUser } from "../support/domain.js";
import { domainTestWith } from "../support/fixtures.js";

/**
 * One tenant never reaches another's user, through any act: every operation of the domain, tried
 * by a user of another tenant and by a partner of another tenant on a provisioned user of acme.
 * Each is refused with its reason, and nothing reaches AWS or changes for the user. The security
 * suite (test/security/tenant-isolation.test.ts) proves the same over HTTP and on IAM's simulator.
 */
interface Victim {
  userId: string;
  keyId: string;
}

const OPERATIONS: Array<[name: string, act: (kit: DomainKit, caller: Principal, victim: Victim) => Promise<unknown>]> = [
  ["connection status", (kit, caller, v) => kit.services.connections.status(caller, v.userId, { connection: (id) => kit.store.getConnection(id), lastIssuance: (id) => kit.store.lastIssuance(id) }, kit.meta)],
  ["credential expiry", (kit, caller, v) => kit.services.connections.credentialExpiry(caller, v.userId, { connection: (id) => kit.store.getConnection(id), lastIssuance: (id) => kit.store.lastIssuance(id) }, kit.meta)],
  ["issueCredentials", (kit, caller, v) => kit.issuance.issue(caller, { flow: "CLASSIC", durationSeconds: 900, userId: v.userId }, kit.meta)],
  ["a presigned download", (kit, caller, v) => kit.services.objects.download(caller, { key: "a.csv", userId: v.userId }, kit.meta)],
  ["a presigned upload", (kit, caller, v) => kit.services.objects.upload(caller, { key: "a.csv", maxBytes: 10, userId: v.userId }, kit.meta)],
  ["presigned downloads in one request", (kit, caller, v) => kit.services.objects.downloads(caller, { keys: ["a.csv", "b.csv"], attachment: true, userId: v.userId }, kit.meta)],
  ["presigned uploads in one request", (kit, caller, v) => kit.services.objects.uploads(caller, { files: [{ key: "in/a.csv", maxBytes: 10 }, { key: "in/b.csv", maxBytes: 10 }], userId: v.userId }, kit.meta)],
  ["myAccess", (kit, caller, v) => kit.grants.myAccess(caller, v.userId, kit.meta)],
  ["the audit trail", (kit, caller, v) => kit.services.auditEvents.page(caller, { userId: v.userId, first: 5 }, kit.meta)],
  ["the client keys' list", (kit, caller, v) => kit.clientKeys.list(caller, v.userId, kit.meta)],
  ["a new client key", (kit, caller, v) => kit.clientKeys.create(caller, v.userId, { name: "x", flow: "CLASSIC", durationSeconds: 900 }, kit.meta)],
  ["a token refresh", (kit, caller, v) => kit.services.connections.refreshTokens(caller, v.userId, kit.meta)],
  ["provisioning", (kit, caller, v) => kit.lifecycle.provision(caller, v.userId, kit.meta)],
  ["revocation", (kit, caller, v) => kit.lifecycle.revoke(caller, v.userId, kit.meta)],
];

const it = domainTestWith({ PARTNER_CLIENTS: "globexpartner=globex" });

async function victimIn(kit: DomainKit): Promise<Victim> {
  const alice = poolAUser(kit, "acme");
  await kit.lifecycle.provision(alice, null, kit.meta);
  const { key } = await kit.clientKeys.create(alice, null, { name: "alice's", flow: "CLASSIC", durationSeconds: 900 }, kit.meta);
  return { userId: alice.userId, keyId: key.id };
}

async function untouched(kit: DomainKit, victim: Victim, poolCalls: number) {
  expect(kit.exchange.issued).toEqual([]);
  expect(kit.pool.calls.length).toBe(poolCalls);
  expect((await kit.store.getConnection(victim.userId))!.state).toBe("ACTIVE");
  expect(await kit.store.listClientKeys(victim.userId)).toHaveLength(1);
}

describe("a user of another tenant", () => {
  it.for(OPERATIONS)("is refused %s for acme's user", async ([, act], { kit }) => {
    const victim = await victimIn(kit);
    const calls = kit.pool.calls.length;
    expect(await forbiddenReasonOf(act(kit, poolAUser(kit, "globex"), victim))).toBe("NOT_ADMIN");
    await untouched(kit, victim, calls);
  });

  it("cannot revoke acme's user's key: the same answer as a key that does not exist", async ({ kit }) => {
    const victim = await victimIn(kit);
    await expect(kit.clientKeys.revoke(poolAUser(kit, "globex"), victim.keyId, kit.meta)).rejects.toThrow("No client key of yours with that id.");
    expect((await kit.store.getClientKey(victim.keyId))!.revokedAt).toBeNull();
  });
});

describe("a partner of another tenant", () => {
  it.for(OPERATIONS)("is refused %s for acme's user, as if the user did not exist", async ([, act], { kit }) => {
    const victim = await victimIn(kit);
    const calls = kit.pool.calls.length;
    expect(await forbiddenReasonOf(act(kit, partnerOf("globexpartner", ["globex"]), victim))).toBe("PARTNER_TENANT");
    await untouched(kit, victim, calls);
  });
});
