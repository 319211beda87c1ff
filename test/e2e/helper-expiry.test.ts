import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readProfile } from "../../src/cli/s3-broker/credentials-file.mjs";
import { HELPER, listWith, startServe, toolEnv, type S3Target, type ServingHelper, type Tool } from "../support/aws-tools.js";
import { startHelperTestBed, type HelperTestBed } from "../support/client-keys.js";

// moto's enhanced-flow credentials last 90 seconds, and the helper renews at half that; so a run of
// about two and a half minutes sees every client through two expiries. Bounded: MAX_RUN_MS.
const MAX_RUN_MS = 200_000;
const CALL_EVERY_MS = 10_000;
const CHECK_EVERY_SECONDS = "10";
// Documented: the helper stops within --check-every of a revocation. Tools that read the file afresh
// stop at their next run; SDKs served by `serve` at their next refresh at the latest, which the JS
// SDK puts off (it keeps what it holds while a refresh fails) until its credentials expire.
const STOP_BOUND_NEXT_RUN_MS = 10_000 + CALL_EVERY_MS + 10_000;
const STOP_BOUND_EXPIRY_MS = 90_000 + 10_000 + CALL_EVERY_MS + 10_000;

let bed: HelperTestBed;
let endpoint: string;
let target: S3Target;

beforeAll(async () => {
  bed = await startHelperTestBed("helper-expiry");
  ({ endpoint, target } = bed);
});

afterAll(async () => {
  await bed?.close();
});

interface Call {
  /** When the call started (a failing SDK retries before it reports, so the start is when it stopped reading). */
  at: number;
  ok: boolean;
  /** The expiry of the credentials the client signed with (long-running clients), or of those in force (per-invocation). */
  expiry?: number;
  error?: string;
}

// Unchanged programs that run for hours: they list the prefix every INTERVAL seconds and report the
// expiry of the credentials their SDK signed with (observing only; they do nothing special).
const BOTO3_FOREVER = `
import boto3, json, os, time
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name=os.environ["REGION"])
while True:
    started = time.time()
    try:
        count = s3.list_objects_v2(Bucket=os.environ["BUCKET"], Prefix=os.environ["PREFIX"])["KeyCount"]
        expiry = s3._request_signer._credentials._expiry_time
        print(json.dumps({"at": started * 1000, "ok": count == 3, "expiry": expiry.isoformat()}), flush=True)
    except Exception as error:
        print(json.dumps({"at": started * 1000, "ok": False, "error": type(error).__name__ + ": " + str(error)}), flush=True)
    time.sleep(float(os.environ["INTERVAL"]))`;

const JS_FOREVER = `
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
const s3 = new S3Client({ region: process.env.REGION, endpoint: process.env.ENDPOINT, forcePathStyle: true });
for (;;) {
  const at = Date.now();
  try {
    const listing = await s3.send(new ListObjectsV2Command({ Bucket: process.env.BUCKET, Prefix: process.env.PREFIX }));
    const { expiration } = await s3.config.credentials();
    console.log(JSON.stringify({ at, ok: listing.KeyCount === 3, expiry: expiration.toISOString() }));
  } catch (error) {
    console.log(JSON.stringify({ at, ok: false, error: error.name + ": " + error.message }));
  }
  await new Promise((r) => setTimeout(r, Number(process.env.INTERVAL) * 1000));
}`;

function longRunning(command: string, args: string[], env: NodeJS.ProcessEnv, calls: Call[]): ChildProcess {
  const child = spawn(command, args, { env: { ...env, ENDPOINT: target.endpoint, REGION: target.region, BUCKET: target.bucket, PREFIX: target.prefix, INTERVAL: String(CALL_EVERY_MS / 1000) }, cwd: resolve(import.meta.dirname, "../.."), stdio: ["ignore", "pipe", "pipe"] });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const report = JSON.parse(line) as { at: number; ok: boolean; expiry?: string; error?: string };
    calls.push({ at: Math.round(report.at), ok: report.ok, ...(report.expiry ? { expiry: Date.parse(report.expiry) } : {}), ...(report.error ? { error: report.error } : {}) });
  });
  return child;
}

/** Two expiries lived through: three credential sets seen, and the second one expired while the client kept working. */
function livedThroughTwoExpiries(calls: Call[]): boolean {
  const expiries = [...new Set(calls.filter((c) => c.ok && c.expiry).map((c) => c.expiry!))].sort((a, b) => a - b);
  return expiries.length >= 3 && calls.some((c) => c.ok && c.at > expiries[1]!);
}

function summary(calls: Call[]) {
  return { calls: calls.length, failures: calls.filter((c) => !c.ok).length, credentialSets: new Set(calls.filter((c) => c.expiry).map((c) => c.expiry)).size };
}

describe("unchanged clients through the helper, across credential expiries and a revocation", () => {
  it("keep working without a restart, and each stops within the documented time once its key is revoked", { timeout: MAX_RUN_MS + 120_000 }, async () => {
    const serveKey = await bed.freshKey("expiry-serve");
    const updateKey = await bed.freshKey("expiry-update");
    const served: ServingHelper = await startServe(["--endpoint", endpoint, "--key-file", serveKey.keyFile, "--port", "0", "--check-every", CHECK_EVERY_SECONDS], toolEnv(serveKey.dir, { XDG_RUNTIME_DIR: serveKey.dir }));
    const credentialsFile = join(updateKey.dir, "credentials");
    const updater = spawn(process.execPath, [HELPER, "update", "--endpoint", endpoint, "--key-file", updateKey.keyFile, "--profile", "job", "--credentials-file", credentialsFile, "--check-every", CHECK_EVERY_SECONDS], {
      env: toolEnv(updateKey.dir, {}),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let updaterLog = "";
    updater.stderr!.on("data", (chunk: Buffer) => (updaterLog += chunk.toString()));
    const updaterExit = new Promise<number | null>((r) => updater.once("exit", (code) => r(code)));
    while (!updaterLog.includes("wrote profile job")) {
      expect(updater.exitCode, updaterLog).toBeNull();
      await new Promise((r) => setTimeout(r, 100));
    }

    const calls: Record<string, Call[]> = {
      "boto3 (serve, IMDSv2)": [],
      "JS SDK (serve, container)": [],
      "s3cmd (update)": [],
      "rclone (update)": [],
      "AWS CLI (update)": [],
      "rclone (serve, container)": [],
      "AWS CLI (credential-process)": [],
    };
    const stopBound: Record<string, number> = { "JS SDK (serve, container)": STOP_BOUND_EXPIRY_MS, "rclone (serve, container)": STOP_BOUND_EXPIRY_MS };
    const imdsEnv = toolEnv(serveKey.dir, { AWS_EC2_METADATA_SERVICE_ENDPOINT: served.exports.AWS_EC2_METADATA_SERVICE_ENDPOINT! });
    const containerEnv = toolEnv(serveKey.dir, {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: served.exports.AWS_CONTAINER_CREDENTIALS_FULL_URI!,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: served.exports.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE!,
      AWS_EC2_METADATA_DISABLED: "true",
    });
    const fileEnv = toolEnv(updateKey.dir, { AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_CREDENTIAL_FILE: credentialsFile, AWS_PROFILE: "job", AWS_EC2_METADATA_DISABLED: "true" });
    const configFile = join(serveKey.dir, "config");
    writeFileSync(configFile, `[profile job]\ncredential_process = ${process.execPath} ${HELPER} credential-process --endpoint ${endpoint} --key-file ${serveKey.keyFile} --cache-dir ${join(serveKey.dir, "cache")}\n`);
    const processEnv = toolEnv(serveKey.dir, { AWS_CONFIG_FILE: configFile, AWS_PROFILE: "job", AWS_EC2_METADATA_DISABLED: "true" });
    const inFile = () => Date.parse(readProfile(readFileSync(credentialsFile, "utf8"), "job")?.x_security_token_expires ?? "");
    const children = [
      longRunning(process.env.PYTHON ?? "python3", ["-c", BOTO3_FOREVER], imdsEnv, calls["boto3 (serve, IMDSv2)"]!),
      longRunning(process.execPath, ["--input-type=module", "-e", JS_FOREVER], containerEnv, calls["JS SDK (serve, container)"]!),
    ];
    // Tools started afresh by a scheduler; those reading the file must find unexpired credentials there at each run.
    const runs: Array<[string, Tool, NodeJS.ProcessEnv, (() => number)?]> = [
      ["s3cmd (update)", "s3cmd", fileEnv, inFile],
      ["rclone (update)", "rclone", fileEnv, inFile],
      ["AWS CLI (update)", "aws-cli", fileEnv, inFile],
      ["rclone (serve, container)", "rclone", { ...containerEnv, AWS_CONTAINER_AUTHORIZATION_TOKEN: readFileSync(served.exports.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE!, "utf8") }],
      ["AWS CLI (credential-process)", "aws-cli", processEnv],
    ];
    let scheduling = true;
    const scheduled = runs.map(async ([client, tool, env, inForceNow]) => {
      const log = calls[client]!;
      while (scheduling) {
        const started = Date.now();
        const inForce = inForceNow ? inForceNow() : Number.POSITIVE_INFINITY;
        const outcome = await listWith(tool, target, env).then(
          (keys) => ({ ok: keys.length === 3 && inForce > Date.now() }),
          (error: { stderr?: string }) => ({ ok: false, error: (error.stderr ?? String(error)).slice(-300) }),
        );
        log.push({ at: started, ...(Number.isFinite(inForce) ? { expiry: inForce } : {}), ...outcome });
        await new Promise((r) => setTimeout(r, Math.max(0, CALL_EVERY_MS - (Date.now() - started))));
      }
    });

    try {
      const started = Date.now();
      // Long-running clients and the file's readers must see three credential sets; the others run through the same window.
      const observed = ["boto3 (serve, IMDSv2)", "JS SDK (serve, container)", "s3cmd (update)", "rclone (update)", "AWS CLI (update)"];
      while (!observed.every((client) => livedThroughTwoExpiries(calls[client]!))) {
        expect(Date.now() - started, JSON.stringify(Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, summary(v)])))).toBeLessThan(MAX_RUN_MS);
        await new Promise((r) => setTimeout(r, 1000));
      }
      const ranFor = Date.now() - started;
      for (const [client, log] of Object.entries(calls)) expect(log.filter((c) => !c.ok), client).toEqual([]);

      await Promise.all([serveKey.revoke(), updateKey.revoke()]);
      const revokedAt = Date.now();
      const stopped: Record<string, number> = {};
      while (Object.keys(stopped).length < Object.keys(calls).length) {
        for (const [client, log] of Object.entries(calls)) {
          const failure = log.find((c) => c.at > revokedAt && !c.ok);
          if (failure && stopped[client] === undefined) stopped[client] = failure.at - revokedAt;
        }
        // A failing SDK retries for a while before it reports: wait for the reports, not for the stop.
        expect(Date.now() - revokedAt, JSON.stringify({ stopped, calls })).toBeLessThan(STOP_BOUND_EXPIRY_MS + 60_000);
        await new Promise((r) => setTimeout(r, 500));
      }
      for (const [client, ms] of Object.entries(stopped)) expect(ms, client).toBeLessThan(stopBound[client] ?? STOP_BOUND_NEXT_RUN_MS);
      // Once stopped, they stay stopped: nothing served the revoked keys' credentials again.
      await new Promise((r) => setTimeout(r, CALL_EVERY_MS + 1000));
      for (const [client, log] of Object.entries(calls)) {
        const firstFailure = log.findIndex((c) => c.at > revokedAt && !c.ok);
        expect(log.slice(firstFailure).filter((c) => c.ok), client).toEqual([]);
      }
      expect(await updaterExit).toBe(3);
      expect(updaterLog).toContain("The client key was revoked.; removed the credentials of profile job");
      expect(served.stderr()).toContain("The client key was revoked.");

      console.log(`helper modes across expiries (${Math.round(ranFor / 1000)} s, moto's 90 s credentials, --check-every ${CHECK_EVERY_SECONDS}):`);
      for (const [client, log] of Object.entries(calls)) {
        const before = log.filter((c) => c.at <= revokedAt);
        const sets = summary(before).credentialSets;
        console.log(`  ${client}: ${before.length} calls, 0 failures${sets ? `, ${sets} credential sets` : ""}; stopped ${(stopped[client]! / 1000).toFixed(1)} s after the revocation`);
      }
    } finally {
      scheduling = false;
      for (const child of children) child.kill("SIGTERM");
      updater.kill("SIGTERM");
      await served.stop();
      await Promise.all(scheduled);
    }
  });
});
