/**
 * The local stack: moto on loopback, the AWS side bootstrapped into it, and the broker with
 * Apollo Sandbox. Writes endpoints, ids and demo passwords to .local/stack.json (git-ignored), and
 * .local/broker.env, a ready environment for `npm start` beside it.
 */
import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { createBroker } from "../app.js";
import { loadEnvironment } from "../config/environment.js";
import { noteOlderNode } from "../config/node-version.js";
import { bootstrapAws, brokerEnvironment } from "./bootstrap.js";
import { EMULATOR_CREDENTIALS, LOCAL_DIR, STACK_ENV_FILE, STACK_FILE, clearLocalState, holdStackLock, useEmulatorCredentials } from "./local-stack.js";
import { startMoto, type MotoServer } from "./moto.js";
import { poolAIdToken } from "./pool-a-sign-in.js";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { print } from "graphql";
import { CreateAccessGrantDocument } from "../client/graphql.js";
import type { StackInfo } from "./bootstrap.js";

/**
 * What the console's tour shows besides the bootstrap's sample data: a file with a Japanese name in
 * a folder of acme, and acme's grants as an administrator makes them (through the API, audited):
 * READ on everything, READWRITE on shared/, so alice can upload there.
 */
async function demoFilesAndGrants(stack: StackInfo, graphqlUrl: string): Promise<void> {
  const s3 = new S3Client({ region: stack.region, endpoint: stack.endpoint ?? undefined, forcePathStyle: true });
  try {
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: "tenants/acme/議事録/2026年 第1回.txt", Body: "議題: 四半期の報告\n", ContentType: "text/plain; charset=utf-8" }));
  } finally {
    s3.destroy();
  }
  const admin = stack.demoUsers.find((u) => u.admin)!;
  const token = await poolAIdToken(stack, admin.username, admin.password);
  for (const grant of [{ location: "", permission: "READ" }, { location: "shared/", permission: "READWRITE" }]) {
    const response = await fetch(graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: print(CreateAccessGrantDocument), variables: { input: { tenant: "acme", ...grant } } }),
    });
    const body = (await response.json()) as { errors?: Array<{ message: string }> };
    if (body.errors) throw new Error(`demo grant ${JSON.stringify(grant)}: ${body.errors[0]!.message}`);
  }
}

async function main(): Promise<void> {
  useEmulatorCredentials();
  const region = process.env.AWS_REGION ?? "eu-west-1";
  const brokerPort = Number(process.env.PORT ?? 4000);
  const url = `http://127.0.0.1:${brokerPort}/graphql`;
  const say = (line: string) => console.log(line);
  noteOlderNode(say);

  // Before anything starts: a second stack in this folder would overwrite the first one's state.
  const lock = holdStackLock(url);
  let moto: MotoServer | undefined;
  let broker: Awaited<ReturnType<typeof createBroker>> | undefined;
  let bucket = "";
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await broker?.close().catch(() => undefined);
    await moto?.stop().catch(() => undefined);
    lock.release();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  try {
    say("Starting moto (local AWS) ...");
    moto = await startMoto(process.env.MOTO_PORT ? { port: Number(process.env.MOTO_PORT) } : {});
    say(`moto on ${moto.endpoint}`);
    say("Bootstrapping the AWS side ...");
    const stack = await bootstrapAws({ region, endpoint: moto.endpoint, log: say });
    bucket = stack.bucket;

    // moto keeps nothing between runs, so neither does the local broker's database.
    clearLocalState();
    mkdirSync(LOCAL_DIR, { recursive: true });
    const env = brokerEnvironment(stack, {
      NODE_ENV: "development",
      PORT: String(brokerPort),
      METRICS_PORT: process.env.METRICS_PORT ?? "0",
      DATABASE_PATH: resolve(LOCAL_DIR, "broker.sqlite"),
      TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      TOKEN_ENCRYPTION_KEY_ID: "local-1",
    });
    writeFileSync(STACK_FILE, JSON.stringify(stack, null, 2) + "\n", { mode: 0o600 });
    // A second broker on the same emulator: its own port and database (SQLite allows one process per file).
    const startEnv = { ...env, ...EMULATOR_CREDENTIALS, PORT: String(brokerPort + 1), METRICS_PORT: "0", DATABASE_PATH: resolve(LOCAL_DIR, "npm-start.sqlite") };
    writeFileSync(
      resolve(LOCAL_DIR, "broker.env"),
      [
        `# A second broker beside the running stack (same moto, its own port ${brokerPort + 1} and database):`,
        "#   npm run build && node --env-file=.local/broker.env dist/main.js",
        ...Object.entries(startEnv).map(([k, v]) => `${k}=${v}`),
        "",
      ].join("\n"),
      { mode: 0o600 },
    );

    // Sandbox opens signed in as alice (an ID token lasts an hour: npm run -s token -- alice for a fresh one).
    const alice = stack.demoUsers.find((u) => u.username === "alice")!;
    const aliceToken = await poolAIdToken(stack, alice.username, alice.password);
    broker = await createBroker(loadEnvironment({ ...process.env, ...env }), { sandboxHeaders: { Authorization: `Bearer ${aliceToken}` } });
    await broker.app.listen({ host: "127.0.0.1", port: brokerPort });
    await demoFilesAndGrants(stack, url);
  } catch (error) {
    console.error(`The local stack could not start: ${error instanceof Error ? error.message : String(error)}`);
    await stop(1);
    return;
  }

  // The docs' commands use these names, so they work whatever ports the stack was given.
  const base = `http://127.0.0.1:${brokerPort}`;
  writeFileSync(STACK_ENV_FILE, [`export BROKER=${base}`, `export MOTO=${moto!.endpoint}`, `export BUCKET=${bucket}`, ""].join("\n"));
  say("");
  say(`For the docs' commands, in another shell:  . ${relative(process.cwd(), STACK_ENV_FILE)}   (BROKER=${base}, MOTO=${moto!.endpoint}, BUCKET=${bucket})`);
  say(`The console:   ${base}/console/  (sign in as a demo user: passwords in ${STACK_FILE})`);
  say(`The broker is ready: ${url} (Apollo Sandbox opens there in a browser, signed in as alice, with example operations;`);
  say("  it loads from Apollo's CDN, so a machine without internet shows a blank page: use curl or the typed operations then)");
  say(`Stack details and demo passwords: ${STACK_FILE}`);
  say("Demo users: alice (tenant acme), bob (tenant globex), admin (tenant acme, broker-admins)");
  say("  acme's grants: READ on everything, READWRITE on shared/ (alice uploads there from the console)");
  say("Get a token:   npm run -s token -- alice        (a partner's: npm run -s token -- --partner)");
  say(`Try it:        curl -s ${url} -H "authorization: Bearer $(npm run -s token -- alice)" \\`);
  say(`                 -H 'content-type: application/json' -d '{"query":"mutation { provisionDataPlatformUser { state prefix } }"}'`);
  say(`The helper for customers' machines: npm install -g ${base}/helper/s3-broker.tgz`);
  say(`Metrics (Prometheus, loopback only): ${broker.metricsUrl}`);
  say("Stop with Ctrl-C.");
}

main().catch((error: unknown) => {
  console.error(`The local stack could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
