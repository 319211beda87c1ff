import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssueCredentialsDocument, ProvisionDataPlatformUserDocument, RefreshTokensDocument } from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { errorCodes, execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { demoUser, tokenFor } from "../support/users.js";

// This file owns its moto server: it freezes and kills it, which other files must not see.
let aws: LocalAws;
let broker: BrokerUnderTest;
let alice: string;

beforeAll(async () => {
  aws = await startLocalAws();
  // Short per-attempt timeout so a frozen AWS is detected quickly; the SDK still retries once.
  broker = await startBroker(aws.stack, { AWS_REQUEST_TIMEOUT_MS: "400", AWS_MAX_ATTEMPTS: "2" });
  alice = await tokenFor(aws.stack, "alice");
  const provisioned = await execute(broker.url, ProvisionDataPlatformUserDocument, {}, alice);
  expect(provisioned.errors).toBeUndefined();
});

afterAll(async () => {
  aws?.moto.resume();
  await broker?.close();
  await aws?.stop();
});

describe("an upstream outage", () => {
  it("answers UPSTREAM_UNAVAILABLE (retryable) while AWS does not answer, then recovers when it returns", async () => {
    aws.moto.pause();
    try {
      const started = Date.now();
      const result = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 900 }, alice);
      expect(errorCodes(result)).toEqual(["UPSTREAM_UNAVAILABLE"]);
      expect(result.errors![0]!.extensions).toMatchObject({ retryable: true });
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      aws.moto.resume();
    }
    const recovered = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 900 }, alice);
    expect(recovered.errors).toBeUndefined();
    expect(recovered.data!.issueCredentials.accessKeyId).toMatch(/^ASIA/);
  });

  it("logs the AWS operation and error name, never AWS's message, and audits the failure", async () => {
    const line = broker.logs.find((l) => l.includes('"event":"upstream_error"'));
    expect(line).toBeDefined();
    const entry = JSON.parse(line!);
    expect(entry).toMatchObject({ operation: expect.any(String), awsError: expect.any(String), code: "UPSTREAM_UNAVAILABLE" });
    const events = await broker.broker.store.auditEvents(demoUser(aws.stack, "alice").sub, 20);
    expect(events.some((e) => e.action === "ISSUE" && e.outcome === "FAILURE" && e.errorCode === "UPSTREAM_UNAVAILABLE")).toBe(true);
  });

  it("answers UPSTREAM_UNAVAILABLE when AWS refuses connections, and keeps the connection usable", async () => {
    await aws.moto.stop();
    const issued = await execute(broker.url, IssueCredentialsDocument, { flow: "ENHANCED" }, alice);
    expect(errorCodes(issued)).toEqual(["UPSTREAM_UNAVAILABLE"]);
    const refreshed = await execute(broker.url, RefreshTokensDocument, {}, alice);
    expect(errorCodes(refreshed)).toEqual(["UPSTREAM_UNAVAILABLE"]);
    // Nothing was lost: the connection and its tokens are as they were.
    const connection = await broker.broker.store.getConnection(demoUser(aws.stack, "alice").sub);
    expect(connection).toMatchObject({ state: "ACTIVE" });
    expect(await broker.broker.store.getPoolBTokens(demoUser(aws.stack, "alice").sub)).not.toBeNull();
  });
});
