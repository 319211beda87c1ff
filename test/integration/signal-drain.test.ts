import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerEnvironment } from "../../src/dev/bootstrap.js";
import { freePort } from "../../src/dev/moto.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { tokenFor } from "../support/users.js";

const REPO = resolve(import.meta.dirname, "../..");
const DRAIN_SECONDS = 3;

let aws: LocalAws;
let dir: string;

beforeAll(async () => {
  aws = await startLocalAws();
  dir = mkdtempSync(join(tmpdir(), "signal-drain-"));
});

afterAll(async () => {
  await aws?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const statusOf = (url: string, init?: RequestInit) => fetch(url, init).then((r) => r.status, () => "refused" as const);

describe("SIGTERM on a real broker process", () => {
  it("fails readiness at once, keeps serving new and in-flight requests for the drain period, then closes and exits 0", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const env = brokerEnvironment(aws.stack, {
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      PORT: String(port),
      METRICS_PORT: "0",
      DATABASE_PATH: join(dir, "broker.sqlite"),
      TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      SHUTDOWN_DRAIN_SECONDS: String(DRAIN_SECONDS),
    });
    const child = spawn(process.execPath, ["--import", "tsx", resolve(REPO, "src/main.ts")], {
      cwd: REPO,
      env: { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    const exited = once(child, "exit").then(([code]) => code as number | null);
    const base = `http://127.0.0.1:${port}`;
    try {
      for (let i = 0; (await statusOf(`${base}/readyz`)) !== 200; i += 1) {
        expect(child.exitCode, output).toBeNull();
        expect(i).toBeLessThan(300);
        await new Promise((r) => setTimeout(r, 100));
      }
      const alice = await tokenFor(aws.stack, "alice");
      const graphql = () => statusOf(`${base}/graphql`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${alice}` }, body: JSON.stringify({ query: "{ connectionStatus { state } }" }) });

      const signalled = Date.now();
      child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 300));
      const during: Array<{ at: number; readyz: number | string; healthz: number | string; graphql: number | string }> = [];
      while (Date.now() - signalled < (DRAIN_SECONDS - 0.5) * 1000) {
        during.push({ at: Date.now() - signalled, readyz: await statusOf(`${base}/readyz`), healthz: await statusOf(`${base}/healthz`), graphql: await graphql() });
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(during.length).toBeGreaterThan(3);
      for (const sample of during) expect(sample, JSON.stringify(sample)).toMatchObject({ readyz: 503, healthz: 200, graphql: 200 });
      expect(await exited).toBe(0);
      const closedAfter = Date.now() - signalled;
      expect(closedAfter).toBeGreaterThanOrEqual(DRAIN_SECONDS * 1000);
      expect(await statusOf(`${base}/healthz`)).toBe("refused");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
