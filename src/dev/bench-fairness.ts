/**
 * `npm run bench:fairness` (also part of `npm run bench`): one tenant floods, another tenant's
 * clients make their first credential fetch.
 *
 * The flood: the local stack's partner (tenant acme), 16 connections for 20 s, each request ten
 * aliased `connectionStatus(userId: <random>)` (each a Pool A look-up of a user nobody knows), and
 * an acme user listing objects as fast as it can. Meanwhile 20 fresh client keys of tenant globex
 * make their first fetch from the credential endpoint (a real AWS round trip, the owner's standing
 * re-checked). Measured without and with the flood: the 20 fetches' statuses, p50 and p99; what the
 * flooder got. Prints figures; asserts nothing.
 */
import "reflect-metadata";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { AdminCreateUserCommand, AdminSetUserPasswordCommand, CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import { createBroker } from "../app.js";
import { loadEnvironment } from "../config/environment.js";
import { bootstrapAws, brokerEnvironment, type StackInfo } from "./bootstrap.js";
import { useEmulatorCredentials } from "./local-stack.js";
import { startMoto } from "./moto.js";
import { mintPartnerToken } from "./moto-tokens.js";
import { poolAIdToken } from "./pool-a-sign-in.js";

const say = (line: string) => process.stderr.write(`${line}\n`);
const FLOOD_SECONDS = Number(process.env.BENCH_FLOOD_SECONDS ?? 20);
const VICTIM_KEYS = 20;

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY && process.env.BENCH_ONLY !== "fairness") return;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  useEmulatorCredentials();
  const work = mkdtempSync(join(tmpdir(), "broker-fairness-bench-"));
  const moto = await startMoto();
  try {
    say("bootstrapping moto ...");
    const stack = await bootstrapAws({ region: "eu-west-1", endpoint: moto.endpoint, name: "fairbench" });
    const config = loadEnvironment(
      brokerEnvironment(stack, { NODE_ENV: "production", PUBLIC_URL: "https://broker.example.com", LOG_LEVEL: "warn", PORT: "0", METRICS_PORT: "0", DATABASE_PATH: join(work, "broker.sqlite"), TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64") }),
    );
    const broker = await createBroker(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
    const base = await broker.app.listen({ host: "127.0.0.1", port: 0 });
    const gql = async (token: string, query: string) => {
      const response = await fetch(`${base}/graphql`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
      return (await response.json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> };
    };
    try {
      const round = async (label: string, flood: boolean) => {
        say(`${label}: ${VICTIM_KEYS} fresh globex client keys ...`);
        const keys = await freshKeys(stack, gql, VICTIM_KEYS, label);
        const flooder = flood ? startFlood(stack, base, gql) : null;
        if (flooder) await new Promise((resolve) => setTimeout(resolve, 3_000));
        const fetches = await Promise.all(
          keys.map(async (key) => {
            const started = performance.now();
            const response = await fetch(`${base}/v1/credentials`, { headers: { authorization: key } });
            await response.text();
            return { status: response.status, ms: performance.now() - started };
          }),
        );
        const flooded = flooder ? await flooder.stop() : null;
        const times = fetches.map((f) => f.ms).sort((a, b) => a - b);
        const statuses = Object.entries(fetches.reduce<Record<number, number>>((acc, f) => ({ ...acc, [f.status]: (acc[f.status] ?? 0) + 1 }), {}))
          .map(([status, n]) => `${n}× ${status}`)
          .join(", ");
        const lines = [
          `${label}`,
          `  globex first fetches              ${statuses}; p50 ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms, p99 ${times[times.length - 1]!.toFixed(0)} ms`,
        ];
        if (flooded) {
          lines.push(
            `  the flooder (partner of acme)     ${flooded.requests} requests of 10 aliases in ${FLOOD_SECONDS} s: ${Object.entries(flooded.codes)
              .map(([code, n]) => `${n} ${code}`)
              .join(", ")}`,
            `  the listing acme user             ${flooded.listings} objects() calls: ${Object.entries(flooded.listingCodes)
              .map(([code, n]) => `${n} ${code}`)
              .join(", ")}`,
          );
        }
        return lines;
      };
      const quiet = await round("Without the flood", false);
      const loud = await round("During the flood", true);
      process.stdout.write(["", `Fairness (moto, one broker on SQLite, default limits and upstream budgets, ${cpus().length} cores)`, ...quiet, ...loud, ""].join("\n"));
    } finally {
      await broker.close();
    }
  } finally {
    await moto.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Fresh globex users, provisioned, each with one ENHANCED client key never used. */
async function freshKeys(stack: StackInfo, gql: (token: string, query: string) => Promise<any>, count: number, prefix: string): Promise<string[]> {
  const idp = new CognitoIdentityProviderClient({ region: stack.region, endpoint: stack.endpoint! });
  try {
    return await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const username = `${prefix.replace(/\W/g, "").toLowerCase()}-${i}-${randomBytes(3).toString("hex")}`;
        const password = `Bench-${randomBytes(6).toString("hex")}1a!`;
        await idp.send(new AdminCreateUserCommand({ UserPoolId: stack.poolA.userPoolId, Username: username, MessageAction: "SUPPRESS", UserAttributes: [{ Name: "custom:tenant", Value: "globex" }] }));
        await idp.send(new AdminSetUserPasswordCommand({ UserPoolId: stack.poolA.userPoolId, Username: username, Password: password, Permanent: true }));
        const token = await poolAIdToken(stack, username, password);
        await gql(token, "mutation { provisionDataPlatformUser { state } }");
        const created = await gql(token, 'mutation { createClientKey(input: { name: "first-fetch", flow: ENHANCED }) { secret } }');
        return created.data.createClientKey.secret as string;
      }),
    );
  } finally {
    idp.destroy();
  }
}

/** The flood: 16 connections of the partner's aliased look-ups, and one acme user listing objects in a loop. */
function startFlood(stack: StackInfo, base: string, gql: (token: string, query: string) => Promise<any>) {
  const running = true;
  let requests = 0;
  let listings = 0;
  const codes: Record<string, number> = {};
  const listingCodes: Record<string, number> = {};
  const count = (into: Record<string, number>, result: any) => {
    const found = (result.errors ?? []).map((e: { extensions?: { code?: string } }) => e.extensions?.code ?? "ERROR");
    for (const code of found.length > 0 ? found : ["OK"]) into[code] = (into[code] ?? 0) + 1;
  };
  const workers = (async () => {
    const partner = await mintPartnerToken(stack, ["provision"]);
    const alice = stack.demoUsers.find((u) => u.username === "alice")!;
    const aliceToken = await poolAIdToken(stack, alice.username, alice.password);
    await gql(aliceToken, "mutation { provisionDataPlatformUser { state } }");
    const deadline = Date.now() + FLOOD_SECONDS * 1000;
    const aliased = () => `{ ${Array.from({ length: 10 }, (_, i) => `s${i}: connectionStatus(userId: "${randomUUID()}") { state }`).join(" ")} }`;
    await Promise.all([
      ...Array.from({ length: 16 }, async () => {
        while (running && Date.now() < deadline) {
          requests += 1;
          count(codes, await gql(partner, aliased()));
        }
      }),
      (async () => {
        while (running && Date.now() < deadline) {
          listings += 1;
          count(listingCodes, await gql(aliceToken, '{ objects(prefix: "") { objects { key } } }'));
        }
      })(),
    ]);
  })();
  return {
    /** Waits for the flood to run its course (FLOOD_SECONDS). */
    async stop() {
      await workers;
      return { requests, codes, listings, listingCodes };
    },
  };
}

await main();
