import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reuseFloorMs } from "../../src/broker/credentials/credential-cache.js";
import { IssueCredentialsDocument, ProvisionDataPlatformUserDocument } from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser } from "../support/pool-a-users.js";

/**
 * When issued credentials are handed out again (src/broker/credentials/credential-cache.ts), on a
 * real broker against moto with the broker's clock moved forward (moto's STS sets the expiration
 * from the requested duration, as AWS does).
 */
let aws: LocalAws;
let broker: BrokerUnderTest;
let offsetMs = 0;

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack, { RATE_LIMIT_MUTATIONS_PER_MINUTE: "100000", RATE_LIMIT_FIELDS_PER_MINUTE: "100000" }, { now: () => Date.now() + offsetMs });
});

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
});

async function freshToken(): Promise<string> {
  const token = (await (await freshPoolAUser(aws.stack)).signIn()).idToken;
  expect((await execute(broker.url, ProvisionDataPlatformUserDocument, {}, token)).errors).toBeUndefined();
  return token;
}

async function issue(token: string, durationSeconds: number) {
  const result = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds }, token);
  expect(result.errors).toBeUndefined();
  return result.data!.issueCredentials;
}

const minutes = (n: number) => n * 60_000;

describe("reuse of issued credentials", () => {
  it.each([
    // lifetime, last reuse (minutes after issuance), first new issuance
    [900, 7, 8],
    [1800, 14, 16],
    [3600, 39, 41],
  ])("a %s s classic key is handed out again until its floor, then issued anew", async (durationSeconds, reusedAt, renewedAt) => {
    const token = await freshToken();
    offsetMs = 0;
    try {
      const first = await issue(token, durationSeconds);
      offsetMs = minutes(reusedAt);
      const reused = await issue(token, durationSeconds);
      expect(reused.accessKeyId).toBe(first.accessKeyId);
      // What the client receives is outside the 5-minute SDKs' refresh window.
      expect(new Date(reused.expiration as string).getTime() - (Date.now() + offsetMs)).toBeGreaterThan(minutes(5));
      offsetMs = minutes(renewedAt);
      const renewed = await issue(token, durationSeconds);
      expect(renewed.accessKeyId).not.toBe(first.accessKeyId);
    } finally {
      offsetMs = 0;
    }
  });

  it("never hands out credentials with 6 minutes or less left, and at most 20 minutes of margin is kept", () => {
    for (let seconds = 900; seconds <= 43_200; seconds += 60) {
      expect(reuseFloorMs(seconds)).toBeGreaterThan(minutes(5));
      expect(reuseFloorMs(seconds)).toBeLessThanOrEqual(minutes(20));
      expect(reuseFloorMs(seconds)).toBeLessThan(seconds * 1000);
    }
    expect(reuseFloorMs(900)).toBe(minutes(7.5));
    expect(reuseFloorMs(3600)).toBe(minutes(20));
  });
});
