/**
 * The local stack: moto on loopback, the AWS side bootstrapped into it, and the broker with
 * Apollo Sandbox. Writes endpoints, ids and demo passwords to .local/stack.json (git-ignored).
 */
import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { createBroker } from "../app.js";
import { loadEnvironment } from "../config/environment.js";
import { bootstrapAws, brokerEnvironment } from "./bootstrap.js";
import { LOCAL_DIR, STACK_FILE, useEmulatorCredentials } from "./local-stack.js";
import { startMoto } from "./moto.js";

async function main(): Promise<void> {
  useEmulatorCredentials();
  const region = process.env.AWS_REGION ?? "eu-west-1";
  const brokerPort = Number(process.env.PORT ?? 4000);
  const say = (line: string) => console.log(line);

  say("Starting moto (local AWS) ...");
  const moto = await startMoto(process.env.MOTO_PORT ? { port: Number(process.env.MOTO_PORT) } : {});
  say(`moto on ${moto.endpoint}`);
  say("Bootstrapping the AWS side ...");
  const stack = await bootstrapAws({ region, endpoint: moto.endpoint, log: say });

  // moto keeps nothing between runs, so neither does the local broker's database.
  rmSync(LOCAL_DIR, { recursive: true, force: true });
  mkdirSync(LOCAL_DIR, { recursive: true });
  const env = brokerEnvironment(stack, {
    NODE_ENV: "development",
    PORT: String(brokerPort),
    DATABASE_PATH: resolve(LOCAL_DIR, "broker.sqlite"),
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    TOKEN_ENCRYPTION_KEY_ID: "local-1",
  });
  writeFileSync(STACK_FILE, JSON.stringify(stack, null, 2) + "\n", { mode: 0o600 });
  writeFileSync(resolve(LOCAL_DIR, "broker.env"), Object.entries(env).map(([k, v]) => `${k}=${v}`).join("\n") + "\n", { mode: 0o600 });

  const broker = await createBroker(loadEnvironment({ ...process.env, ...env }));
  await broker.app.listen({ host: "127.0.0.1", port: brokerPort });

  const url = `http://127.0.0.1:${brokerPort}/graphql`;
  say("");
  say(`The broker is ready: ${url} (Apollo Sandbox opens there in a browser)`);
  say(`Stack details and demo passwords: ${STACK_FILE}`);
  say("Demo users: alice (tenant acme), bob (tenant globex), admin (tenant acme, broker-admins)");
  say("Get a token:   npm run -s token -- alice");
  say(`Try it:        curl -s ${url} -H "authorization: Bearer $(npm run -s token -- alice)" \\`);
  say(`                 -H 'content-type: application/json' -d '{"query":"mutation { provisionDataPlatformUser { state prefix } }"}'`);
  say("Stop with Ctrl-C.");

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await broker.close();
    await moto.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((error: unknown) => {
  console.error(`The local stack could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
