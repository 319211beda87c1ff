import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { BrokerStack } from "../../src/infra/broker-stack.js";
import { BROKER_ACTIONS, identityPoolRoleTrustPolicy, tenantReadRolePolicy, tenantWriterRolePolicy } from "../../src/policy/policies.js";

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
      ReadAttributes: ["custom:tenant"],
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
      { PolicyName: "tenant-prefix-read-write", PolicyDocument: stack.resolve(tenantWriterRolePolicy(stack.bucket.bucketName, "tenants/{tenant}/")) },
    ]);
    const attachment = onlyResource("AWS::Cognito::IdentityPoolRoleAttachment");
    expect(JSON.stringify(attachment.Roles)).not.toContain(writerId);
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

  it("maps custom:tenant to the session tag tenant and the Pool B username to the tag user (per-user cut-off), without defaults", () => {
    const tag = onlyResource("AWS::Cognito::IdentityPoolPrincipalTag");
    expect(tag.PrincipalTags).toEqual({ tenant: "custom:tenant", user: "cognito:username" });
    expect(tag.UseDefaults).toBe(false);
  });

  it("attaches the tenant reader as the authenticated role", () => {
    expect(onlyResource("AWS::Cognito::IdentityPoolRoleAttachment").Roles).toEqual({ authenticated: { "Fn::GetAtt": ["TenantReader", "Arn"] } });
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
    expect(role.Policies).toEqual([{ PolicyName: "tenant-prefix-read", PolicyDocument: stack.resolve(tenantReadRolePolicy(stack.bucket.bucketName, "tenants/{tenant}/")) }]);
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
    const statements = onlyResource("AWS::IAM::ManagedPolicy").PolicyDocument.Statement as Array<{ Action: string[]; Resource: unknown }>;
    expect(statements.flatMap((s) => s.Action).sort()).toEqual(Object.values(BROKER_ACTIONS).flat().sort());
    for (const statement of statements) expect(JSON.stringify(statement.Resource)).not.toContain('"*"');
    // The only IAM write: the cut-off policy on the tenant role, nowhere else.
    const iamStatement = statements.find((s) => s.Action.some((a) => a.startsWith("iam:")))!;
    expect(iamStatement.Resource).toEqual([
      { "Fn::GetAtt": [expect.stringMatching(/^TenantReader/), "Arn"] },
      { "Fn::GetAtt": [expect.stringMatching(/^TenantWriter/), "Arn"] },
    ]);
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
    expect([...sent].sort()).toEqual(Object.values(BROKER_ACTIONS).flat().sort());
  });
});

describe("every IAM statement in the stack", () => {
  it("grants no wildcard action", () => {
    const documents = [
      ...Object.values(template.findResources("AWS::IAM::Role")).flatMap((r) => [r.Properties.AssumeRolePolicyDocument, ...r.Properties.Policies.map((p: { PolicyDocument: unknown }) => p.PolicyDocument)]),
      ...Object.values(template.findResources("AWS::IAM::ManagedPolicy")).map((r) => r.Properties.PolicyDocument),
    ];
    for (const document of documents) {
      for (const statement of document.Statement) {
        if (statement.Effect !== "Allow") continue;
        for (const action of [statement.Action].flat()) expect(action).not.toMatch(/\*/);
      }
    }
  });
});
