import { describe, expect } from "vitest";
import type { BatchedReads } from "../../src/broker/connections/connections.service.js";
import { BadUserInputError } from "../../src/errors.js";
import { forbiddenReasonOf, poolAUser, type DomainKit } from "../support/domain.js";
import { domainTest as it } from "../support/fixtures.js";

/**
 * What callers read of a connection (src/broker/connections/connections.service.ts), the audit
 * trail's pages (src/broker/audit/audit-events.service.ts) and presigned URLs
 * (src/broker/objects/object-access.service.ts: presigning is local, so it needs no S3 here; the
 * e2e suite uploads and downloads through moto).
 */

const reads = (kit: DomainKit): BatchedReads => ({ connection: (id) => kit.store.getConnection(id), lastIssuance: (id) => kit.store.lastIssuance(id) });

describe("a connection's status", () => {
  it("before provisioning shows the tenant the caller would be pinned to; after, the pinned one and its prefix", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    const { connections } = kit.services;
    expect(await connections.status(alice, null, reads(kit), kit.meta)).toMatchObject({ state: "NOT_PROVISIONED", provisioned: false, tenant: "acme", identityId: null });
    await kit.lifecycle.provision(alice, null, kit.meta);
    expect(await connections.status(alice, null, reads(kit), kit.meta)).toMatchObject({ state: "ACTIVE", provisioned: true, tenant: "acme", prefix: "tenants/acme/" });
  });

  it("counts the last credentials down with the clock, and says when they have expired", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    const { connections } = kit.services;
    await kit.lifecycle.provision(alice, null, kit.meta);
    expect(await connections.credentialExpiry(alice, null, reads(kit), kit.meta)).toBeNull();
    await kit.issuance.issue(alice, { flow: "CLASSIC", durationSeconds: 900 }, kit.meta);
    kit.clock.now += 300_000;
    expect(await connections.credentialExpiry(alice, null, reads(kit), kit.meta)).toMatchObject({ secondsRemaining: 600, expired: false, flow: "CLASSIC" });
    kit.clock.now += 601_000;
    expect(await connections.credentialExpiry(alice, null, reads(kit), kit.meta)).toMatchObject({ secondsRemaining: 0, expired: true });
  });

  it("the list of every connection is the administrators', paged, filtered by tenant, and audited as their read", async ({ kit, admin }) => {
    const users = [poolAUser(kit, "acme"), poolAUser(kit, "acme"), poolAUser(kit, "globex")];
    for (const user of users) await kit.lifecycle.provision(user, null, kit.meta);
    const { connections } = kit.services;
    expect(await forbiddenReasonOf(connections.list(users[0]!, { first: 10 }, kit.meta))).toBe("NOT_ADMIN");
    const first = await connections.list(admin, { first: 1, tenant: "acme" }, kit.meta);
    expect(first.hasNextPage).toBe(true);
    const second = await connections.list(admin, { first: 1, tenant: "acme", after: first.endCursor }, kit.meta);
    expect([...first.nodes, ...second.nodes].map((n) => n.tenant)).toEqual(["acme", "acme"]);
    expect(second.hasNextPage).toBe(false);
    await expect(connections.list(admin, { first: 101 }, kit.meta)).rejects.toThrow(BadUserInputError);
    expect((await kit.store.auditEvents(admin.userId, 10)).filter((e) => e.action === "ADMIN_READ")).toHaveLength(2);
  });

  it("administrators find people by the start of their Pool A username; a search that would read differently is refused", async ({ kit, admin }) => {
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    await kit.lifecycle.provision(poolAUser(kit, "acme"), null, kit.meta);
    const found = await kit.services.connections.list(admin, { first: 10, search: alice.username!.slice(0, 12).toUpperCase() }, kit.meta);
    expect(found.nodes.map((n) => [n.userId, n.username])).toEqual([[alice.userId, alice.username]]);
    await expect(kit.services.connections.list(admin, { first: 10, search: "x".repeat(129) }, kit.meta)).rejects.toThrow(BadUserInputError);
    await expect(kit.services.connections.list(admin, { first: 10, search: "al\u202Eice" }, kit.meta)).rejects.toThrow(BadUserInputError);
  });

  it("administrators see and find people by the e-mail Pool A verified, learnt at provisioning without a Pool A search; an unverified one is never shown", async ({ kit, admin }) => {
    const alice = poolAUser(kit, "acme");
    const lookUps = kit.directory.lookUps;
    await kit.lifecycle.provision(alice, null, kit.meta);
    expect(kit.directory.lookUps).toBe(lookUps);
    const found = await kit.services.connections.list(admin, { first: 10, search: alice.email!.slice(0, 10).toUpperCase() }, kit.meta);
    expect(found.nodes.map((n) => [n.userId, n.email])).toEqual([[alice.userId, alice.email]]);

    // A user who set her own address, not yet verified: the token carries it, the broker does not keep it.
    const mallory = { ...poolAUser(kit, "acme"), email: null };
    await kit.lifecycle.provision(mallory, null, kit.meta);
    expect((await kit.store.getConnection(mallory.userId))!.poolAEmail).toBeNull();

    // Provisioned by an administrator: learnt from Pool A's attributes, verified ones only.
    const bob = poolAUser(kit, "acme");
    kit.directory.users.get(bob.userId)!.attributes.email_verified = "false";
    const carol = poolAUser(kit, "acme");
    await kit.lifecycle.provision(admin, bob.userId, kit.meta);
    await kit.lifecycle.provision(admin, carol.userId, kit.meta);
    expect((await kit.store.getConnection(bob.userId))!.poolAEmail).toBeNull();
    expect((await kit.store.getConnection(carol.userId))!).toMatchObject({ poolAUsername: carol.username, poolAEmail: carol.email });
  });

  it("a forced token refresh replaces the stored ID token, for the user themselves only", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    const before = (await kit.store.getPoolBTokens(alice.userId))!.idToken;
    const bob = poolAUser(kit, "acme");
    expect(await forbiddenReasonOf(kit.services.connections.refreshTokens(bob, alice.userId, kit.meta))).toBe("NOT_ADMIN");
    await kit.services.connections.refreshTokens(alice, null, kit.meta);
    expect((await kit.store.getPoolBTokens(alice.userId))!.idToken).not.toBe(before);
  });
});

describe("the audit trail's pages", () => {
  it("pages a user's own events newest first with an opaque cursor; a cursor that is not one is refused", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    await kit.issuance.issue(alice, { flow: "CLASSIC", durationSeconds: 900 }, kit.meta);
    const { auditEvents } = kit.services;
    const first = await auditEvents.page(alice, { first: 1 }, kit.meta);
    expect(first.nodes.map((n) => n.action)).toEqual(["ISSUE"]);
    const next = await auditEvents.page(alice, { first: 1, after: first.endCursor }, kit.meta);
    expect(next.nodes.map((n) => n.action)).toEqual(["PROVISION"]);
    await expect(auditEvents.page(alice, { first: 1, after: "1; DROP TABLE" }, kit.meta)).rejects.toThrow(/cursor returned by auditEvents/);
    expect(await forbiddenReasonOf(auditEvents.page(poolAUser(kit, "acme"), { userId: alice.userId, first: 5 }, kit.meta))).toBe("NOT_ADMIN");
  });
});

describe("presigned URLs", () => {
  it("a download is signed with credentials scoped to that one object, never longer than they live", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    const download = await kit.services.objects.download(alice, { key: "reports/q1.csv", expiresInSeconds: 3600 }, kit.meta);
    const url = new URL(download.url);
    expect(url.pathname).toBe("/company-data/tenants/acme/reports/q1.csv");
    const issued = kit.exchange.issued.at(-1)!;
    expect(url.searchParams.get("X-Amz-Credential")).toContain(issued.accessKeyId);
    expect(JSON.parse(issued.request!.sessionPolicy).Statement[0].Resource).toBe("arn:aws:s3:::company-data/tenants/acme/reports/q1.csv");
    // Backed by one hour of credentials, less a minute of slack.
    expect(Number(url.searchParams.get("X-Amz-Expires"))).toBe(3540);
  });

  it("an upload needs a WRITE grant and carries its size limit and exact key in the signed policy", async ({ kit, admin }) => {
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    expect(await forbiddenReasonOf(kit.services.objects.upload(alice, { key: "uploads/a.csv", maxBytes: 1024 }, kit.meta))).toBe("NO_GRANT");
    await kit.grants.create(admin, { tenant: "acme", location: "uploads/", permission: "READWRITE" }, kit.meta);
    const upload = await kit.services.objects.upload(alice, { key: "uploads/a.csv", maxBytes: 1024, contentType: "text/csv" }, kit.meta);
    const policy = JSON.parse(Buffer.from(upload.fields.Policy!, "base64").toString()) as { conditions: unknown[] };
    expect(policy.conditions).toEqual(expect.arrayContaining([["content-length-range", 0, 1024], ["eq", "$key", "tenants/acme/uploads/a.csv"], ["eq", "$Content-Type", "text/csv"]]));
    await expect(kit.services.objects.upload(alice, { key: "uploads/", maxBytes: 1024 }, kit.meta)).rejects.toThrow(/one object/);
    await expect(kit.services.objects.upload(alice, { key: "uploads/b.csv", maxBytes: 6 * 1024 ** 3 }, kit.meta)).rejects.toThrow(/5 GiB/);
  });

  it("keys that would leave the tenant's root are refused before anything is issued", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    await kit.lifecycle.provision(alice, null, kit.meta);
    for (const key of ["../globex/x.csv", "/etc/passwd", "a/../../b"]) {
      await expect(kit.services.objects.download(alice, { key }, kit.meta)).rejects.toThrow(BadUserInputError);
    }
    expect(kit.exchange.issued).toEqual([]);
  });
});
