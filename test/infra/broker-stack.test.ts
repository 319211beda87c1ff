import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { BrokerStack } from "../../src/infra/broker-stack.js";
import { BROKER_ACTIONS, denyListDocument, identityPoolRoleTrustPolicy, tenantReadRolePolicy, tenantWriterRolePolicy } from "../../src/policy/policies.js";

// Synthesised offline: no AWS account or credentials are involved.
let stack: BrokerStack;
let template: Template;

beforeAll(() => {
  const app = new App({ outdir: join(process.env.TMPDIR ?? "/tmp", `cdk-test-${process.pid}`) });
  stack = new BrokerStack(app, "TestBroker", { env: { account: "123456789012", region: "eu-west-1" } });
  template = Template.fromStack(stack);
}, 60_000);

const onlyResource = (type: string) => {
  const resources = Object.values(template.findResources(type));
  expect(resources).toHaveLength(1);
  return resources[0]!.Properties as Record<string, any>;
};

describe("the user pools", () => {
  it("gives the broker a Pool B client with a secret and only the admin password and refresh flows", () => {
    template.hasResourceProperties("AWS::Cognito::UserPoolClient", {
      UserPoolId: { Ref: Match.stringLikeRegexp("DataPlatformUsers") },
      GenerateSecret: true,
      ExplicitAuthFlows: Match.arrayEquals(["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]),
      ReadAttributes: ["custom:sid", "custom:tenant"],
      WriteAttributes: [],
      EnableTokenRevocation: true,
      IdTokenValidity: 60,
      RefreshTokenValidity: 43200,
      TokenValidityUnits: { IdToken: "minutes", RefreshToken: "minutes" },
    });
  });

  it("lets the application's client read the tenant attribute, without a secret", () => {
    template.hasResourceProperties("AWS::Cognito::UserPoolClient", {
      UserPoolId: { Ref: Match.stringLikeRegexp("ApplicationUsers") },
      GenerateSecret: Match.absent(),
      ReadAttributes: Match.arrayWith(["custom:tenant"]),
    });
  });

  it("defines the tenant attribute in both pools and no self sign-up", () => {
    const pools = Object.values(template.findResources("AWS::Cognito::UserPool"));
    expect(pools).toHaveLength(2);
    for (const pool of pools) {
      expect(pool.Properties.Schema).toEqual(expect.arrayContaining([expect.objectContaining({ Name: "tenant", AttributeDataType: "String", Mutable: true })]));
      expect(pool.Properties.AdminCreateUserConfig).toMatchObject({ AllowAdminCreateUserOnly: true });
    }
  });
});

describe("the writer role", () => {
  it("trusts the identity pool like the reader, lasts 12 h, writes only under the tagged tenant's prefix, and is never the identity pool's role", () => {
    const [writerId] = Object.entries(template.findResources("AWS::IAM::Role")).find(([id]) => id.startsWith("TenantWriter"))!;
    const writer = roleNamed("TenantWriter");
    expect(writer.MaxSessionDuration).toBe(43200);
    expect(writer.AssumeRolePolicyDocument).toEqual(stack.resolve(identityPoolRoleTrustPolicy(stack.identityPool.ref)));
    expect(writer.Policies).toEqual([
      { PolicyName: "tenant-prefix-read-write", PolicyDocument: stack.resolve(tenantWriterRolePolicy(stack.bucket.bucketName, "tenants/{tenant}/", 0)) },
    ]);
    const attachment = onlyResource("AWS::Cognito::IdentityPoolRoleAttachment");
    expect(JSON.stringify(attachment.Roles)).not.toContain(writerId);
    expect(JSON.stringify(attachment.RoleMappings)).not.toContain("TenantWriter");
  });
});

describe("who may write the tenant", () => {
  it("lists the application client's WriteAttributes explicitly, without the tenant (the CDK default is every attribute)", () => {
    const client = Object.values(template.findResources("AWS::Cognito::UserPoolClient")).find((c) => JSON.stringify(c.Properties.UserPoolId).includes("ApplicationUsers"))!;
    expect(client.Properties.WriteAttributes).toEqual(["email"]);
  });

  it("lets the broker's Pool B client write nothing", () => {
    const client = Object.values(template.findResources("AWS::Cognito::UserPoolClient")).find((c) => JSON.stringify(c.Properties.UserPoolId).includes("DataPlatformUsers"))!;
    expect(client.Properties.WriteAttributes).toEqual([]);
  });
});

describe("the identity pool", () => {
  it("trusts Pool B only, with classic flow explicitly allowed and a server-side token check", () => {
    const pool = onlyResource("AWS::Cognito::IdentityPool");
    expect(pool.AllowClassicFlow).toBe(true);
    expect(pool.AllowUnauthenticatedIdentities).toBe(false);
    expect(pool.CognitoIdentityProviders).toEqual([
      {
        ProviderName: { "Fn::Join": ["", ["cognito-idp.eu-west-1.amazonaws.com/", { Ref: expect.stringMatching(/^DataPlatformUsers/) }]] },
        ClientId: { Ref: expect.stringMatching(/^DataPlatformUsersBroker/) },
        ServerSideTokenCheck: true,
      },
    ]);
  });

  it("maps custom:tenant to the tag tenant, the Pool B username to the tag user (CloudTrail) and custom:sid to the session tag, without defaults", () => {
    const tag = onlyResource("AWS::Cognito::IdentityPoolPrincipalTag");
    expect(tag.PrincipalTags).toEqual({ tenant: "custom:tenant", user: "cognito:username", sid: "custom:sid" });
    expect(tag.UseDefaults).toBe(false);
  });

  it("gives each shard's users their shard's reader role (a rule on the session tag's first character), and no role to a token without a tag", () => {
    const attachment = onlyResource("AWS::Cognito::IdentityPoolRoleAttachment");
    expect(attachment.Roles).toEqual({ authenticated: { "Fn::GetAtt": ["TenantReader", "Arn"] } });
    const mapping = Object.values(attachment.RoleMappings as Record<string, any>)[0];
    expect(mapping).toMatchObject({ Type: "Rules", AmbiguousRoleResolution: "Deny" });
    const rules = mapping.RulesConfiguration.Rules as Array<{ Claim: string; MatchType: string; Value: string; RoleARN: unknown }>;
    expect(rules).toHaveLength(24);
    expect(rules.map((r) => r.Value).join("")).toBe("abcdefghijklmnopqrstuvwx");
    expect(rules[0]).toEqual({ Claim: "custom:sid", MatchType: "StartsWith", Value: "a", RoleARN: { "Fn::GetAtt": ["TenantReader", "Arn"] } });
    expect(rules[5]!.RoleARN).toEqual({ "Fn::GetAtt": ["TenantReader5", "Arn"] });
  });
});

const roleNamed = (prefix: string) => Object.entries(template.findResources("AWS::IAM::Role")).find(([id]) => id.startsWith(prefix))![1].Properties as Record<string, any>;

describe("the tenant reader role", () => {
  it("uses exactly the shared trust policy (TagSession included) and a 12-hour maximum session", () => {
    const role = roleNamed("TenantReader");
    expect(role.MaxSessionDuration).toBe(43200);
    expect(role.AssumeRolePolicyDocument).toEqual(stack.resolve(identityPoolRoleTrustPolicy(stack.identityPool.ref)));
    expect(role.AssumeRolePolicyDocument.Statement[0].Action).toContain("sts:TagSession");
  });

  it("uses exactly the shared tag-scoped read policy", () => {
    const role = roleNamed("TenantReader");
    expect(role.Policies).toEqual([{ PolicyName: "tenant-prefix-read", PolicyDocument: stack.resolve(tenantReadRolePolicy(stack.bucket.bucketName, "tenants/{tenant}/", 0)) }]);
  });
});

describe("the shards (docs/revocation.md)", () => {
  it("has 24 shards of a reader and a writer role, each pair sharing its own 10 deny-list policies (IAM's default attachment quota)", () => {
    const roles = template.findResources("AWS::IAM::Role");
    for (let shard = 0; shard < 24; shard++) {
      const suffix = shard === 0 ? "" : String(shard);
      const reader = Object.entries(roles).find(([id]) => id === `TenantReader${suffix}`)![1].Properties;
      const writer = Object.entries(roles).find(([id]) => id === `TenantWriter${suffix}`)![1].Properties;
      expect(reader.ManagedPolicyArns).toHaveLength(10);
      expect(writer.ManagedPolicyArns).toEqual(reader.ManagedPolicyArns);
      expect(reader.ManagedPolicyArns.map((r: { Ref: string }) => r.Ref)).toEqual(Array.from({ length: 10 }, (_, slot) => expect.stringMatching(new RegExp(`^DenyList${shard}x${slot}`))));
      expect(reader.Policies[0].PolicyDocument).toEqual(stack.resolve(tenantReadRolePolicy(stack.bucket.bucketName, "tenants/{tenant}/", shard)));
    }
    const denyLists = Object.entries(template.findResources("AWS::IAM::ManagedPolicy")).filter(([id]) => id.startsWith("DenyList"));
    expect(denyLists).toHaveLength(240);
    for (const [, policy] of denyLists) expect(policy.Properties.PolicyDocument).toEqual(denyListDocument([]));
  });

  it("outputs the broker's SESSION_SHARDS", () => {
    expect(template.findOutputs("SessionShards")).toBeDefined();
  });
});

describe("the bucket", () => {
  it("blocks public access, encrypts at rest and refuses plain http", () => {
    const bucket = onlyResource("AWS::S3::Bucket");
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe("AES256");
    const policy = onlyResource("AWS::S3::BucketPolicy").PolicyDocument;
    expect(policy.Statement).toEqual([expect.objectContaining({ Effect: "Deny", Principal: "*", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } })]);
  });
});

describe("the broker's own policy", () => {
  it("allows only the calls the service layer makes, each on its one resource", () => {
    const brokerPolicies = Object.entries(template.findResources("AWS::IAM::ManagedPolicy")).filter(([id]) => id.startsWith("BrokerPermissions"));
    expect(brokerPolicies).toHaveLength(1);
    const statements = brokerPolicies[0]![1].Properties.PolicyDocument.Statement as Array<{ Action: string[]; Resource: unknown }>;
    expect(statements.flatMap((s) => s.Action).sort()).toEqual(Object.values(BROKER_ACTIONS).flat().sort());
    for (const statement of statements) expect(JSON.stringify(statement.Resource)).not.toContain('"*"');
    // The IAM writes: the tenant cut-off on the tenant roles, and versions of the deny-list policies; nothing else.
    const roleWrites = statements.find((s) => s.Action.includes("iam:PutRolePolicy"))!;
    expect(roleWrites.Resource).toHaveLength(48);
    for (const resource of roleWrites.Resource as unknown[]) expect(resource).toEqual({ "Fn::GetAtt": [expect.stringMatching(/^Tenant(Reader|Writer)\d*$/), "Arn"] });
    const versionWrites = statements.find((s) => s.Action.includes("iam:CreatePolicyVersion"))!;
    expect(versionWrites.Resource).toHaveLength(240);
    for (const resource of versionWrites.Resource as unknown[]) expect(resource).toEqual({ Ref: expect.stringMatching(/^DenyList\d+x\d+/) });
  });

  it("lists every AWS command the service layer sends (and no other)", () => {
    const dir = resolve(import.meta.dirname, "../../src/cognito");
    const sent = new Set<string>();
    for (const file of readdirSync(dir)) {
      const source = readFileSync(join(dir, file), "utf8");
      // S3 calls are signed with the end user's own scoped credentials, never the broker's.
      if (/client-s3"/.test(source)) continue;
      for (const [, name] of source.matchAll(/new (\w+)Command\(/g)) {
        if (name === "AssumeRoleWithWebIdentity") continue; // authorised by the web identity token, not by IAM
        const service = /client-iam"/.test(source)
          ? "iam"
          : /client-cognito-identity"/.test(source) && ["GetId", "GetCredentialsForIdentity", "GetOpenIdToken"].includes(name!)
            ? "cognito-identity"
            : "cognito-idp";
        sent.add(`${service}:${name}`);
      }
    }
    // An action may be granted on more than one resource (DescribeUserPoolClient: both pools' clients, at start-up).
    expect([...sent].sort()).toEqual([...new Set(Object.values(BROKER_ACTIONS).flat())].sort());
  });
});

describe("every IAM statement in the stack", () => {
  it("grants no wildcard action", () => {
    const documents = [
      ...Object.values(template.findResources("AWS::IAM::Role")).flatMap((r) => [r.Properties.AssumeRolePolicyDocument, ...(r.Properties.Policies ?? []).map((p: { PolicyDocument: unknown }) => p.PolicyDocument)]),
      ...Object.values(template.findResources("AWS::IAM::ManagedPolicy")).map((r) => r.Properties.PolicyDocument),
      // What the CDK grants the service's own roles (reading its secrets, the custom resource that copies Pool B's secret).
      ...Object.values(template.findResources("AWS::IAM::Policy")).map((r) => r.Properties.PolicyDocument),
    ];
    for (const document of documents) {
      for (const statement of document.Statement) {
        if (statement.Effect !== "Allow") continue;
        for (const action of [statement.Action].flat()) expect(action).not.toMatch(/\*/);
      }
    }
  });
});
