import type { Principal } from "../auth/principal.js";
import type { BrokerServices } from "../broker/services.js";
import type { RateLimits } from "../broker/rate-limits.js";
import type { RequestLoaders } from "./request-loaders.js";
import type { RequestLogger } from "../broker/request-meta.js";

export interface GraphQLContext {
  /** Null when no valid Pool A token came with the request. */
  principal: Principal | null;
  /** The broker's own id of the request. */
  requestId: string;
  /** The client's X-Request-Id, when well-formed: recorded beside requestId, never used as it. */
  clientRequestId: string | undefined;
  log: RequestLogger;
  /** The domain, one service per concern: each resolver calls the one its field belongs to. */
  services: BrokerServices;
  rateLimits: RateLimits;
  loaders: RequestLoaders;
  /** Names the request's operation in metrics. */
  labelOperation(field: string): void;
  /** The broker's externally visible base URL, for configuration snippets. */
  publicUrl: string;
  region: string;
}
