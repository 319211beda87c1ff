import type { MiddlewareStack } from "@smithy/types";
import type { FastifyInstance } from "fastify";
import { Authenticator } from "./auth/authentication.js";
import { PoolATokenVerifier } from "./auth/pool-a-verifier.js";
import { checkTenantNotWritable } from "./broker/access/tenant-write-check.js";
import { composeDomain } from "./broker/compose.js";
import { UserS3 } from "./cognito/user-s3.js";
import { RateLimits } from "./broker/rate-limits.js";
import { ApplicationDirectory } from "./cognito/application-directory.js";
import { UpstreamBudgets } from "./cognito/upstream-budgets.js";
import { createAwsClients, destroyAwsClients, requireAwsCredentials, traceAwsCalls } from "./cognito/aws-clients.js";
import { DataPlatformPool } from "./cognito/data-platform-pool.js";
import { IdentityExchange } from "./cognito/identity-exchange.js";
import { AwsIamDocuments } from "./cognito/role-policies.js";
import type { BrokerConfig } from "./config/environment.js";
import { brokerSchema } from "./graphql/schema.js";
import { createHttpServer } from "./http/server.js";
import { openStore } from "./store/open-store.js";
import type { Store } from "./store/store.js";
import { startMetricsServer } from "./http/metrics-server.js";
import { CloudWatchMetrics } from "./http/cloudwatch-metrics.js";
import { ReadinessProbe } from "./http/health.js";

export interface Broker {
  app: FastifyInstance;
  store: Store;
  /** Where Prometheus scrapes (its own listener, METRICS_HOST:METRICS_PORT). */
  metricsUrl: string;
  /** The CloudWatch publisher when METRICS_CLOUDWATCH=emf (tests publish at once instead of waiting for the interval). */
  cloudWatch: CloudWatchMetrics | null;
  /** Graceful stop: readiness fails at once, then after `drainMs` the server stops accepting, in-flight requests finish and the store closes. */
  shutdown(drainMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface BrokerOptions {
  logStream?: NodeJS.WritableStream;
  store?: Store;
  /** An injectable clock for tests (standing caches, key expiry, cut-offs). */
  now?: () => number;
  /** Headers Apollo Sandbox opens with (the local stack presets a demo user's Authorization). */
  sandboxHeaders?: Record<string, string>;
}

/**
 * The composition root: wires config, store, AWS clients, services and the HTTP server. Refuses to
 * start (TenantWritableError) when Pool A's users could write their own tenant, and
 * (PoolBClientSecretError) when POOL_B_CLIENT_SECRET does not fit Pool B's app client.
 */
export async function createBroker(config: BrokerConfig, options: BrokerOptions = {}): Promise<Broker> {
  const aws = createAwsClients(config);
  const directory = new ApplicationDirectory(aws.cognitoIdp, config.poolA.userPoolId);
  let store: Store | undefined;
  const pool = new DataPlatformPool(aws.cognitoIdp, config.poolB);
  try {
    // Start-up self-checks: what would otherwise be found by users, one request at a time.
    await requireAwsCredentials(aws);
    await checkTenantNotWritable(config, directory);
    await pool.checkClientSecret();
    store = options.store ?? (await openStore(config));
    await store.checkEncryptionKey();
  } catch (error) {
    await store?.close().catch(() => undefined);
    destroyAwsClients(aws);
    throw error;
  }
  const now = options.now ?? Date.now;
  const exchange = new IdentityExchange(aws.cognitoIdentity, aws.sts, {
    region: config.aws.region,
    identityPoolId: config.identityPoolId,
    poolBUserPoolId: config.poolB.userPoolId,
  });
  const rateLimits = new RateLimits(config.rateLimits);
  // Budgets are shared through Redis when REDIS_URL is set; every client is instrumented before any request.
  const budgets = new UpstreamBudgets(config.aws.budgets, rateLimits.sharedRedis);
  // Every AWS client, the broker's own and each user's S3 one, in one place: a span per call
  // (src/telemetry.ts) and a turn in its quota's budget per attempt.
  const instrument = <Input extends object, Output extends object>(client: { middlewareStack: MiddlewareStack<Input, Output> }) => {
    traceAwsCalls(client, config.aws.region);
    budgets.attachTo(client);
  };
  const { services, keyAuthenticator } = composeDomain({
    config,
    store,
    directory,
    pool,
    exchange,
    iam: new AwsIamDocuments(aws.iam),
    s3: new UserS3({ region: config.aws.region, endpoint: config.aws.endpoint, bucket: config.s3.bucket, requestTimeoutMs: config.aws.requestTimeoutMs }, instrument),
    rateLimits,
    now,
  });
  const redisConnected = await rateLimits.connect();
  instrument(aws.cognitoIdp);
  instrument(aws.cognitoIdentity);
  instrument(aws.sts);
  instrument(aws.iam);
  const lifecycleState = { shuttingDown: false };
  const verifier = new PoolATokenVerifier(config.poolA, config.partners);
  // Load the JWKS ahead of the first request; while it fails, /readyz answers 503 (and retries).
  const jwksWarmUp = verifier.warmUp().then(
    () => null,
    (error: unknown) => (error as Error).message,
  );
  const authenticator = new Authenticator(verifier, keyAuthenticator);
  const readiness = new ReadinessProbe({ store, authenticator, lifecycle: lifecycleState, redis: rateLimits.sharedRedis });
  const app = await createHttpServer({
    config,
    schema: await brokerSchema(),
    authenticator,
    readiness,
    services,
    rateLimits,
    store,
    ...(options.logStream ? { logStream: options.logStream } : {}),
    ...(options.sandboxHeaders ? { sandboxHeaders: options.sandboxHeaders } : {}),
  });
  if (config.poolA.skipTenantWriteCheck) {
    app.log.warn({ event: "tenant_write_check_skipped" }, "POOL_A_SKIP_TENANT_WRITE_CHECK is set: the broker trusts that users cannot set their own tenant claim");
  }
  void jwksWarmUp.then((failure) => {
    if (failure) app.log.warn({ event: "jwks_unavailable", detail: failure }, "Pool A's keys (JWKS) could not be fetched at start: /readyz fails until they can");
  });
  if (!redisConnected) app.log.warn({ event: "redis_unavailable" }, "Redis did not answer; rate limits count in memory until it does");
  const openedStore = store;
  let metrics;
  try {
    metrics = await startMetricsServer(config.metrics.host, config.metrics.port);
  } catch (error) {
    await app.close();
    await rateLimits.close();
    destroyAwsClients(aws);
    await openedStore.close();
    throw new Error(`cannot listen for metrics on ${config.metrics.host}:${config.metrics.port} (${(error as NodeJS.ErrnoException).code}); set METRICS_PORT`);
  }
  app.log.info({ event: "metrics_listening", url: metrics.url }, "metrics listening");
  const cloudWatch = config.metrics.cloudWatch ? new CloudWatchMetrics({ log: app.log, readiness, now, ...config.metrics.cloudWatch }) : null;
  cloudWatch?.start();
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      cloudWatch?.stop();
      await metrics.close();
      await app.close();
      await rateLimits.close();
      destroyAwsClients(aws);
      await openedStore.close();
    })());
  return {
    app,
    store: openedStore,
    metricsUrl: metrics.url,
    cloudWatch,
    async shutdown(drainMs: number) {
      lifecycleState.shuttingDown = true;
      app.log.info({ event: "shutdown", drainMs }, "readiness failing; draining");
      await new Promise((resolve) => setTimeout(resolve, drainMs));
      await close();
    },
    close,
  };
}
