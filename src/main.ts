import "reflect-metadata";
import { createBroker } from "./app.js";
import { ConfigError, loadEnvironment } from "./config/environment.js";
import { noteOlderNode } from "./config/node-version.js";

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
  const broker = await createBroker(config);
  if (nodeNotice) broker.app.log.warn({ event: "node_version", node: process.version }, nodeNotice);
  await broker.app.listen({ host: config.host, port: config.port });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    broker.app.log.info({ signal }, "shutting down");
    await broker.shutdown(config.shutdownDrainMs);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error("broker failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
