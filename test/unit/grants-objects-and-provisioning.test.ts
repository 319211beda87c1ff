import { describe, expect } from "vitest";
import { BadUserInputError, NotProvisionedError } from "../../src/errors.js";
import { forbiddenReasonOf, poolAUser, provisionedUser } from "../support/domain.js";
import { domainTest as it } from "../support/fixtures.js";

/**
 * The edges of grants, presigned URLs and provisioning on the domain kit (AWS in memory): each
 * rule a caller meets, with the refusal it gets, and that nothing reaches AWS when it is refused.
 */
const CLASSIC_900 = { flow: "CLASSIC" as const, durationSeconds: 900 };


describe("grants, as administrators manage them", () => {
  it("list a tenant's grants for administrators only; a tenant name that is not one is refused", async ({ kit, admin }) => {
    await kit.grants.create(admin, { tenant: "acme", location: "reports/", permission: "READ" }, kit.meta);
    expect((await kit.grants.list(admin, "acme", kit.meta)).map((g) => g.location)).toEqual(["reports/"]);
    // A tenant that never had a grant shows the default one: READ on its whole prefix.
    expect(await kit.grants.list(admin, "globex", kit.meta)).toEqual([expect.objectContaining({ id: "default", location: "", permission: "READ" })]);
    expect(await forbiddenReasonOf(kit.grants.list(poolAUser(kit, "acme"), "acme", kit.meta))).toBe("NOT_ADMIN");
    await expect(kit.grants.list(admin, "../acme", kit.meta)).rejects.toThrow(BadUserInputError);
  });

  it("removing a grant that does not exist (or the default) says how to reach no access instead", async ({ kit, admin }) => {
    await expect(kit.grants.remove(admin, "default", kit.meta)).rejects.toThrow(/create a grant to replace it/);
    await expect(kit.grants.remove(admin, "grant-unknown", kit.meta)).rejects.toThrow(BadUserInputError);
  });

  it("a location that leaves the tenant's root is refused", async ({ kit, admin }) => {
    for (const location of ["../globex/", "/etc/", "a/../../b/"]) {
      await expect(kit.grants.create(admin, { tenant: "acme", location, permission: "READ" }, kit.meta), location).rejects.toThrow(BadUserInputError);
    }
    expect((await kit.grants.grantsOf("acme")).map((g) => g.id)).toEqual(["default"]);
  });

  it("granting the same location and permission twice is idempotent: the first grant, once", async ({ kit, admin }) => {
    const first = await kit.grants.create(admin, { tenant: "acme", location: "reports/", permission: "READ" }, kit.meta);
    const again = await kit.grants.create(admin, { tenant: "acme", location: "reports/", permission: "READ" }, kit.meta);
    expect(again.id).toBe(first.id);
    expect(await kit.grants.grantsOf("acme")).toHaveLength(1);
  });

  it("a grant of one object reaches that object alone", async ({ kit, admin }) => {
    const alice = await provisionedUser(kit);
    await kit.grants.create(admin, { tenant: "acme", location: "reports/q1.csv", permission: "READ" }, kit.meta);
    await kit.issuance.issue(alice, { ...CLASSIC_900, scope: { target: "reports/q1.csv", permission: "READ" } }, kit.meta);
    expect(await forbiddenReasonOf(kit.issuance.issue(alice, { ...CLASSIC_900, scope: { target: "reports/q2.csv", permission: "READ" } }, kit.meta))).toBe("NO_GRANT");
    expect(await forbiddenReasonOf(kit.issuance.issue(alice, { ...CLASSIC_900, scope: { target: "reports/", permission: "READ" } }, kit.meta))).toBe("NO_GRANT");
  });

  it("grant deletion is audited with the tenant and the location it removed", async ({ kit, admin }) => {
    const grant = await kit.grants.create(admin, { tenant: "acme", location: "reports/", permission: "READ" }, kit.meta);
    await kit.grants.remove(admin, grant.id, kit.meta);
    const deleted = (await kit.store.auditEvents(admin.userId, 10)).find((e) => e.action === "GRANT_DELETE");
    expect(deleted).toMatchObject({ outcome: "SUCCESS", tenant: "acme", target: "reports/" });
  });

  it("myAccess shows a user the tenant and prefix they are (or would be) pinned to, and its grants", async ({ kit, admin }) => {
    const alice = poolAUser(kit, "acme");
    expect(await kit.grants.myAccess(alice, null, kit.meta)).toMatchObject({ tenant: "acme", prefix: "tenants/acme/", grants: [{ id: "default" }] });
    await kit.grants.create(admin, { tenant: "acme", location: "reports/", permission: "READ" }, kit.meta);
    await kit.lifecycle.provision(alice, null, kit.meta);
    expect((await kit.grants.myAccess(alice, null, kit.meta)).grants.map((g) => g.location)).toEqual(["reports/"]);
    expect(await forbiddenReasonOf(kit.grants.myAccess(poolAUser(kit, "acme"), alice.userId, kit.meta))).toBe("NOT_ADMIN");
  });
});

describe("presigned URLs, at their edges", () => {
  it("a URL lasts 1 to 3600 seconds, 900 by default", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    const url = async (expiresInSeconds?: number) => new URL((await kit.services.objects.download(alice, { key: "a.csv", ...(expiresInSeconds !== undefined ? { expiresInSeconds } : {}) }, kit.meta)).url);
    expect((await url()).searchParams.get("X-Amz-Expires")).toBe("900");
    expect((await url(60)).searchParams.get("X-Amz-Expires")).toBe("60");
    for (const bad of [0, 3601, 1.5]) await expect(url(bad), String(bad)).rejects.toThrow(/expiresInSeconds/);
  });

  it("never outlives the credentials that sign it: a minute before they expire", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    await kit.services.objects.download(alice, { key: "a.csv" }, kit.meta);
    // 35 minutes later the backing credentials (one hour) are reused with 25 minutes left.
    kit.clock.now += 35 * 60_000;
    const download = await kit.services.objects.download(alice, { key: "a.csv", expiresInSeconds: 3600 }, kit.meta);
    expect(kit.exchange.issued).toHaveLength(1);
    expect(Number(new URL(download.url).searchParams.get("X-Amz-Expires"))).toBe(25 * 60 - 60);
    expect(download.expiresAt.getTime() - kit.clock.now).toBe((25 * 60 - 60) * 1000);
  });

  it("an upload's content type must be a MIME type, and a key must name one object", async ({ kit, admin }) => {
    const alice = await provisionedUser(kit);
    await kit.grants.create(admin, { tenant: "acme", location: "uploads/", permission: "READWRITE" }, kit.meta);
    await expect(kit.services.objects.upload(alice, { key: "uploads/a.csv", maxBytes: 10, contentType: "text/csv; charset=\"x\"" }, kit.meta)).rejects.toThrow(/MIME type/);
    await expect(kit.services.objects.upload(alice, { key: "uploads/a.csv", maxBytes: 0 }, kit.meta)).rejects.toThrow(/maxBytes/);
    await expect(kit.services.objects.download(alice, { key: "" }, kit.meta)).rejects.toThrow(BadUserInputError);
    expect(kit.exchange.issued).toEqual([]);
  });

  it("an administrator may presign for a user, scoped to that user's tenant; another user may not", async ({ kit, admin }) => {
    const alice = await provisionedUser(kit);
    const download = await kit.services.objects.download(admin, { key: "a.csv", userId: alice.userId }, kit.meta);
    expect(new URL(download.url).pathname).toBe("/company-data/tenants/acme/a.csv");
    expect(await forbiddenReasonOf(kit.services.objects.download(poolAUser(kit, "acme"), { key: "a.csv", userId: alice.userId }, kit.meta))).toBe("NOT_ADMIN");
  });

  it("a revoked user gets no URL", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    await kit.lifecycle.revoke(alice, null, kit.meta);
    expect(await forbiddenReasonOf(kit.services.objects.download(alice, { key: "a.csv" }, kit.meta))).toBe("REVOKED");
  });
});

describe("several objects presigned in one request", () => {
  it("a page of one folder costs one issuance, scoped to that folder, and each URL or form signs its one key", async ({ kit, admin }) => {
    const alice = await provisionedUser(kit);
    await kit.grants.create(admin, { tenant: "acme", location: "reports/", permission: "READWRITE" }, kit.meta);
    const keys = ["reports/2026/q1.csv", "reports/2026/q2.csv", "reports/2026/notes/a.txt"];
    const downloads = await kit.services.objects.downloads(alice, { keys }, kit.meta);
    expect(downloads.map((d) => new URL(d.url).pathname)).toEqual(keys.map((key) => `/company-data/tenants/acme/${key}`));
    expect(kit.exchange.issued).toHaveLength(1);
    expect(JSON.parse(kit.exchange.issued[0]!.request!.sessionPolicy!)).toMatchObject({ Statement: expect.arrayContaining([expect.objectContaining({ Resource: "arn:aws:s3:::company-data/tenants/acme/reports/2026/*" })]) });

    const uploads = await kit.services.objects.uploads(alice, { files: [{ key: "reports/in/a.csv", maxBytes: 10 }, { key: "reports/in/b.csv", maxBytes: 20, contentType: "text/csv" }] }, kit.meta);
    expect(kit.exchange.issued).toHaveLength(2);
    expect(uploads.map((u) => [u.fields.key, u.maxBytes])).toEqual([
      ["tenants/acme/reports/in/a.csv", 10],
      ["tenants/acme/reports/in/b.csv", 20],
    ]);
    const conditions = (u: (typeof uploads)[number]) => JSON.parse(Buffer.from(u.fields.Policy!, "base64").toString("utf8")).conditions;
    expect(conditions(uploads[1]!)).toEqual(expect.arrayContaining([["eq", "$key", "tenants/acme/reports/in/b.csv"], ["content-length-range", 0, 20], ["eq", "$Content-Type", "text/csv"]]));
  });

  it("as attachments, each URL makes S3 name its file, for a browser to save instead of showing it in place of the page", async ({ kit }) => {
    const alice = await provisionedUser(kit);
    const [report, minutes] = await kit.services.objects.downloads(alice, { keys: ["2026/report_q1.csv", "2026/議事録 第1回.txt"], attachment: true }, kit.meta);
    expect(new URL(report!.url).searchParams.get("response-content-disposition")).toBe("attachment; filename=report_q1.csv");
    // A name in another script: RFC 6266's UTF-8 form, with an ASCII fallback for old clients.
    expect(new URL(minutes!.url).searchParams.get("response-content-disposition")).toBe(`attachment; filename="??? ?1?.txt"; filename*=UTF-8''%E8%AD%B0%E4%BA%8B%E9%8C%B2%20%E7%AC%AC1%E5%9B%9E.txt`);
    expect(decodeURIComponent(new URL(minutes!.url).pathname)).toBe("/company-data/tenants/acme/2026/議事録 第1回.txt");
    const inline = await kit.services.objects.download(alice, { key: "2026/a.csv" }, kit.meta);
    expect(new URL(inline.url).searchParams.has("response-content-disposition")).toBe(false);
  });

  it("keys no one grant covers together are refused (NO_GRANT), as is writing where only reading is granted", async ({ kit, admin }) => {
    const alice = await provisionedUser(kit);
    await kit.grants.create(admin, { tenant: "acme", location: "reports/", permission: "READ" }, kit.meta);
    await kit.grants.create(admin, { tenant: "acme", location: "invoices/", permission: "READ" }, kit.meta);
    // Each alone is allowed; together they would need the whole prefix.
    expect(await kit.services.objects.downloads(alice, { keys: ["reports/a.csv"] }, kit.meta)).toHaveLength(1);
    expect(await forbiddenReasonOf(kit.services.objects.downloads(alice, { keys: ["reports/a.csv", "invoices/b.pdf"] }, kit.meta))).toBe("NO_GRANT");
    expect(await forbiddenReasonOf(kit.services.objects.uploads(alice, { files: [{ key: "reports/a.csv", maxBytes: 1 }, { key: "reports/b.csv", maxBytes: 1 }] }, kit.meta))).toBe("NO_GRANT");
  });

  it("take 1 to 100 distinct keys, each checked as a single one is, before anything is issued", async ({ kit, admin }) => {
    const alice = await provisionedUser(kit);
    await kit.grants.create(admin, { tenant: "acme", location: "", permission: "READWRITE" }, kit.meta);
    const many = Array.from({ length: 101 }, (_, i) => `f/${i}.txt`);
    await expect(kit.services.objects.downloads(alice, { keys: [] }, kit.meta)).rejects.toThrow(/1 to 100/);
    await expect(kit.services.objects.downloads(alice, { keys: many }, kit.meta)).rejects.toThrow(/1 to 100/);
    expect(await kit.services.objects.downloads(alice, { keys: many.slice(0, 100) }, kit.meta)).toHaveLength(100);
    await expect(kit.services.objects.downloads(alice, { keys: ["a.txt", "a.txt"] }, kit.meta)).rejects.toThrow(/twice/);
    // The refusal names which key, by its place, so a front end can say which file.
    await expect(kit.services.objects.downloads(alice, { keys: ["a.txt", "f/"] }, kit.meta)).rejects.toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "keys[1]" } });
    await expect(kit.services.objects.downloads(alice, { keys: ["a.txt", "../globex/a.txt"] }, kit.meta)).rejects.toMatchObject({ extensions: { field: "keys[1]" } });
    await expect(kit.services.objects.uploads(alice, { files: [{ key: "a*.txt", maxBytes: 1 }, { key: "b.txt", maxBytes: 1 }] }, kit.meta)).rejects.toMatchObject({ extensions: { field: "files[0].key" } });
    await expect(kit.services.objects.uploads(alice, { files: [{ key: "a.txt", maxBytes: 1 }, { key: "b.txt", maxBytes: 6 * 1024 ** 3 }] }, kit.meta)).rejects.toThrow(/maxBytes/);
    expect(kit.exchange.issued).toHaveLength(1);
  });
});

describe("provisioning, at its edges", () => {
  it("an administrator provisions another user with that user's tenant from Pool A, audited as the administrator's act", async ({ kit, admin }) => {
    const bob = poolAUser(kit, "globex");
    expect((await kit.lifecycle.provision(admin, bob.userId, kit.meta)).tenant).toBe("globex");
    const event = (await kit.store.auditEvents(bob.userId, 10)).find((e) => e.action === "PROVISION");
    expect(event).toMatchObject({ actorUserId: admin.userId, outcome: "SUCCESS", tenant: "globex" });
    // The broker kept the Pool A username, so later standing checks need no search.
    expect((await kit.store.getConnection(bob.userId))!.poolAUsername).toBe(bob.username);
  });

  it("a user Pool A does not have cannot be provisioned by an administrator", async ({ kit, admin }) => {
    await expect(kit.lifecycle.provision(admin, "no-such-sub", kit.meta)).rejects.toThrow();
    expect(await kit.store.getConnection("no-such-sub")).toBeNull();
    expect(kit.pool.calls).toEqual([]);
  });

  it("a token without a tenant claim provisions nothing (TENANT_MISSING), and one with an invalid tenant neither", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    expect(await forbiddenReasonOf(kit.lifecycle.provision({ ...alice, tenantClaim: null }, null, kit.meta))).toBe("TENANT_MISSING");
    expect(await forbiddenReasonOf(kit.lifecycle.provision({ ...alice, tenantClaim: "acme/../globex" }, null, kit.meta))).toBe("TENANT_INVALID");
    expect(kit.pool.calls).toEqual([]);
  });

  it("a Pool B outage during provisioning leaves a connection to finish later, never two Pool B users", async ({ kit }) => {
    const alice = poolAUser(kit, "acme");
    kit.exchange.failNext = { count: 1, error: () => new Error("identity pool unreachable") };
    await expect(kit.lifecycle.provision(alice, null, kit.meta)).rejects.toThrow();
    expect((await kit.store.getConnection(alice.userId))!.state).toBe("PROVISIONING");
    await expect(kit.issuance.issue(alice, CLASSIC_900, kit.meta)).rejects.toThrow(NotProvisionedError);
    expect((await kit.lifecycle.provision(alice, null, kit.meta)).state).toBe("ACTIVE");
    expect(kit.pool.count("AdminCreateUser")).toBe(2);
    expect(kit.pool.users.size).toBe(1);
  });

  it("revoking or moving a user who was never provisioned is NOT_PROVISIONED", async ({ kit, admin }) => {
    const bob = poolAUser(kit, "acme");
    await expect(kit.lifecycle.revoke(admin, bob.userId, kit.meta)).rejects.toThrow(NotProvisionedError);
    kit.directory.users.get(bob.userId)!.attributes["custom:tenant"] = "globex";
    await expect(kit.lifecycle.move(admin, bob.userId, "globex", kit.meta)).rejects.toThrow(NotProvisionedError);
  });
});
