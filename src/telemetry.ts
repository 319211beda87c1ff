import { type Attributes, context, isSpanContextValid, propagation, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

/**
 * OpenTelemetry traces (docs/operators.md#traces). The broker makes spans through the API alone
 * (a no-op until an SDK is registered): one per HTTP request (src/http/tracing.ts), per GraphQL
 * operation (src/http/graphql-route.ts) and per AWS call (src/cognito/aws-clients.ts), with a
 * wait in an upstream budget as an event. src/main.ts starts the SDK only when the standard OTEL_*
 * variables name an OTLP endpoint. No attribute ever carries a token, a secret, a key, a header or
 * a query string: names, routes, status codes, AWS operation names and the broker's request id.
 */
export const tracer = trace.getTracer("s3-access-broker");

/** The OTEL_* variables the SDK follows; an endpoint is what switches traces on. */
export function tracingWanted(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === "true") return false;
  if (env.OTEL_TRACES_EXPORTER !== undefined && env.OTEL_TRACES_EXPORTER !== "otlp") return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Registers the SDK (OTLP over HTTP, batched; endpoint, headers, service name and resource from the
 * standard variables), when wanted. Returns what flushes and stops it, or null when traces are off.
 */
export async function startTracing(env: NodeJS.ProcessEnv = process.env): Promise<{ shutdown(): Promise<void> } | null> {
  if (!tracingWanted(env)) return null;
  const [{ TracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, resources] = await Promise.all([
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
    import("@opentelemetry/resources"),
  ]);
  const resource = resources
    .resourceFromAttributes({ "service.name": "s3-access-broker" })
    .merge(resources.detectResources({ detectors: [resources.envDetector, resources.processDetector, resources.hostDetector] }));
  const provider = new TracerProvider({ resource, spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return { shutdown: () => provider.shutdown() };
}

/** Runs `work` in a new active span, ended when it settles; a failure sets the span's status (and its error type, never its message). */
export async function inSpan<T>(name: string, options: { kind?: SpanKind; attributes?: Attributes }, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.setAttribute("error.type", error instanceof Error ? error.name : "unknown");
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The active trace's id, for logs and the audit trail; undefined outside a traced request. */
export function currentTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/** Notes something on the active span (an upstream budget's wait), if there is one. */
export function spanEvent(name: string, attributes: Attributes): void {
  trace.getActiveSpan()?.addEvent(name, attributes);
}
