import {
  CognitoIdentityClient,
  CreateIdentityPoolCommand,
  SetIdentityPoolRolesCommand,
  SetPrincipalTagAttributeMapCommand,
} from "@aws-sdk/client-cognito-identity";
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  CreateResourceServerCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolDomainCommand,
  CreateUserPoolCommand,
  type SchemaAttributeType,
} from "@aws-sdk/client-cognito-identity-provider";
import { AttachRolePolicyCommand, CreatePolicyCommand, CreateRoleCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { CreateBucketCommand, PutBucketCorsCommand, PutObjectCommand, S3Client, type BucketLocationConstraint } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { PARTNER_SCOPE_MEANINGS, PARTNER_SCOPES } from "../auth/partners.js";
import {
  bucketCorsRule,
  denyListDocument,
  identityPoolRoleMapping,
  identityPoolRoleTrustPolicy,
  PRINCIPAL_TAG_MAP,
  SESSION_TAG_ATTRIBUTE,
  shardTagPrefix,
  TENANT_ATTRIBUTE,
  tenantReadRolePolicy,
  tenantWriterRolePolicy,
} from "../policy/policies.js";

export interface DemoUser {
  username: string;
  password: string;
  tenant: string;
  admin: boolean;
  sub: string;
}

/** Everything the broker and its users need to know about a bootstrapped AWS side. */
export interface StackInfo {
  region: string;
  endpoint: string | null;
  poolA: { userPoolId: string; clientId: string };
  /**
   * A partner app client of Pool A (client credentials, every broker scope) and the tenant it may
   * act in; its token endpoint is Pool A's domain on AWS (the emulator has none: src/dev/token.ts
   * mints its tokens instead).
   */
  partner: { clientId: string; clientSecret: string; tenants: string[]; resourceServer: string; tokenEndpoint: string | null };
  poolB: { userPoolId: string; clientId: string; clientSecret: string };
  identityPoolId: string;
  /** Shard 0's reader role. */
  roleArn: string;
  /** Shard 0's writer role for WRITE and READWRITE scopes (classic flow only). */
  writerRoleArn: string;
  /** Every shard: its roles and its deny-list policies (attached to both), docs/revocation.md. */
  shards: Array<{ readerRoleArn: string; writerRoleArn: string; denyListPolicyArns: string[] }>;
  roleMaxSessionSeconds: number;
  bucket: string;
  prefixTemplate: string;
  adminGroup: string;
  demoUsers: DemoUser[];
}

export interface BootstrapOptions {
  region: string;
  /** Shards and deny-list policies per shard (default 2 and 2: small, so that tests reach both shards and several documents). */
  shards?: number;
  denyListsPerShard?: number;
  /** Set for a local emulator; unset for real AWS. */
  endpoint?: string;
  name?: string;
  log?: (line: string) => void;
}

const ROLE_MAX_SESSION_SECONDS = 43200;
const PREFIX_TEMPLATE = "tenants/{tenant}/";
const ADMIN_GROUP = "broker-admins";
const PARTNER_RESOURCE_SERVER = "s3-broker";

const tenantSchema: SchemaAttributeType = {
  Name: TENANT_ATTRIBUTE.replace(/^custom:/, ""),
  AttributeDataType: "String",
  Mutable: true,
  StringAttributeConstraints: { MinLength: "1", MaxLength: "64" },
};

/** Pool B only: the session tag the broker owns (no app client may write it; the broker's may read it). */
const sessionTagSchema: SchemaAttributeType = {
  Name: SESSION_TAG_ATTRIBUTE.replace(/^custom:/, ""),
  AttributeDataType: "String",
  Mutable: true,
  StringAttributeConstraints: { MinLength: "1", MaxLength: "16" },
};

function demoPassword(): string {
  return `Demo-${randomBytes(9).toString("base64url")}1a!`;
}

/**
 * Creates the AWS side of the broker: Pool A (the application's users) with demo users, Pool B
 * (data platform users), the identity pool, the tag-scoped role and a bucket with sample objects.
 * Written for real AWS; against an emulator (endpoint set), the calls it does not implement are
 * attempted and their failure tolerated.
 */
export async function bootstrapAws(options: BootstrapOptions): Promise<StackInfo> {
  const log = options.log ?? (() => undefined);
  const emulator = options.endpoint !== undefined;
  const name = options.name ?? "s3-broker";
  const common = { region: options.region, ...(options.endpoint ? { endpoint: options.endpoint } : {}) };
  const idp = new CognitoIdentityProviderClient(common);
  const identity = new CognitoIdentityClient(common);
  const iam = new IAMClient(common);
  const s3 = new S3Client({ ...common, forcePathStyle: emulator });

  const tolerateOnEmulator = async (what: string, call: () => Promise<unknown>) => {
    try {
      await call();
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
      if (!emulator || status < 500) throw error;
      log(`  (the emulator does not implement ${what}; on AWS this call configures it)`);
    }
  };

  try {
    // Pool A: the application's own sign-in.
    const poolA = await idp.send(
      new CreateUserPoolCommand({
        PoolName: `${name}-application`,
        Schema: [tenantSchema],
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      }),
    );
    const poolAId = poolA.UserPool!.Id!;
    const poolAClient = await idp.send(
      new CreateUserPoolClientCommand({
        UserPoolId: poolAId,
        ClientName: `${name}-application-web`,
        ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        // email_verified beside email: the broker shows administrators an e-mail address only if Pool A verified it.
        ReadAttributes: ["email", "email_verified", TENANT_ATTRIBUTE],
        // Explicit, and without the tenant: an unset list lets users write attributes themselves
        // (UpdateUserAttributes), the tenant included. The broker checks this at start-up.
        WriteAttributes: ["email"],
        PreventUserExistenceErrors: "ENABLED",
      }),
    );
    await idp.send(new CreateGroupCommand({ UserPoolId: poolAId, GroupName: ADMIN_GROUP, Description: "May act for any user through the broker" }));
    log(`Pool A ${poolAId} (application users)`);

    // A partner: the broker's resource server with its scopes, and an app client allowed client credentials only.
    await idp.send(
      new CreateResourceServerCommand({
        UserPoolId: poolAId,
        Identifier: PARTNER_RESOURCE_SERVER,
        Name: `${name} broker API`,
        Scopes: PARTNER_SCOPES.map((scope) => ({ ScopeName: scope, ScopeDescription: PARTNER_SCOPE_MEANINGS[scope].slice(0, 256) })),
      }),
    );
    const partnerClient = await idp.send(
      new CreateUserPoolClientCommand({
        UserPoolId: poolAId,
        ClientName: `${name}-partner-example`,
        GenerateSecret: true,
        AllowedOAuthFlows: ["client_credentials"],
        AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthScopes: PARTNER_SCOPES.map((scope) => `${PARTNER_RESOURCE_SERVER}/${scope}`),
        ExplicitAuthFlows: [],
        ReadAttributes: [],
        WriteAttributes: [],
        AccessTokenValidity: 60,
        TokenValidityUnits: { AccessToken: "minutes" },
      }),
    );
    const domain = `${name}-${randomBytes(4).toString("hex")}`;
    let tokenEndpoint: string | null = null;
    await tolerateOnEmulator("user pool domains", async () => {
      await idp.send(new CreateUserPoolDomainCommand({ UserPoolId: poolAId, Domain: domain }));
      tokenEndpoint = emulator ? null : `https://${domain}.auth.${options.region}.amazoncognito.com/oauth2/token`;
    });
    log(`  partner app client ${partnerClient.UserPoolClient!.ClientId!} (tenant acme, scopes ${PARTNER_SCOPES.join(", ")})`);

    const demoUsers: DemoUser[] = [];
    for (const [username, tenant, admin] of [
      ["alice", "acme", false],
      ["bob", "globex", false],
      ["admin", "acme", true],
    ] as const) {
      const password = demoPassword();
      await idp.send(
        new AdminCreateUserCommand({
          UserPoolId: poolAId,
          Username: username,
          MessageAction: "SUPPRESS",
          UserAttributes: [{ Name: TENANT_ATTRIBUTE, Value: tenant }],
        }),
      );
      await idp.send(new AdminSetUserPasswordCommand({ UserPoolId: poolAId, Username: username, Password: password, Permanent: true }));
      if (admin) await idp.send(new AdminAddUserToGroupCommand({ UserPoolId: poolAId, Username: username, GroupName: ADMIN_GROUP }));
      const user = await idp.send(new AdminGetUserCommand({ UserPoolId: poolAId, Username: username }));
      const sub = user.UserAttributes?.find((a) => a.Name === "sub")?.Value ?? "";
      demoUsers.push({ username, password, tenant, admin, sub });
    }
    log(`  demo users: ${demoUsers.map((u) => `${u.username} (${u.tenant}${u.admin ? ", admin" : ""})`).join(", ")}`);

    // Pool B: one data platform user per end user, administered only by the broker.
    const poolB = await idp.send(
      new CreateUserPoolCommand({
        PoolName: `${name}-data-platform`,
        Schema: [tenantSchema, sessionTagSchema],
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
        Policies: { PasswordPolicy: { MinimumLength: 16, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true } },
      }),
    );
    const poolBId = poolB.UserPool!.Id!;
    const poolBClient = await idp.send(
      new CreateUserPoolClientCommand({
        UserPoolId: poolBId,
        ClientName: `${name}-broker`,
        GenerateSecret: true,
        ExplicitAuthFlows: ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes: [TENANT_ATTRIBUTE, SESSION_TAG_ATTRIBUTE],
        WriteAttributes: [],
        AccessTokenValidity: 60,
        IdTokenValidity: 60,
        RefreshTokenValidity: 30,
        TokenValidityUnits: { AccessToken: "minutes", IdToken: "minutes", RefreshToken: "days" },
        EnableTokenRevocation: true,
        PreventUserExistenceErrors: "ENABLED",
      }),
    );
    log(`Pool B ${poolBId} (data platform users)`);

    // The identity pool trusts Pool B; classic flow explicitly on; the tenant claim becomes a session tag.
    const providerName = `cognito-idp.${options.region}.amazonaws.com/${poolBId}`;
    const identityPool = await identity.send(
      new CreateIdentityPoolCommand({
        IdentityPoolName: `${name.replace(/[^\w ]/g, "_")}_data_platform`,
        AllowUnauthenticatedIdentities: false,
        AllowClassicFlow: true,
        CognitoIdentityProviders: [{ ProviderName: providerName, ClientId: poolBClient.UserPoolClient!.ClientId!, ServerSideTokenCheck: true }],
      }),
    );
    const identityPoolId = identityPool.IdentityPoolId!;
    log(`Identity pool ${identityPoolId}`);

    const bucket = `${name}-data-${randomBytes(4).toString("hex")}`;
    // Per shard: a reader and a writer role (both trust this identity pool's authenticated
    // identities, for 12-hour sessions) and the deny-list policies attached to both.
    const suffix = randomBytes(3).toString("hex");
    const tenantRole = async (roleName: string, description: string, policyName: string, policy: object, denyLists: string[]) => {
      const created = await iam.send(
        new CreateRoleCommand({
          RoleName: roleName,
          AssumeRolePolicyDocument: JSON.stringify(identityPoolRoleTrustPolicy(identityPoolId)),
          MaxSessionDuration: ROLE_MAX_SESSION_SECONDS,
          Description: description,
        }),
      );
      await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: JSON.stringify(policy) }));
      for (const policyArn of denyLists) await iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: policyArn }));
      return created.Role!.Arn!;
    };
    const shards: StackInfo["shards"] = [];
    for (let shard = 0; shard < (options.shards ?? 2); shard++) {
      const denyListPolicyArns: string[] = [];
      for (let slot = 0; slot < (options.denyListsPerShard ?? 2); slot++) {
        const created = await iam.send(
          new CreatePolicyCommand({
            PolicyName: `${name}-deny-list-${suffix}-${shard}-${slot}`,
            Description: "Written by the broker: sessions of revoked users (session tags) of one shard",
            PolicyDocument: JSON.stringify(denyListDocument([])),
          }),
        );
        denyListPolicyArns.push(created.Policy!.Arn!);
      }
      const readerRoleArn = await tenantRole(
        `${name}-tenant-reader-${suffix}-${shardTagPrefix(shard)}`,
        "Assumed through the identity pool; reads only the prefix named by the session's tenant tag",
        "tenant-prefix-read",
        tenantReadRolePolicy(bucket, PREFIX_TEMPLATE, shard),
        denyListPolicyArns,
      );
      const writerRoleArn = await tenantRole(
        `${name}-tenant-writer-${suffix}-${shardTagPrefix(shard)}`,
        "Classic flow only, for WRITE scopes: reads and writes only under the session's tenant prefix, narrowed by a session policy",
        "tenant-prefix-read-write",
        tenantWriterRolePolicy(bucket, PREFIX_TEMPLATE, shard),
        denyListPolicyArns,
      );
      shards.push({ readerRoleArn, writerRoleArn, denyListPolicyArns });
    }
    const roleArn = shards[0]!.readerRoleArn;
    const writerRoleArn = shards[0]!.writerRoleArn;
    log(`${shards.length} shards of roles with ${shards[0]!.denyListPolicyArns.length} deny-list policies each (shard 0: ${roleArn})`);

    await tolerateOnEmulator("SetIdentityPoolRoles", () =>
      identity.send(
        new SetIdentityPoolRolesCommand({
          IdentityPoolId: identityPoolId,
          Roles: { authenticated: roleArn },
          // The enhanced flow: each shard's users get their shard's reader role (the tag's first character); anything else is denied.
          RoleMappings: { [providerName]: identityPoolRoleMapping(shards.map((s) => s.readerRoleArn)) },
        }),
      ),
    );
    await tolerateOnEmulator("SetPrincipalTagAttributeMap", () =>
      identity.send(
        new SetPrincipalTagAttributeMapCommand({
          IdentityPoolId: identityPoolId,
          IdentityProviderName: providerName,
          UseDefaults: false,
          PrincipalTags: { ...PRINCIPAL_TAG_MAP },
        }),
      ),
    );

    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ...(options.region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: options.region as BucketLocationConstraint } }),
      }),
    );
    // The console on any local port may upload and download with presigned URLs.
    await s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: [bucketCorsRule(["http://127.0.0.1:*", "http://localhost:*"])] } }));
    for (const tenant of ["acme", "globex"]) {
      const prefix = PREFIX_TEMPLATE.replace("{tenant}", tenant);
      for (const [key, body] of [
        [`${prefix}readings/2026-11-01.csv`, `device,reading\n${tenant}-1,42\n`],
        [`${prefix}readings/2026-11-02.csv`, `device,reading\n${tenant}-1,43\n`],
        [`${prefix}README.txt`, `Sample data for tenant ${tenant}.\n`],
      ] as const) {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "text/plain" }));
      }
    }
    log(`Bucket ${bucket} with sample objects under tenants/acme/ and tenants/globex/`);

    return {
      region: options.region,
      endpoint: options.endpoint ?? null,
      poolA: { userPoolId: poolAId, clientId: poolAClient.UserPoolClient!.ClientId! },
      partner: {
        clientId: partnerClient.UserPoolClient!.ClientId!,
        clientSecret: partnerClient.UserPoolClient!.ClientSecret!,
        tenants: ["acme"],
        resourceServer: PARTNER_RESOURCE_SERVER,
        tokenEndpoint,
      },
      poolB: { userPoolId: poolBId, clientId: poolBClient.UserPoolClient!.ClientId!, clientSecret: poolBClient.UserPoolClient!.ClientSecret! },
      identityPoolId,
      roleArn,
      writerRoleArn,
      shards,
      roleMaxSessionSeconds: ROLE_MAX_SESSION_SECONDS,
      bucket,
      prefixTemplate: PREFIX_TEMPLATE,
      adminGroup: ADMIN_GROUP,
      demoUsers,
    };
  } finally {
    idp.destroy();
    identity.destroy();
    iam.destroy();
    s3.destroy();
  }
}

/** The broker's environment for a bootstrapped stack (the JWKS is served by the emulator when there is one). */
export function brokerEnvironment(stack: StackInfo, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_REGION: stack.region,
    ...(stack.endpoint
      ? { AWS_ENDPOINT_URL: stack.endpoint, POOL_A_JWKS_URI: `${stack.endpoint}/${stack.poolA.userPoolId}/.well-known/jwks.json` }
      : {}),
    POOL_A_USER_POOL_ID: stack.poolA.userPoolId,
    POOL_A_CLIENT_ID: stack.poolA.clientId,
    POOL_A_ADMIN_GROUP: stack.adminGroup,
    PARTNER_CLIENTS: `${stack.partner.clientId}=${stack.partner.tenants.join("+")}`,
    PARTNER_RESOURCE_SERVER: stack.partner.resourceServer,
    POOL_B_USER_POOL_ID: stack.poolB.userPoolId,
    POOL_B_CLIENT_ID: stack.poolB.clientId,
    POOL_B_CLIENT_SECRET: stack.poolB.clientSecret,
    IDENTITY_POOL_ID: stack.identityPoolId,
    CLASSIC_ROLE_ARN: stack.roleArn,
    CLASSIC_WRITER_ROLE_ARN: stack.writerRoleArn,
    SESSION_SHARDS: JSON.stringify(stack.shards),
    CLASSIC_ROLE_MAX_SESSION_SECONDS: String(stack.roleMaxSessionSeconds),
    S3_BUCKET: stack.bucket,
    S3_PREFIX_TEMPLATE: stack.prefixTemplate,
    ...extra,
  };
}
