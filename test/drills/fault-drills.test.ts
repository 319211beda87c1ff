import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerEnvironment } from "../../src/dev/bootstrap.js";
import { freePort } from "../../src/dev/moto.js";
import { ownPostgres, ownRedis, type DrillService } from "../support/drill-services.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser } from "../support/pool-a-users.js";
import { poolBUsers } from "../support/users.js";

/**
 * Fault drills: two broker processes on a PostgreSQL and a Redis of the drill's own, under a
 * steady storm of provisioning and issuance from several users, while one dependency after another
 * fails: a replica is killed (-9) and restarted, PostgreSQL restarts, Redis stops and starts. Each
 * phase prints what the clients saw. Last, AWS freezes (moto stopped with SIGSTOP, as a network
 * that drops packets); AWS refusing connections (moto gone) is drilled in
 * test/integration/upstream-outage.test.ts, which owns a moto it may kill.
 *
 * The drills project runs after the rest of the suite, one file at a time (vitest.config.ts), so
 * the bounds below measure the broker rather than the machine's other load.
 */
const REPO = resolve(import.meta.dirname, "../..");
/** No answer may take longer than this; AWS and database bounds are below it. */
const ANSWER_BOUND_MS = 15_000;
/** After a fault ends, each replica serves again within this. */
const RECOVERY_BOUND_MS = 10_000;
const USERS = 6;
const WORKERS = 6;

let aws: LocalAws;
let postgres: DrillService;
let redis: DrillService;
let env: Record<string, string>;
const replicas: Array<{ url: string; port: number; child?: ChildProcess }> = [];

async function startReplica(index: number): Promise<void> {
  const replica = replicas[index]!;
  const child = spawn(process.execPath, ["--import", "tsx", resolve(REPO, "src/main.ts")], {
    cwd: REPO,
    env: { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...env, PORT: String(replica.port) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  replica.child = child;
  for (let i = 0; i < 300; i += 1) {
    if ((await fetch(`${replica.url}/readyz`).then((r) => r.status, () => 0)) === 200) return;
    if (child.exitCode !== null) throw new Error(`replica ${index} exited at start`);
    await sleep(100);
  }
  throw new Error(`replica ${index} not ready`);
}

beforeAll(async () => {
  [aws, postgres, redis] = await Promise.all([startLocalAws(), ownPostgres(), ownRedis()]);
  env = brokerEnvironment(aws.stack, {
    NODE_ENV: "production",
    PUBLIC_URL: "https://broker.example.com",
    LOG_LEVEL: "fatal",
    METRICS_PORT: "0",
    DATABASE_URL: postgres.url,
    REDIS_URL: redis.url,
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    RATE_LIMIT_MUTATIONS_PER_MINUTE: "100000", RATE_LIMIT_FIELDS_PER_MINUTE: "100000",
    AWS_REQUEST_TIMEOUT_MS: "2000",
    AWS_MAX_ATTEMPTS: "2",
    SHUTDOWN_DRAIN_SECONDS: "0",
  });
  for (let i = 0; i < 2; i += 1) {
    const port = await freePort();
    replicas.push({ port, url: `http://127.0.0.1:${port}` });
  }
  await startReplica(0);
  await startReplica(1);
}, 120_000);

afterAll(async () => {
  aws?.moto.resume();
  for (const replica of replicas) replica.child?.kill("SIGKILL");
  await Promise.all([postgres?.destroy(), redis?.destroy(), aws?.stop()]);
});

interface Answer {
  replica: number;
  at: number;
  ms: number;
  /** ok, a typed error code, "HTTP <status>" without a GraphQL body, or "no connection". */
  outcome: string;
  retryable?: boolean;
  requestId?: string | null;
  operation: "provision" | "issue";
  durationSeconds?: number;
  /** An issuance with a duration not asked for before in the drill: nothing cached matches, so it reaches AWS. */
  fresh?: boolean;
}

const PROVISION = "mutation { provisionDataPlatformUser { state } }";
let freshDurations = 0;
const ISSUE = "mutation($d: Int) { issueCredentials(flow: CLASSIC, durationSeconds: $d) { accessKeyId } }";

async function ask(replica: number, token: string, operation: Answer["operation"]): Promise<Answer> {
  const started = Date.now();
  // A quarter of the issuances ask for a duration of their own (a new one each time, 901 s and up,
  // more than a drill sends); the rest share four durations and are mostly reused.
  const fresh = operation === "issue" && Math.random() < 0.25;
  const durationSeconds = operation !== "issue" ? undefined : fresh ? 901 + (freshDurations++ % 2699) : [900, 1800, 2700, 3600][Math.floor(Math.random() * 4)];
  const body = operation === "provision" ? { query: PROVISION } : { query: ISSUE, variables: { d: durationSeconds } };
  try {
    const response = await fetch(`${replicas[replica]!.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(ANSWER_BOUND_MS + 5_000),
    });
    const text = await response.text();
    const json = JSON.parse(text || "{}") as { data?: unknown; errors?: Array<{ extensions?: { code?: string; retryable?: boolean } }> };
    const error = json.errors?.[0];
    const outcome = error ? String(error.extensions?.code) : json.data ? "ok" : `HTTP ${response.status}`;
    return { replica, at: started, ms: Date.now() - started, outcome, retryable: error?.extensions?.retryable, requestId: response.headers.get("x-request-id"), operation, durationSeconds, fresh };
  } catch (failure) {
    const timedOut = (failure as Error).name === "TimeoutError";
    return { replica, at: started, ms: Date.now() - started, outcome: timedOut ? "no answer" : "no connection", operation, durationSeconds, fresh };
  }
}

/** Workers asking both replicas in turn until stopped; every answer is kept. */
function storm(tokens: string[]) {
  const answers: Answer[] = [];
  let running = true;
  const workers = Array.from({ length: WORKERS }, async (_, w) => {
    for (let i = 0; running; i += 1) {
      const token = tokens[(w + i) % tokens.length]!;
      answers.push(await ask((w + i) % 2, token, i % 3 === 0 ? "provision" : "issue"));
      await sleep(20);
    }
  });
  return { answers, stop: async () => ((running = false), await Promise.all(workers)) };
}

function summary(name: string, answers: Answer[]): void {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(`replica ${a.replica} ${a.outcome}`, (counts.get(`replica ${a.replica} ${a.outcome}`) ?? 0) + 1);
  const slowest = Math.max(...answers.map((a) => a.ms));
  console.log(`${name}: ${answers.length} requests, slowest ${slowest} ms; ${[...counts].sort().map(([k, n]) => `${k}: ${n}`).join(", ")}`);
}

/** Time from `since` to the first ok answer (of those `counted`) from each replica that was asked after it. */
function recoveryMs(answers: Answer[], since: number, counted: (a: Answer) => boolean = () => true): number[] {
  return [0, 1].map((r) => {
    const first = answers.find((a) => a.replica === r && a.at >= since && a.outcome === "ok" && counted(a));
    return first ? first.at + first.ms - since : Number.POSITIVE_INFINITY;
  });
}

describe("fault drills (two replicas, their own PostgreSQL and Redis)", () => {
  it("answers every request through a killed replica, a PostgreSQL restart, a Redis restart and a frozen AWS, and loses or doubles nothing", { timeout: 240_000 }, async () => {
    const users = await Promise.all(Array.from({ length: USERS }, () => freshPoolAUser(aws.stack)));
    const tokens = await Promise.all(users.map(async (u) => (await u.signIn()).idToken));
    const poolBBefore = (await poolBUsers(aws.stack)).length;
    // Provisioned first, so that an issuance never legitimately meets NOT_PROVISIONED in the storm.
    for (const token of tokens) expect((await ask(0, token, "provision")).outcome).toBe("ok");
    const load = storm(tokens);
    type Phase = { name: string; from: number; faultEnds: number; to: number; killed?: number; recovered?: (a: Answer) => boolean };
    const phases: Phase[] = [];
    /** Starts a fault, keeps it `downMs`, ends it, and watches for `watchMs` more. */
    const drill = async (name: string, fault: { start(): unknown; end(): unknown; downMs: number; watchMs: number }, extra: Pick<Phase, "killed" | "recovered"> = {}) => {
      const from = Date.now();
      await fault.start();
      await sleep(fault.downMs);
      await fault.end();
      const faultEnds = Date.now();
      await sleep(fault.watchMs);
      phases.push({ name, from, faultEnds, to: Date.now(), ...extra });
    };

    await sleep(2_000);
    await drill("kill -9 replica 1 and restart it", { start: () => replicas[1]!.child!.kill("SIGKILL"), end: () => startReplica(1), downMs: 2_000, watchMs: 3_000 }, { killed: 1 });
    await drill("PostgreSQL stopped for 3 s and started", { start: () => postgres.stop(), end: () => postgres.start(), downMs: 3_000, watchMs: 4_000 });
    await drill("Redis stopped for 3 s and started", { start: () => redis.stop(), end: () => redis.start(), downMs: 3_000, watchMs: 3_000 });
    // Reused credentials are answered while AWS is frozen; recovery counts only issuances that reach it.
    await drill("AWS (moto) frozen for 6 s and resumed", { start: () => aws.moto.pause(), end: () => aws.moto.resume(), downMs: 6_000, watchMs: 4_000 }, { recovered: (a) => a.fresh === true });
    await load.stop();

    const answers = load.answers;
    summary("whole drill", answers);
    for (const phase of phases) {
      const seen = answers.filter((a) => a.at >= phase.from && a.at < phase.to);
      summary(phase.name, seen);
      const recovery = recoveryMs(answers, phase.faultEnds, phase.recovered);
      console.log(`  served again after the fault ended: replica 0 ${recovery[0]} ms, replica 1 ${recovery[1]} ms`);
      expect(Math.max(...recovery)).toBeLessThan(RECOVERY_BOUND_MS);
      for (const answer of seen) {
        // The killed replica's clients lose their connection until it is back; nobody else may.
        if (answer.outcome === "no connection" && phase.killed === answer.replica && answer.at < phase.faultEnds) continue;
        if (answer.outcome === "ok") continue;
        expect({ phase: phase.name, outcome: answer.outcome, retryable: answer.retryable }).toEqual({ phase: phase.name, outcome: "UPSTREAM_UNAVAILABLE", retryable: true });
      }
    }
    expect(answers.filter((a) => a.ms > ANSWER_BOUND_MS)).toEqual([]);
    expect(answers.filter((a) => a.outcome === "INTERNAL_SERVER_ERROR" || a.outcome.startsWith("HTTP 5"))).toEqual([]);

    // Nothing doubled: one data platform user and one connection per user.
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const connections = (await client.query<{ user_id: string; pool_b_username: string; state: string }>("SELECT user_id, pool_b_username, state FROM connections")).rows;
      expect(connections.map((c) => c.user_id).sort()).toEqual(users.map((u) => u.sub).sort());
      expect(connections.every((c) => c.state === "ACTIVE")).toBe(true);
      expect((await poolBUsers(aws.stack)).length - poolBBefore).toBe(USERS);
      // Nothing lost: every issuance a client received is in the audit trail.
      const handedOut = answers.filter((a) => a.operation === "issue" && a.outcome === "ok").map((a) => a.requestId);
      const audited = new Set((await client.query<{ request_id: string }>("SELECT request_id FROM audit_events WHERE action = 'ISSUE' AND outcome = 'SUCCESS'")).rows.map((r) => r.request_id));
      console.log(`issuances handed out: ${handedOut.length}, audited: ${audited.size}`);
      expect(handedOut.filter((id) => !id || !audited.has(id))).toEqual([]);
    } finally {
      await client.end();
    }
  });
});
