import type { FastifyInstance } from "fastify";
import { PoolATokenVerifier } from "./auth/pool-a-verifier.js";
import { BrokerService } from "./broker/broker.service.js";
import { ClientKeyService } from "./broker/client-keys.service.js";
import { RateLimits } from "./broker/rate-limits.js";
import { ApplicationDirectory } from "./cognito/application-directory.js";
import { createAwsClients, destroyAwsClients } from "./cognito/aws-clients.js";
import { DataPlatformPool } from "./cognito/data-platform-pool.js";
import { IdentityExchange } from "./cognito/identity-exchange.js";
import type { BrokerConfig } from "./config/environment.js";
import { brokerSchema } from "./graphql/schema.js";
import { createHttpServer } from "./http/server.js";
import { openStore } from "./store/open-store.js";
import type { Store } from "./store/store.js";

export interface Broker {
  app: FastifyInstance;
  store: Store;
  /** Graceful stop: readiness fails at once, then after `drainMs` the server stops accepting, in-flight requests finish and the store closes. */
  shutdown(drainMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The composition root: wires config, store, AWS clients, services and the HTTP server. */
export async function createBroker(config: BrokerConfig, options: { logStream?: NodeJS.WritableStream; store?: Store } = {}): Promise<Broker> {
  const store = options.store ?? (await openStore(config));
  const aws = createAwsClients(config);
  const broker = new BrokerService({
    config,
    store,
    pool: new DataPlatformPool(aws.cognitoIdp, config.poolB),
    exchange: new IdentityExchange(aws.cognitoIdentity, aws.sts, {
      region: config.aws.region,
      identityPoolId: config.identityPoolId,
      poolBUserPoolId: config.poolB.userPoolId,
    }),
    directory: new ApplicationDirectory(aws.cognitoIdp, config.poolA.userPoolId),
  });
  const rateLimits = new RateLimits(config.rateLimits);
  const redisConnected = await rateLimits.connect();
  const lifecycle = { shuttingDown: false };
  const verifier = new PoolATokenVerifier(config.poolA);
  // Load the JWKS ahead of the first request; /readyz retries if this fails.
  verifier.warmUp().catch(() => undefined);
  const app = await createHttpServer({
    config,
    schema: await brokerSchema(),
    verifier,
    lifecycle,
    broker,
    clientKeys: new ClientKeyService({ config, store, broker, rateLimits }),
    rateLimits,
    store,
    ...(options.logStream ? { logStream: options.logStream } : {}),
  });
  if (!redisConnected) app.log.warn({ event: "redis_unavailable" }, "Redis did not answer; rate limits count in memory until it does");
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      await app.close();
      await rateLimits.close();
      destroyAwsClients(aws);
      await store.close();
    })());
  return {
    app,
    store,
    async shutdown(drainMs: number) {
      lifecycle.shuttingDown = true;
      app.log.info({ event: "shutdown", drainMs }, "readiness failing; draining");
      await new Promise((resolve) => setTimeout(resolve, drainMs));
      await close();
    },
    close,
  };
}
