import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { fromHttp } from "@aws-sdk/credential-provider-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientKeysDocument, CreateClientKeyDocument, ProvisionDataPlatformUserDocument, RevokeClientKeyDocument } from "../../src/client/graphql.js";
import { HELPER, toolEnv } from "../support/aws-tools.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf } from "../support/credential-endpoint.js";
import { execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { tokenFor } from "../support/users.js";

const run = promisify(execFile);

let aws: LocalAws;
let broker: BrokerUnderTest;
let alice: string;
let endpoint: string;
let workDir: string;

async function createKey(name: string, input: Record<string, unknown> = {}) {
  const result = await execute(broker.url, CreateClientKeyDocument, { input: { name, ...input } as never }, alice);
  expect(result.errors).toBeUndefined();
  return result.data!.createClientKey;
}

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack);
  endpoint = `${baseUrlOf(broker.url)}/v1/credentials`;
  workDir = mkdtempSync(join(tmpdir(), "unattended-"));
  alice = await tokenFor(aws.stack, "alice");
  expect((await execute(broker.url, ProvisionDataPlatformUserDocument, {}, alice)).errors).toBeUndefined();
});

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe("the JS v3 SDK with the standard container credentials provider", () => {
  it("lists and reads the tenant's objects", async () => {
    const { secret } = await createKey("js-sdk", { flow: "ENHANCED" });
    const saved = { uri: process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, token: process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN };
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = endpoint;
    process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = secret;
    const s3 = new S3Client({ region: aws.stack.region, endpoint: aws.moto.endpoint, forcePathStyle: true, credentials: fromHttp({}) });
    try {
      const listing = await s3.send(new ListObjectsV2Command({ Bucket: aws.stack.bucket, Prefix: "tenants/acme/" }));
      expect(listing.Contents?.map((o) => o.Key)).toContain("tenants/acme/README.txt");
      const object = await s3.send(new GetObjectCommand({ Bucket: aws.stack.bucket, Key: "tenants/acme/readings/2026-11-02.csv" }));
      expect(await object.Body!.transformToString()).toBe("device,reading\nacme-1,43\n");
      const identity = await s3.config.credentials();
      expect(identity.accessKeyId).toBe("TESTACCESSKEY12345"); // moto's enhanced-flow credentials, fetched through the broker
    } finally {
      s3.destroy();
      process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = saved.uri;
      process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = saved.token;
      if (saved.uri === undefined) delete process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
      if (saved.token === undefined) delete process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
    }
  });
});

describe("the AWS CLI with a credential_process profile", () => {
  let keyFile: string;
  let configFile: string;
  let cacheDir: string;
  let keyId: string;

  beforeAll(async () => {
    const created = await createKey("aws-cli", { flow: "CLASSIC", durationSeconds: 3600 });
    keyId = created.key.id;
    keyFile = join(workDir, "cli.key");
    cacheDir = join(workDir, "cache");
    writeFileSync(keyFile, `${created.secret}\n`, { mode: 0o600 });
    configFile = join(workDir, "config");
    writeFileSync(
      configFile,
      [
        "[profile tenant]",
        `region = ${aws.stack.region}`,
        `credential_process = node ${HELPER} credential-process --endpoint ${endpoint} --key-file ${keyFile} --cache-dir ${cacheDir}`,
        "",
      ].join("\n"),
    );
  });

  const aws_ = (...args: string[]) =>
    run("aws", ["--profile", "tenant", "--endpoint-url", aws.moto.endpoint, ...args], {
      env: toolEnv(workDir, { AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: join(workDir, "no-credentials") }),
    });

  it("runs aws s3 ls and aws s3 cp on the tenant's prefix", async () => {
    const listing = await aws_("s3", "ls", `s3://${aws.stack.bucket}/tenants/acme/`, "--recursive");
    expect(listing.stdout).toContain("tenants/acme/readings/2026-11-01.csv");
    const copy = await aws_("s3", "cp", `s3://${aws.stack.bucket}/tenants/acme/README.txt`, "-");
    expect(copy.stdout).toBe("Sample data for tenant acme.\n");
  });

  it("caches credentials in a private file, so the next command does not ask the broker", async () => {
    const files = readdirSync(cacheDir);
    expect(files).toHaveLength(1);
    expect(statSync(join(cacheDir, files[0]!)).mode & 0o777).toBe(0o600);
    const before = (await execute(broker.url, ClientKeysDocument, {}, alice)).data!.clientKeys.find((k) => k.id === keyId)!.lastUsedAt;
    await aws_("s3", "ls", `s3://${aws.stack.bucket}/tenants/acme/`);
    const after = (await execute(broker.url, ClientKeysDocument, {}, alice)).data!.clientKeys.find((k) => k.id === keyId)!.lastUsedAt;
    expect(after).toBe(before);
  });

  it("fails with the broker's reason on stderr when the key is revoked", async () => {
    await execute(broker.url, RevokeClientKeyDocument, { id: keyId }, alice);
    const helper = run("node", [HELPER, "credential-process", "--endpoint", endpoint, "--key-file", keyFile, "--no-cache"], { env: toolEnv(workDir, {}) });
    await expect(helper).rejects.toMatchObject({ code: 3, stderr: expect.stringContaining("The client key was revoked.") });
  });

  it("explains a missing key and refuses plain http off loopback", async () => {
    await expect(run("node", [HELPER, "credential-process", "--endpoint", endpoint], { env: toolEnv(workDir, {}) })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("no client key"),
    });
    await expect(
      run("node", [HELPER, "credential-process", "--endpoint", "http://broker.example.com/v1/credentials"], { env: toolEnv(workDir, { S3_BROKER_CLIENT_KEY: "s3bk_x" }) }),
    ).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("https") });
  });
});

describe("boto3 with the container credentials provider", () => {
  it("reads an object", async () => {
    const { secret } = await createKey("boto3", { flow: "CLASSIC", durationSeconds: 3600 });
    const script = [
      "import boto3, os",
      "s3 = boto3.client('s3', endpoint_url=os.environ['MOTO'], region_name=os.environ['REGION'])",
      "print(s3.get_object(Bucket=os.environ['BUCKET'], Key='tenants/acme/README.txt')['Body'].read().decode(), end='')",
    ].join("\n");
    const { stdout } = await run(process.env.PYTHON ?? "python3", ["-c", script], {
      env: toolEnv(workDir, {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: secret,
        MOTO: aws.moto.endpoint,
        REGION: aws.stack.region,
        BUCKET: aws.stack.bucket,
      }),
    });
    expect(stdout).toBe("Sample data for tenant acme.\n");
  });
});
