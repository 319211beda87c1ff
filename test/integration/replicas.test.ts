import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IssueCredentialsDocument,
  MoveDataPlatformUserDocument,
  ProvisionDataPlatformUserDocument,
  RevokeDataPlatformUserDocument,
} from "../../src/client/graphql.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { errorCodes, execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser } from "../support/pool-a-users.js";
import { freshSchema, type TestSchema } from "../support/postgres.js";
import { demoUser, poolBUsers, tokenFor } from "../support/users.js";

// Two broker processes' worth of state (separate stores, caches and locks) sharing one PostgreSQL schema.
let aws: LocalAws;
let schema: TestSchema;
let replicas: BrokerUnderTest[];

async function countRows(sql: string, values: unknown[]): Promise<number> {
  const client = new pg.Client({ connectionString: schema.url });
  await client.connect();
  try {
    return Number((await client.query(sql, values)).rows[0].count);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  aws = await startLocalAws();
  schema = await freshSchema();
  const key = (await import("node:crypto")).randomBytes(32).toString("base64");
  // Replicas share the database and its encryption key, nothing else.
  const env = { DATABASE_URL: schema.url, TOKEN_ENCRYPTION_KEY: key, RATE_LIMIT_MUTATIONS_PER_MINUTE: "1000", RATE_LIMIT_FIELDS_PER_MINUTE: "1000" };
  replicas = await Promise.all([startBroker(aws.stack, env), startBroker(aws.stack, env)]);
});

afterAll(async () => {
  for (const replica of replicas ?? []) await replica.close();
  await schema?.drop();
  await aws?.stop();
});

describe("several replicas on one PostgreSQL database", () => {
  it("provisioning the same user on both at once ends with one data platform user and one connection", async () => {
    const alice = await tokenFor(aws.stack, "alice");
    const results = await Promise.all([0, 1, 0, 1, 0, 1].map((i) => execute(replicas[i]!.url, ProvisionDataPlatformUserDocument, {}, alice)));
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(new Set(results.map((r) => r.data!.provisionDataPlatformUser.identityId)).size).toBe(1);
    expect((await poolBUsers(aws.stack)).filter((u) => u.tenant === "acme")).toHaveLength(1);
    expect(await countRows("SELECT count(*) FROM connections WHERE user_id = $1", [demoUser(aws.stack, "alice").sub])).toBe(1);
  });

  it("a storm of issuance requests across both replicas calls AWS once", async () => {
    const alice = await tokenFor(aws.stack, "alice");
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => execute(replicas[i % 2]!.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, alice)),
    );
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(new Set(results.map((r) => r.data!.issueCredentials.accessKeyId)).size).toBe(1);
    expect(await countRows("SELECT count(*) FROM issuances WHERE user_id = $1 AND duration_seconds = 3600", [demoUser(aws.stack, "alice").sub])).toBe(1);
  });

  it("a revocation on one replica ends what the other holds in memory, also after a reinstatement", async () => {
    const [a, b] = replicas as [BrokerUnderTest, BrokerUnderTest];
    const user = await freshPoolAUser(aws.stack, { tenant: "globex" });
    const admin = await tokenFor(aws.stack, "admin");
    const { idToken } = await user.signIn();
    const issueOn = (replica: BrokerUnderTest) => execute(replica.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, idToken);
    expect((await execute(a.url, ProvisionDataPlatformUserDocument, {}, idToken)).errors).toBeUndefined();
    const before = (await issueOn(a)).data!.issueCredentials.accessKeyId; // now in replica A's memory
    expect((await issueOn(a)).data!.issueCredentials.accessKeyId).toBe(before);

    expect((await execute(b.url, RevokeDataPlatformUserDocument, { userId: user.sub }, admin)).errors).toBeUndefined();
    expect(errorCodes(await issueOn(a))).toEqual(["FORBIDDEN"]);
    expect((await execute(b.url, ProvisionDataPlatformUserDocument, { userId: user.sub }, admin)).errors).toBeUndefined();
    // Replica A's memory still holds the old set, but it was issued in an earlier epoch: never handed out again.
    const after = await issueOn(a);
    expect(after.errors).toBeUndefined();
    expect(after.data!.issueCredentials.accessKeyId).not.toBe(before);
  });

  it("a tenant move on one replica is what the other serves from then on", async () => {
    const [a, b] = replicas as [BrokerUnderTest, BrokerUnderTest];
    const user = await freshPoolAUser(aws.stack, { tenant: "acme" });
    const admin = await tokenFor(aws.stack, "admin");
    const first = (await user.signIn()).idToken;
    expect((await execute(a.url, ProvisionDataPlatformUserDocument, {}, first)).errors).toBeUndefined();
    const before = (await execute(a.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, first)).data!.issueCredentials;
    await user.setTenant("globex");
    const moved = await execute(b.url, MoveDataPlatformUserDocument, { userId: user.sub, tenant: "globex" }, admin);
    expect(moved.data?.moveDataPlatformUser).toMatchObject({ state: "ACTIVE", tenant: "globex" });
    expect(errorCodes(await execute(a.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, first))).toEqual(["FORBIDDEN"]);
    const after = (await execute(a.url, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 3600 }, (await user.signIn()).idToken)).data!.issueCredentials;
    expect(after).toMatchObject({ prefix: "tenants/globex/" });
    expect(after.accessKeyId).not.toBe(before.accessKeyId);
  });
});
