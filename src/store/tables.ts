/**
 * Every table that holds the broker's data, parents before children (the order a copy inserts in).
 * Both stores have exactly these, with the same columns (test/integration/store-schemas.test.ts);
 * schema_migrations is each store's own.
 */
export const STORE_TABLES = [
  "connections",
  "client_keys",
  "issuances",
  "audit_events",
  "credential_cache",
  "session_denials",
  "tenant_cutoffs",
  "access_grants",
  "grant_tenants",
  "broker_meta",
] as const;

export type StoreTable = (typeof STORE_TABLES)[number];

/** Tables whose id comes from a sequence (SQLite AUTOINCREMENT, PostgreSQL BIGSERIAL). */
export const SERIAL_TABLES: ReadonlySet<StoreTable> = new Set(["issuances", "audit_events"]);
