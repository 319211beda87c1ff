import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssueCredentialsDocument, ProvisionDataPlatformUserDocument } from "../generated/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { errorCodes, execute, post } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { demoUser, tokenFor } from "../support/users.js";

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
    const alice = await tokenFor(aws.stack, "alice");
    expect((await execute(production.url, ProvisionDataPlatformUserDocument, {}, alice)).errors).toBeUndefined();
    // Corrupt the stored ciphertext, as a damaged disk or a wrong key would.
    const db = new Database(production.config.database.path);
    db.prepare("UPDATE connections SET id_token_sealed = 'v1.k1.AAAA.AAAA.AAAA' WHERE user_id = ?").run(demoUser(aws.stack, "alice").sub);
    db.close();

    const result = await execute(production.url, IssueCredentialsDocument, { flow: "ENHANCED" }, alice);
    expect(result.status).toBe(200);
    expect(result.errors).toHaveLength(1);
    const error = result.errors![0]!;
    expect(error.message).toBe("Internal server error.");
    expect(error.extensions).toEqual({ code: "INTERNAL_SERVER_ERROR", requestId: expect.any(String) });
    expect(result.headers.get("x-request-id")).toBe(error.extensions!.requestId);
    // The operator finds the real cause in the log under the same request id.
    expect(production.logs.some((line) => line.includes(error.extensions!.requestId as string) && line.includes('"level":50'))).toBe(true);
  });

  it("answers health checks", async () => {
    const response = await fetch(production.url.replace("/graphql", "/healthz"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });
});
