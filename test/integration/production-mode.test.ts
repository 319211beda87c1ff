import { mkdtempSync, rmSync } from "node:fs";
import Database from "better-sqlite3";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssueCredentialsDocument, ProvisionDataPlatformUserDocument } from "../../src/client/graphql.js";
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
    // Stored tokens that no longer decrypt, as after a damaged disk (a wrong key is refused at
    // start by the canary): one broker provisions, the file is damaged, another broker opens it.
    const dir = mkdtempSync(join(tmpdir(), "wrong-key-"));
    const path = join(dir, "broker.sqlite");
    const alice = await tokenFor(aws.stack, "alice");
    const first = await startBroker(aws.stack, { NODE_ENV: "production", DATABASE_PATH: path });
    expect((await execute(first.url, ProvisionDataPlatformUserDocument, {}, alice)).errors).toBeUndefined();
    const key = first.config.encryption.keys.get(first.config.encryption.activeKeyId)!.toString("base64");
    await first.close();
    const file = new Database(path);
    // Another sealed value's ciphertext, under the same key but bound to another row and column: it does not open.
    file.prepare("UPDATE connections SET id_token_sealed = refresh_token_sealed, refresh_token_sealed = id_token_sealed").run();
    file.close();
    const second = await startBroker(aws.stack, { NODE_ENV: "production", DATABASE_PATH: path, TOKEN_ENCRYPTION_KEY: key });
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

describe("Apollo's implicit plugins", () => {
  it("stay off when APOLLO_KEY and APOLLO_SCHEMA_REPORTING are set: nothing reports operations or the schema to a third party", async () => {
    // Apollo reads these from the process environment, as it would on a host where they are set.
    const apolloEnv = { APOLLO_KEY: "service:example-graph:not-a-real-key", APOLLO_GRAPH_REF: "example-graph@current", APOLLO_SCHEMA_REPORTING: "true" };
    Object.assign(process.env, apolloEnv);
    let broker: BrokerUnderTest | undefined;
    try {
      broker = await startBroker(aws.stack, { NODE_ENV: "production" });
    } finally {
      for (const name of Object.keys(apolloEnv)) delete process.env[name];
    }
    try {
      const result = await post(broker.url, { query: "{ __typename }" });
      expect(result.data).toEqual({ __typename: "Query" });
      // Apollo logs through the broker's logger; its reporting plugins announce themselves at start.
      expect(broker.logs.filter((line) => /reporting|apollographql/i.test(line))).toEqual([]);
    } finally {
      await broker.close();
    }
  });
});
