import { describe, expect } from "vitest";
import { BadUserInputError, RateLimitedError } from "../../src/errors.js";
import { domainKit, forbiddenReasonOf, partnerOf, poolAUser } from "../support/domain.js";
import { domainTestWith } from "../support/fixtures.js";

/**
 * Partners acting for users of their tenants, and administrators whose role is re-read in Pool A
 * for every act (src/broker/access/acting.ts), on the domain kit: the rules the security suite's
 * partner and standing tests prove over HTTP.
 */
const CLASSIC_900 = { flow: "CLASSIC" as const, durationSeconds: 900 };
const it = domainTestWith({ PARTNER_CLIENTS: "acmepartner=acme", RATE_LIMIT_PARTNER_LOOKUPS_PER_MINUTE: "3" });

describe("partners", () => {
  it("act for a user of one of their tenants, named by id, and the act is audited as theirs", async ({ kit }) => {
    const partner = partnerOf("acmepartner", ["acme"]);
    const alice = poolAUser(kit, "acme");
    await expect(kit.lifecycle.provision(partner, null, kit.meta)).rejects.toThrow(BadUserInputError);
    expect((await kit.lifecycle.provision(partner, alice.userId, kit.meta)).tenant).toBe("acme");
    await kit.issuance.issue(partner, { ...CLASSIC_900, userId: alice.userId }, kit.meta);
    const issued = (await kit.store.auditEvents(alice.userId, 10)).find((e) => e.action === "ISSUE")!;
    expect(issued).toMatchObject({ actorUserId: "partner:acmepartner", subjectUserId: alice.userId, tenant: "acme" });
  });

  it("get the same refusal for another tenant's user and for a user who does not exist, and nothing is made", async ({ kit }) => {
    const partner = partnerOf("acmepartner", ["acme"]);
    const bob = poolAUser(kit, "globex");
    const other = await forbiddenReasonOf(kit.lifecycle.provision(partner, bob.userId, kit.meta));
    const unknown = await forbiddenReasonOf(kit.lifecycle.provision(partner, "no-such-user", kit.meta));
    expect([other, unknown]).toEqual(["PARTNER_TENANT", "PARTNER_TENANT"]);
    expect(await kit.store.getConnection(bob.userId)).toBeNull();
    expect(kit.pool.calls).toEqual([]);
  });

  it("pay for looking up users the broker does not know: past the limit they are refused before Pool A is asked", async ({ kit }) => {
    const partner = partnerOf("acmepartner", ["acme"]);
    for (let i = 0; i < 3; i++) await forbiddenReasonOf(kit.lifecycle.provision(partner, `random-${i}`, kit.meta));
    const lookUps = kit.directory.lookUps;
    await expect(kit.lifecycle.provision(partner, "random-4", kit.meta)).rejects.toThrow(RateLimitedError);
    expect(kit.directory.lookUps).toBe(lookUps);
    // Users already provisioned in its tenant cost nothing: no look-up charged.
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(poolAUser(kit, "acme", { admin: true }), alice.userId, kit.meta);
    await kit.issuance.issue(partner, { ...CLASSIC_900, userId: alice.userId }, kit.meta);
  });

  it("a user Pool A has moved out of the partner's tenant, but the broker not yet, is out of reach", async ({ kit }) => {
    const partner = partnerOf("acmepartner", ["acme"]);
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    kit.directory.users.get(alice.userId)!.attributes["custom:tenant"] = "globex";
    kit.standing.forget(alice.userId);
    expect(await forbiddenReasonOf(kit.issuance.issue(partner, { ...CLASSIC_900, userId: alice.userId }, kit.meta))).toBe("PARTNER_TENANT");
  });

  it("a key a partner made stops working once the broker no longer lets the partner act in the tenant", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    const { secret } = await kit.clientKeys.create(partnerOf("acmepartner", ["acme"]), alice.userId, { name: "partner export", ...CLASSIC_900 }, kit.meta);
    await kit.credentialsWithKey(secret);
    // The operator takes acme away from the partner (PARTNER_CLIENTS) and restarts the broker.
    const restarted = domainKit({ PARTNER_CLIENTS: "acmepartner=initech" }, { replicaOf: kit });
    try {
      expect(await forbiddenReasonOf(restarted.credentialsWithKey(secret))).toBe("PARTNER_NOT_ALLOWED");
    } finally {
      await restarted.close();
    }
  });
});

describe("administrators", () => {
  it("who lose the role in Pool A are refused at once on every administrators' act, though their token still says admin", async ({ kit }) => {
    const admin = poolAUser(kit, "acme", { admin: true });
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    await kit.services.connections.list(admin, { first: 5 }, kit.meta);
    kit.directory.users.get(admin.userId)!.groups = [];
    const acts = [
      kit.services.connections.list(admin, { first: 5 }, kit.meta),
      kit.grants.create(admin, { tenant: "acme", location: "x/", permission: "READ" }, kit.meta),
      kit.lifecycle.revoke(admin, alice.userId, kit.meta),
      kit.lifecycle.revokeMany(admin, [alice.userId], kit.meta),
      kit.issuance.issue(admin, { ...CLASSIC_900, userId: alice.userId }, kit.meta),
    ];
    for (const act of acts) expect(await forbiddenReasonOf(act)).toBe("ADMIN_ROLE_LOST");
    expect((await kit.store.getConnection(alice.userId))!.state).toBe("ACTIVE");
  });

  it("who are disabled in Pool A are refused too", async ({ kit }) => {
    const admin = poolAUser(kit, "acme", { admin: true });
    kit.directory.users.get(admin.userId)!.enabled = false;
    expect(await forbiddenReasonOf(kit.services.connections.list(admin, { first: 5 }, kit.meta))).toBe("ADMIN_ROLE_LOST");
  });
});
