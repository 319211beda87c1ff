import { setTimeout as sleep } from "node:timers/promises";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { fromHttp } from "@aws-sdk/credential-provider-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateClientKeyDocument, ProvisionDataPlatformUserDocument, RevokeClientKeyDocument } from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf } from "../support/credential-endpoint.js";
import { execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { demoUser, tokenFor } from "../support/users.js";

// moto's enhanced-flow credentials expire after 90 seconds, so a client that runs for about two
// minutes lives through two expiries. The run is bounded: it stops once the second credentials
// it saw have expired (at most 150 s).
const CALL_INTERVAL_MS = 15_000;
const MAX_RUN_MS = 150_000;

let aws: LocalAws;
let broker: BrokerUnderTest;

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack);
});

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
});

describe("an unattended client running across credential expiries", () => {
  it("keeps reading with fresh credentials each time, and names the cause once its key is revoked", { timeout: 240_000 }, async () => {
    const alice = await tokenFor(aws.stack, "alice");
    expect((await execute(broker.url, ProvisionDataPlatformUserDocument, {}, alice)).errors).toBeUndefined();
    const created = await execute(broker.url, CreateClientKeyDocument, { input: { name: "scheduled-job", flow: "ENHANCED" } }, alice);
    const { secret, key } = created.data!.createClientKey;

    const s3 = new S3Client({
      region: aws.stack.region,
      endpoint: aws.moto.endpoint,
      forcePathStyle: true,
      credentials: fromHttp({ awsContainerCredentialsFullUri: `${baseUrlOf(broker.url)}/v1/credentials`, awsContainerAuthorizationToken: secret }),
    });
    try {
      const started = Date.now();
      const expirations: number[] = [];
      let calls = 0;
      for (;;) {
        const listing = await s3.send(new ListObjectsV2Command({ Bucket: aws.stack.bucket, Prefix: "tenants/acme/" }));
        expect(listing.KeyCount).toBe(3);
        calls += 1;
        const expiration = (await s3.config.credentials()).expiration!.getTime();
        if (!expirations.includes(expiration)) expirations.push(expiration);
        // Done once the second set of credentials this client used has expired, too.
        if (expirations.length >= 2 && Date.now() > expirations[1]!) break;
        expect(Date.now() - started).toBeLessThan(MAX_RUN_MS);
        await sleep(CALL_INTERVAL_MS);
      }
      expect(Date.now()).toBeGreaterThan(expirations[0]!);
      expect(expirations.length).toBeGreaterThanOrEqual(3);
      const issued = (await broker.broker.store.auditEvents(demoUser(aws.stack, "alice").sub, 1000)).filter(
        (e) => e.action === "ISSUE" && e.clientKeyId === key.id,
      ).length;
      expect(issued).toBeGreaterThanOrEqual(expirations.length);
      console.log(`long-running client: ${calls} calls over ${Math.round((Date.now() - started) / 1000)} s, ${expirations.length} credential sets, ${issued} issuances`);

      await execute(broker.url, RevokeClientKeyDocument, { id: key.id }, alice);
      const failure = await s3.send(new ListObjectsV2Command({ Bucket: aws.stack.bucket, Prefix: "tenants/acme/" })).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      expect(failure).toMatchObject({ Code: "FORBIDDEN", Message: "The client key was revoked." });
    } finally {
      s3.destroy();
    }
  });
});
