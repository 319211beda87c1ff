import { runSimulation } from "@cloud-copilot/iam-simulate";
import { afterAll, describe, expect, it } from "vitest";
import { isValidTenant, prefixForTenant } from "../../src/broker/access/tenant.js";
import {
  identityPoolRoleTrustPolicy,
  scopeSessionPolicy,
  sessionCutoffPolicy,
  tenantReadRolePolicy,
  tenantWriterRolePolicy,
  type PolicyDocument,
  type SessionCutoffEntry,
} from "../../src/policy/policies.js";

/**
 * moto ignores IAM conditions, policy variables and session policies, so tenant isolation is proven
 * here by evaluating the very documents the bootstrap, the CDK stack and the broker use, with an
 * IAM policy simulator (@cloud-copilot/iam-simulate).
 */
const ACCOUNT = "123456789012";
const BUCKET = "company-data";
const OTHER_BUCKET = "other-company-data";
const TEMPLATE = "tenants/{tenant}/";
const IDENTITY_POOL = "eu-west-1:11111111-2222-3333-4444-555555555555";
const SESSION_PRINCIPAL = `arn:aws:sts::${ACCOUNT}:assumed-role/tenant-reader/dp-0123456789`;
const rolePolicy = tenantReadRolePolicy(BUCKET, TEMPLATE);

type Decision = "Allowed" | "Denied";

interface Access {
  action: "s3:GetObject" | "s3:ListBucket" | "s3:PutObject" | "s3:DeleteObject";
  resource: string;
  prefix?: string;
}

async function decide(access: Access, tag: string | undefined, sessionPolicy?: PolicyDocument, role: PolicyDocument = rolePolicy): Promise<Decision> {
  const result = await runSimulation(
    {
      request: {
        principal: SESSION_PRINCIPAL,
        action: access.action,
        resource: { resource: access.resource, accountId: ACCOUNT },
        contextVariables: {
          ...(tag !== undefined ? { "aws:PrincipalTag/tenant": tag } : {}),
          ...(access.prefix !== undefined ? { "s3:prefix": access.prefix } : {}),
        },
      },
      identityPolicies: [{ name: "tenant-role", policy: role }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(sessionPolicy ? { sessionPolicy } : {}),
    },
    {},
  );
  if (result.resultType === "error") throw new Error(`simulation error: ${JSON.stringify(result.errors)}`);
  return result.overallResult === "Allowed" ? "Allowed" : "Denied";
}

const object = (bucket: string, key: string): Access => ({ action: "s3:GetObject", resource: `arn:aws:s3:::${bucket}/${key}` });
const list = (bucket: string, prefix: string): Access => ({ action: "s3:ListBucket", resource: `arn:aws:s3:::${bucket}`, prefix });

const matrix: Array<{ request: string; access: Access; tag: string | undefined; expected: Decision }> = [
  { request: "A reads its own object", access: object(BUCKET, "tenants/acme/readings/2026-11-01.csv"), tag: "acme", expected: "Allowed" },
  { request: "A lists its own prefix", access: list(BUCKET, "tenants/acme/"), tag: "acme", expected: "Allowed" },
  { request: "A lists a folder under its prefix", access: list(BUCKET, "tenants/acme/readings/"), tag: "acme", expected: "Allowed" },
  { request: "A reads B's object", access: object(BUCKET, "tenants/globex/readings/2026-11-01.csv"), tag: "acme", expected: "Denied" },
  { request: "A lists B's prefix", access: list(BUCKET, "tenants/globex/"), tag: "acme", expected: "Denied" },
  { request: "A writes into B's prefix", access: { action: "s3:PutObject", resource: `arn:aws:s3:::${BUCKET}/tenants/globex/x` }, tag: "acme", expected: "Denied" },
  { request: "A writes into its own prefix", access: { action: "s3:PutObject", resource: `arn:aws:s3:::${BUCKET}/tenants/acme/x` }, tag: "acme", expected: "Denied" },
  { request: "A deletes its own object", access: { action: "s3:DeleteObject", resource: `arn:aws:s3:::${BUCKET}/tenants/acme/x` }, tag: "acme", expected: "Denied" },
  { request: "A lists the bucket root", access: list(BUCKET, ""), tag: "acme", expected: "Denied" },
  { request: "A lists all tenants", access: list(BUCKET, "tenants/"), tag: "acme", expected: "Denied" },
  { request: "A lists a look-alike prefix (acmecorp)", access: list(BUCKET, "tenants/acmecorp/"), tag: "acme", expected: "Denied" },
  { request: "A reads a look-alike prefix (acmecorp)", access: object(BUCKET, "tenants/acmecorp/x"), tag: "acme", expected: "Denied" },
  { request: "A reads an object at the bucket root", access: object(BUCKET, "README.txt"), tag: "acme", expected: "Denied" },
  { request: "A reads its prefix in another bucket", access: object(OTHER_BUCKET, "tenants/acme/x"), tag: "acme", expected: "Denied" },
  { request: "A lists its prefix in another bucket", access: list(OTHER_BUCKET, "tenants/acme/"), tag: "acme", expected: "Denied" },
  { request: "untagged session reads A's object", access: object(BUCKET, "tenants/acme/x"), tag: undefined, expected: "Denied" },
  { request: "untagged session lists A's prefix", access: list(BUCKET, "tenants/acme/"), tag: undefined, expected: "Denied" },
  { request: "empty tag reads A's object", access: object(BUCKET, "tenants/acme/x"), tag: "", expected: "Denied" },
  { request: "tag '*' reads B's object", access: object(BUCKET, "tenants/globex/x"), tag: "*", expected: "Denied" },
  { request: "tag '*' lists all tenants", access: list(BUCKET, "tenants/globex/"), tag: "*", expected: "Denied" },
  { request: "tag 'a*' reads acme's object", access: object(BUCKET, "tenants/acme/x"), tag: "a*", expected: "Denied" },
  { request: "tag 'a/../globex' reads B's object", access: object(BUCKET, "tenants/globex/x"), tag: "a/../globex", expected: "Denied" },
];

const printed: string[] = [];
afterAll(() => {
  console.log(["Tenant isolation matrix (role policy + classic session policy, iam-simulate):", ...printed].join("\n"));
});

describe("the role's tag-scoped policy", () => {
  it.each(matrix)("$request: $expected", async ({ request, access, tag, expected }) => {
    const enhanced = await decide(access, tag);
    // The classic flow adds the broker's session policy for the session's own tenant.
    const classic = tag !== undefined && isValidTenant(tag) ? await decide(access, tag, scopeSessionPolicy(BUCKET, prefixForTenant(TEMPLATE, tag), "READ")) : "n/a (tenant refused)";
    printed.push(`  ${request.padEnd(44)} tag=${JSON.stringify(tag ?? null).padEnd(15)} enhanced=${enhanced.padEnd(8)} classic=${classic}`);
    expect(enhanced).toBe(expected);
    if (classic !== "n/a (tenant refused)") expect(classic).toBe(expected);
  });
});

describe("the classic flow's session policy", () => {
  it("is a second fence: even a role allowing the whole bucket reaches only the tenant's prefix", async () => {
    const wideOpen: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] };
    const session = scopeSessionPolicy(BUCKET, "tenants/acme/", "READ");
    const run = async (access: Access) => {
      const result = await runSimulation(
        {
          request: { principal: SESSION_PRINCIPAL, action: access.action, resource: { resource: access.resource, accountId: ACCOUNT }, contextVariables: access.prefix !== undefined ? { "s3:prefix": access.prefix } : {} },
          identityPolicies: [{ name: "wide-open", policy: wideOpen }],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          sessionPolicy: session,
        },
        {},
      );
      if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
      return result.overallResult;
    };
    expect(await run(object(BUCKET, "tenants/acme/x"))).toBe("Allowed");
    expect(await run(object(BUCKET, "tenants/globex/x"))).not.toBe("Allowed");
    expect(await run(list(BUCKET, ""))).not.toBe("Allowed");
    expect(await run({ action: "s3:PutObject", resource: `arn:aws:s3:::${BUCKET}/tenants/acme/x` })).not.toBe("Allowed");
  });
});

describe("the role's trust policy", () => {
  const trust = identityPoolRoleTrustPolicy(IDENTITY_POOL);
  async function assume(action: string, aud: string, amr: string[]): Promise<string> {
    const result = await runSimulation(
      {
        request: {
          principal: "cognito-identity.amazonaws.com",
          action,
          resource: { resource: `arn:aws:iam::${ACCOUNT}:role/tenant-reader`, accountId: ACCOUNT },
          contextVariables: { "cognito-identity.amazonaws.com:aud": aud, "cognito-identity.amazonaws.com:amr": amr },
        },
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: trust,
      },
      {},
    );
    if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
    return result.overallResult;
  }
  const authenticated = ["authenticated", "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_B"];

  it("lets this identity pool's authenticated identities assume the role", async () => {
    expect(await assume("sts:AssumeRoleWithWebIdentity", IDENTITY_POOL, authenticated)).toBe("Allowed");
  });

  it("grants sts:TagSession under exactly the same principal and conditions (without it, mapped tags make assumption fail)", () => {
    // The simulator does not supply web-identity context keys to sts:TagSession, so this part is
    // checked on the document: one statement carries both actions, hence the same conditions.
    const statements = trust.Statement.filter((s) => Array.isArray(s.Action) && (s.Action as string[]).includes("sts:TagSession"));
    expect(statements).toHaveLength(1);
    expect(statements[0]!.Action).toEqual(["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]);
    expect(statements[0]!.Principal).toEqual({ Federated: "cognito-identity.amazonaws.com" });
    expect(statements[0]!.Condition).toMatchObject({ StringEquals: { "cognito-identity.amazonaws.com:aud": IDENTITY_POOL } });
  });

  it("refuses another identity pool's audience", async () => {
    expect(await assume("sts:AssumeRoleWithWebIdentity", "eu-west-1:99999999-8888-7777-6666-555555555555", authenticated)).not.toBe("Allowed");
  });

  it("refuses unauthenticated identities", async () => {
    expect(await assume("sts:AssumeRoleWithWebIdentity", IDENTITY_POOL, ["unauthenticated"])).not.toBe("Allowed");
  });
});

describe("cutting off sessions already issued (the broker's cut-off policy on the role)", () => {
  const CUT_AT = new Date("2026-12-01T12:00:00Z");
  const before = "2026-12-01T11:30:00Z";
  const after = "2026-12-01T12:05:00Z";
  const readOwn = object(BUCKET, "tenants/acme/readings/2026-11-01.csv");

  /** A session of `user` (principal tag) issued at `issuedAt`, classic (with session policy) or enhanced. */
  async function sessionMay(cutoff: PolicyDocument | null, user: string, issuedAt: string, classic: boolean): Promise<Decision> {
    const result = await runSimulation(
      {
        request: {
          principal: SESSION_PRINCIPAL,
          action: readOwn.action,
          resource: { resource: readOwn.resource, accountId: ACCOUNT },
          contextVariables: { "aws:PrincipalTag/tenant": "acme", "aws:PrincipalTag/user": user, "aws:TokenIssueTime": issuedAt },
        },
        identityPolicies: [{ name: "tenant-prefix-read", policy: rolePolicy }, ...(cutoff ? [{ name: "broker-session-cutoffs", policy: cutoff }] : [])],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(classic ? { sessionPolicy: scopeSessionPolicy(BUCKET, "tenants/acme/", "READ") } : {}),
      },
      {},
    );
    if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
    return result.overallResult === "Allowed" ? "Allowed" : "Denied";
  }

  const rows: string[] = [];
  afterAll(() => console.log(["Session cut-off matrix (iam-simulate):", ...rows].join("\n")));

  it.each([
    { who: "the revoked user, session issued before the cut-off", user: "dp-revoked", at: before, expected: "Denied" },
    { who: "the revoked user, session issued after reinstatement", user: "dp-revoked", at: after, expected: "Allowed" },
    { who: "another user of the same tenant, issued before", user: "dp-other", at: before, expected: "Allowed" },
  ] as const)("$who: $expected in both flows", async ({ who, user, at, expected }) => {
    const policy = sessionCutoffPolicy([{ principalTag: "dp-revoked", cutoffAt: CUT_AT }], 8192)!;
    expect(policy.width).toBe("PER_USER");
    const enhanced = await sessionMay(policy.document, user, at, false);
    const classic = await sessionMay(policy.document, user, at, true);
    rows.push(`  ${who.padEnd(55)} enhanced=${enhanced.padEnd(8)} classic=${classic}`);
    expect(enhanced).toBe(expected);
    expect(classic).toBe(expected);
  });

  it("fails closed when over budget: merges the oldest users first, then denies the whole role, never less", async () => {
    const entries: SessionCutoffEntry[] = Array.from({ length: 120 }, (_, i) => ({
      principalTag: `dp-${String(i).padStart(40, "0")}`,
      cutoffAt: new Date(CUT_AT.getTime() + i * 1000),
    }));
    const budget = 6000;
    const merged = sessionCutoffPolicy(entries, budget)!;
    expect(merged.width).toBe("MERGED_USERS");
    expect(JSON.stringify(merged.document).length).toBeLessThanOrEqual(budget);
    // Every cut-off user is still denied for sessions issued before their own cut-off.
    for (const entry of [entries[0]!, entries[60]!, entries[119]!]) {
      const justBefore = new Date(entry.cutoffAt.getTime() - 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
      expect(await sessionMay(merged.document, entry.principalTag, justBefore, false)).toBe("Denied");
    }
    expect(await sessionMay(merged.document, "dp-other", before, false)).toBe("Allowed");

    const whole = sessionCutoffPolicy(entries, 1024)!;
    expect(whole.width).toBe("WHOLE_ROLE");
    expect(JSON.stringify(whole.document).length).toBeLessThanOrEqual(1024);
    expect(await sessionMay(whole.document, "dp-other", before, true)).toBe("Denied");
    expect(await sessionMay(whole.document, entries[119]!.principalTag, "2026-12-01T12:01:58Z", false)).toBe("Denied");
    expect(await sessionMay(whole.document, "dp-other", "2026-12-01T13:00:00Z", false)).toBe("Allowed");
    rows.push(`  120 cut-offs: ${merged.document.Statement.length} statements in 6000 chars (${merged.width}); in 1024 chars: ${whole.width}`);
  });

  it("has nothing to write when no cut-off is in force", () => {
    expect(sessionCutoffPolicy([], 8192)).toBeNull();
  });
});

describe("scoped READ credentials (classic flow session policy for a granted target)", () => {
  const rows: string[] = [];
  afterAll(() => console.log(["Scoped READ matrix (role policy + scoped session policy, iam-simulate):", ...rows].join("\n")));
  const prefixScope = scopeSessionPolicy(BUCKET, "tenants/acme/readings/", "READ");
  const objectScope = scopeSessionPolicy(BUCKET, "tenants/acme/readings/2026-11-01.csv", "READ");
  const cases: Array<{ scope: string; policy: PolicyDocument; request: string; access: Access; expected: Decision }> = [
    { scope: "readings/", policy: prefixScope, request: "reads an object under it", access: object(BUCKET, "tenants/acme/readings/2026-11-01.csv"), expected: "Allowed" },
    { scope: "readings/", policy: prefixScope, request: "lists it", access: list(BUCKET, "tenants/acme/readings/"), expected: "Allowed" },
    { scope: "readings/", policy: prefixScope, request: "lists below it", access: list(BUCKET, "tenants/acme/readings/2026/"), expected: "Allowed" },
    { scope: "readings/", policy: prefixScope, request: "reads elsewhere in its own tenant", access: object(BUCKET, "tenants/acme/README.txt"), expected: "Denied" },
    { scope: "readings/", policy: prefixScope, request: "lists its tenant's root", access: list(BUCKET, "tenants/acme/"), expected: "Denied" },
    { scope: "readings/", policy: prefixScope, request: "reads a look-alike prefix (readings2/)", access: object(BUCKET, "tenants/acme/readings2/x"), expected: "Denied" },
    { scope: "readings/", policy: prefixScope, request: "reads another tenant's readings/", access: object(BUCKET, "tenants/globex/readings/2026-11-01.csv"), expected: "Denied" },
    { scope: "readings/", policy: prefixScope, request: "writes under it", access: { action: "s3:PutObject", resource: `arn:aws:s3:::${BUCKET}/tenants/acme/readings/x` }, expected: "Denied" },
    { scope: "readings/", policy: prefixScope, request: "deletes under it", access: { action: "s3:DeleteObject", resource: `arn:aws:s3:::${BUCKET}/tenants/acme/readings/x` }, expected: "Denied" },
    { scope: "one object", policy: objectScope, request: "reads that object", access: object(BUCKET, "tenants/acme/readings/2026-11-01.csv"), expected: "Allowed" },
    { scope: "one object", policy: objectScope, request: "reads its neighbour", access: object(BUCKET, "tenants/acme/readings/2026-11-02.csv"), expected: "Denied" },
    { scope: "one object", policy: objectScope, request: "reads a longer key (.bak)", access: object(BUCKET, "tenants/acme/readings/2026-11-01.csv.bak"), expected: "Denied" },
    { scope: "one object", policy: objectScope, request: "lists its folder", access: list(BUCKET, "tenants/acme/readings/"), expected: "Denied" },
  ];
  it.each(cases)("$scope: $request: $expected", async ({ scope, policy, request, access, expected }) => {
    // The session keeps its own tenant's tag: the scope narrows the role's reach, never widens it.
    const decision = await decide(access, "acme", policy);
    rows.push(`  scope ${scope.padEnd(11)} ${request.padEnd(40)} ${decision}`);
    expect(decision).toBe(expected);
  });

  it("cannot widen a session whose tag names another tenant: the role's tag fence still holds", async () => {
    expect(await decide(object(BUCKET, "tenants/acme/readings/x"), "globex", prefixScope)).toBe("Denied");
  });
});

describe("WRITE and READWRITE scopes (writer role + scoped session policy)", () => {
  const writerRole = tenantWriterRolePolicy(BUCKET, TEMPLATE);
  const put = (key: string): Access => ({ action: "s3:PutObject", resource: `arn:aws:s3:::${BUCKET}/${key}` });
  const del = (key: string): Access => ({ action: "s3:DeleteObject", resource: `arn:aws:s3:::${BUCKET}/${key}` });
  const write = scopeSessionPolicy(BUCKET, "tenants/acme/uploads/", "WRITE");
  const readWrite = scopeSessionPolicy(BUCKET, "tenants/acme/uploads/", "READWRITE");
  const oneKey = scopeSessionPolicy(BUCKET, "tenants/acme/uploads/report.csv", "WRITE");
  const rows: string[] = [];
  afterAll(() => console.log(["Write matrix (writer role + scoped session policy, iam-simulate):", ...rows].join("\n")));
  const cases: Array<{ scope: string; policy: PolicyDocument | undefined; request: string; access: Access; tag?: string; expected: Decision }> = [
    { scope: "WRITE uploads/", policy: write, request: "puts under it", access: put("tenants/acme/uploads/a.csv"), expected: "Allowed" },
    { scope: "WRITE uploads/", policy: write, request: "lists it", access: list(BUCKET, "tenants/acme/uploads/"), expected: "Allowed" },
    { scope: "WRITE uploads/", policy: write, request: "reads under it", access: object(BUCKET, "tenants/acme/uploads/a.csv"), expected: "Denied" },
    { scope: "WRITE uploads/", policy: write, request: "puts elsewhere in its tenant", access: put("tenants/acme/readings/a.csv"), expected: "Denied" },
    { scope: "WRITE uploads/", policy: write, request: "puts into a look-alike (uploads2/)", access: put("tenants/acme/uploads2/a.csv"), expected: "Denied" },
    { scope: "WRITE uploads/", policy: write, request: "puts into another tenant", access: put("tenants/globex/uploads/a.csv"), expected: "Denied" },
    { scope: "WRITE uploads/", policy: write, request: "deletes under it", access: del("tenants/acme/uploads/a.csv"), expected: "Denied" },
    { scope: "WRITE uploads/", policy: write, request: "tag globex puts into acme's uploads/", access: put("tenants/acme/uploads/a.csv"), tag: "globex", expected: "Denied" },
    { scope: "READWRITE uploads/", policy: readWrite, request: "reads under it", access: object(BUCKET, "tenants/acme/uploads/a.csv"), expected: "Allowed" },
    { scope: "READWRITE uploads/", policy: readWrite, request: "puts under it", access: put("tenants/acme/uploads/a.csv"), expected: "Allowed" },
    { scope: "READWRITE uploads/", policy: readWrite, request: "deletes under it", access: del("tenants/acme/uploads/a.csv"), expected: "Denied" },
    { scope: "WRITE one key", policy: oneKey, request: "puts that key", access: put("tenants/acme/uploads/report.csv"), expected: "Allowed" },
    { scope: "WRITE one key", policy: oneKey, request: "puts a neighbour", access: put("tenants/acme/uploads/other.csv"), expected: "Denied" },
    { scope: "WRITE one key", policy: oneKey, request: "lists its folder", access: list(BUCKET, "tenants/acme/uploads/"), expected: "Denied" },
    { scope: "writer role alone", policy: undefined, request: "puts into its own tenant", access: put("tenants/acme/x"), expected: "Allowed" },
    { scope: "writer role alone", policy: undefined, request: "puts into another tenant", access: put("tenants/globex/x"), expected: "Denied" },
    { scope: "writer role alone", policy: undefined, request: "untagged session puts", access: put("tenants/acme/x"), tag: "", expected: "Denied" },
    { scope: "writer role alone", policy: undefined, request: "deletes in its own tenant", access: del("tenants/acme/x"), expected: "Denied" },
  ];
  it.each(cases)("$scope: $request: $expected", async ({ scope, policy, request, access, tag, expected }) => {
    const decision = await decide(access, tag === "" ? undefined : (tag ?? "acme"), policy, writerRole);
    rows.push(`  ${scope.padEnd(19)} ${request.padEnd(38)} ${decision}`);
    expect(decision).toBe(expected);
  });

  it("the ENHANCED flow's role (the identity pool's) can never write, whatever the tag", async () => {
    for (const tag of ["acme", "globex"]) expect(await decide(put(`tenants/${tag}/uploads/a.csv`), tag)).toBe("Denied");
  });
});
