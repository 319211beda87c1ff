import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/principal.js";
import { ApplicationStanding } from "../../src/broker/access/standing.js";
import { Tenancy } from "../../src/broker/access/tenancy.js";
import { AuditTrail } from "../../src/broker/audit/audit-trail.js";
import { loadEnvironment } from "../../src/config/environment.js";
import { ForbiddenError } from "../../src/errors.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { TokenCipher } from "../../src/store/token-cipher.js";
import { InMemoryApplicationDirectory } from "../support/fakes/application-directory.js";

/** The tenant rules (src/broker/access/tenancy.ts) and standing's cache, on Pool A in memory: no emulator, milliseconds. */
const baseEnv = {
  AWS_REGION: "eu-west-1",
  POOL_A_USER_POOL_ID: "eu-west-1_AAAAAAAAA",
  POOL_A_CLIENT_ID: "client-a",
  POOL_B_USER_POOL_ID: "eu-west-1_BBBBBBBBB",
  POOL_B_CLIENT_ID: "client-b",
  IDENTITY_POOL_ID: "eu-west-1:0f0e4a4c-1111-2222-3333-444455556666",
  CLASSIC_ROLE_ARN: "arn:aws:iam::123456789012:role/tenant-reader",
  DENY_LIST_POLICY_ARNS: "arn:aws:iam::123456789012:policy/deny-list-0",
  S3_BUCKET: "company-data",
  TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
};

let dir: string;
let store: SqliteStore;
let directory: InMemoryApplicationDirectory;
let clock: number;
const logged: string[] = [];
const meta = { requestId: "r-1", log: { info: () => undefined, warn: (_o: object, m?: string) => void logged.push(m ?? ""), error: () => undefined } };

function tenancyWith(env: Record<string, string> = {}) {
  const config = loadEnvironment({ ...baseEnv, ...env });
  const standing = new ApplicationStanding(directory.asDirectory(), config.poolA.standingCacheMs, () => clock);
  return { tenancy: new Tenancy(config, standing, new AuditTrail(store, () => clock)), standing };
}

const idToken = (userId: string, tenantClaim: string | null): Principal => ({ userId, username: `user-${userId}`, tokenUse: "id", tenantClaim, groups: [], isAdmin: false });
const accessToken = (userId: string): Principal => ({ userId, username: `user-${userId}`, tokenUse: "access", tenantClaim: null, groups: [], isAdmin: false });
const reasonOf = async (work: Promise<unknown>) => (await work.then(() => null, (e: unknown) => (e instanceof ForbiddenError ? e.reason : e)));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tenancy-"));
  store = new SqliteStore(join(dir, "broker.sqlite"), new TokenCipher("k1", new Map([["k1", randomBytes(32)]])));
  directory = new InMemoryApplicationDirectory();
  clock = 1_000_000;
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("where a tenant is decided", () => {
  it("an ID token's claim when it is a usable tenant; none is TENANT_MISSING, never the sub", async () => {
    const { tenancy } = tenancyWith();
    expect(await tenancy.ofCaller(idToken("u1", "acme"))).toBe("acme");
    expect(await reasonOf(tenancy.ofCaller(idToken("u1", null)))).toBe("TENANT_MISSING");
  });

  it("refuses values that could widen a prefix or a policy match (TENANT_INVALID)", async () => {
    const { tenancy } = tenancyWith();
    for (const bad of ["", "a/b", "acme*", "..", "a.b", "${aws:username}", "x".repeat(65), "ümlaut"]) {
      expect(await reasonOf(tenancy.ofCaller(idToken("u1", bad))), bad).toBe("TENANT_INVALID");
    }
  });

  it("makes a user without a tenant their own only when POOL_A_TENANT_FALLBACK=sub says so", async () => {
    const { tenancy } = tenancyWith({ POOL_A_TENANT_FALLBACK: "sub" });
    expect(await tenancy.ofCaller(idToken("u1", null))).toBe("u1");
  });

  it("reads an access token's tenant from Pool A (access tokens carry no attributes), never the sub", async () => {
    const { tenancy } = tenancyWith();
    directory.add({ sub: "u2", tenant: "globex" });
    directory.add({ sub: "u3" });
    expect(await tenancy.ofCaller(accessToken("u2"))).toBe("globex");
    expect(await reasonOf(tenancy.ofCaller(accessToken("u3")))).toBe("TENANT_MISSING");
    expect(await reasonOf(tenancy.ofCaller(accessToken("nobody")))).toBe("TENANT_MISSING");
  });

  it("refuses, and audits with both tenants, a caller whose tenant is not the pinned one", async () => {
    const { tenancy } = tenancyWith();
    const parties = { actorUserId: "u1", subjectUserId: "u1" };
    await tenancy.requireSubjectBound({ userId: "u1", self: true }, idToken("u1", "acme"), "acme", parties, meta);
    expect(await reasonOf(tenancy.requireSubjectBound({ userId: "u1", self: true }, idToken("u1", "globex"), "acme", parties, meta))).toBe("TENANT_MISMATCH");
    const [event] = await store.auditEvents("u1", 10);
    expect(event).toMatchObject({ action: "ACCESS_REFUSED", reason: "TENANT_MISMATCH", tenant: "acme", previousTenant: "globex" });
    // A partner's subject is bound to the tenant the partner check gave; an administrator's is not checked here.
    expect(await reasonOf(tenancy.requireSubjectBound({ userId: "u1", self: false, partnerTenant: "initech" }, idToken("p", null), "acme", parties, meta))).toBe("TENANT_MISMATCH");
    await tenancy.requireSubjectBound({ userId: "u1", self: false }, idToken("admin", "acme"), "globex", parties, meta);
  });

  it("answers an administrator's unknown user as bad input, and ofUserIfAny tells nobody which users exist", async () => {
    const { tenancy } = tenancyWith();
    directory.add({ sub: "u4", tenant: "a/b" });
    await expect(tenancy.ofUser("nobody")).rejects.toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "userId" } });
    expect(await tenancy.ofUserIfAny("nobody")).toBeNull();
    expect(await tenancy.ofUserIfAny("u4")).toBeNull();
  });

  it("shows a claim as a hint only when it is usable, and never looks anything up for it", async () => {
    const { tenancy } = tenancyWith();
    expect(tenancy.hintOf(idToken("u1", "acme"))).toBe("acme");
    expect(tenancy.hintOf(idToken("u1", "a/b"))).toBeNull();
    expect(directory.lookUps).toBe(0);
  });
});

describe("standing: how old a Pool A answer may be", () => {
  it("is trusted for POOL_A_STANDING_CACHE_SECONDS, then asked again; current() always asks", async () => {
    const { standing } = tenancyWith({ POOL_A_STANDING_CACHE_SECONDS: "60" });
    directory.add({ sub: "admin", groups: ["broker-admins"] });
    expect((await standing.of("admin")).groups).toEqual(["broker-admins"]);
    directory.users.get("admin")!.groups = [];
    clock += 59_000;
    expect((await standing.of("admin")).groups).toEqual(["broker-admins"]);
    expect((await standing.current("admin")).groups).toEqual([]);
    directory.users.get("admin")!.enabled = false;
    clock += 61_000;
    expect((await standing.of("admin")).enabled).toBe(false);
  });

  it("shares one look-up among concurrent asks for the same user", async () => {
    const { standing } = tenancyWith();
    directory.add({ sub: "u5", tenant: "acme" });
    await Promise.all(Array.from({ length: 10 }, () => standing.of("u5")));
    expect(directory.lookUps).toBe(1);
  });
});
