import { Counter, collectDefaultMetrics, Gauge, Histogram, register } from "prom-client";

/**
 * Prometheus metrics, in prom-client's default registry (one per process, served at /metrics).
 * Labels only ever take values from fixed sets (schema field names, AWS operation names), so a
 * caller cannot blow up their number.
 */
let defaultsCollected = false;
export function enableDefaultMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ prefix: "broker_" });
}

const metric = <T>(name: string, make: () => T): T => (register.getSingleMetric(name) as T | undefined) ?? make();

export const httpRequests = metric(
  "broker_http_requests_total",
  () => new Counter({ name: "broker_http_requests_total", help: "HTTP requests by route, GraphQL operation and status", labelNames: ["route", "operation", "status"] as const }),
);

export const httpDuration = metric(
  "broker_http_request_duration_seconds",
  () =>
    new Histogram({
      name: "broker_http_request_duration_seconds",
      help: "HTTP request latency by route and GraphQL operation",
      labelNames: ["route", "operation"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
);

export const graphqlPaths = metric(
  "broker_graphql_requests_total",
  () =>
    new Counter({
      name: "broker_graphql_requests_total",
      help: "GraphQL requests by execution path: prepared (the hot path for validated documents) or apollo (everything else)",
      labelNames: ["path"] as const,
    }),
);

export const upstreamCalls = metric(
  "broker_upstream_calls_total",
  () => new Counter({ name: "broker_upstream_calls_total", help: "AWS calls by operation", labelNames: ["operation"] as const }),
);

export const upstreamErrors = metric(
  "broker_upstream_errors_total",
  () => new Counter({ name: "broker_upstream_errors_total", help: "Failed AWS calls by operation and reason", labelNames: ["operation", "reason"] as const }),
);

export const cacheLookups = metric(
  "broker_cache_lookups_total",
  () => new Counter({ name: "broker_cache_lookups_total", help: "Cache lookups by cache and result", labelNames: ["cache", "result"] as const }),
);

export { register as metricsRegistry };

export const graphqlRefusals = metric(
  "broker_graphql_refusals_total",
  () => new Counter({ name: "broker_graphql_refusals_total", help: "Documents refused by graphql-armor, by limit (depth, aliases, directives, cost)", labelNames: ["limit"] as const }),
);

export const documentCacheBytes = metric(
  "broker_graphql_document_cache_bytes",
  () => new Gauge({ name: "broker_graphql_document_cache_bytes", help: "Estimated bytes of the documents the hot path remembers (bounded by GRAPHQL_DOCUMENT_CACHE_BYTES)" }),
);

export const documentCacheDocuments = metric(
  "broker_graphql_document_cache_documents",
  () => new Gauge({ name: "broker_graphql_document_cache_documents", help: "Documents the hot path remembers" }),
);

export const upstreamBudgetWaits = metric(
  "broker_upstream_budget_waits_total",
  () => new Counter({ name: "broker_upstream_budget_waits_total", help: "AWS calls that waited for their turn in an upstream budget, by budget", labelNames: ["budget"] as const }),
);

export const upstreamBudgetRefusals = metric(
  "broker_upstream_budget_refusals_total",
  () => new Counter({ name: "broker_upstream_budget_refusals_total", help: "AWS calls refused because their budget's queue was full, by budget", labelNames: ["budget"] as const }),
);

export const denyListEntries = metric(
  "broker_deny_list_entries",
  () => new Gauge({ name: "broker_deny_list_entries", help: "Session tags on each deny-list document (shard, slot) at its last write", labelNames: ["shard", "slot"] as const }),
);

export const denyListFill = metric(
  "broker_deny_list_fill_ratio",
  () =>
    new Gauge({
      name: "broker_deny_list_fill_ratio",
      help: "How full each deny-list document is (entries / capacity) at its last write: warn at 0.5, alarm at 0.8",
      labelNames: ["shard", "slot"] as const,
    }),
);

export const denyListWrites = metric(
  "broker_deny_list_writes_total",
  () => new Counter({ name: "broker_deny_list_writes_total", help: "Deny-list document writes by outcome (ok, retryable_failure, quota_exceeded)", labelNames: ["outcome"] as const }),
);

export const tenantCutoffsWritten = metric(
  "broker_tenant_cutoffs_total",
  () =>
    new Counter({
      name: "broker_tenant_cutoffs_total",
      help: "Last-resort tenant cut-offs written because a shard's deny lists were full (alarm on any)",
    }),
);

export const rateLimitRefusals = metric(
  "broker_rate_limited_total",
  () =>
    new Counter({
      name: "broker_rate_limited_total",
      help: "Requests refused as RATE_LIMITED, by limit and by who was limited (user, partner, client key, source address)",
      labelNames: ["bucket", "actor"] as const,
    }),
);

export const readiness = metric(
  "broker_ready",
  () => new Gauge({ name: "broker_ready", help: "1 while /readyz answers ready (store reachable, Pool A's keys loaded, not draining), else 0; sampled at each /readyz and each CloudWatch publish" }),
);

export const dependencyUp = metric(
  "broker_dependency_up",
  () =>
    new Gauge({
      name: "broker_dependency_up",
      help: "1 while a dependency answers (database, redis, jwks), else 0; redis only when REDIS_URL is set",
      labelNames: ["dependency"] as const,
    }),
);
