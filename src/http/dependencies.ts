import type { GraphQLSchema } from "graphql";
import type { Authentication, Authenticator } from "../auth/authentication.js";
import type { BrokerServices } from "../broker/services.js";
import type { ReadinessProbe } from "./health.js";
import type { RateLimits } from "../broker/rate-limits.js";
import type { BrokerConfig } from "../config/environment.js";
import type { Store } from "../store/store.js";

declare module "fastify" {
  interface FastifyRequest {
    /** A bounded label for metrics: the first root field of the GraphQL operation. */
    operationLabel?: string;
    /** Who is asking, decided once (src/auth/authentication.ts). */
    authentication?: Promise<Authentication>;
  }
}

export interface HttpServerDependencies {
  config: BrokerConfig;
  schema: GraphQLSchema;
  /** Who is asking (src/auth/): users and partners by bearer token, unattended clients by client key. */
  authenticator: Authenticator;
  services: BrokerServices;
  rateLimits: RateLimits;
  store: Store;
  /** What /readyz answers (src/http/health.ts). */
  readiness: ReadinessProbe;
  /** A pino destination for tests that read what was logged. */
  logStream?: NodeJS.WritableStream;
  sandboxHeaders?: Record<string, string>;
}
