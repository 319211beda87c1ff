import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { ClientKeysDocument, CreateClientKeyDocument, ProvisionDataPlatformUserDocument, RevokeClientKeyDocument } from "../../src/client/graphql.js";
import type { S3Target } from "./aws-tools.js";
import { startBroker, type BrokerUnderTest } from "./broker-under-test.js";
import { baseUrlOf } from "./credential-endpoint.js";
import { execute } from "./graphql-client.js";
import { startLocalAws, type LocalAws } from "./local-aws.js";
import { freshPoolAUser } from "./pool-a-users.js";

export interface FreshClientKey {
  /** A directory of the key's own, to serve as the customer's HOME. */
  dir: string;
  /** The secret, saved as the set-up says (mode 0600). */
  keyFile: string;
  id: string;
  lastUsedAt(): Promise<string | null | undefined>;
  revoke(): Promise<void>;
}

/** A fresh acme user with a provisioned connection and one client key, for one test. */
export async function freshClientKey(aws: LocalAws, broker: BrokerUnderTest, parentDir: string, name: string, input: Record<string, unknown> = { flow: "ENHANCED" }): Promise<FreshClientKey> {
  const user = await freshPoolAUser(aws.stack);
  const { idToken } = await user.signIn();
  expect((await execute(broker.url, ProvisionDataPlatformUserDocument, {}, idToken)).errors).toBeUndefined();
  const created = await execute(broker.url, CreateClientKeyDocument, { input: { name, ...input } as never }, idToken);
  expect(created.errors).toBeUndefined();
  const { secret, key } = created.data!.createClientKey;
  const dir = mkdtempSync(join(parentDir, `${name}-`));
  const keyFile = join(dir, "client.key");
  writeFileSync(keyFile, `${secret}\n`, { mode: 0o600 });
  return {
    dir,
    keyFile,
    id: key.id,
    lastUsedAt: async () => (await execute(broker.url, ClientKeysDocument, {}, idToken)).data!.clientKeys[0]!.lastUsedAt,
    revoke: async () => expect((await execute(broker.url, RevokeClientKeyDocument, { id: key.id }, idToken)).errors).toBeUndefined(),
  };
}

/** What the helper's suites share: moto, a broker, its credential endpoint, the acme prefix, a scratch directory. */
export interface HelperTestBed {
  aws: LocalAws;
  broker: BrokerUnderTest;
  endpoint: string;
  target: S3Target;
  workDir: string;
  freshKey(name: string, input?: Record<string, unknown>): Promise<FreshClientKey>;
  close(): Promise<void>;
}

export async function startHelperTestBed(name: string): Promise<HelperTestBed> {
  const aws = await startLocalAws();
  // Helpers poll the endpoint every few seconds in these suites.
  const broker = await startBroker(aws.stack, { RATE_LIMIT_CREDENTIAL_ENDPOINT_PER_MINUTE: "1000" });
  const workDir = mkdtempSync(join(tmpdir(), `${name}-`));
  return {
    aws,
    broker,
    endpoint: `${baseUrlOf(broker.url)}/v1/credentials`,
    target: { endpoint: aws.moto.endpoint, region: aws.stack.region, bucket: aws.stack.bucket, prefix: "tenants/acme/" },
    workDir,
    freshKey: (keyName, input) => freshClientKey(aws, broker, workDir, keyName, input),
    async close() {
      await broker.close();
      await aws.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
