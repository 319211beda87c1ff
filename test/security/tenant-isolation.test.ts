import { runSimulation } from "@cloud-copilot/iam-simulate";
import { afterAll, describe, expect, it } from "vitest";
import { isValidTenant, prefixForTenant } from "../../src/policy/tenant.js";
import {
  denyListCapacity,
  denyListDocument,
  identityPoolRoleTrustPolicy,
  MANAGED_POLICY_MAX_CHARS,
  scopeSessionPolicy,
  tenantCutoffPolicy,
  tenantReadRolePolicy,
  tenantWriterRolePolicy,
  type PolicyDocument,
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
const rolePolicy = tenantReadRolePolicy(BUCKET, TEMPLATE, 0);
/** A session tag of shard 0 (its first character, "a"), which every session of these matrices carries. */
const SID = "aqwert";

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
          "aws:PrincipalTag/sid": SID,
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

describe("session tags: every Allow needs one of the role's shard, and a deny list denies exactly its tags", () => {
  const readOwn = object(BUCKET, "tenants/acme/readings/2026-11-01.csv");

  /** A session (tenant acme) with session tag `sid` (or none), issued at `issuedAt`, on shard 0's reader role with its deny lists. */
  async function sessionMay(denyLists: PolicyDocument[], sid: string | undefined, options: { classic?: boolean; issuedAt?: string; inline?: PolicyDocument } = {}): Promise<Decision> {
    const result = await runSimulation(
      {
        request: {
          principal: SESSION_PRINCIPAL,
          action: readOwn.action,
          resource: { resource: readOwn.resource, accountId: ACCOUNT },
          contextVariables: {
            "aws:PrincipalTag/tenant": "acme",
            "aws:TokenIssueTime": options.issuedAt ?? "2026-12-01T11:30:00Z",
            ...(sid !== undefined ? { "aws:PrincipalTag/sid": sid } : {}),
          },
        },
        identityPolicies: [
          { name: "tenant-prefix-read", policy: rolePolicy },
          ...denyLists.map((policy, i) => ({ name: `deny-list-${i}`, policy })),
          ...(options.inline ? [{ name: "broker-tenant-cutoffs", policy: options.inline }] : []),
        ],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(options.classic ? { sessionPolicy: scopeSessionPolicy(BUCKET, "tenants/acme/", "READ") } : {}),
      },
      {},
    );
    if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
    return result.overallResult === "Allowed" ? "Allowed" : "Denied";
  }

  const rows: string[] = [];
  afterAll(() => console.log(["Session tag matrix (iam-simulate):", ...rows].join("\n")));

  it.each([
    { who: "a revoked tag", sid: "arevok", expected: "Denied" },
    { who: "the same user's new tag after reinstatement", sid: "anewer", expected: "Allowed" },
    { who: "another user of the same tenant", sid: "aother", expected: "Allowed" },
    { who: "a tag that merely starts like the revoked one", sid: "arevoz", expected: "Allowed" },
    { who: "a session without a session tag (fail closed)", sid: undefined, expected: "Denied" },
    { who: "a session of another shard's tag on this shard's role", sid: "brevok", expected: "Denied" },
    { who: "an empty session tag", sid: "", expected: "Denied" },
  ] as const)("$who: $expected in both flows", async ({ who, sid, expected }) => {
    const denyLists = [denyListDocument(["arevok"]), denyListDocument([])];
    const enhanced = await sessionMay(denyLists, sid);
    const classic = await sessionMay(denyLists, sid, { classic: true });
    rows.push(`  ${who.padEnd(55)} enhanced=${enhanced.padEnd(8)} classic=${classic}`);
    expect(enhanced).toBe(expected);
    expect(classic).toBe(expected);
  });

  it("holds its capacity's worth of tags within IAM's managed-policy quota, and not one more", () => {
    const capacity = denyListCapacity();
    const tags = (n: number) => Array.from({ length: n }, (_, i) => `a${i.toString(32).padStart(5, "0")}`);
    expect(JSON.stringify(denyListDocument(tags(capacity))).length).toBeLessThanOrEqual(MANAGED_POLICY_MAX_CHARS);
    expect(JSON.stringify(denyListDocument(tags(capacity + 1))).length).toBeGreaterThan(MANAGED_POLICY_MAX_CHARS);
    rows.push(`  one deny-list document holds ${capacity} six-character tags in ${MANAGED_POLICY_MAX_CHARS} characters`);
  });

  it("the last resort denies only the one tenant's sessions issued before its cut-off", async () => {
    const inline = tenantCutoffPolicy([{ tenant: "acme", cutoffAt: new Date("2026-12-01T12:00:00.200Z") }], 8192)!;
    expect(inline.fits).toBe(true);
    expect(await sessionMay([], "aother", { inline: inline.document, issuedAt: "2026-12-01T11:59:59Z" })).toBe("Denied");
    expect(await sessionMay([], "aother", { inline: inline.document, issuedAt: "2026-12-01T12:00:01Z" })).toBe("Allowed");
    // Another tenant's session, however old, is untouched.
    const globex = await runSimulation(
      {
        request: {
          principal: SESSION_PRINCIPAL,
          action: "s3:GetObject",
          resource: { resource: `arn:aws:s3:::${BUCKET}/tenants/globex/x`, accountId: ACCOUNT },
          contextVariables: { "aws:PrincipalTag/tenant": "globex", "aws:PrincipalTag/sid": "aglobx", "aws:TokenIssueTime": "2026-12-01T11:00:00Z" },
        },
        identityPolicies: [
          { name: "tenant-prefix-read", policy: rolePolicy },
          { name: "broker-tenant-cutoffs", policy: inline.document },
        ],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    expect(globex.resultType === "error" ? "error" : globex.overallResult).toBe("Allowed");
  });
});

describe("scoped READ credentials (classic flow session policy for a granted target)", () => {
  const rows: string[] = [];
  afterAll(() => console.log(["Scoped READ matrix (role policy + scoped session policy, iam-simulate):", ...rows].join("\n")));
  const prefixScope = scopeSessionPolicy(BUCKET, "tenants/acme/readings/", "READ");
  const objectScope = scopeSessionPolicy(BUCKET, "tenants/acme/readings/2026-11-01.csv", "READ");
  // A folder named as people name them (any script, spaces): matched byte for byte, like any other.
  const japaneseScope = scopeSessionPolicy(BUCKET, "tenants/acme/議事録 2026/", "READ");
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
    { scope: "議事録 2026/", policy: japaneseScope, request: "reads an object under it", access: object(BUCKET, "tenants/acme/議事録 2026/第1回.txt"), expected: "Allowed" },
    { scope: "議事録 2026/", policy: japaneseScope, request: "lists it", access: list(BUCKET, "tenants/acme/議事録 2026/"), expected: "Allowed" },
    { scope: "議事録 2026/", policy: japaneseScope, request: "reads a look-alike (議事録 2026年/)", access: object(BUCKET, "tenants/acme/議事録 2026年/x.txt"), expected: "Denied" },
    { scope: "議事録 2026/", policy: japaneseScope, request: "reads its parent's other folder", access: object(BUCKET, "tenants/acme/議事録/x.txt"), expected: "Denied" },
    { scope: "議事録 2026/", policy: japaneseScope, request: "reads another tenant's folder of that name", access: object(BUCKET, "tenants/globex/議事録 2026/x.txt"), expected: "Denied" },
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
  const writerRole = tenantWriterRolePolicy(BUCKET, TEMPLATE, 0);
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
