import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssueCredentialsDocument, ProvisionDataPlatformUserDocument } from "../generated/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { errorCodes, execute, post } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { tokenFor } from "../support/users.js";

let aws: LocalAws;
let production: BrokerUnderTest;
let development: BrokerUnderTest;

beforeAll(async () => {
  aws = await startLocalAws();
  [production, development] = await Promise.all([startBroker(aws.stack, { NODE_ENV: "production" }), startBroker(aws.stack)]);
});

afterAll(async () => {
  await production?.close();
  await development?.close();
  await aws?.stop();
});

describe("in production", () => {
  it("refuses introspection", async () => {
    const result = await post(production.url, { query: "{ __schema { types { name } } }" });
    expect(errorCodes(result)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(result.data).toBeUndefined();
  });

  it("hides field suggestions", async () => {
    const result = await post(production.url, { query: "{ connectionStatu { state } }" });
    expect(errorCodes(result)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(result.errors![0]!.message).not.toMatch(/Did you mean/);
    const dev = await post(development.url, { query: "{ connectionStatu { state } }" });
    expect(dev.errors![0]!.message).toMatch(/Did you mean "connectionStatus"/);
  });

  it("serves no Sandbox landing page", async () => {
    const page = await fetch(production.url, { headers: { accept: "text/html" } });
    expect(await page.text()).not.toMatch(/sandbox/i);
    const devPage = await fetch(development.url, { headers: { accept: "text/html" } });
    expect(await devPage.text()).toMatch(/sandbox/i);
  });

  it("masks an unexpected failure: no message from inside, no stack trace, and a request id to quote", async () => {
    // Stored tokens that no longer decrypt, as after a wrong key or a damaged disk: one broker
    // provisions, another opens the same file with a different encryption key.
    const dir = mkdtempSync(join(tmpdir(), "wrong-key-"));
    const path = join(dir, "broker.sqlite");
    const alice = await tokenFor(aws.stack, "alice");
    const first = await startBroker(aws.stack, { NODE_ENV: "production", DATABASE_PATH: path });
    expect((await execute(first.url, ProvisionDataPlatformUserDocument, {}, alice)).errors).toBeUndefined();
    await first.close();
    const second = await startBroker(aws.stack, { NODE_ENV: "production", DATABASE_PATH: path, TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64") });
    try {
      const result = await execute(second.url, IssueCredentialsDocument, { flow: "ENHANCED" }, alice);
      expect(result.status).toBe(200);
      expect(result.errors).toHaveLength(1);
      const error = result.errors![0]!;
      expect(error.message).toBe("Internal server error.");
      expect(error.extensions).toEqual({ code: "INTERNAL_SERVER_ERROR", requestId: expect.any(String) });
      expect(result.headers.get("x-request-id")).toBe(error.extensions!.requestId);
      // The operator finds the real cause in the log under the same request id.
      expect(second.logs.some((line) => line.includes(error.extensions!.requestId as string) && line.includes('"level":50'))).toBe(true);
    } finally {
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers health checks", async () => {
    const response = await fetch(production.url.replace("/graphql", "/healthz"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });
});
