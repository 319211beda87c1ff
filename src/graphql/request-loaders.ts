import DataLoader from "dataloader";
import type { BatchedReads } from "../broker/connections/connections.service.js";
import type { ClientKey, Connection, Issuance, Store } from "../store/store.js";

/**
 * Per-request batching of the lookups a query can repeat (one per listed connection): however
 * many connections a list shows, each kind of lookup is one store call. Made anew for every
 * request, so nothing is cached across requests or callers.
 */
export interface RequestLoaders {
  connection: DataLoader<string, Connection | null>;
  lastIssuance: DataLoader<string, Issuance | null>;
  clientKeys: DataLoader<string, ClientKey[]>;
}

export function createRequestLoaders(store: Store): RequestLoaders {
  // Batches of at most a page (100), which keeps the stores' IN lists short.
  const options = { maxBatchSize: 100 };
  return {
    connection: new DataLoader((ids) => store.getConnections(ids), options),
    lastIssuance: new DataLoader((ids) => store.lastIssuances(ids), options),
    clientKeys: new DataLoader((ids) => store.listClientKeysFor(ids), options),
  };
}

/** The reads the domain asks for, batched by this request's loaders. */
export function readsOf(loaders: RequestLoaders): BatchedReads {
  return { connection: (userId) => loaders.connection.load(userId), lastIssuance: (userId) => loaders.lastIssuance.load(userId) };
}
