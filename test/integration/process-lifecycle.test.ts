import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBrokerProcess } from "../support/broker-process.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { tokenFor } from "../support/users.js";

// The broker as operators run it: `node src/main.ts` in a process of its own, configured by its
// environment only, signalled and watched from outside (test/support/broker-process.ts).
const DRAIN_SECONDS = 3;

let aws: LocalAws;
let dir: string;

beforeAll(async () => {
  aws = await startLocalAws();
  dir = mkdtempSync(join(tmpdir(), "process-lifecycle-"));
});

afterAll(async () => {
  await aws?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const statusOf = (url: string, init?: RequestInit) => fetch(url, init).then((r) => r.status, () => "refused" as const);

const brokerProcess = (overrides: Record<string, string>, options: { awsCredentials?: boolean } = {}) => startBrokerProcess(aws.stack, dir, overrides, options);

describe("start-up self-checks", () => {
  it("refuses to start without AWS credentials, and says so", { timeout: 60_000 }, async () => {
    const broker = await brokerProcess({}, { awsCredentials: false });
    expect(await broker.listening()).toBe(false);
    expect(await broker.exited).toBe(1);
    expect(broker.output()).toContain("the broker has no AWS credentials");
  });

  it("refuses to start when POOL_B_CLIENT_SECRET is missing or is not the app client's, and says what to do without printing a secret", { timeout: 60_000 }, async () => {
    const missing = await brokerProcess({ POOL_B_CLIENT_SECRET: undefined as unknown as string });
    expect(await missing.listening()).toBe(false);
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toContain(`Pool B's app client ${aws.stack.poolB.clientId} has a secret, and POOL_B_CLIENT_SECRET is not set`);
    expect(missing.output()).toContain("describe-user-pool-client");
    const wrong = `${aws.stack.poolB.clientSecret.slice(1)}x`;
    const mismatched = await brokerProcess({ POOL_B_CLIENT_SECRET: wrong });
    expect(await mismatched.listening()).toBe(false);
    expect(await mismatched.exited).toBe(1);
    expect(mismatched.output()).toContain("POOL_B_CLIENT_SECRET is not the secret of Pool B's app client");
    for (const output of [missing.output(), mismatched.output()]) {
      expect(output).not.toContain(aws.stack.poolB.clientSecret);
      expect(output).not.toContain(wrong);
    }
  });

  it("refuses to start with an encryption key that cannot open the store's data, and starts when the old key is listed for rotation", { timeout: 60_000 }, async () => {
    const path = join(dir, "existing.sqlite");
    const first = randomBytes(32).toString("base64");
    const original = await brokerProcess({ DATABASE_PATH: path, TOKEN_ENCRYPTION_KEY: first, TOKEN_ENCRYPTION_KEY_ID: "k1" });
    expect(await original.listening()).toBe(true);
    expect(await original.stop()).toBe(0);
    // On a Node older than the targets (22, 24): one line in the broker's own log, not the AWS SDK's eight.
    expect(original.output()).not.toContain("NodeVersionSupportWarning");
    const notices = original.output().split("\n").filter((line) => line.includes('"event":"node_version"'));
    expect(notices).toHaveLength(Number(process.versions.node.split(".")[0]) < 22 ? 1 : 0);

    const second = randomBytes(32).toString("base64");
    const wrong = await brokerProcess({ DATABASE_PATH: path, TOKEN_ENCRYPTION_KEY: second, TOKEN_ENCRYPTION_KEY_ID: "k1" });
    expect(await wrong.listening()).toBe(false);
    expect(await wrong.exited).toBe(1);
    expect(wrong.output()).toContain("TOKEN_ENCRYPTION_KEY does not open the data in this store (its canary was sealed with key id k1)");
    expect(wrong.output()).not.toContain(second);

    const rotated = await brokerProcess({ DATABASE_PATH: path, TOKEN_ENCRYPTION_KEY: second, TOKEN_ENCRYPTION_KEY_ID: "k2", TOKEN_ENCRYPTION_PREVIOUS_KEYS: `k1:${first}` });
    expect(await rotated.listening()).toBe(true);
    expect(await rotated.stop()).toBe(0);
    // The canary follows the rotation: the new key alone opens the store now.
    const afterRotation = await brokerProcess({ DATABASE_PATH: path, TOKEN_ENCRYPTION_KEY: second, TOKEN_ENCRYPTION_KEY_ID: "k2" });
    expect(await afterRotation.listening()).toBe(true);
    expect(await afterRotation.stop()).toBe(0);
  });

  it("keeps /readyz failing, with the reason logged, while Pool A's keys cannot be fetched", { timeout: 60_000 }, async () => {
    const broker = await brokerProcess({ POOL_A_JWKS_URI: "http://127.0.0.1:9/jwks.json" });
    try {
      expect(await broker.listening()).toBe(true);
      const readiness = await fetch(`${broker.base}/readyz`);
      expect(readiness.status).toBe(503);
      expect(await readiness.json()).toMatchObject({ status: "not ready", checks: { jwks: "not loaded" } });
      expect(broker.output()).toContain('"event":"jwks_unavailable"');
    } finally {
      await broker.stop();
    }
  });
});

describe("SIGTERM on a real broker process", () => {
  it("fails readiness at once, keeps serving new and in-flight requests for the drain period, then closes and exits 0", { timeout: 60_000 }, async () => {
    const broker = await brokerProcess({ SHUTDOWN_DRAIN_SECONDS: String(DRAIN_SECONDS) });
    const { base, child } = broker;
    try {
      expect(await broker.listening()).toBe(true);
      for (let i = 0; (await statusOf(`${base}/readyz`)) !== 200; i += 1) {
        expect(i, broker.output()).toBeLessThan(300);
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
      expect(await broker.exited).toBe(0);
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(DRAIN_SECONDS * 1000);
      expect(await statusOf(`${base}/healthz`)).toBe("refused");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
