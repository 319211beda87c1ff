import type { Principal } from "../auth/principal.js";
import type { BrokerService } from "../broker/broker.service.js";
import type { ObjectAccessService } from "../broker/grants/object-access.service.js";
import type { ClientKeyService } from "../broker/client-keys/client-keys.service.js";
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
  broker: BrokerService;
  clientKeys: ClientKeyService;
  objects: ObjectAccessService;
  rateLimits: RateLimits;
  loaders: RequestLoaders;
  /** Names the request's operation in metrics. */
  labelOperation(field: string): void;
  /** The broker's externally visible base URL, for configuration snippets. */
  publicUrl: string;
  region: string;
}
