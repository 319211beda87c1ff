import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { metricsRegistry } from "../metrics.js";

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * /metrics on a listener of its own (loopback by default), never on the public one: the figures
 * (operations, AWS calls, cache hits) are for the operator's scraper only. Nothing else is served.
 */
export async function startMetricsServer(host: string, port: number): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    if (request.method !== "GET" || new URL(request.url ?? "/", "http://metrics").pathname !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("Not found.\n");
      return;
    }
    metricsRegistry.metrics().then(
      (text) => response.writeHead(200, { "content-type": metricsRegistry.contentType, "cache-control": "no-store" }).end(text),
      () => response.writeHead(500, { "content-type": "text/plain" }).end("Metrics unavailable.\n"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
