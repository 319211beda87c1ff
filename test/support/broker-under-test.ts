import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { brokerEnvironment, type StackInfo } from "../../src/dev/bootstrap.js";
import { createBroker, type Broker } from "../../src/app.js";
import { loadEnvironment, type BrokerConfig } from "../../src/config/environment.js";

export interface BrokerUnderTest {
  url: string;
  /** The metrics listener's /metrics (a port of its own, not the public one). */
  metricsUrl: string;
  broker: Broker;
  config: BrokerConfig;
  /** Every line the broker logged, for tests that check what must never be logged. */
  logs: string[];
  close(): Promise<void>;
}

/** A real broker (HTTP server on a free loopback port, SQLite in a temp dir) against the given stack. */
export async function startBroker(stack: StackInfo, overrides: Record<string, string> = {}, options: { now?: () => number } = {}): Promise<BrokerUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), "broker-test-"));
  const config = loadEnvironment(
    brokerEnvironment(stack, {
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      PORT: "0",
      METRICS_PORT: "0",
      DATABASE_PATH: join(dir, "broker.sqlite"),
      TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      // CI runs the suite once more with the hot path off (.ci/run), so every operation is also
      // tested through Apollo's pipeline alone.
      ...(process.env.GRAPHQL_HOT_PATH ? { GRAPHQL_HOT_PATH: process.env.GRAPHQL_HOT_PATH } : {}),
      // Production requires the broker's external address (set-up snippets name it).
      ...(overrides.NODE_ENV === "production" ? { PUBLIC_URL: "https://broker.example.com" } : {}),
      ...overrides,
    }),
  );
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  const broker = await createBroker(config, { logStream, ...options });
  const address = await broker.app.listen({ host: "127.0.0.1", port: 0 });
  return {
    url: `${address}/graphql`,
    metricsUrl: broker.metricsUrl,
    broker,
    config,
    logs,
    async close() {
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
