import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";

/** One AWS request as the proxy saw it: when it arrived and which operation it asked for. */
export interface RecordedCall {
  at: number;
  operation: string;
  /** The request body as sent (tests decode what the broker exchanged, such as the Logins of an identity pool call). */
  body: string;
}

/**
 * A loopback HTTP proxy in front of the local AWS (moto) that records every request's operation,
 * so tests and the benchmark can see what really reached "AWS" and when (JSON protocols name it in
 * X-Amz-Target, query protocols such as STS and IAM in the body's Action).
 */
export async function startRecordingProxy(target: string): Promise<{ endpoint: string; calls: RecordedCall[]; stop(): Promise<void> }> {
  const upstream = new URL(target);
  const calls: RecordedCall[] = [];
  const server = createServer((incoming, outgoing) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      const target = incoming.headers["x-amz-target"];
      const operation =
        typeof target === "string" ? target.slice(target.lastIndexOf(".") + 1) : (new URLSearchParams(body.toString("utf8")).get("Action") ?? `${incoming.method} ${incoming.url}`);
      calls.push({ at, operation, body: body.toString("utf8") });
      const forwarded = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: upstream.host } },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forwarded.on("error", () => outgoing.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    stop: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** The most calls of `operation` within any window of `windowMs` (sliding), among `calls`. */
export function peakCalls(calls: readonly RecordedCall[], operation: string, windowMs = 1000): number {
  const times = calls.filter((c) => c.operation === operation).map((c) => c.at).sort((a, b) => a - b);
  let peak = 0;
  for (let start = 0, end = 0; end < times.length; end += 1) {
    while (times[end]! - times[start]! >= windowMs) start += 1;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}
