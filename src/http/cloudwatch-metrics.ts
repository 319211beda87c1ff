import { register } from "prom-client";
import type { RequestLogger } from "../broker/request-meta.js";
import type { ReadinessProbe } from "./health.js";

/**
 * The figures an on-call person's alarms need, sent to CloudWatch as embedded metric format (EMF)
 * lines in the broker's own log: CloudWatch Logs turns each line into metrics, so nothing reaches
 * the Prometheus listener from outside the VPC and no collector runs beside the task. Each comes
 * from a Prometheus metric of src/metrics.ts: counters as what was added since the last line,
 * gauges as they stand. The CDK stack's alarms name these (src/infra/broker-service.ts).
 */
export const CLOUDWATCH_METRICS = {
  /** 1 when this task is ready (broker_ready). */
  Ready: { from: "broker_ready", kind: "gauge", unit: "None" },
  /** 1 while the store answers (broker_dependency_up{dependency="database"}). */
  DatabaseUp: { from: "broker_dependency_up", labels: { dependency: "database" }, kind: "gauge", unit: "None" },
  /** 1 while Redis answers (broker_dependency_up{dependency="redis"}); absent without REDIS_URL. */
  RedisUp: { from: "broker_dependency_up", labels: { dependency: "redis" }, kind: "gauge", unit: "None" },
  HttpRequests: { from: "broker_http_requests_total", kind: "counter", unit: "Count" },
  /** Answers with a 5xx status (broker_http_requests_total{status=~"5.."}). */
  Http5xx: { from: "broker_http_requests_total", status5xx: true, kind: "counter", unit: "Count" },
  UpstreamBudgetRefusals: { from: "broker_upstream_budget_refusals_total", kind: "counter", unit: "Count" },
  UpstreamErrors: { from: "broker_upstream_errors_total", kind: "counter", unit: "Count" },
  /** The fullest deny-list document (max of broker_deny_list_fill_ratio): warn at 0.5, alarm at 0.8. */
  DenyListFillMax: { from: "broker_deny_list_fill_ratio", kind: "max", unit: "None" },
  TenantCutoffs: { from: "broker_tenant_cutoffs_total", kind: "counter", unit: "Count" },
} as const satisfies Record<string, { from: string; kind: "gauge" | "counter" | "max"; unit: string; labels?: Record<string, string>; status5xx?: boolean }>;

export type CloudWatchMetricName = keyof typeof CLOUDWATCH_METRICS;

type Source = (typeof CLOUDWATCH_METRICS)[CloudWatchMetricName];

function matches(source: Source, labels: Partial<Record<string, string | number>>): boolean {
  if ("labels" in source && Object.entries(source.labels).some(([k, v]) => labels[k] !== v)) return false;
  if ("status5xx" in source && !String(labels.status ?? "").startsWith("5")) return false;
  return true;
}

export class CloudWatchMetrics {
  private readonly counted = new Map<CloudWatchMetricName, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: { log: Pick<RequestLogger, "info">; readiness: ReadinessProbe; namespace: string; intervalMs: number; now?: () => number },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.publish(), this.deps.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Writes one EMF line with every figure (what the timer does); returns the figures. */
  async publish(): Promise<Record<string, number>> {
    await this.deps.readiness.check();
    const all = await register.getMetricsAsJSON();
    const values: Record<string, number> = {};
    for (const [name, source] of Object.entries(CLOUDWATCH_METRICS) as Array<[CloudWatchMetricName, Source]>) {
      const samples = (all.find((m) => m.name === source.from)?.values ?? []).filter((v) => matches(source, v.labels));
      // A gauge nobody set is not reported (RedisUp without Redis); a counter or a fill nobody moved is 0.
      if (samples.length === 0 && source.kind === "gauge") continue;
      if (source.kind === "max") values[name] = Math.max(0, ...samples.map((s) => s.value));
      else if (source.kind === "gauge") values[name] = samples[0]!.value;
      else {
        const total = samples.reduce((sum, s) => sum + s.value, 0);
        values[name] = Math.max(0, total - (this.counted.get(name) ?? 0));
        this.counted.set(name, total);
      }
    }
    const metrics = Object.keys(values).map((name) => ({ Name: name, Unit: CLOUDWATCH_METRICS[name as CloudWatchMetricName].unit }));
    this.deps.log.info(
      { event: "cloudwatch_metrics", _aws: { Timestamp: (this.deps.now ?? Date.now)(), CloudWatchMetrics: [{ Namespace: this.deps.namespace, Dimensions: [[]], Metrics: metrics }] }, ...values },
      "metrics for CloudWatch",
    );
    return values;
  }
}
