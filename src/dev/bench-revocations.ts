/**
 * `npm run bench` (its last part; alone: `npm run bench:revocations`): revocation at scale.
 *
 * 1. A simulated day at 10,000 revocations an hour among 1,000,000 users, every revoked user holding
 *    a 12-hour session, over the real deny-list writer with an injectable clock and the in-memory
 *    IAM that enforces IAM's quotas (src/dev/revocation-simulation.ts), with the IAM policy
 *    simulator sampling sessions at every simulated quarter hour.
 * 2. A real storm against the emulator: 1,200 users with live sessions, 1,000 of them revoked by an
 *    administrator 20 at a time through the GraphQL API; then every user's session evaluated with
 *    the simulator against the documents moto stores, credentials handed out again, and revoked
 *    users reinstated for their first credentials.
 *
 * Prints figures; asserts nothing (the suites assert the rules).
 */
import "reflect-metadata";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { AdminCreateUserCommand, AdminSetUserPasswordCommand, CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import { decomposeUnverifiedJwt } from "aws-jwt-verify/jwt";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createBroker } from "../app.js";
import { loadEnvironment } from "../config/environment.js";
import { SESSION_TAG_ALPHABET, type PolicyDocument } from "../policy/policies.js";
import { bootstrapAws, brokerEnvironment, type StackInfo } from "./bootstrap.js";
import { useEmulatorCredentials } from "./local-stack.js";
import { startMoto } from "./moto.js";
import { poolAIdToken } from "./pool-a-sign-in.js";
import { simulateRevocations } from "./revocation-simulation.js";
import { storedReaderDocuments } from "./stored-documents.js";

const say = (line: string) => process.stderr.write(`${line}\n`);
const STORM_USERS = Number(process.env.BENCH_REVOCATION_USERS ?? 1_200);
const STORM_REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 1_000);
const SIMULATED_HOURS = Number(process.env.BENCH_SIMULATED_HOURS ?? 24);

async function simulatedDay(work: string): Promise<string[]> {
  say(`simulated day: ${SIMULATED_HOURS} h at 10,000 revocations/h among 1,000,000 users, 24 shards × 10 deny lists, 12 h sessions ...`);
  const r = await simulateRevocations({
    users: 1_000_000,
    revocationsPerHour: 10_000,
    hours: SIMULATED_HOURS,
    shards: 24,
    denyListsPerShard: 10,
    sessionSeconds: 43_200,
    tenants: 500,
    checkEveryMinutes: 15,
    samplesPerCheck: 6,
    storePath: join(work, "simulation.sqlite"),
  });
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return [
    "Simulated day (real writer, SQLite store, in-memory IAM with IAM's default quotas, iam-simulate samples)",
    `  revocations                      ${r.revocations.toLocaleString("en")} in ${r.simulatedHours} simulated hours (${(r.revocations / r.simulatedHours).toLocaleString("en")}/h)`,
    `  wall time                        ${r.wallSeconds.toFixed(1)} s (${Math.round(r.revocationsPerWallSecond).toLocaleString("en")} revocations/s through the writer and the store)`,
    `  capacity                         ${r.capacityPerDocument} tags per document × 240 documents = ${r.capacityTotal.toLocaleString("en")}`,
    `  live entries at the peak         ${r.peakLiveEntries.toLocaleString("en")} (${pct(r.peakLiveEntries / r.capacityTotal)} of capacity)`,
    `  fullest document                 ${r.peakEntriesPerDocument} tags, ${pct(r.peakFill)} (warn 50%, alarm 80%); ${r.peakManagedPolicyChars} of 6,144 characters`,
    `  IAM writes                       ${r.iamWrites.toLocaleString("en")} (peak ${r.peakIamWritesPerSecond} in any second; budget 10/s)`,
    `  tenant cut-offs (last resort)    ${r.tenantCutoffs}`,
    `  checks                           ${r.checks}: live revoked tags missing ${r.missingLiveEntries}, tags of users nobody revoked listed ${r.collateralEntries}`,
    `  sessions of revoked users        ${r.revokedSessionsDenied}/${r.revokedSessionsSampled} denied`,
    `  sessions of users nobody revoked ${r.otherSessionsAllowed}/${r.otherSessionsSampled} allowed (issued 12 h, 1 s and 0 s before the check)`,
  ];
}

interface StormUser {
  sub: string;
  token: string;
  tenant: string;
}

async function emulatorStorm(work: string): Promise<string[]> {
  useEmulatorCredentials();
  const moto = await startMoto();
  try {
    say("bootstrapping moto ...");
    const stack = await bootstrapAws({ region: "eu-west-1", endpoint: moto.endpoint, name: "revbench" });
    const config = loadEnvironment(
      brokerEnvironment(stack, {
        NODE_ENV: "production",
        PUBLIC_URL: "https://broker.example.com",
        LOG_LEVEL: "warn",
        PORT: "0",
        METRICS_PORT: "0",
        DATABASE_PATH: join(work, "broker.sqlite"),
        TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
        RATE_LIMIT_MUTATIONS_PER_MINUTE: "1000000", RATE_LIMIT_FIELDS_PER_MINUTE: "1000000",
        // One administrator revokes them all; the per-actor limit is tested elsewhere.
        RATE_LIMIT_REVOCATIONS_PER_MINUTE: "1000000",
        CLASSIC_ROLE_MAX_SESSION_SECONDS: "43200",
      }),
    );
    const broker = await createBroker(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
    const url = `${await broker.app.listen({ host: "127.0.0.1", port: 0 })}/graphql`;
    const gql = async (token: string, query: string, variables: Record<string, unknown> = {}) => {
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
      return (await response.json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> };
    };
    try {
      say(`creating ${STORM_USERS} users, provisioning them and issuing 12 h credentials ...`);
      const users = await createUsers(stack, STORM_USERS);
      const adminUser = stack.demoUsers.find((u) => u.admin)!;
      const adminToken = await poolAIdToken(stack, adminUser.username, adminUser.password);
      const setupStarted = Date.now();
      await inBatches(users, 20, async (u) => {
        const provisioned = await gql(u.token, "mutation { provisionDataPlatformUser { state } }");
        if (provisioned.errors) throw new Error(`provisioning failed: ${JSON.stringify(provisioned.errors)}`);
        const issued = await gql(u.token, "mutation { issueCredentials(flow: CLASSIC, durationSeconds: 43200) { accessKeyId } }");
        if (issued.errors) throw new Error(`issuance failed: ${JSON.stringify(issued.errors)}`);
      });
      const setupSeconds = (Date.now() - setupStarted) / 1000;
      const tagBefore = new Map<string, string>();
      for (const u of users) tagBefore.set(u.sub, (await broker.store.getConnection(u.sub))!.sessionTag!);

      say(`revoking ${STORM_REVOCATIONS} of them, 20 at a time ...`);
      const revoked = users.slice(0, STORM_REVOCATIONS);
      const others = users.slice(STORM_REVOCATIONS);
      const latencies: number[] = [];
      let failures = 0;
      const stormStarted = Date.now();
      await inBatches(revoked, 20, async (u) => {
        const started = performance.now();
        const result = await gql(adminToken, "mutation($userId: ID!) { revokeDataPlatformUser(userId: $userId) { state } }", { userId: u.sub });
        latencies.push(performance.now() - started);
        if (result.errors) failures += 1;
      });
      const stormSeconds = (Date.now() - stormStarted) / 1000;
      latencies.sort((a, b) => a - b);
      const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;

      say("evaluating every user's session against the documents moto stores ...");
      const documents = await storedDocuments(stack);
      let revokedDenied = 0;
      let othersAllowed = 0;
      for (const u of revoked) if ((await decide(documents, u.tenant, tagBefore.get(u.sub)!)) === "Denied") revokedDenied += 1;
      for (const u of others) if ((await decide(documents, u.tenant, tagBefore.get(u.sub)!)) === "Allowed") othersAllowed += 1;

      say("handing out credentials again, and reinstating 20 revoked users ...");
      let againAlive = 0;
      for (const u of others) {
        const again = await gql(u.token, "mutation { issueCredentials(flow: CLASSIC, durationSeconds: 43200) { accessKeyId } }");
        const tag = (await broker.store.getConnection(u.sub))!.sessionTag!;
        if (!again.errors && (await decide(documents, u.tenant, tag)) === "Allowed") againAlive += 1;
      }
      let revokedRefused = 0;
      for (const u of revoked.slice(0, 20)) if ((await gql(u.token, "mutation { issueCredentials(flow: CLASSIC, durationSeconds: 3600) { accessKeyId } }")).errors) revokedRefused += 1;
      let reinstatedAlive = 0;
      for (const u of revoked.slice(0, 20)) {
        await gql(adminToken, "mutation($userId: ID!) { provisionDataPlatformUser(userId: $userId) { state } }", { userId: u.sub });
        const first = await gql(u.token, "mutation { issueCredentials(flow: CLASSIC, durationSeconds: 3600) { accessKeyId } }");
        const tag = (await broker.store.getConnection(u.sub))!.sessionTag!;
        if (!first.errors && tag !== tagBefore.get(u.sub) && (await decide(await storedDocuments(stack), u.tenant, tag)) === "Allowed") reinstatedAlive += 1;
      }
      return [
        `Storm against the emulator (moto, one broker process on SQLite, upstream budgets at AWS's default quotas, ${cpus().length} cores)`,
        `  set-up                           ${STORM_USERS} users provisioned with 12 h CLASSIC credentials in ${setupSeconds.toFixed(1)} s`,
        `  revocations                      ${STORM_REVOCATIONS} in ${stormSeconds.toFixed(1)} s = ${(STORM_REVOCATIONS / stormSeconds).toFixed(1)}/s (${Math.round((STORM_REVOCATIONS / stormSeconds) * 3600).toLocaleString("en")}/h); failed ${failures}`,
        `  mutation to deny written         p50 ${quantile(0.5).toFixed(0)} ms, p99 ${quantile(0.99).toFixed(0)} ms (the mutation answers after its deny-list write)`,
        `  revoked users' sessions          ${revokedDenied}/${revoked.length} denied`,
        `  other users' sessions            ${othersAllowed}/${others.length} allowed`,
        `  credentials handed out again     ${againAlive}/${others.length} alive; revoked users refused ${revokedRefused}/20`,
        `  reinstated users' first creds    ${reinstatedAlive}/20 alive (a new session tag each)`,
      ];
    } finally {
      await broker.close();
    }
  } finally {
    await moto.stop();
  }
}

async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

async function createUsers(stack: StackInfo, count: number): Promise<StormUser[]> {
  const idp = new CognitoIdentityProviderClient({ region: stack.region, endpoint: stack.endpoint! });
  const users: StormUser[] = [];
  await inBatches([...Array(count).keys()], 20, async (i) => {
    const username = `revoke-${i}`;
    const password = `Bench-${randomBytes(6).toString("hex")}1a!`;
    const tenant = `tenant${i % 20}`;
    await idp.send(new AdminCreateUserCommand({ UserPoolId: stack.poolA.userPoolId, Username: username, MessageAction: "SUPPRESS", UserAttributes: [{ Name: "custom:tenant", Value: tenant }] }));
    await idp.send(new AdminSetUserPasswordCommand({ UserPoolId: stack.poolA.userPoolId, Username: username, Password: password, Permanent: true }));
    const token = await poolAIdToken(stack, username, password);
    users[i] = { sub: String(decomposeUnverifiedJwt(token).payload.sub), token, tenant };
  });
  idp.destroy();
  return users;
}

/** Per shard: the reader role's own policy and every deny list's default version, as moto stores them. */
async function storedDocuments(stack: StackInfo): Promise<Array<Array<{ name: string; policy: PolicyDocument }>>> {
  return Promise.all(stack.shards.map((_, shard) => storedReaderDocuments(stack, shard)));
}

async function decide(documents: Array<Array<{ name: string; policy: PolicyDocument }>>, tenant: string, sid: string): Promise<"Allowed" | "Denied"> {
  const result = await runSimulation(
    {
      request: {
        principal: "arn:aws:sts::123456789012:assumed-role/tenant-reader/dp-bench",
        action: "s3:GetObject",
        resource: { resource: `arn:aws:s3:::bucket/tenants/${tenant}/x`, accountId: "123456789012" },
        contextVariables: { "aws:PrincipalTag/tenant": tenant, "aws:PrincipalTag/sid": sid, "aws:TokenIssueTime": new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z") },
      },
      identityPolicies: documents[SESSION_TAG_ALPHABET.indexOf(sid[0]!)]!.map((d) => ({ ...d, policy: { ...d.policy, Statement: d.policy.Statement.map((s) => rebucket(s)) } })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === "error") throw new Error(`simulation error: ${JSON.stringify(result.errors)}`);
  return result.overallResult === "Allowed" ? "Allowed" : "Denied";
}

/** The bench's stack has a random bucket name: the request above names "bucket", so point the role's resources there. */
function rebucket(statement: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(statement).replace(/arn:aws:s3:::[a-z0-9.-]+/g, "arn:aws:s3:::bucket")) as Record<string, unknown>;
}

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY && process.env.BENCH_ONLY !== "revocations") return;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const work = mkdtempSync(join(tmpdir(), "broker-revocation-bench-"));
  try {
    const lines = [...(await simulatedDay(work)), "", ...(await emulatorStorm(work))];
    process.stdout.write(["", ...lines, ""].join("\n"));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
