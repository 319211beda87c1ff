import "reflect-metadata";
import { createBroker } from "./app.js";
import { ConfigError, loadEnvironment } from "./config/environment.js";
import { noteOlderNode } from "./config/node-version.js";
import { startTracing } from "./telemetry.js";

async function main(): Promise<void> {
  // Said through the broker's log once it exists; the SDK's own warning is off from here on.
  let nodeNotice: string | undefined;
  noteOlderNode((line) => (nodeNotice = line));
  let config;
  try {
    config = loadEnvironment();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  // Traces, when the standard OTEL_* variables name an OTLP endpoint (docs/operators.md#traces).
  const tracing = await startTracing();
  const broker = await createBroker(config);
  // The endpoint is not logged: a URL may carry credentials.
  if (tracing) broker.app.log.info({ event: "tracing" }, "traces exported over OTLP (OTEL_* variables)");
  if (nodeNotice) broker.app.log.warn({ event: "node_version", node: process.version }, nodeNotice);
  await broker.app.listen({ host: config.host, port: config.port });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    broker.app.log.info({ signal }, "shutting down");
    await broker.shutdown(config.shutdownDrainMs);
    // The last spans are sent before the process ends.
    await tracing?.shutdown().catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error("broker failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
