/**
 * `npm run bench`: the broker's speed against the bare framework it is built on, on this machine,
 * with one load generator (autocannon), plus a credential storm, memory with 10,000 connections,
 * the storm again against two replicas sharing PostgreSQL, a storm of distinct users against a
 * small upstream budget, and AWS calls per client-hour under the reuse rule. Prints tables; asserts
 * nothing.
 */
import "reflect-metadata";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import autocannon from "autocannon";
import { AdminCreateUserCommand, AdminSetUserPasswordCommand, CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import { ENHANCED_FLOW_SECONDS } from "../broker/duration.js";
import { reusable } from "../broker/credentials/credential-cache.js";
import { UPSTREAM_BUDGET_NAMES } from "../config/upstream-quotas.js";
import { SqliteStore } from "../store/sqlite-store.js";
import { TokenCipher } from "../store/token-cipher.js";
import { bootstrapAws, brokerEnvironment, type StackInfo } from "./bootstrap.js";
import { freshSchema } from "./ensure-database.js";
import { useEmulatorCredentials } from "./local-stack.js";
import { freePort, startMoto } from "./moto.js";
import { poolAIdToken } from "./pool-a-sign-in.js";
import { peakCalls, startRecordingProxy } from "./recording-proxy.js";

const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Rounds of the three throughput scenarios, interleaved; each figure is the median round. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARM_UP_SECONDS = 3;
const STORM_USERS = 200;
const STORM_REQUESTS_PER_USER = 10;
const MEMORY_CONNECTIONS = 10_000;
const ROOT = resolve(import.meta.dirname, "../..");
const say = (line: string) => process.stderr.write(`${line}\n`);

interface Server {
  url: string;
  /** The broker's metrics listener (a port of its own). */
  metricsUrl: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Each server under test runs in its own process, so the load generator never shares its event
 * loop. The broker runs the compiled JavaScript from `npm run build` (dist/), as in production; the
 * baseline, which dist/ does not ship, runs through tsx (esbuild compiles it once at load; the
 * running code is the same JavaScript).
 */
async function spawnServer(script: string, env: Record<string, string>, args: string[] = []): Promise<Server> {
  const port = await freePort();
  const metricsPort = await freePort();
  // BENCH_CPU_PROFILE=<dir>: each broker process writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_CPU_PROFILE && script.startsWith("dist/") ? ["--cpu-prof", "--cpu-prof-dir", resolve(process.env.BENCH_CPU_PROFILE)] : [];
  const child = spawn(process.execPath, [...profile, ...(script.endsWith(".ts") ? ["--import", "tsx"] : []), script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), METRICS_PORT: String(metricsPort), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i += 1) {
    try {
      if ((await fetch(`${url}/healthz`)).ok || (await fetch(`${url}/?query=%7B__typename%7D`, { headers: { "apollo-require-preflight": "1" } })).status < 500) break;
    } catch {
      // not up yet
    }
    if (i > 300 || child.exitCode !== null) throw new Error(`${script} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    child,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}

async function gql(url: string, token: string | undefined, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> } };
}

async function metricValue(metricsUrl: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels)) ?? text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/** The sum of a counter over all its label sets. */
async function metricSum(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
}

interface Scenario {
  name: string;
  url: string;
  body: string;
  headers?: Record<string, string>;
}

async function load(scenario: Scenario, seconds = DURATION_SECONDS) {
  const result = await autocannon({
    url: scenario.url,
    method: "POST",
    headers: { "content-type": "application/json", ...scenario.headers },
    body: scenario.body,
    connections: CONNECTIONS,
    duration: seconds,
  });
  return { name: scenario.name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx + result.timeouts };
}

/**
 * Each scenario is warmed up first (the JIT, the caches), then all of them run in interleaved
 * rounds, so a slow minute on a shared machine hits every scenario alike; the median round counts.
 */
async function measure(scenarios: Scenario[]) {
  for (const scenario of scenarios) {
    say(`  warm-up: ${scenario.name} (${WARM_UP_SECONDS} s)`);
    await load(scenario, WARM_UP_SECONDS);
  }
  const runs = scenarios.map(() => [] as Array<Awaited<ReturnType<typeof load>>>);
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const [i, scenario] of scenarios.entries()) {
      say(`  round ${round}/${ROUNDS}: ${scenario.name} (${DURATION_SECONDS} s, ${CONNECTIONS} connections)`);
      runs[i]!.push(await load(scenario));
    }
  }
  return runs.map((results) => {
    const sorted = [...results].sort((a, b) => a.rps - b.rps);
    return { ...sorted[Math.floor(sorted.length / 2)]!, rounds: results.map((r) => Math.round(r.rps)), errors: results.reduce((sum, r) => sum + r.errors, 0) };
  });
}

function machineLine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `Machine: ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; autocannon ${CONNECTIONS} connections × ${DURATION_SECONDS} s in the bench process, ${WARM_UP_SECONDS} s warm-up, ${ROUNDS} interleaved rounds (median shown); each server in its own process (compiled JS); broker with NODE_ENV=production, LOG_LEVEL=warn, SQLite`;
}

type ThroughputRow = Awaited<ReturnType<typeof measure>>[number];

/** The throughput scenarios and their ratios, as README tables. */
function throughputTable(rows: ThroughputRow[]): string[] {
  const [route, jit, base, status, issue, scoped] = rows as [ThroughputRow, ThroughputRow, ThroughputRow, ThroughputRow, ThroughputRow, ThroughputRow];
  return [
    "| scenario | req/s (median) | p50 ms | p99 ms | errors | every round, req/s |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    ...rows.map((r) => `| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.rounds.join(", ")} |`),
    "",
    `| ratio | value | target |`,
    `| --- | ---: | ---: |`,
    `| connectionStatus / bare Fastify route (2/A) | ${(status.rps / route.rps).toFixed(2)} | |`,
    `| connectionStatus / Mercurius + graphql-jit (2/B) | ${(status.rps / jit.rps).toFixed(2)} | ≥ 0.5 |`,
    `| connectionStatus / baseline (2/1) | ${(status.rps / base.rps).toFixed(2)} | ≥ 1.2 |`,
    `| issueCredentials warm / baseline (3/1) | ${(issue.rps / base.rps).toFixed(2)} | |`,
    `| issueCredentials warm / connectionStatus (3/2) | ${(issue.rps / status.rps).toFixed(2)} | ≥ 0.9 |`,
    `| scoped issueCredentials warm / unscoped (4/3) | ${(scoped.rps / issue.rps).toFixed(2)} | |`,
  ];
}

async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

async function createUsers(stack: StackInfo, count: number, prefix = "storm"): Promise<string[]> {
  const idp = new CognitoIdentityProviderClient({ region: stack.region, endpoint: stack.endpoint! });
  const tokens: string[] = [];
  await inBatches([...Array(count).keys()], 20, async (i) => {
    const username = `${prefix}-${i}`;
    const password = `Bench-${randomBytes(6).toString("hex")}1a!`;
    await idp.send(new AdminCreateUserCommand({ UserPoolId: stack.poolA.userPoolId, Username: username, MessageAction: "SUPPRESS", UserAttributes: [{ Name: "custom:tenant", Value: `tenant${i % 20}` }] }));
    await idp.send(new AdminSetUserPasswordCommand({ UserPoolId: stack.poolA.userPoolId, Username: username, Password: password, Permanent: true }));
    tokens[i] = await poolAIdToken(stack, username, password);
  });
  idp.destroy();
  return tokens;
}

/** 2,000 concurrent issueCredentials from 200 users, spread over the given replicas. */
async function storm(servers: Server[], tokens: string[]) {
  const urls = servers.map((s) => s.url);
  const before = await Promise.all(servers.map((s) => metricValue(s.metricsUrl, "broker_upstream_calls_total", 'operation="AssumeRoleWithWebIdentity"')));
  const requests = tokens.flatMap((token, user) => Array.from({ length: STORM_REQUESTS_PER_USER }, (_, i) => ({ token, url: urls[(user + i) % urls.length]! })));
  const started = Date.now();
  const results = await Promise.all(
    requests.map(({ token, url }) => gql(url, token, "mutation { issueCredentials(flow: CLASSIC, durationSeconds: 3600) { accessKeyId } }").catch(() => ({ status: 0, body: { errors: [{}] } }))),
  );
  const seconds = (Date.now() - started) / 1000;
  const after = await Promise.all(servers.map((s) => metricValue(s.metricsUrl, "broker_upstream_calls_total", 'operation="AssumeRoleWithWebIdentity"')));
  const upstream = after.reduce((sum, value, i) => sum + value - before[i]!, 0);
  const errors = results.filter((r) => r.status !== 200 || r.body.errors).length;
  return { requests: requests.length, upstream, errors, seconds };
}

/** Distinct users issuing at once against one small budget for every AWS quota. */
const BUDGET_STORM_USERS = Number(process.env.BENCH_BUDGET_USERS ?? 2000);
const BUDGET_PER_SECOND = 50;

async function budgetStorm(stack: StackInfo, env: (extra: Record<string, string>) => Record<string, string>, work: string, servers: Server[]) {
  const proxy = await startRecordingProxy(stack.endpoint!);
  try {
    const server = await spawnServer(
      "dist/main.js",
      env({
        DATABASE_PATH: join(work, "budget.sqlite"),
        AWS_ENDPOINT_URL: proxy.endpoint,
        UPSTREAM_BUDGETS: UPSTREAM_BUDGET_NAMES.map((name) => `${name}=${BUDGET_PER_SECOND}`).join(","),
        // The whole storm fits in the queue: nobody is refused, everybody waits their turn.
        UPSTREAM_MAX_WAIT_MS: "120000",
      }),
    );
    servers.push(server);
    say(`  creating ${BUDGET_STORM_USERS} users ...`);
    const tokens = await createUsers(stack, BUDGET_STORM_USERS, "budget");
    say(`  provisioning them through the budget ...`);
    const provisionFrom = Date.now();
    await inBatches(tokens, 100, async (token) => {
      const result = await gql(server.url, token, "mutation { provisionDataPlatformUser { state } }");
      if (result.body.errors) throw new Error(`provisioning failed: ${JSON.stringify(result.body.errors)}`);
    });
    const provisionSeconds = (Date.now() - provisionFrom) / 1000;
    const provisionCalls = proxy.calls.filter((c) => c.at >= provisionFrom);
    say(`  the storm: ${BUDGET_STORM_USERS} issueCredentials at once ...`);
    const from = Date.now();
    const latencies: number[] = [];
    const results = await Promise.all(
      tokens.map(async (token) => {
        const started = performance.now();
        const result = await gql(server.url, token, "mutation { issueCredentials(flow: CLASSIC, durationSeconds: 3600) { accessKeyId } }").catch(() => ({ status: 0, body: { errors: [{}] } }));
        latencies.push(performance.now() - started);
        return result;
      }),
    );
    const seconds = (Date.now() - from) / 1000;
    const calls = proxy.calls.filter((c) => c.at >= from);
    latencies.sort((a, b) => a - b);
    await server.stop();
    const peakOf = (operations: string[], among: typeof calls) => Math.max(...operations.map((o) => peakCalls(among, o)));
    return {
      errors: results.filter((r) => r.status !== 200 || r.body.errors).length,
      seconds,
      p50: latencies[Math.floor(latencies.length / 2)]! / 1000,
      p99: latencies[Math.floor(latencies.length * 0.99)]! / 1000,
      peakIssuance: peakOf(["GetOpenIdToken", "AssumeRoleWithWebIdentity"], calls),
      issuanceCalls: calls.filter((c) => c.operation === "AssumeRoleWithWebIdentity").length,
      provisionSeconds,
      peakProvisioning: peakOf(["AdminCreateUser", "AdminSetUserPassword", "AdminInitiateAuth", "GetId"], provisionCalls),
    };
  } finally {
    await proxy.stop();
  }
}

/**
 * Issuances a client causes in an hour, polling every 10 s (a scheduled job, the helper), under the
 * broker's reuse rule (src/broker/credentials/credential-cache.ts) with the lifetimes AWS gives.
 * A simulation of the rule's decisions; the AWS calls per issuance are measured against moto.
 */
function issuancesPerClientHour(lifetimeSeconds: number, rule: (expiration: Date, now: number) => boolean): number {
  let expiration: Date | undefined;
  let issued = 0;
  for (let now = 0; now < 3_600_000; now += 10_000) {
    if (!expiration || !rule(expiration, now)) {
      expiration = new Date(now + lifetimeSeconds * 1000);
      issued += 1;
    }
  }
  return issued;
}

const SCOPED_ISSUE = 'mutation { issueCredentials(flow: CLASSIC, durationSeconds: 3600, scope: { target: "readings/", permission: READ }) { accessKeyId secretAccessKey sessionToken expiration } }';
const LATENCY_ISSUANCES = 40;

/**
 * Real issuances one after another (each duration is new, so nothing is reused): the median time
 * per issuance and the AWS calls each made, read from the broker's own upstream-call counter.
 */
async function issuanceLatency(server: Server, token: string, mutationFor: (i: number) => string) {
  const { url } = server;
  const callsBefore = await metricSum(server.metricsUrl, "broker_upstream_calls_total");
  const times: number[] = [];
  for (let i = 0; i < LATENCY_ISSUANCES; i += 1) {
    const started = performance.now();
    const result = await gql(url, token, mutationFor(i));
    times.push(performance.now() - started);
    if (result.body.errors) throw new Error(`issuance failed: ${JSON.stringify(result.body.errors)}`);
  }
  const calls = (await metricSum(server.metricsUrl, "broker_upstream_calls_total")) - callsBefore;
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)]!, awsCallsPerIssuance: calls / LATENCY_ISSUANCES };
}

async function main(): Promise<void> {
  useEmulatorCredentials();
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const moto = await startMoto();
  const work = mkdtempSync(join(tmpdir(), "broker-bench-"));
  const servers: Server[] = [];
  try {
    say("bootstrapping moto ...");
    const stack = await bootstrapAws({ region: "eu-west-1", endpoint: moto.endpoint, name: "bench" });
    const key = randomBytes(32).toString("base64");
    const brokerEnv = (extra: Record<string, string>) =>
      brokerEnvironment(stack, {
        NODE_ENV: "production",
        PUBLIC_URL: "https://broker.example.com",
        LOG_LEVEL: "warn",
        TOKEN_ENCRYPTION_KEY: key,
        RATE_LIMIT_MUTATIONS_PER_MINUTE: "1000000", RATE_LIMIT_FIELDS_PER_MINUTE: "1000000",
        SHUTDOWN_DRAIN_SECONDS: "0",
        ...extra,
      });

    say("starting the peers, the baseline and the broker ...");
    const bareRoute = await spawnServer("src/dev/bench-peers.ts", {}, ["fastify"]);
    const mercuriusJit = await spawnServer("src/dev/bench-peers.ts", {}, ["mercurius"]);
    const baseline = await spawnServer("src/dev/bench-baseline.ts", {});
    servers.push(bareRoute, mercuriusJit, baseline);
    const sqlitePath = join(work, "broker.sqlite");
    let broker = await spawnServer("dist/main.js", brokerEnv({ DATABASE_PATH: sqlitePath }));
    servers.push(broker);

    const alice = stack.demoUsers.find((u) => u.username === "alice")!;
    const aliceToken = await poolAIdToken(stack, alice.username, alice.password);
    await gql(broker.url, aliceToken, "mutation { provisionDataPlatformUser { state } }");
    await gql(broker.url, aliceToken, "mutation { issueCredentials(flow: CLASSIC, durationSeconds: 3600) { accessKeyId } }");

    say("measuring ...");
    const rows = await measure([
      { name: "A. peer: bare Fastify route, the same JSON as 2 (no GraphQL)", url: `${bareRoute.url}/graphql`, body: JSON.stringify({ query: "{ connectionStatus { state tenant prefix identityId } }" }) },
      { name: "B. peer: Mercurius + graphql-jit, { hello }", url: `${mercuriusJit.url}/graphql`, body: JSON.stringify({ query: "{ hello }" }) },
      { name: "1. baseline: bare Apollo Server 5, { hello }", url: baseline.url, body: JSON.stringify({ query: "{ hello }" }) },
      {
        name: "2. connectionStatus (authenticated, provisioned)",
        url: `${broker.url}/graphql`,
        body: JSON.stringify({ query: "{ connectionStatus { state tenant prefix identityId } }" }),
        headers: { authorization: `Bearer ${aliceToken}` },
      },
      {
        name: "3. issueCredentials (warm cache)",
        url: `${broker.url}/graphql`,
        body: JSON.stringify({ query: "mutation { issueCredentials(flow: CLASSIC, durationSeconds: 3600) { accessKeyId secretAccessKey sessionToken expiration } }" }),
        headers: { authorization: `Bearer ${aliceToken}` },
      },
      {
        name: "4. issueCredentials scoped READ readings/ (warm cache)",
        url: `${broker.url}/graphql`,
        body: JSON.stringify({ query: SCOPED_ISSUE }),
        headers: { authorization: `Bearer ${aliceToken}` },
      },
    ]);

    if (process.env.BENCH_ONLY === "throughput") {
      process.stdout.write(["", machineLine(), "", ...throughputTable(rows), ""].join("\n"));
      return;
    }

    say(`issuance latency: ${LATENCY_ISSUANCES} real issuances each, unscoped and scoped ...`);
    const latency = {
      unscoped: await issuanceLatency(broker, aliceToken, (i) => `mutation { issueCredentials(flow: CLASSIC, durationSeconds: ${1000 + i}) { accessKeyId } }`),
      scoped: await issuanceLatency(broker, aliceToken, (i) => `mutation { issueCredentials(flow: CLASSIC, durationSeconds: ${1000 + LATENCY_ISSUANCES + i}, scope: { target: "readings/", permission: READ }) { accessKeyId } }`),
      // moto's enhanced-flow credentials last 90 s (AWS's an hour), so none is reused here.
      enhanced: await issuanceLatency(broker, aliceToken, () => "mutation { issueCredentials(flow: ENHANCED) { accessKeyId } }"),
    };

    say(`creating ${STORM_USERS} users and provisioning them ...`);
    const tokens = await createUsers(stack, STORM_USERS);
    await inBatches(tokens, 10, async (token) => {
      const result = await gql(broker.url, token, "mutation { provisionDataPlatformUser { state } }");
      if (result.body.errors) throw new Error(`provisioning failed: ${JSON.stringify(result.body.errors)}`);
    });
    say("storm on one broker (SQLite) ...");
    const single = await storm([broker], tokens);

    say(`memory with ${MEMORY_CONNECTIONS} connections ...`);
    await broker.stop();
    const seed = new SqliteStore(sqlitePath, new TokenCipher("k1", new Map([["k1", Buffer.from(key, "base64")]])));
    const fakeTokens = { idToken: `eyJ${randomBytes(600).toString("base64url")}`, idTokenExpiresAt: new Date(Date.now() + 3600_000), refreshToken: randomBytes(900).toString("base64url"), refreshTokenExpiresAt: new Date(Date.now() + 30 * 86_400_000) };
    for (let i = 0; i < MEMORY_CONNECTIONS; i += 1) {
      const userId = `seeded-${String(i).padStart(5, "0")}`;
      await seed.createConnection({ userId, tenant: `tenant${i % 100}`, poolBUsername: `dp-seeded-${i}` });
      await seed.updateConnection(userId, { state: "ACTIVE", identityId: `eu-west-1:${i}`, tokens: fakeTokens });
    }
    await seed.close();
    broker = await spawnServer("dist/main.js", brokerEnv({ DATABASE_PATH: sqlitePath }));
    servers.push(broker);
    const adminUser = stack.demoUsers.find((u) => u.admin)!;
    const adminToken = await poolAIdToken(stack, adminUser.username, adminUser.password);
    // Touch every connection: an administrator pages through all of them, with batched fields.
    let after: string | null = null;
    let listed = 0;
    do {
      const page: { body: { data?: any } } = await gql(broker.url, adminToken, "query($after: String) { connections(first: 100, after: $after) { nodes { userId lastCredentialFlow clientKeys { id } } pageInfo { hasNextPage endCursor } } }", { after });
      listed += page.body.data.connections.nodes.length;
      after = page.body.data.connections.pageInfo.hasNextPage ? page.body.data.connections.pageInfo.endCursor : null;
    } while (after);
    await load({ name: "(load before reading memory)", url: `${broker.url}/graphql`, body: JSON.stringify({ query: "{ connectionStatus { state } }" }), headers: { authorization: `Bearer ${aliceToken}` } });
    const rssBytes = await metricValue(broker.metricsUrl, "broker_process_resident_memory_bytes", "");
    await broker.stop();

    say("two replicas sharing PostgreSQL ...");
    const database = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/broker_test";
    const schema = await freshSchema(database, "bench");
    const replicaEnv = brokerEnv({ DATABASE_URL: schema.url });
    const replicas = [await spawnServer("dist/main.js", replicaEnv), await spawnServer("dist/main.js", replicaEnv)];
    servers.push(...replicas);
    await inBatches(tokens, 10, async (token) => {
      await gql(replicas[0]!.url, token, "mutation { provisionDataPlatformUser { state } }");
    });
    const replicated = await storm(replicas, tokens);
    for (const replica of replicas) await replica.stop();
    await schema.drop();

    say(`storm of ${BUDGET_STORM_USERS} distinct users against a ${BUDGET_PER_SECOND}/s budget ...`);
    const budgeted = await budgetStorm(stack, brokerEnv, work, servers);
    const hourly = [
      { name: "ENHANCED (one hour)", lifetime: ENHANCED_FLOW_SECONDS, callsPerIssuance: latency.enhanced.awsCallsPerIssuance },
      { name: "CLASSIC, 3600 s", lifetime: 3600, callsPerIssuance: latency.unscoped.awsCallsPerIssuance },
      { name: "CLASSIC, 900 s key", lifetime: 900, callsPerIssuance: latency.unscoped.awsCallsPerIssuance },
    ].map((row) => ({
      ...row,
      issuances: issuancesPerClientHour(row.lifetime, (expiration, now) => reusable({ expiration }, now, row.lifetime)),
      // The rule before this release: reuse only with more than 20 minutes left.
      before: issuancesPerClientHour(row.lifetime, (expiration, now) => expiration.getTime() - now > 20 * 60_000),
    }));

    const out = [
      "",
      machineLine(),
      "",
      ...throughputTable(rows),
      "",
      `| real issuance (moto), ${LATENCY_ISSUANCES} in a row | median ms | AWS calls per issuance |`,
      `| --- | ---: | ---: |`,
      `| unscoped CLASSIC | ${latency.unscoped.medianMs.toFixed(1)} | ${latency.unscoped.awsCallsPerIssuance.toFixed(1)} |`,
      `| scoped READ readings/ | ${latency.scoped.medianMs.toFixed(1)} | ${latency.scoped.awsCallsPerIssuance.toFixed(1)} |`,
      `| ENHANCED | ${latency.enhanced.medianMs.toFixed(1)} | ${latency.enhanced.awsCallsPerIssuance.toFixed(1)} |`,
      "",
      `| storm: ${STORM_USERS} users × ${STORM_REQUESTS_PER_USER} concurrent issueCredentials | requests | upstream issuances | errors | seconds |`,
      `| --- | ---: | ---: | ---: | ---: |`,
      `| one broker, SQLite | ${single.requests} | ${single.upstream} (target ${STORM_USERS}) | ${single.errors} (target 0) | ${single.seconds.toFixed(1)} |`,
      `| two replicas, one PostgreSQL | ${replicated.requests} | ${replicated.upstream} (target ${STORM_USERS}) | ${replicated.errors} (target 0) | ${replicated.seconds.toFixed(1)} |`,
      "",
      `| storm: ${BUDGET_STORM_USERS} distinct users, one issueCredentials each, every upstream budget ${BUDGET_PER_SECOND}/s | value |`,
      `| --- | ---: |`,
      `| errors | ${budgeted.errors} (target 0) |`,
      `| AssumeRoleWithWebIdentity calls (one per user) | ${budgeted.issuanceCalls} |`,
      `| peak AWS calls in any second, GetOpenIdToken / AssumeRoleWithWebIdentity | ${budgeted.peakIssuance} (budget ${BUDGET_PER_SECOND}) |`,
      `| storm duration | ${budgeted.seconds.toFixed(1)} s |`,
      `| latency p50 / p99 | ${budgeted.p50.toFixed(1)} s / ${budgeted.p99.toFixed(1)} s |`,
      `| provisioning the ${BUDGET_STORM_USERS} users first (100 at a time): duration, peak calls in any second per operation | ${budgeted.provisionSeconds.toFixed(1)} s, ${budgeted.peakProvisioning} (budget ${BUDGET_PER_SECOND}) |`,
      "",
      `| a client polling every 10 s for an hour | issuances | AWS calls | before this release (20-minute floor) |`,
      `| --- | ---: | ---: | ---: |`,
      ...hourly.map((h) => `| ${h.name} | ${h.issuances} | ${(h.issuances * h.callsPerIssuance).toFixed(0)} | ${h.before} issuances, ${(h.before * h.callsPerIssuance).toFixed(0)} calls |`),
      "",
      `Resident memory with ${MEMORY_CONNECTIONS} provisioned connections in the store (all ${listed} listed once, then load): ${(rssBytes / 2 ** 20).toFixed(0)} MB (target < 200 MB)`,
      "",
    ];
    process.stdout.write(out.join("\n"));
  } finally {
    for (const server of servers) await server.stop();
    await moto.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`benchmark failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
