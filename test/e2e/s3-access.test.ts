import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssueCredentialsDocument, ProvisionDataPlatformUserDocument, type IssueCredentialsMutation } from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { tokenFor } from "../support/users.js";

const run = promisify(execFile);

let aws: LocalAws;
let broker: BrokerUnderTest;
let issued: IssueCredentialsMutation["issueCredentials"];

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack);
  // The whole journey of an end user, over HTTP, with the typed operations partners use.
  const alice = await tokenFor(aws.stack, "alice");
  const provisioned = await execute(broker.url, ProvisionDataPlatformUserDocument, {}, alice);
  expect(provisioned.errors).toBeUndefined();
  const result = await execute(broker.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, alice);
  expect(result.errors).toBeUndefined();
  issued = result.data!.issueCredentials;
});

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
});

describe("issued CLASSIC credentials in a real S3 client", () => {
  it("list and read the tenant's objects with @aws-sdk/client-s3", async () => {
    const s3 = new S3Client({
      region: issued.region,
      endpoint: aws.moto.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: issued.accessKeyId, secretAccessKey: issued.secretAccessKey, sessionToken: issued.sessionToken },
    });
    try {
      const listing = await s3.send(new ListObjectsV2Command({ Bucket: issued.bucket, Prefix: issued.prefix }));
      expect((listing.Contents ?? []).map((o) => o.Key).sort()).toEqual([
        "tenants/acme/README.txt",
        "tenants/acme/readings/2026-11-01.csv",
        "tenants/acme/readings/2026-11-02.csv",
      ]);
      const object = await s3.send(new GetObjectCommand({ Bucket: issued.bucket, Key: `${issued.prefix}README.txt` }));
      expect(await object.Body!.transformToString()).toBe("Sample data for tenant acme.\n");
    } finally {
      s3.destroy();
    }
  });

  it("work in the AWS CLI when the shell export lines are pasted", async () => {
    const script = `${issued.clientConfiguration.shellExports}\nunset AWS_PROFILE\naws --endpoint-url "$ENDPOINT" s3 cp "s3://$BUCKET/tenants/acme/readings/2026-11-01.csv" -`;
    const { stdout } = await run("sh", ["-c", script], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ENDPOINT: aws.moto.endpoint, BUCKET: issued.bucket },
    });
    expect(stdout).toBe("device,reading\nacme-1,42\n");
  });
});
