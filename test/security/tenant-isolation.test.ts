import { runSimulation } from "@cloud-copilot/iam-simulate";
import { afterAll, describe, expect, it } from "vitest";
import { isValidTenant, prefixForTenant } from "../../src/broker/access/tenant.js";
import { identityPoolRoleTrustPolicy, tenantReadRolePolicy, tenantSessionPolicy, type PolicyDocument } from "../../src/policy/policies.js";

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

async function decide(access: Access, tag: string | undefined, sessionPolicy?: PolicyDocument): Promise<Decision> {
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
      identityPolicies: [{ name: "tenant-prefix-read", policy: rolePolicy }],
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
    const classic = tag !== undefined && isValidTenant(tag) ? await decide(access, tag, tenantSessionPolicy(BUCKET, prefixForTenant(TEMPLATE, tag))) : "n/a (tenant refused)";
    printed.push(`  ${request.padEnd(44)} tag=${JSON.stringify(tag ?? null).padEnd(15)} enhanced=${enhanced.padEnd(8)} classic=${classic}`);
    expect(enhanced).toBe(expected);
    if (classic !== "n/a (tenant refused)") expect(classic).toBe(expected);
  });
});

describe("the classic flow's session policy", () => {
  it("is a second fence: even a role allowing the whole bucket reaches only the tenant's prefix", async () => {
    const wideOpen: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] };
    const session = tenantSessionPolicy(BUCKET, "tenants/acme/");
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
