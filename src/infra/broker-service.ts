import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cloudwatchActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as elasticache from "aws-cdk-lib/aws-elasticache";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as rds from "aws-cdk-lib/aws-rds";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import type { CloudWatchMetricName } from "../http/cloudwatch-metrics.js";
import { DEFAULT_CLOUDWATCH_NAMESPACE } from "../config/environment.js";

/** The broker's port behind the load balancer, and its Prometheus listener (reachable inside the VPC only). */
export const BROKER_PORT = 8080;
export const METRICS_PORT = 9464;
export const CLOUDWATCH_NAMESPACE = DEFAULT_CLOUDWATCH_NAMESPACE;
/**
 * Draining, end to end: on SIGTERM the broker fails /readyz and keeps serving for
 * SHUTDOWN_DRAIN_SECONDS; the target group stops routing after two failed checks (2 × 10 s) and lets
 * in-flight requests finish for its deregistration delay; ECS waits for the stop timeout.
 */
export const DRAIN_SECONDS = 30;
export const DEREGISTRATION_DELAY_SECONDS = DRAIN_SECONDS;
export const STOP_TIMEOUT_SECONDS = DRAIN_SECONDS + 30;

export interface BrokerServiceProps {
  /** The broker's settings that come from the stack (pools, identity pool, shards, bucket): names and values. */
  environment: Record<string, string>;
  /** The least-privilege policy the broker's task role carries (src/policy/policies.ts brokerPolicy). */
  brokerPolicyArn: string;
  /** Pool B's app client secret, as Cognito holds it: copied into Secrets Manager, never an output. */
  poolBClientSecret: SecretValue;
  /** The image (a registry URI with its tag or digest). */
  image: string;
  /** An ACM certificate for the HTTPS listener. */
  certificateArn: string;
  /** The broker's external address (https://…), as its users reach the load balancer. */
  publicUrl: string;
  minTasks?: number;
  maxTasks?: number;
  removalPolicy: RemovalPolicy;
}

/**
 * The broker itself on AWS: ECS on Fargate behind an Application Load Balancer (HTTPS), at least two
 * tasks across two availability zones, PostgreSQL (RDS, Multi-AZ) and Valkey (ElastiCache, Multi-AZ)
 * in isolated subnets, the secrets in Secrets Manager, logs (and the broker's figures, as embedded
 * metric format) in CloudWatch, autoscaling, and the alarms on-call needs.
 */
export class BrokerService extends Construct {
  readonly vpc: ec2.Vpc;
  readonly service: ecs.FargateService;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly database: rds.DatabaseInstance;
  readonly alarms: Record<string, cloudwatch.Alarm> = {};
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: BrokerServiceProps) {
    super(scope, id);
    const minTasks = props.minTasks ?? 2;
    const maxTasks = props.maxTasks ?? 10;
    const region = Stack.of(this).region;

    // Two zones; the tasks reach AWS's APIs through a NAT gateway in each, the data stores have no route out.
    const vpc = (this.vpc = new ec2.Vpc(this, "Network", {
      maxAzs: 2,
      natGateways: 2,
      subnetConfiguration: [
        { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: "tasks", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: "data", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
    }));
    const loadBalancerGroup = new ec2.SecurityGroup(this, "LoadBalancerSecurity", { vpc, description: "HTTPS from anywhere to the load balancer of the broker" });
    const taskGroup = new ec2.SecurityGroup(this, "TaskSecurity", { vpc, description: "Broker tasks: the API from the load balancer, metrics from inside the VPC" });
    const databaseGroup = new ec2.SecurityGroup(this, "DatabaseSecurity", { vpc, description: "PostgreSQL from the broker tasks only", allowAllOutbound: false });
    const cacheGroup = new ec2.SecurityGroup(this, "CacheSecurity", { vpc, description: "Valkey from the broker tasks only", allowAllOutbound: false });
    taskGroup.addIngressRule(loadBalancerGroup, ec2.Port.tcp(BROKER_PORT), "the API, from the load balancer");
    taskGroup.addIngressRule(ec2.Peer.ipv4(vpc.vpcCidrBlock), ec2.Port.tcp(METRICS_PORT), "Prometheus, from inside the VPC only");
    databaseGroup.addIngressRule(taskGroup, ec2.Port.tcp(5432), "the broker tasks");
    cacheGroup.addIngressRule(taskGroup, ec2.Port.tcp(6379), "the broker tasks");

    this.database = new rds.DatabaseInstance(this, "Database", {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16_9 }),
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [databaseGroup],
      multiAz: true,
      databaseName: "broker",
      credentials: rds.Credentials.fromGeneratedSecret("broker"),
      storageEncrypted: true,
      allocatedStorage: 20,
      maxAllocatedStorage: 100,
      backupRetention: Duration.days(7),
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy: props.removalPolicy === RemovalPolicy.RETAIN ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    });

    const cacheSubnets = new elasticache.CfnSubnetGroup(this, "CacheSubnets", {
      description: "The broker's Valkey, in the isolated subnets",
      subnetIds: vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
    });
    const cache = new elasticache.CfnReplicationGroup(this, "Cache", {
      replicationGroupDescription: "Rate limits and upstream budgets shared by the broker's tasks",
      engine: "valkey",
      engineVersion: "8.0",
      cacheNodeType: "cache.t4g.small",
      numCacheClusters: 2,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      cacheSubnetGroupName: cacheSubnets.ref,
      securityGroupIds: [cacheGroup.securityGroupId],
    });

    const poolBClientSecret = new secretsmanager.Secret(this, "PoolBClientSecret", {
      description: "Pool B's app client secret (POOL_B_CLIENT_SECRET), copied from Cognito",
      secretStringValue: props.poolBClientSecret,
    });
    // The broker's token key as JSON: "key" 64 hex digits = 32 random bytes (TOKEN_ENCRYPTION_KEY),
    // "id" its id, "previous" the keys a rotation keeps readable (docs/operators.md#key-rotation-on-aws).
    const tokenKey = new secretsmanager.Secret(this, "TokenEncryptionKey", {
      description: "The broker's TOKEN_ENCRYPTION_KEY (key), TOKEN_ENCRYPTION_KEY_ID (id) and TOKEN_ENCRYPTION_PREVIOUS_KEYS (previous)",
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ id: "k1", previous: "" }),
        generateStringKey: "key",
        passwordLength: 64,
        excludeUppercase: true,
        excludePunctuation: true,
        includeSpace: false,
        excludeCharacters: "ghijklmnopqrstuvwxyz",
      },
    });

    const taskRole = new iam.Role(this, "TaskRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      description: "The broker's AWS identity: its least-privilege policy and nothing else",
      managedPolicies: [iam.ManagedPolicy.fromManagedPolicyArn(this, "BrokerPolicy", props.brokerPolicyArn)],
    });
    const taskDefinition = new ecs.FargateTaskDefinition(this, "Task", {
      cpu: 512,
      memoryLimitMiB: 1024,
      taskRole,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const logGroup = new logs.LogGroup(this, "Logs", { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: props.removalPolicy });
    const container = taskDefinition.addContainer("broker", {
      image: ecs.ContainerImage.fromRegistry(props.image),
      readonlyRootFilesystem: true,
      stopTimeout: Duration.seconds(STOP_TIMEOUT_SECONDS),
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: "broker" }),
      portMappings: [
        { containerPort: BROKER_PORT, name: "api" },
        { containerPort: METRICS_PORT, name: "metrics" },
      ],
      environment: {
        ...props.environment,
        NODE_ENV: "production",
        HOST: "0.0.0.0",
        PORT: String(BROKER_PORT),
        PUBLIC_URL: props.publicUrl,
        AWS_REGION: region,
        METRICS_HOST: "0.0.0.0",
        METRICS_PORT: String(METRICS_PORT),
        METRICS_CLOUDWATCH: "emf",
        METRICS_CLOUDWATCH_NAMESPACE: CLOUDWATCH_NAMESPACE,
        SHUTDOWN_DRAIN_SECONDS: String(DRAIN_SECONDS),
        // The password comes from PGPASSWORD (node-postgres reads it); the link is encrypted. Verify
        // RDS's certificate too by adding its CA bundle (NODE_EXTRA_CA_CERTS) and sslmode=verify-full.
        DATABASE_URL: `postgres://broker@${this.database.dbInstanceEndpointAddress}:${this.database.dbInstanceEndpointPort}/broker?sslmode=no-verify`,
        REDIS_URL: `rediss://${cache.attrPrimaryEndPointAddress}:${cache.attrPrimaryEndPointPort}`,
      },
      secrets: {
        PGPASSWORD: ecs.Secret.fromSecretsManager(this.database.secret!, "password"),
        POOL_B_CLIENT_SECRET: ecs.Secret.fromSecretsManager(poolBClientSecret),
        TOKEN_ENCRYPTION_KEY: ecs.Secret.fromSecretsManager(tokenKey, "key"),
        TOKEN_ENCRYPTION_KEY_ID: ecs.Secret.fromSecretsManager(tokenKey, "id"),
        TOKEN_ENCRYPTION_PREVIOUS_KEYS: ecs.Secret.fromSecretsManager(tokenKey, "previous"),
      },
      // The image has no shell: Node itself (distroless's path, src/infra/Containerfile) asks the liveness endpoint.
      healthCheck: {
        command: ["CMD", "/nodejs/bin/node", "-e", `fetch("http://127.0.0.1:${BROKER_PORT}/healthz").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
    });
    container.addMountPoints({ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false });
    taskDefinition.addVolume({ name: "tmp" });

    const cluster = new ecs.Cluster(this, "Cluster", { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    this.service = new ecs.FargateService(this, "Service", {
      cluster,
      taskDefinition,
      desiredCount: minTasks,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [taskGroup],
      assignPublicIp: false,
      availabilityZoneRebalancing: ecs.AvailabilityZoneRebalancing.ENABLED,
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "LoadBalancer", {
      vpc,
      internetFacing: true,
      securityGroup: loadBalancerGroup,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      dropInvalidHeaderFields: true,
    });
    this.targetGroup = new elbv2.ApplicationTargetGroup(this, "Targets", {
      vpc,
      port: BROKER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      targets: [this.service.loadBalancerTarget({ containerName: "broker", containerPort: BROKER_PORT })],
      deregistrationDelay: Duration.seconds(DEREGISTRATION_DELAY_SECONDS),
      healthCheck: { path: "/readyz", interval: Duration.seconds(10), timeout: Duration.seconds(5), healthyThresholdCount: 2, unhealthyThresholdCount: 2, healthyHttpCodes: "200" },
    });
    this.loadBalancer.addListener("Https", {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      defaultTargetGroups: [this.targetGroup],
    });
    this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });

    const scaling = this.service.autoScaleTaskCount({ minCapacity: minTasks, maxCapacity: maxTasks });
    scaling.scaleOnCpuUtilization("Cpu", { targetUtilizationPercent: 60 });
    scaling.scaleOnRequestCount("Requests", { requestsPerTarget: 1000, targetGroup: this.targetGroup });

    this.alarmTopic = new sns.Topic(this, "Alarms", { displayName: "S3 access broker alarms" });
    this.addAlarms(cache);

    new CfnOutput(this, "LoadBalancerDns", { value: this.loadBalancer.loadBalancerDnsName, description: "Point the broker's DNS name (PUBLIC_URL) here" });
    new CfnOutput(this, "AlarmTopicArn", { value: this.alarmTopic.topicArn, description: "Subscribe on-call to this topic" });
    new CfnOutput(this, "ClusterName", { value: cluster.clusterName });
    new CfnOutput(this, "ServiceName", { value: this.service.serviceName });
    new CfnOutput(this, "DatabaseInstance", { value: this.database.instanceIdentifier });
    new CfnOutput(this, "TokenEncryptionKeySecret", { value: tokenKey.secretArn, description: "The token key's secret (rotation: docs/operators.md)" });
    new CfnOutput(this, "TaskDefinitionArn", { value: taskDefinition.taskDefinitionArn, description: "For one-off tasks: the store commands" });
    new CfnOutput(this, "TaskSubnets", { value: vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds.join(",") });
    new CfnOutput(this, "TaskSecurityGroup", { value: taskGroup.securityGroupId });
  }

  /** A metric the broker publishes (src/http/cloudwatch-metrics.ts, once a minute), summed or as its extreme over the period. */
  private brokerMetric(name: CloudWatchMetricName, statistic: "Sum" | "Maximum" | "Minimum", period = Duration.minutes(5)): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: CLOUDWATCH_NAMESPACE, metricName: name, statistic, period });
  }

  private alarm(id: string, props: cloudwatch.AlarmProps): void {
    const alarm = new cloudwatch.Alarm(this, id, props);
    alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.alarmTopic));
    this.alarms[id] = alarm;
  }

  private addAlarms(cache: elasticache.CfnReplicationGroup): void {
    const notBreaching = cloudwatch.TreatMissingData.NOT_BREACHING;
    // Readiness as the load balancer sees it (/readyz): fewer ready tasks than the minimum.
    this.alarm("TasksNotReady", {
      alarmDescription: "Fewer broker tasks pass /readyz than the service's minimum: see docs/operators.md#alarms",
      metric: this.targetGroup.metrics.healthyHostCount({ period: Duration.minutes(1), statistic: "Minimum" }),
      threshold: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.alarm("ServerErrors", {
      alarmDescription: "More than 1% of the broker's answers are 5xx over 10 minutes",
      metric: new cloudwatch.MathExpression({
        expression: "IF(requests > 0, 100 * errors / requests, 0)",
        usingMetrics: { errors: this.brokerMetric("Http5xx", "Sum"), requests: this.brokerMetric("HttpRequests", "Sum") },
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: notBreaching,
    });
    this.alarm("UpstreamBudgetRefusals", {
      alarmDescription: "AWS calls refused because an upstream budget's queue was full (docs/fair-shares.md)",
      metric: this.brokerMetric("UpstreamBudgetRefusals", "Sum"),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    this.alarm("DenyListsFilling", {
      alarmDescription: "A revocation deny-list document is over 80% full: add deny lists or shards before tenants are cut off (docs/revocation.md)",
      metric: this.brokerMetric("DenyListFillMax", "Maximum"),
      threshold: 0.8,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    this.alarm("TenantCutOff", {
      alarmDescription: "A last-resort tenant cut-off was written: a shard's deny lists were full (docs/revocation.md)",
      metric: this.brokerMetric("TenantCutoffs", "Sum"),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    // Five minutes running: a Multi-AZ failover (about one) does not page anyone.
    this.alarm("DatabaseUnreachable", {
      alarmDescription: "A broker task has not reached PostgreSQL for 5 minutes",
      metric: this.brokerMetric("DatabaseUp", "Minimum", Duration.minutes(1)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 5,
      treatMissingData: notBreaching,
    });
    this.alarm("RedisUnreachable", {
      alarmDescription: "A broker task has not reached Valkey for 5 minutes: rate limits and upstream budgets count per task until it can",
      metric: this.brokerMetric("RedisUp", "Minimum", Duration.minutes(1)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 5,
      treatMissingData: notBreaching,
    });
    this.alarm("DatabaseStorageLow", {
      alarmDescription: "PostgreSQL has less than 2 GiB of storage left",
      metric: this.database.metricFreeStorageSpace({ period: Duration.minutes(5), statistic: "Minimum" }),
      threshold: 2 * 1024 ** 3,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    this.alarm("CacheMemoryHigh", {
      alarmDescription: "Valkey is using more than 80% of its memory",
      metric: new cloudwatch.Metric({
        namespace: "AWS/ElastiCache",
        metricName: "DatabaseMemoryUsagePercentage",
        dimensionsMap: { ReplicationGroupId: cache.ref },
        statistic: "Maximum",
        period: Duration.minutes(5),
      }),
      threshold: 80,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: notBreaching,
    });
  }
}
