import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BadUserInputError } from "../../src/errors.js";
import { domainKit, forbiddenReasonOf, idTokenOf, type DomainKit } from "../support/domain.js";

/** Grants (src/broker/grants/grants.service.ts) and who may act for whom (src/broker/access/acting.ts), on Pool A in memory. */
let kit: DomainKit;
const admin = idTokenOf("admin", "acme", { admin: true });

beforeEach(() => {
  kit = domainKit();
  kit.directory.add({ sub: "admin", username: "user-admin", tenant: "acme", groups: ["broker-admins"] });
  kit.directory.add({ sub: "alice", username: "user-alice", tenant: "acme" });
});
afterEach(async () => {
  await kit.close();
});

describe("grants", () => {
  it("a tenant that never had one reads its whole prefix; the first grant replaces that; deleting never widens", async () => {
    const { grants, meta } = kit;
    expect(await grants.match("acme", "readings/x.csv", "READ")).toMatchObject({ id: "default", location: "" });
    const publicOnly = await grants.create(admin, { tenant: "acme", location: "public/", permission: "READ" }, meta);
    expect(await forbiddenReasonOf(grants.match("acme", "private/x.csv", "READ"))).toBe("NO_GRANT");
    await grants.remove(admin, publicOnly.id, meta);
    expect(await grants.grantsOf("acme")).toEqual([]);
    expect(await forbiddenReasonOf(grants.match("acme", "", "READ"))).toBe("NO_GRANT");
    // Another tenant is untouched: still the default.
    expect(await grants.match("globex", "", "READ")).toMatchObject({ id: "default" });
  });

  it("picks the narrowest grant that allows the permission; READWRITE allows both, READ and WRITE only themselves", async () => {
    const { grants, meta } = kit;
    await grants.create(admin, { tenant: "acme", location: "", permission: "READ" }, meta);
    const uploads = await grants.create(admin, { tenant: "acme", location: "uploads/", permission: "READWRITE" }, meta);
    expect((await grants.match("acme", "uploads/a.csv", "READ")).id).toBe(uploads.id);
    expect((await grants.match("acme", "uploads/a.csv", "WRITE")).id).toBe(uploads.id);
    expect(await forbiddenReasonOf(grants.match("acme", "readings/a.csv", "WRITE"))).toBe("NO_GRANT");
  });

  it("is an administrator's act, audited; a location too long for its session policy is refused naming the limit", async () => {
    const { grants, meta, store } = kit;
    expect(await forbiddenReasonOf(grants.create(idTokenOf("alice", "acme"), { tenant: "acme", location: "x/", permission: "READ" }, meta))).toBe("NOT_ADMIN");
    const long = `${Array.from({ length: 4 }, () => "s".repeat(100)).join("/")}/`;
    await expect(grants.create(admin, { tenant: "acme", location: long, permission: "READWRITE" }, meta)).rejects.toThrow(BadUserInputError);
    await expect(grants.create(admin, { tenant: "acme", location: long, permission: "READWRITE" }, meta)).rejects.toThrow(/over the 1800 .*AWS takes 2048/);
    await grants.create(admin, { tenant: "acme", location: "x/", permission: "READ" }, meta);
    expect((await store.auditEvents("admin", 10)).map((e) => `${e.action}:${e.outcome}`)).toContain("GRANT_CREATE:SUCCESS");
    expect((await store.auditEvents("alice", 10)).map((e) => `${e.action}:${e.reason}`)).toContain("ACCESS_REFUSED:NOT_ADMIN");
  });
});

describe("who may act for whom", () => {
  it("anyone for themselves; for another user only an administrator, audited either way", async () => {
    const { acting, meta, store } = kit;
    expect(await acting.subjectFor(idTokenOf("alice", "acme"), null, meta)).toEqual({ userId: "alice", self: true });
    expect(await forbiddenReasonOf(acting.subjectFor(idTokenOf("alice", "acme"), "admin", meta))).toBe("NOT_ADMIN");
    expect(await acting.subjectFor(admin, "alice", meta, { read: true })).toEqual({ userId: "alice", self: false });
    const events = (await store.auditEvents("alice", 10)).concat(await store.auditEvents("admin", 10));
    expect(events.map((e) => `${e.action}:${e.reason ?? ""}`)).toEqual(expect.arrayContaining(["ADMIN_READ:", "ACCESS_REFUSED:NOT_ADMIN"]));
  });

  it("an administrator removed from the group in Pool A stops at once, whatever the token says and however fresh the cache", async () => {
    const { acting, meta, directory } = kit;
    await acting.subjectFor(admin, "alice", meta);
    directory.users.get("admin")!.groups = [];
    expect(await forbiddenReasonOf(acting.subjectFor(admin, "alice", meta))).toBe("ADMIN_ROLE_LOST");
    directory.users.get("admin")!.groups = ["broker-admins"];
    directory.users.get("admin")!.enabled = false;
    expect(await forbiddenReasonOf(acting.subjectFor(admin, "alice", meta))).toBe("ADMIN_ROLE_LOST");
  });

  it("a key an administrator made stands while the administrator does, within the standing cache", async () => {
    const { acting, directory, clock } = kit;
    expect(await acting.creatorStillEntitled("admin", "acme")).toBe(true);
    directory.users.get("admin")!.groups = [];
    expect(await acting.creatorStillEntitled("admin", "acme")).toBe(true);
    clock.now += 61_000;
    expect(await acting.creatorStillEntitled("admin", "acme")).toBe(false);
  });
});
