import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, "../..");
export const HELPER = resolve(REPO, "src/cli/s3-broker/main.mjs");
const PYTHON = process.env.PYTHON ?? "python3";

/** Tools written elsewhere, each listing a prefix the way its users would, with credentials from its own environment only. */
export const TOOLS = ["aws-cli", "boto3", "js-sdk", "rclone", "s3cmd"] as const;
export type Tool = (typeof TOOLS)[number];

export interface S3Target {
  endpoint: string; // moto
  region: string;
  bucket: string;
  prefix: string;
}

/** Only what a customer's set-up gives: no AWS variables of the test runner, a HOME of its own. */
export function toolEnv(home: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, ...extra };
}

const JS_LIST = `
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
const s3 = new S3Client({ region: process.env.REGION, endpoint: process.env.ENDPOINT, forcePathStyle: true });
const listing = await s3.send(new ListObjectsV2Command({ Bucket: process.env.BUCKET, Prefix: process.env.PREFIX }));
for (const o of listing.Contents ?? []) console.log(o.Key);`;

const BOTO3_LIST = `
import boto3, os
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name=os.environ["REGION"])
for o in s3.list_objects_v2(Bucket=os.environ["BUCKET"], Prefix=os.environ["PREFIX"]).get("Contents", []):
    print(o["Key"])`;

/**
 * Lists the target's prefix with the tool and returns the object keys it printed. Rejects (with the
 * tool's stderr) when the tool fails, which is what a revoked or missing credential looks like.
 */
export async function listWith(tool: Tool, target: S3Target, env: NodeJS.ProcessEnv): Promise<string[]> {
  const where = { ENDPOINT: target.endpoint, REGION: target.region, BUCKET: target.bucket, PREFIX: target.prefix };
  const host = new URL(target.endpoint).host;
  const options = { env: { ...env, ...where }, timeout: 60_000 };
  switch (tool) {
    case "aws-cli": {
      const { stdout } = await run("aws", ["--endpoint-url", target.endpoint, "--region", target.region, "s3", "ls", `s3://${target.bucket}/${target.prefix}`, "--recursive"], options);
      return stdout.split("\n").filter(Boolean).map((line) => line.trim().split(/\s+/).slice(3).join(" "));
    }
    case "boto3":
      return lines((await run(PYTHON, ["-c", BOTO3_LIST], options)).stdout);
    case "js-sdk":
      return lines((await run(process.execPath, ["--input-type=module", "-e", JS_LIST], { ...options, cwd: REPO })).stdout);
    case "rclone": {
      const rclone = {
        RCLONE_CONFIG_BROKER_TYPE: "s3",
        RCLONE_CONFIG_BROKER_PROVIDER: "Other",
        RCLONE_CONFIG_BROKER_ENV_AUTH: "true",
        RCLONE_CONFIG_BROKER_ENDPOINT: target.endpoint,
        RCLONE_CONFIG_BROKER_REGION: target.region,
      };
      const { stdout } = await run("rclone", ["lsf", "-R", "--files-only", "--retries", "1", "--low-level-retries", "1", `broker:${target.bucket}/${target.prefix}`], { ...options, env: { ...options.env, ...rclone } });
      return lines(stdout).map((path) => `${target.prefix}${path}`);
    }
    case "s3cmd": {
      // No s3cmd config file: s3cmd then reads AWS_CREDENTIAL_FILE / AWS_PROFILE, or the environment.
      const { stdout } = await run("s3cmd", ["-c", "/nonexistent/s3cfg", `--host=${host}`, `--host-bucket=${host}`, "--no-ssl", "ls", "-r", `s3://${target.bucket}/${target.prefix}`], options);
      return lines(stdout).map((line) => line.slice(line.indexOf(`s3://${target.bucket}/`) + `s3://${target.bucket}/`.length));
    }
  }
}

function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter(Boolean);
}

/** Each tool's own version line, for the README's table. */
export async function versionOf(tool: Tool): Promise<string> {
  const first = (text: string) => text.split("\n")[0]!.trim();
  switch (tool) {
    case "aws-cli":
      return first((await run("aws", ["--version"])).stdout || (await run("aws", ["--version"])).stderr);
    case "boto3":
      return (await run(PYTHON, ["-c", "import boto3; print('boto3', boto3.__version__)"])).stdout.trim();
    case "js-sdk":
      return `@aws-sdk/client-s3 ${(JSON.parse(readFileSync(resolve(REPO, "node_modules/@aws-sdk/client-s3/package.json"), "utf8")) as { version: string }).version}`;
    case "rclone":
      return first((await run("rclone", ["version"])).stdout);
    case "s3cmd":
      return first((await run("s3cmd", ["--version"])).stdout);
  }
}

export interface ServingHelper {
  process: ChildProcess;
  /** The exports the helper printed: AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE. */
  exports: Record<string, string>;
  stderr: () => string;
  stop(): Promise<number | null>;
}

/** `s3-broker serve`, started as a customer would, resolved once it printed where it listens. */
export async function startServe(args: string[], env: NodeJS.ProcessEnv): Promise<ServingHelper> {
  const child = spawn(process.execPath, [HELPER, "serve", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exports: Record<string, string> = {};
  const lineReader = createInterface({ input: child.stdout! });
  await new Promise<void>((resolvePromise, reject) => {
    child.once("exit", (code) => reject(new Error(`s3-broker serve exited with ${code}: ${stderr}`)));
    lineReader.on("line", (line) => {
      const match = /^export (\w+)=(.*)$/.exec(line);
      if (match) exports[match[1]!] = match[2]!;
      if (exports.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) resolvePromise();
    });
  });
  return {
    process: child,
    exports,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      return code;
    },
  };
}
