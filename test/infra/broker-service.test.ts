import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { loadEnvironment } from "../../src/config/environment.js";
import { CLOUDWATCH_METRICS } from "../../src/http/cloudwatch-metrics.js";
import { BROKER_PORT, CLOUDWATCH_NAMESPACE, DEREGISTRATION_DELAY_SECONDS, DRAIN_SECONDS, METRICS_PORT, STOP_TIMEOUT_SECONDS } from "../../src/infra/broker-service.js";
import { BrokerStack } from "../../src/infra/broker-stack.js";
import { resolve } from "./cloudformation-values.js";

/**
 * The broker itself in the CDK stack (src/infra/broker-service.ts), synthesised offline: where it
 * runs, behind what, with which database, cache, secrets, scaling and alarms.
 */
let template: Template;
let validationReport: { pluginReports: unknown[] };
let resources: Record<string, { Type: string; Properties: Record<string, any> }>;
const deployed = {
  account: "123456789012",
  region: "eu-west-1",
  parameters: { BrokerImage: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/s3-access-broker:1.0.0", CertificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e4a4c-1111-2222-3333-444455556666", PublicUrl: "https://broker.example.com" },
};

beforeAll(() => {
  const started = performance.now();
  const app = new App({ outdir: join(process.env.TMPDIR ?? "/tmp", `cdk-service-test-${process.pid}`) });
  const stack = new BrokerStack(app, "TestBroker", { env: { account: deployed.account, region: deployed.region } });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
  validationReport = JSON.parse(readFileSync(join(app.synth().directory, "validation-report.json"), "utf8"));
  console.log(`synthesised the stack with the broker service in ${Math.round(performance.now() - started)} ms: ${Object.keys(resources).length} resources`);
}, 120_000);

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const only = (type: string) => {
  const found = ofType(type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};
const container = () => only("AWS::ECS::TaskDefinition")[1].Properties.ContainerDefinitions[0];

describe("the broker's service", () => {
  it("passes CloudFormation's own validation of every property (the CDK's validation report is empty)", () => {
    expect(validationReport.pluginReports).toEqual([]);
  });

  it("runs at least two Fargate tasks in the private subnets of two zones, rolling back a deployment that fails", () => {
    const [, service] = only("AWS::ECS::Service");
    expect(service.Properties).toMatchObject({
      LaunchType: "FARGATE",
      DesiredCount: 2,
      DeploymentConfiguration: { MinimumHealthyPercent: 100, MaximumPercent: 200, DeploymentCircuitBreaker: { Enable: true, Rollback: true } },
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: "DISABLED" } },
    });
    const subnets: Array<{ Properties: Record<string, unknown> }> = service.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets.map((s: { Ref: string }) => resources[s.Ref]!);
    expect(subnets).toHaveLength(2);
    expect(new Set(subnets.map((s) => JSON.stringify(s.Properties.AvailabilityZone))).size).toBe(2);
    expect(subnets.every((s) => s.Properties.MapPublicIpOnLaunch === false)).toBe(true);
  });

  it("scales between 2 and 10 tasks on CPU and on requests per task", () => {
    template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", { MinCapacity: 2, MaxCapacity: 10, ScalableDimension: "ecs:service:DesiredCount" });
    const policies = ofType("AWS::ApplicationAutoScaling::ScalingPolicy").map(([, p]) => p.Properties.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType);
    expect(policies.sort()).toEqual(["ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilization"]);
  });

  it("runs the image given as a parameter with a read-only root file system, writing only to a scratch /tmp", () => {
    expect(container()).toMatchObject({
      Image: { Ref: "BrokerImage" },
      ReadonlyRootFilesystem: true,
      MountPoints: [{ ContainerPath: "/tmp", ReadOnly: false }],
      PortMappings: [{ ContainerPort: BROKER_PORT }, { ContainerPort: METRICS_PORT }],
      LogConfiguration: { LogDriver: "awslogs" },
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 90 });
  });

  it("gives the task role the broker's least-privilege policy and nothing else", () => {
    const [, task] = only("AWS::ECS::TaskDefinition");
    const role = resources[task.Properties.TaskRoleArn["Fn::GetAtt"][0]]!;
    expect(role.Properties.ManagedPolicyArns).toEqual([{ Ref: expect.stringMatching(/^BrokerPermissions/) }]);
    expect(role.Properties.Policies).toBeUndefined();
    const attached = ofType("AWS::IAM::Policy").filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(task.Properties.TaskRoleArn["Fn::GetAtt"][0]));
    expect(attached).toEqual([]);
  });

  it("takes its secrets from Secrets Manager, never from the environment or an output", () => {
    const secrets = Object.fromEntries(container().Secrets.map((s: { Name: string; ValueFrom: unknown }) => [s.Name, s.ValueFrom]));
    expect(Object.keys(secrets).sort()).toEqual(["PGPASSWORD", "POOL_B_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEY", "TOKEN_ENCRYPTION_KEY_ID", "TOKEN_ENCRYPTION_PREVIOUS_KEYS"]);
    // The three token-key settings are fields of one secret, so a rotation changes them together.
    for (const [name, field] of [["TOKEN_ENCRYPTION_KEY", "key"], ["TOKEN_ENCRYPTION_KEY_ID", "id"], ["TOKEN_ENCRYPTION_PREVIOUS_KEYS", "previous"]] as const) {
      expect(JSON.stringify(secrets[name]), name).toMatch(new RegExp(`TokenEncryptionKey.*:${field}::`));
    }
    const names = container().Environment.map((e: { Name: string }) => e.Name);
    for (const secret of Object.keys(secrets)) expect(names).not.toContain(secret);
    // The token key: 64 characters of 0-9 a-f, generated by Secrets Manager (32 random bytes in hexadecimal).
    const [, tokenKey] = ofType("AWS::SecretsManager::Secret").find(([id]) => id.includes("TokenEncryptionKey"))!;
    expect(tokenKey.Properties.GenerateSecretString).toMatchObject({
      SecretStringTemplate: JSON.stringify({ id: "k1", previous: "" }),
      GenerateStringKey: "key",
      PasswordLength: 64,
      ExcludeUppercase: true,
      ExcludePunctuation: true,
      IncludeSpace: false,
      ExcludeCharacters: "ghijklmnopqrstuvwxyz",
    });
    const outputs = JSON.stringify(template.toJSON().Outputs);
    expect(outputs).not.toMatch(/ClientSecret"|SecretString/);
  });

  it("sets an environment with which the broker starts in production (pools, shards, database, Redis, drain, metrics)", () => {
    const environment = Object.fromEntries(container().Environment.map((e: { Name: string; Value: unknown }) => [e.Name, resolve(e.Value, resources, deployed)]));
    const secrets = { PGPASSWORD: "from-secrets-manager", POOL_B_CLIENT_SECRET: "from-secrets-manager", TOKEN_ENCRYPTION_KEY: "0123456789abcdef".repeat(4), TOKEN_ENCRYPTION_KEY_ID: "k1", TOKEN_ENCRYPTION_PREVIOUS_KEYS: "" };
    const config = loadEnvironment({ ...environment, ...secrets } as Record<string, string>);
    expect(config).toMatchObject({
      production: true,
      publicUrl: "https://broker.example.com",
      host: "0.0.0.0",
      port: BROKER_PORT,
      shutdownDrainMs: DRAIN_SECONDS * 1000,
      metrics: { host: "0.0.0.0", port: METRICS_PORT, cloudWatch: { namespace: CLOUDWATCH_NAMESPACE, intervalMs: 60_000 } },
    });
    expect(config.shards).toHaveLength(24);
    expect(config.shards[0]!.denyListPolicyArns).toHaveLength(10);
    expect(config.database.url).toMatch(/^postgres:\/\/broker@[^:/]+\.rds\.amazonaws\.com:5432\/broker\?sslmode=no-verify$/);
    expect(config.rateLimits.redisUrl).toMatch(/^rediss:\/\/.+:6379$/);
    // No password in the URL: node-postgres takes PGPASSWORD, which comes from the database's secret; the link is TLS.
    expect(config.database.url).not.toContain("from-secrets-manager");
    const saved = process.env.PGPASSWORD;
    process.env.PGPASSWORD = secrets.PGPASSWORD;
    try {
      // The client node-postgres would open (not connected): what it would send.
      const client = new pg.Client({ connectionString: config.database.url });
      expect({ user: client.user, database: client.database, password: client.password, ssl: client.ssl }).toEqual({ user: "broker", database: "broker", password: "from-secrets-manager", ssl: { rejectUnauthorized: false } });
    } finally {
      if (saved === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = saved;
    }
  });
});

describe("the load balancer", () => {
  it("answers HTTPS with the certificate given, redirects HTTP, and drops malformed headers", () => {
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", { Port: 443, Protocol: "HTTPS", Certificates: [{ CertificateArn: { Ref: "CertificateArn" } }], SslPolicy: Match.stringLikeRegexp("TLS") });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", { Port: 80, DefaultActions: [{ Type: "redirect", RedirectConfig: { Protocol: "HTTPS", Port: "443" } }] });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      Scheme: "internet-facing",
      LoadBalancerAttributes: Match.arrayWith([{ Key: "routing.http.drop_invalid_header_fields.enabled", Value: "true" }]),
    });
  });

  it("sends traffic only to tasks whose /readyz answers, and drains as long as the broker does", () => {
    const [, group] = only("AWS::ElasticLoadBalancingV2::TargetGroup");
    expect(group.Properties).toMatchObject({ Port: BROKER_PORT, TargetType: "ip", HealthCheckPath: "/readyz", Matcher: { HttpCode: "200" } });
    const delay = group.Properties.TargetGroupAttributes.find((a: { Key: string }) => a.Key === "deregistration_delay.timeout_seconds").Value;
    expect(Number(delay)).toBe(DEREGISTRATION_DELAY_SECONDS);
    // ECS waits for the drain before it kills the task.
    expect(container().StopTimeout).toBe(STOP_TIMEOUT_SECONDS);
    expect(STOP_TIMEOUT_SECONDS).toBeGreaterThan(DRAIN_SECONDS);
  });

  it("reaches the tasks on the API port only; metrics are open to the VPC alone", () => {
    const ingress = ofType("AWS::EC2::SecurityGroupIngress").map(([, r]) => r.Properties);
    const onPort = (port: number) => ingress.filter((r) => r.FromPort === port);
    expect(onPort(BROKER_PORT)).toHaveLength(1);
    expect(onPort(BROKER_PORT)[0]!.SourceSecurityGroupId["Fn::GetAtt"][0]).toMatch(/LoadBalancerSecurity/);
    const [, task] = ofType("AWS::EC2::SecurityGroup").find(([id]) => id.includes("TaskSecurity"))!;
    const metrics = (task.Properties.SecurityGroupIngress ?? []).filter((r: { FromPort: number }) => r.FromPort === METRICS_PORT);
    expect(metrics).toHaveLength(1);
    expect(metrics[0].CidrIp).toEqual({ "Fn::GetAtt": [expect.stringMatching(/Network/), "CidrBlock"] });
    // Nothing else on the tasks is open to the world.
    expect(JSON.stringify(task.Properties.SecurityGroupIngress)).not.toContain("0.0.0.0/0");
  });
});

describe("the bucket's CORS rule", () => {
  it("lets the console at PublicUrl, and no other origin, download and upload with presigned URLs", () => {
    const buckets = ofType("AWS::S3::Bucket");
    expect(buckets).toHaveLength(1);
    expect(buckets[0]![1].Properties.CorsConfiguration).toEqual({
      CorsRules: [{ AllowedOrigins: [{ Ref: "PublicUrl" }], AllowedMethods: ["GET", "POST"], AllowedHeaders: ["*"], ExposedHeaders: ["ETag"], MaxAge: 600 }],
    });
  });
});

describe("the data stores", () => {
  it("PostgreSQL: Multi-AZ, encrypted, backed up, in subnets without a route out, reachable from the tasks alone", () => {
    const [, db] = only("AWS::RDS::DBInstance");
    expect(db.Properties).toMatchObject({ Engine: "postgres", MultiAZ: true, StorageEncrypted: true, BackupRetentionPeriod: 7, DeletionProtection: true, DBName: "broker" });
    expect(db.Properties.PubliclyAccessible).not.toBe(true);
    const ingress = ofType("AWS::EC2::SecurityGroupIngress").map(([, r]) => r.Properties).filter((r) => r.FromPort === 5432);
    expect(ingress).toHaveLength(1);
    expect(ingress[0]!.SourceSecurityGroupId["Fn::GetAtt"][0]).toMatch(/TaskSecurity/);
    const [, subnets] = only("AWS::RDS::DBSubnetGroup");
    expect(subnets.Properties.SubnetIds).toHaveLength(2);
    for (const { Ref: subnet } of subnets.Properties.SubnetIds) {
      const tables = ofType("AWS::EC2::SubnetRouteTableAssociation").filter(([, a]) => a.Properties.SubnetId.Ref === subnet).map(([, a]) => a.Properties.RouteTableId.Ref);
      expect(tables).toHaveLength(1);
      const routes = ofType("AWS::EC2::Route").filter(([, r]) => r.Properties.RouteTableId.Ref === tables[0]);
      expect(routes, "an isolated subnet has no route out").toEqual([]);
    }
    // The tasks' subnets do have one (through a NAT gateway): the check above can tell them apart.
    const [, service] = only("AWS::ECS::Service");
    const taskSubnet = service.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets[0].Ref;
    const taskTable = ofType("AWS::EC2::SubnetRouteTableAssociation").find(([, a]) => a.Properties.SubnetId.Ref === taskSubnet)![1].Properties.RouteTableId.Ref;
    expect(ofType("AWS::EC2::Route").filter(([, r]) => r.Properties.RouteTableId.Ref === taskTable)).toHaveLength(1);
  });

  it("Valkey: two nodes across zones with automatic failover, encrypted in transit and at rest, reachable from the tasks alone", () => {
    const [, cache] = only("AWS::ElastiCache::ReplicationGroup");
    expect(cache.Properties).toMatchObject({ Engine: "valkey", NumCacheClusters: 2, AutomaticFailoverEnabled: true, MultiAZEnabled: true, TransitEncryptionEnabled: true, AtRestEncryptionEnabled: true });
    const ingress = ofType("AWS::EC2::SecurityGroupIngress").map(([, r]) => r.Properties).filter((r) => r.FromPort === 6379);
    expect(ingress).toHaveLength(1);
    expect(ingress[0]!.SourceSecurityGroupId["Fn::GetAtt"][0]).toMatch(/TaskSecurity/);
  });
});

describe("the alarms", () => {
  const alarms = (): Array<Record<string, any> & { id: string }> => ofType("AWS::CloudWatch::Alarm").map(([id, a]) => ({ id, ...a.Properties }));

  it("cover readiness, 5xx, upstream budgets, deny-list fill, tenant cut-offs, database and Redis, each notifying the alarm topic", () => {
    const ids = alarms().map((a) => a.id.replace(/^Broker/, "").replace(/[0-9A-F]{8}$/, ""));
    expect(ids.sort()).toEqual(
      ["CacheMemoryHigh", "DatabaseStorageLow", "DatabaseUnreachable", "DenyListsFilling", "RedisUnreachable", "ServerErrors", "TasksNotReady", "TenantCutOff", "UpstreamBudgetRefusals"].sort(),
    );
    for (const alarm of alarms()) expect(alarm.AlarmActions, alarm.id).toEqual([{ Ref: expect.stringMatching(/Alarms/) }]);
    const readiness = alarms().find((a) => a.id.includes("TasksNotReady"))!;
    expect(readiness).toMatchObject({ Namespace: "AWS/ApplicationELB", MetricName: "HealthyHostCount", Threshold: 2, ComparisonOperator: "LessThanThreshold", TreatMissingData: "breaching" });
    expect(alarms().find((a) => a.id.includes("DenyListsFilling"))).toMatchObject({ MetricName: "DenyListFillMax", Threshold: 0.8 });
    // A Multi-AZ failover takes about a minute: the database alarm needs five minutes running.
    expect(alarms().find((a) => a.id.includes("DatabaseUnreachable"))).toMatchObject({ MetricName: "DatabaseUp", Period: 60, EvaluationPeriods: 5, Statistic: "Minimum" });
  });

  it("read only figures the broker publishes (src/http/cloudwatch-metrics.ts), in its namespace", () => {
    const named = alarms().flatMap((a) => (a.Metrics ? a.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric) : [{ Namespace: a.Namespace, MetricName: a.MetricName }]));
    const broker = named.filter((m) => m.Namespace === CLOUDWATCH_NAMESPACE).map((m) => m.MetricName);
    expect(broker.length).toBeGreaterThanOrEqual(7);
    for (const name of broker) expect(Object.keys(CLOUDWATCH_METRICS)).toContain(name);
  });
});
