import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/principal.js";
import { domainKit, forbiddenReasonOf as reasonOf, idTokenOf as idToken, type DomainKit } from "../support/domain.js";

/** The tenant rules (src/broker/access/tenancy.ts) and standing's cache, on Pool A in memory: no emulator, milliseconds. */
let kit: DomainKit;
const accessToken = (userId: string): Principal => ({ kind: "user", userId, username: `user-${userId}`, email: null, tokenUse: "access", tenantClaim: null, groups: [], isAdmin: false });
const tenancyWith = async (env: Record<string, string>) => {
  await kit.close();
  kit = domainKit(env);
  return kit;
};

beforeEach(() => {
  kit = domainKit();
});
afterEach(async () => {
  await kit.close();
});

describe("where a tenant is decided", () => {
  it("an ID token's claim when it is a usable tenant; none is TENANT_MISSING, never the sub", async () => {
    const { tenancy } = kit;
    expect(await tenancy.ofCaller(idToken("u1", "acme"))).toBe("acme");
    expect(await reasonOf(tenancy.ofCaller(idToken("u1", null)))).toBe("TENANT_MISSING");
  });

  it("refuses values that could widen a prefix or a policy match (TENANT_INVALID)", async () => {
    const { tenancy } = kit;
    for (const bad of ["", "a/b", "acme*", "..", "a.b", "${aws:username}", "x".repeat(65), "ümlaut"]) {
      expect(await reasonOf(tenancy.ofCaller(idToken("u1", bad))), bad).toBe("TENANT_INVALID");
    }
  });

  it("makes a user without a tenant their own only when POOL_A_TENANT_FALLBACK=sub says so", async () => {
    const { tenancy } = await tenancyWith({ POOL_A_TENANT_FALLBACK: "sub" });
    expect(await tenancy.ofCaller(idToken("u1", null))).toBe("u1");
  });

  it("reads an access token's tenant from Pool A (access tokens carry no attributes), never the sub", async () => {
    const { tenancy } = kit;
    kit.directory.add({ sub: "u2", tenant: "globex" });
    kit.directory.add({ sub: "u3" });
    expect(await tenancy.ofCaller(accessToken("u2"))).toBe("globex");
    expect(await reasonOf(tenancy.ofCaller(accessToken("u3")))).toBe("TENANT_MISSING");
    expect(await reasonOf(tenancy.ofCaller(accessToken("nobody")))).toBe("TENANT_MISSING");
  });

  it("refuses, and audits with both tenants, a caller whose tenant is not the pinned one", async () => {
    const { tenancy } = kit;
    const parties = { actorUserId: "u1", subjectUserId: "u1" };
    await tenancy.requireSubjectBound({ userId: "u1", self: true }, idToken("u1", "acme"), "acme", parties, kit.meta);
    expect(await reasonOf(tenancy.requireSubjectBound({ userId: "u1", self: true }, idToken("u1", "globex"), "acme", parties, kit.meta))).toBe("TENANT_MISMATCH");
    const [event] = await kit.store.auditEvents("u1", 10);
    expect(event).toMatchObject({ action: "ACCESS_REFUSED", reason: "TENANT_MISMATCH", tenant: "acme", previousTenant: "globex" });
    // A partner's subject is bound to the tenant the partner check gave; an administrator's is not checked here.
    expect(await reasonOf(tenancy.requireSubjectBound({ userId: "u1", self: false, partnerTenant: "initech" }, idToken("p", null), "acme", parties, kit.meta))).toBe("TENANT_MISMATCH");
    await tenancy.requireSubjectBound({ userId: "u1", self: false }, idToken("admin", "acme"), "globex", parties, kit.meta);
  });

  it("answers an administrator's unknown user as bad input, and ofUserIfAny tells nobody which users exist", async () => {
    const { tenancy } = kit;
    kit.directory.add({ sub: "u4", tenant: "a/b" });
    await expect(tenancy.ofUser("nobody")).rejects.toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "userId" } });
    expect(await tenancy.ofUserIfAny("nobody")).toBeNull();
    expect(await tenancy.ofUserIfAny("u4")).toBeNull();
  });

  it("shows a claim as a hint only when it is usable, and never looks anything up for it", async () => {
    const { tenancy } = kit;
    expect(tenancy.hintOf(idToken("u1", "acme"))).toBe("acme");
    expect(tenancy.hintOf(idToken("u1", "a/b"))).toBeNull();
    expect(kit.directory.lookUps).toBe(0);
  });
});

describe("standing: how old a Pool A answer may be", () => {
  it("is trusted for POOL_A_STANDING_CACHE_SECONDS, then asked again; current() always asks", async () => {
    const { standing, directory, clock } = kit;
    kit.directory.add({ sub: "admin", groups: ["broker-admins"] });
    expect((await standing.of("admin")).groups).toEqual(["broker-admins"]);
    kit.directory.users.get("admin")!.groups = [];
    clock.now += 59_000;
    expect((await standing.of("admin")).groups).toEqual(["broker-admins"]);
    expect((await standing.current("admin")).groups).toEqual([]);
    kit.directory.users.get("admin")!.enabled = false;
    clock.now += 61_000;
    expect((await standing.of("admin")).enabled).toBe(false);
  });

  it("shares one look-up among concurrent asks for the same user", async () => {
    const { standing, directory } = kit;
    kit.directory.add({ sub: "u5", tenant: "acme" });
    await Promise.all(Array.from({ length: 10 }, () => standing.of("u5")));
    expect(kit.directory.lookUps).toBe(1);
  });
});
