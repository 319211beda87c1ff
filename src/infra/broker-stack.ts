import { CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import * as cognito from "aws-cdk-lib/aws-cognito";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import {
  brokerPolicy,
  bucketCorsRule,
  denyListDocument,
  identityPoolRoleMapping,
  identityPoolRoleTrustPolicy,
  MAX_SHARDS,
  SESSION_TAG_ATTRIBUTE,
  PRINCIPAL_TAG_MAP,
  tenantReadRolePolicy,
  tenantWriterRolePolicy,
  tlsOnlyBucketPolicy,
} from "../policy/policies.js";
import { BrokerService } from "./broker-service.js";

export interface BrokerStackProps extends StackProps {
  /** Where each tenant's data lives; must match the broker's S3_PREFIX_TEMPLATE. */
  prefixTemplate?: string;
  /** Keep the bucket and pools when the stack is deleted (default: keep). */
  retainData?: boolean;
  /**
   * Shards (a reader and a writer role each) and deny-list policies per shard (docs/revocation.md):
   * the default 24 × 10 holds about 160,000 revoked tags within IAM's default quotas (10 managed
   * policies per role); 10,000 revocations an hour of 12-hour sessions need about 120,000.
   */
  shards?: number;
  denyListsPerShard?: number;
  /**
   * The broker itself (ECS on Fargate behind a load balancer, PostgreSQL, Valkey, secrets, alarms:
   * broker-service.ts), deployed with the parameters BrokerImage, CertificateArn and PublicUrl.
   * false: only the AWS side the broker uses, for a broker run elsewhere.
   */
  service?: false | { minTasks?: number; maxTasks?: number };
}

export const ROLE_MAX_SESSION_SECONDS = 43200;

/**
 * Everything the broker needs on AWS. The IAM documents come from src/policy/policies.ts, the
 * same module the local bootstrap and the broker's session policy use, so they cannot drift.
 */
export class BrokerStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly poolA: cognito.UserPool;
  readonly poolB: cognito.UserPool;
  readonly identityPool: cognito.CfnIdentityPool;
  readonly service: BrokerService | undefined;

  constructor(scope: Construct, id: string, props: BrokerStackProps = {}) {
    super(scope, id, props);
    const prefixTemplate = props.prefixTemplate ?? "tenants/{tenant}/";
    const removalPolicy = props.retainData === false ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const tenantAttribute = { tenant: new cognito.StringAttribute({ minLen: 1, maxLen: 64, mutable: true }) };
    const shardCount = props.shards ?? 24;
    const denyListsPerShard = props.denyListsPerShard ?? 10;
    if (shardCount < 1 || shardCount > MAX_SHARDS) throw new Error(`shards must be 1 to ${MAX_SHARDS} (the identity pool's role-mapping rules)`);
    if (denyListsPerShard < 1 || denyListsPerShard > 20) throw new Error("denyListsPerShard must be 1 to 20 (managed policies per role; above 10 needs a Service Quotas increase)");

    // Pool A: the application's own users.
    this.poolA = new cognito.UserPool(this, "ApplicationUsers", {
      selfSignUpEnabled: false,
      customAttributes: tenantAttribute,
      removalPolicy,
    });
    const poolAClient = this.poolA.addClient("ApplicationWeb", {
      authFlows: { userSrp: true },
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      preventUserExistenceErrors: true,
      // email_verified beside email: the broker shows administrators an e-mail address only if Pool A verified it.
      readAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true, emailVerified: true }).withCustomAttributes("tenant"),
      // The CDK's default is "all standard and custom attributes": users could set their own tenant.
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true }),
    });
    new cognito.CfnUserPoolGroup(this, "BrokerAdmins", { userPoolId: this.poolA.userPoolId, groupName: "broker-admins" });

    // Pool B: data platform users, administered by the broker only. Separate from Pool A so that a
    // lockout or compromise of one sign-in never freezes the other.
    this.poolB = new cognito.UserPool(this, "DataPlatformUsers", {
      selfSignUpEnabled: false,
      // sid: the session tag the broker owns and rotates (docs/revocation.md).
      customAttributes: { ...tenantAttribute, [SESSION_TAG_ATTRIBUTE.replace(/^custom:/, "")]: new cognito.StringAttribute({ minLen: 1, maxLen: 16, mutable: true }) },
      passwordPolicy: { minLength: 16, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true },
      accountRecovery: cognito.AccountRecovery.NONE,
      removalPolicy,
    });
    const poolBClient = this.poolB.addClient("Broker", {
      generateSecret: true,
      authFlows: { adminUserPassword: true },
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      enableTokenRevocation: true,
      preventUserExistenceErrors: true,
      readAttributes: new cognito.ClientAttributes().withCustomAttributes("tenant", SESSION_TAG_ATTRIBUTE.replace(/^custom:/, "")),
      writeAttributes: new cognito.ClientAttributes(),
    });

    const providerName = `cognito-idp.${this.region}.amazonaws.com/${this.poolB.userPoolId}`;
    const identityPool = (this.identityPool = new cognito.CfnIdentityPool(this, "DataPlatformIdentities", {
      allowUnauthenticatedIdentities: false,
      allowClassicFlow: true,
      cognitoIdentityProviders: [{ providerName, clientId: poolBClient.userPoolClientId, serverSideTokenCheck: true }],
    }));
    new cognito.CfnIdentityPoolPrincipalTag(this, "TenantTag", {
      identityPoolId: identityPool.ref,
      identityProviderName: providerName,
      useDefaults: false,
      principalTags: { ...PRINCIPAL_TAG_MAP },
    });

    this.bucket = new s3.Bucket(this, "Data", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: false, // the TLS-only policy below comes from the shared policy module instead
      versioned: true,
      removalPolicy,
    });
    new s3.CfnBucketPolicy(this, "DataTlsOnly", { bucket: this.bucket.bucketName, policyDocument: tlsOnlyBucketPolicy(this.bucket.bucketName) });

    // Per shard: deny-list policies (the broker writes their versions) attached to a reader and a writer role.
    const shards = Array.from({ length: shardCount }, (_, shard) => {
      const denyLists = Array.from(
        { length: denyListsPerShard },
        (_, slot) =>
          new iam.CfnManagedPolicy(this, `DenyList${shard}x${slot}`, {
            description: `Written by the broker: session tags of revoked users of shard ${shard}`,
            policyDocument: denyListDocument([]),
          }),
      );
      const managedPolicyArns = denyLists.map((p) => p.ref);
      const reader = new iam.CfnRole(this, shard === 0 ? "TenantReader" : `TenantReader${shard}`, {
        description: "Assumed through the identity pool; reads only the prefix named by the session's tenant tag",
        maxSessionDuration: ROLE_MAX_SESSION_SECONDS,
        assumeRolePolicyDocument: identityPoolRoleTrustPolicy(identityPool.ref),
        policies: [{ policyName: "tenant-prefix-read", policyDocument: tenantReadRolePolicy(this.bucket.bucketName, prefixTemplate, shard) }],
        managedPolicyArns,
      });
      // Never the identity pool's role: only the classic flow assumes it, always with a session policy narrowing it to one grant.
      const writer = new iam.CfnRole(this, shard === 0 ? "TenantWriter" : `TenantWriter${shard}`, {
        description: "Classic flow only, for WRITE scopes: reads and writes only under the session's tenant prefix, narrowed by a session policy",
        maxSessionDuration: ROLE_MAX_SESSION_SECONDS,
        assumeRolePolicyDocument: identityPoolRoleTrustPolicy(identityPool.ref),
        policies: [{ policyName: "tenant-prefix-read-write", policyDocument: tenantWriterRolePolicy(this.bucket.bucketName, prefixTemplate, shard) }],
        managedPolicyArns,
      });
      return { reader, writer, denyLists };
    });
    const tenantReader = shards[0]!.reader;
    const tenantWriter = shards[0]!.writer;
    new cognito.CfnIdentityPoolRoleAttachment(this, "Roles", {
      identityPoolId: identityPool.ref,
      roles: { authenticated: tenantReader.attrArn },
      roleMappings: {
        dataPlatform: {
          identityProvider: `${providerName}:${poolBClient.userPoolClientId}`,
          ...lowerCaseKeys(identityPoolRoleMapping(shards.map((s) => s.reader.attrArn))),
        },
      },
    });

    const identityPoolArn = this.formatArn({ service: "cognito-identity", resource: "identitypool", resourceName: identityPool.ref });
    const brokerPermissions = new iam.CfnManagedPolicy(this, "BrokerPermissions", {
      description: "Least privilege for the S3 access broker: Pool B administration, Pool A look-ups, identity pool exchange, session cut-offs on the tenant role",
      policyDocument: brokerPolicy({
        poolAArn: this.poolA.userPoolArn,
        poolBArn: this.poolB.userPoolArn,
        identityPoolArn,
        tenantRoleArns: shards.flatMap((s) => [s.reader.attrArn, s.writer.attrArn]),
        denyListPolicyArns: shards.flatMap((s) => s.denyLists.map((p) => p.ref)),
      }),
    });

    // What the broker's environment needs, as stack outputs.
    const outputs: Record<string, string> = {
      PoolAUserPoolId: this.poolA.userPoolId,
      PoolAClientId: poolAClient.userPoolClientId,
      PoolBUserPoolId: this.poolB.userPoolId,
      PoolBClientId: poolBClient.userPoolClientId,
      IdentityPoolId: identityPool.ref,
      ClassicRoleArn: tenantReader.attrArn,
      ClassicWriterRoleArn: tenantWriter.attrArn,
      // The broker's SESSION_SHARDS, ready to paste.
      SessionShards: this.toJsonString(
        shards.map((s) => ({ readerRoleArn: s.reader.attrArn, writerRoleArn: s.writer.attrArn, denyListPolicyArns: s.denyLists.map((p) => p.ref) })),
      ),
      Bucket: this.bucket.bucketName,
    };
    // The Pool B client secret is deliberately not an output: read it from Cognito into the broker's secret store.
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(this, name, { value });

    if (props.service !== false) {
      const image = new CfnParameter(this, "BrokerImage", { type: "String", description: "The broker's container image: registry URI with tag or digest (docs/operators.md)" });
      const certificateArn = new CfnParameter(this, "CertificateArn", {
        type: "String",
        allowedPattern: "^arn:aws[a-z-]*:acm:[a-z0-9-]+:\\d{12}:certificate/[0-9a-f-]+$",
        description: "An ACM certificate for the broker's name, in this region",
      });
      const publicUrl = new CfnParameter(this, "PublicUrl", { type: "String", allowedPattern: "^https://[a-z0-9.-]+(:[0-9]+)?$", description: "The broker's external address, e.g. https://broker.example.com" });
      // The console (served by the broker at PublicUrl) downloads and uploads with presigned URLs.
      const cors = bucketCorsRule([publicUrl.valueAsString]);
      this.bucket.addCorsRule({
        allowedOrigins: cors.AllowedOrigins,
        allowedMethods: cors.AllowedMethods.map((method) => s3.HttpMethods[method]),
        allowedHeaders: cors.AllowedHeaders,
        exposedHeaders: cors.ExposeHeaders,
        maxAge: cors.MaxAgeSeconds,
      });
      this.service = new BrokerService(this, "Broker", {
        environment: {
          POOL_A_USER_POOL_ID: this.poolA.userPoolId,
          POOL_A_CLIENT_ID: poolAClient.userPoolClientId,
          POOL_B_USER_POOL_ID: this.poolB.userPoolId,
          POOL_B_CLIENT_ID: poolBClient.userPoolClientId,
          IDENTITY_POOL_ID: identityPool.ref,
          CLASSIC_ROLE_ARN: tenantReader.attrArn,
          CLASSIC_WRITER_ROLE_ARN: tenantWriter.attrArn,
          CLASSIC_ROLE_MAX_SESSION_SECONDS: String(ROLE_MAX_SESSION_SECONDS),
          SESSION_SHARDS: outputs.SessionShards!,
          S3_BUCKET: this.bucket.bucketName,
          S3_PREFIX_TEMPLATE: prefixTemplate,
        },
        brokerPolicyArn: brokerPermissions.ref,
        poolBClientSecret: poolBClient.userPoolClientSecret,
        image: image.valueAsString,
        certificateArn: certificateArn.valueAsString,
        publicUrl: publicUrl.valueAsString,
        removalPolicy,
        ...(props.service ?? {}),
      });
    }
  }
}

/** CloudFormation's role mapping properties are camel-cased in the CDK's L1 types (type, rulesConfiguration, claim, …). */
function lowerCaseKeys(mapping: ReturnType<typeof identityPoolRoleMapping>) {
  return {
    type: mapping.Type,
    ambiguousRoleResolution: mapping.AmbiguousRoleResolution,
    rulesConfiguration: {
      rules: mapping.RulesConfiguration.Rules.map((r) => ({ claim: r.Claim, matchType: r.MatchType, value: r.Value, roleArn: r.RoleARN })),
    },
  };
}
