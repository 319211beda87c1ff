import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readProfile } from "../../src/cli/s3-broker/credentials-file.mjs";
import { startRecordingProxy } from "../../src/dev/recording-proxy.js";
import { CreateClientKeyDocument, ProvisionDataPlatformUserDocument } from "../../src/client/graphql.js";
import { HELPER, listWith, startServe, toolEnv, type S3Target, type Tool } from "../support/aws-tools.js";
import type { BrokerUnderTest } from "../support/broker-under-test.js";
import { startHelperTestBed, type HelperTestBed } from "../support/client-keys.js";
import { execute } from "../support/graphql-client.js";
import type { LocalAws } from "../support/local-aws.js";
import { freshPoolAUser } from "../support/pool-a-users.js";

const run = promisify(execFile);
const SAMPLE = "tenants/acme/README.txt";
const OTHER_PROFILES = "# team keys: leave alone\n[default]\naws_access_key_id = AKIAOWNKEY\naws_secret_access_key = own\n\n[tenant-2]\nregion = eu-west-1\n";

let bed: HelperTestBed;
let aws: LocalAws;
let broker: BrokerUnderTest;
let endpoint: string;
let target: S3Target;
let workDir: string;

beforeAll(async () => {
  bed = await startHelperTestBed("helper-modes");
  ({ aws, broker, endpoint, target, workDir } = bed);
});

afterAll(async () => {
  await bed?.close();
});

const freshKey = (name: string, input?: Record<string, unknown>) => bed.freshKey(name, input);

const helper = (args: string[], env: NodeJS.ProcessEnv) => run(process.execPath, [HELPER, ...args], { env });

describe("s3-broker credential-process: a profile in ~/.aws/config that runs the helper", () => {
  it("gives the AWS CLI, boto3 and the JS SDK the tenant's credentials", async () => {
    const key = await freshKey("credential-process");
    const configFile = join(key.dir, "config");
    writeFileSync(configFile, `[profile tenant]\ncredential_process = ${process.execPath} ${HELPER} credential-process --endpoint ${endpoint} --key-file ${key.keyFile}\n`);
    const env = toolEnv(key.dir, { AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: join(key.dir, "none"), AWS_PROFILE: "tenant", AWS_EC2_METADATA_DISABLED: "true" });
    for (const tool of ["aws-cli", "boto3", "js-sdk"] as Tool[]) expect(await listWith(tool, target, env), tool).toContain(SAMPLE);
  });
});

describe("s3-broker credential-process: its cache and a revoked key", () => {
  /** The one cache file of an endpoint and key, and a way to make its last check look old (instead of waiting a minute). */
  const cacheOf = (dir: string) => {
    const file = join(dir, readdirSync(dir).find((name) => name.endsWith(".json"))!);
    return { file, read: () => JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>, age: () => writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), CheckedAt: 0 })) };
  };

  it("asks the broker whether the key stands while answering from its cache: a revoked key clears the cache and exits 3", async () => {
    const key = await freshKey("process-revoked", { flow: "CLASSIC", durationSeconds: 3600 });
    const cacheDir = join(key.dir, "cache");
    const args = ["credential-process", "--endpoint", endpoint, "--key-file", key.keyFile, "--cache-dir", cacheDir];
    const first = JSON.parse((await helper(args, toolEnv(key.dir, {}))).stdout);
    const cache = cacheOf(cacheDir);
    expect(cache.read()).toMatchObject({ AccessKeyId: first.AccessKeyId, CheckedAt: expect.any(Number) });
    // A check that finds the key standing answers from the cache, and records the check.
    cache.age();
    const again = await helper(args, toolEnv(key.dir, {}));
    expect(JSON.parse(again.stdout)).toEqual(first);
    expect(again.stdout).not.toContain("CheckedAt");
    expect(cache.read().CheckedAt).toBeGreaterThan(0);
    await key.revoke();
    // Within the check interval the cache still answers (the documented bound, 60 s by default) ...
    expect(JSON.parse((await helper(args, toolEnv(key.dir, {}))).stdout)).toEqual(first);
    // ... and the first check after it finds the revocation.
    cache.age();
    await expect(helper(args, toolEnv(key.dir, {}))).rejects.toMatchObject({ code: 3, stderr: expect.stringContaining("The client key was revoked.") });
    expect(readdirSync(cacheDir).filter((name) => name.endsWith(".json"))).toEqual([]);
  });

  it("keeps answering from its cache while the broker cannot be reached", async () => {
    const key = await freshKey("process-unreachable", { flow: "CLASSIC", durationSeconds: 3600 });
    const proxy = await startRecordingProxy(new URL(endpoint).origin);
    const cacheDir = join(key.dir, "cache");
    const args = ["credential-process", "--endpoint", `${proxy.endpoint}/v1/credentials`, "--key-file", key.keyFile, "--cache-dir", cacheDir];
    const first = JSON.parse((await helper(args, toolEnv(key.dir, {}))).stdout);
    cacheOf(cacheDir).age();
    await helper(args, toolEnv(key.dir, {}));
    // The check went to the status route, and no new credentials were asked for.
    expect(proxy.calls.map((c) => c.operation)).toEqual(["GET /v1/credentials", "GET /v1/credentials/status"]);
    await proxy.stop();
    cacheOf(cacheDir).age();
    const offline = await helper(args, toolEnv(key.dir, {}));
    expect(JSON.parse(offline.stdout)).toEqual(first);
    expect(offline.stderr).toMatch(/cannot reach the broker .*; answering from the cache/);
  });
});

describe("s3-broker update: a profile of a shared credentials file kept fresh", () => {
  it("--once writes the profile and nothing else; the AWS CLI, boto3, the JS SDK, rclone and s3cmd read the prefix with it", async () => {
    const key = await freshKey("update-once");
    const file = join(key.dir, "credentials");
    writeFileSync(file, OTHER_PROFILES, { mode: 0o644 });
    const env = toolEnv(key.dir, {});
    const { stderr } = await helper(["update", "--endpoint", endpoint, "--key-file", key.keyFile, "--profile", "tenant", "--credentials-file", file, "--once"], env);
    expect(stderr).toMatch(/wrote profile tenant in .*credentials \(expires /);
    const text = readFileSync(file, "utf8");
    expect(text.startsWith(OTHER_PROFILES)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readProfile(text, "tenant")).toMatchObject({ aws_access_key_id: "TESTACCESSKEY12345", x_security_token_expires: expect.stringMatching(/^2\d{3}-/) });
    expect(stderr).not.toContain(readProfile(text, "tenant")!.aws_session_token);

    const fileEnv = toolEnv(key.dir, { AWS_SHARED_CREDENTIALS_FILE: file, AWS_CREDENTIAL_FILE: file, AWS_PROFILE: "tenant", AWS_EC2_METADATA_DISABLED: "true" });
    for (const tool of ["aws-cli", "boto3", "js-sdk", "rclone", "s3cmd"] as Tool[]) {
      expect(await listWith(tool, target, fileEnv), tool).toContain(SAMPLE);
    }
    // The control: the same tools with a profile the helper did not write find no credentials at all.
    const without = { ...fileEnv, AWS_PROFILE: "tenant-2" };
    const outcomes = await Promise.all((["aws-cli", "boto3", "js-sdk", "rclone", "s3cmd"] as Tool[]).map((tool) => listWith(tool, target, without).then(() => `${tool} listed`, () => `${tool} failed`)));
    expect(outcomes).toEqual(["aws-cli failed", "boto3 failed", "js-sdk failed", "rclone failed", "s3cmd failed"]);
  });

  it("--once rewrites nothing while the broker hands out the same credentials, and finds a revoked key at the next run", async () => {
    const key = await freshKey("update-fresh", { flow: "CLASSIC", durationSeconds: 3600 });
    const file = join(key.dir, "credentials");
    const args = ["update", "--endpoint", endpoint, "--key-file", key.keyFile, "--profile", "tenant", "--credentials-file", file, "--once"];
    await helper(args, toolEnv(key.dir, {}));
    const written = readFileSync(file, "utf8");
    const modified = statSync(file).mtimeMs;
    const { stderr } = await helper(args, toolEnv(key.dir, {}));
    expect(stderr).toMatch(/profile tenant in .* is current \(expires /);
    expect(readFileSync(file, "utf8")).toBe(written);
    expect(statSync(file).mtimeMs).toBe(modified);
    // A cron job every few minutes: the run after a revocation removes the credentials, long before they expire.
    await key.revoke();
    await expect(helper(args, toolEnv(key.dir, {}))).rejects.toMatchObject({ code: 3 });
    expect(readProfile(readFileSync(file, "utf8"), "tenant")).toEqual({});
  });

  it("keeps the credentials when the broker cannot be reached (exit 1), and removes them when the key is revoked (exit 3)", async () => {
    const key = await freshKey("update-refused");
    const file = join(key.dir, "credentials");
    writeFileSync(file, OTHER_PROFILES);
    const args = (url: string) => ["update", "--endpoint", url, "--key-file", key.keyFile, "--profile", "tenant", "--credentials-file", file, "--once"];
    await helper(args(endpoint), toolEnv(key.dir, {}));
    const written = readFileSync(file, "utf8");

    await expect(helper(args("http://127.0.0.1:9/v1/credentials"), toolEnv(key.dir, {}))).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining("cannot reach the broker") });
    expect(readFileSync(file, "utf8")).toBe(written);

    await key.revoke();
    await expect(helper(args(endpoint), toolEnv(key.dir, {}))).rejects.toMatchObject({
      code: 3,
      stderr: expect.stringMatching(/The client key was revoked\.; removed the credentials of profile tenant/),
    });
    expect(readFileSync(file, "utf8")).toBe(`${OTHER_PROFILES}\n[tenant]\n`);
    const s3cmd = listWith("s3cmd", target, toolEnv(key.dir, { AWS_CREDENTIAL_FILE: file, AWS_PROFILE: "tenant" }));
    await expect(s3cmd).rejects.toThrow();
  });

  it("explains bad usage with exit 2, and each mode's --help", async () => {
    const env = toolEnv(workDir, { S3_BROKER_CLIENT_KEY: "s3bk_x" });
    await expect(helper(["update", "--endpoint", endpoint, "--once"], env)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("--profile is required") });
    await expect(helper(["update", "--endpoint", endpoint, "--profile", "a]b"], env)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("--profile must be") });
    await expect(helper(["update", "--endpoint", endpoint, "--profile", "p", "--bogus"], env)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--bogus'") });
    await expect(helper(["fetch"], env)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('unknown mode "fetch"') });
    for (const mode of ["credential-process", "update", "serve"]) {
      const { stdout } = await helper([mode, "--help"], env);
      expect(stdout, mode).toMatch(new RegExp(`^Usage: s3-broker ${mode} [\\s\\S]*Exit codes`));
    }
    expect((await helper(["--help"], env)).stdout).toMatch(/credential-process[\s\S]*update[\s\S]*serve/);
  });
});

/** A raw request, so that Host, Origin and X-Forwarded-For can be what an attacker would send. */
function raw(url: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? "GET", headers: init.headers }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("s3-broker serve: a loopback IMDSv2 and container credentials endpoint", () => {
  it("hands credentials to the AWS CLI, boto3, the JS SDK and rclone over IMDSv2 and over the container provider", async () => {
    const key = await freshKey("serve-tools");
    const served = await startServe(["--endpoint", endpoint, "--key-file", key.keyFile, "--port", "0"], toolEnv(key.dir, { XDG_RUNTIME_DIR: join(key.dir, "run") }));
    try {
      const tokenFile = served.exports.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE!;
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      const imds = toolEnv(key.dir, { AWS_EC2_METADATA_SERVICE_ENDPOINT: served.exports.AWS_EC2_METADATA_SERVICE_ENDPOINT! });
      const container = toolEnv(key.dir, {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: served.exports.AWS_CONTAINER_CREDENTIALS_FULL_URI!,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
        AWS_EC2_METADATA_DISABLED: "true",
      });
      // rclone's Go SDK (v1) predates the _FILE variable: it gets the token's value.
      const containerWithValue = { ...container, AWS_CONTAINER_AUTHORIZATION_TOKEN: readFileSync(tokenFile, "utf8") };
      for (const tool of ["aws-cli", "boto3", "js-sdk", "rclone"] as Tool[]) {
        expect(await listWith(tool, target, imds), `${tool} over IMDSv2`).toContain(SAMPLE);
        expect(await listWith(tool, target, tool === "rclone" ? containerWithValue : container), `${tool} over the container provider`).toContain(SAMPLE);
      }
      expect(served.stderr()).not.toContain(readFileSync(tokenFile, "utf8"));
    } finally {
      expect(await served.stop()).toBe(0);
    }
    expect(existsSync(served.exports.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE!)).toBe(false);
  });

  it("serves only the user who started it: another local user (nobody) gets nothing on either endpoint, even holding the token", async () => {
    const key = await freshKey("serve-owner");
    const served = await startServe(["--endpoint", endpoint, "--key-file", key.keyFile, "--port", "0", "--token-file", join(key.dir, "token")], toolEnv(key.dir, {}));
    try {
      const base = served.exports.AWS_EC2_METADATA_SERVICE_ENDPOINT!.replace(/\/$/, "");
      // What an IMDSv2 client and a container-provider client do, as one script any user can run.
      const script = `
        const base = process.env.BASE;
        const put = await fetch(base + "/latest/api/token", { method: "PUT", headers: { "x-aws-ec2-metadata-token-ttl-seconds": "60" } });
        const session = await put.text();
        const imds = await fetch(base + "/latest/meta-data/iam/security-credentials/s3-broker", { headers: { "x-aws-ec2-metadata-token": session } });
        const container = await fetch(base + "/credentials", { headers: { authorization: process.env.TOKEN } });
        console.log(JSON.stringify({ put: put.status, imds: imds.status, container: container.status, body: await container.text() }));`;
      const env = { PATH: process.env.PATH ?? "", BASE: base, TOKEN: readFileSync(join(key.dir, "token"), "utf8") };
      // A Node that another user can run: the machine's (CI's other Node legs live in root's private temporary directories).
      const clientNode = existsSync("/usr/bin/node") ? "/usr/bin/node" : process.execPath;
      const asOwner = JSON.parse((await run(clientNode, ["--input-type=module", "-e", script], { env })).stdout);
      expect(asOwner).toMatchObject({ put: 200, imds: 200, container: 200 });
      const asNobody = JSON.parse((await run("runuser", ["-u", "nobody", "--", clientNode, "--input-type=module", "-e", script], { env, cwd: "/" })).stdout);
      expect(asNobody).toMatchObject({ put: 403, imds: 403, container: 403 });
      expect(JSON.parse(asNobody.body)).toEqual({ Code: "Forbidden", Message: "This endpoint serves only the user who started s3-broker serve." });
      expect(asNobody.body).not.toMatch(/AccessKeyId|Token"/);
      expect(served.stderr()).toMatch(/refused a request from uid 65534: only uid \d+ is served/);
    } finally {
      await served.stop();
    }
  });

  it("refuses what a neighbour, a web page or a rebinding DNS name would send", async () => {
    const key = await freshKey("serve-attacks");
    const served = await startServe(["--endpoint", endpoint, "--key-file", key.keyFile, "--port", "0", "--token-file", join(key.dir, "token")], toolEnv(key.dir, {}));
    try {
      const base = served.exports.AWS_EC2_METADATA_SERVICE_ENDPOINT!.replace(/\/$/, "");
      const port = new URL(base).port;
      const token = readFileSync(join(key.dir, "token"), "utf8");
      const credentials = `${base}/credentials`;
      expect((await raw(credentials, { headers: { authorization: token } })).status).toBe(200);
      expect((await raw(credentials)).status).toBe(401);
      expect((await raw(credentials, { headers: { authorization: `${token}x` } })).status).toBe(401);
      expect((await raw(credentials, { headers: { authorization: token, host: `attacker.example:${port}` } })).status).toBe(403);
      expect((await raw(credentials, { headers: { authorization: token, origin: "https://attacker.example" } })).status).toBe(403);
      expect((await raw(credentials, { method: "POST", headers: { authorization: token } })).status).toBe(405);

      const role = `${base}/latest/meta-data/iam/security-credentials/`;
      expect((await raw(role)).status).toBe(401); // IMDSv1 is off
      expect((await raw(`${base}/latest/api/token`, { method: "PUT", headers: { "x-aws-ec2-metadata-token-ttl-seconds": "60", "x-forwarded-for": "203.0.113.9" } })).status).toBe(403);
      for (const ttl of ["0", "21601", "soon"]) {
        expect((await raw(`${base}/latest/api/token`, { method: "PUT", headers: { "x-aws-ec2-metadata-token-ttl-seconds": ttl } })).status, ttl).toBe(400);
      }
      expect((await raw(`${base}/latest/api/token`)).status).toBe(405);
      const session = await raw(`${base}/latest/api/token`, { method: "PUT", headers: { "x-aws-ec2-metadata-token-ttl-seconds": "60" } });
      expect(session.status).toBe(200);
      const withSession = { "x-aws-ec2-metadata-token": session.body };
      expect(await raw(role, { headers: withSession })).toEqual({ status: 200, body: "s3-broker" });
      const document = await raw(`${role}s3-broker`, { headers: withSession });
      expect(JSON.parse(document.body)).toMatchObject({ Code: "Success", Type: "AWS-HMAC", AccessKeyId: "TESTACCESSKEY12345", Expiration: expect.any(String) });
      expect((await raw(`${role}another-role`, { headers: withSession })).status).toBe(404);
      expect((await raw(`${role}s3-broker`, { headers: { ...withSession, host: `rebound.example:${port}` } })).status).toBe(403);
    } finally {
      await served.stop();
    }
    await expect(helper(["serve", "--endpoint", endpoint, "--host", "0.0.0.0"], toolEnv(key.dir, { S3_BROKER_CLIENT_KEY: "s3bk_x" }))).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--host must be a loopback address"),
    });
  });

  it("puts the broker's reason for a refusal into botocore's own error text on the container endpoint (the JS SDK and IMDS clients: the helper's log)", async () => {
    const key = await freshKey("serve-words");
    const served = await startServe(["--endpoint", endpoint, "--key-file", key.keyFile, "--port", "0", "--check-every", "10"], toolEnv(key.dir, { XDG_RUNTIME_DIR: key.dir }));
    try {
      const container = toolEnv(key.dir, {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: served.exports.AWS_CONTAINER_CREDENTIALS_FULL_URI!,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: served.exports.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE!,
      });
      expect(await listWith("boto3", target, container)).toContain(SAMPLE);
      await key.revoke();
      // Until the helper's next check (--check-every 10) it still hands out what it holds.
      const deadline = Date.now() + 20_000;
      while (!served.stderr().includes("The client key was revoked.") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      const said: Record<string, string> = {};
      for (const tool of ["aws-cli", "boto3", "js-sdk"] as Tool[]) {
        said[tool] = await listWith(tool, target, container).then(
          () => "listed",
          (error: { stderr?: string }) => error.stderr ?? String(error),
        );
      }
      console.log(`what the tools print after a revocation (container endpoint): ${JSON.stringify(said)}`);
      // botocore (the AWS CLI, boto3) puts the endpoint's {"Code","Message"} into its error.
      for (const tool of ["aws-cli", "boto3"]) expect(said[tool], tool).toMatch(/Received non 200 response 403 from container metadata: .*The client key was revoked\./);
      // The JS SDK's default chain reports only that no provider worked (measured; the docs say so): the helper's log has the reason.
      expect(said["js-sdk"]).toContain("Could not load credentials from any providers");
      expect(served.stderr()).toContain("The client key was revoked.");
    } finally {
      await served.stop();
    }
  });

  it("refuses to start with a revoked key (exit 3), and clients get the refusal once a running helper learns of it", async () => {
    const key = await freshKey("serve-revoked");
    const served = await startServe(["--endpoint", endpoint, "--key-file", key.keyFile, "--port", "0", "--check-every", "10"], toolEnv(key.dir, { XDG_RUNTIME_DIR: key.dir }));
    try {
      const imds = toolEnv(key.dir, { AWS_EC2_METADATA_SERVICE_ENDPOINT: served.exports.AWS_EC2_METADATA_SERVICE_ENDPOINT! });
      expect(await listWith("boto3", target, imds)).toContain(SAMPLE);
      await key.revoke();
      const revokedAt = Date.now();
      // The helper asks the broker at least every 10 s (--check-every), and at once when renewal is due.
      for (;;) {
        const outcome = await listWith("boto3", target, imds).then(
          () => "listed",
          (error: { stderr?: string }) => error.stderr ?? String(error),
        );
        if (outcome !== "listed") {
          expect(outcome).toMatch(/Unable to locate credentials|Error when retrieving credentials/);
          break;
        }
        expect(Date.now() - revokedAt).toBeLessThan(20_000);
        await new Promise((r) => setTimeout(r, 1000));
      }
      expect(served.stderr()).toContain("The client key was revoked.");
    } finally {
      await served.stop();
    }
    await expect(helper(["serve", "--endpoint", endpoint, "--key-file", key.keyFile, "--port", "0"], toolEnv(key.dir, { XDG_RUNTIME_DIR: key.dir }))).rejects.toMatchObject({
      code: 3,
      stderr: expect.stringContaining("The client key was revoked."),
    });
  });
});

describe("the set-ups a key's creator copies", () => {
  it("installs the helper with the one command given, and its update and credential_process snippets work as pasted", async () => {
    const user = await freshPoolAUser(aws.stack);
    const { idToken } = await user.signIn();
    expect((await execute(broker.url, ProvisionDataPlatformUserDocument, {}, idToken)).errors).toBeUndefined();
    const created = (await execute(broker.url, CreateClientKeyDocument, { input: { name: "Nightly Export", flow: "ENHANCED" } }, idToken)).data!.createClientKey;
    const home = mkdtempSync(join(workDir, "customer-"));
    const prefix = join(home, ".local");
    // The command from the set-up, with the --prefix the comment offers for users without root.
    await run("sh", ["-c", `${created.setup.installHelper} --prefix ${prefix} --no-audit --no-fund`], { env: { ...toolEnv(home, {}), npm_config_cache: join(home, ".npm") } });
    const env = toolEnv(home, { PATH: `${join(prefix, "bin")}:${process.env.PATH}`, AWS_EC2_METADATA_DISABLED: "true" });
    expect((await run("s3-broker", ["--help"], { env })).stdout).toContain("credential-process");

    const keyFile = /--key-file (\S+)/.exec(created.setup.credentialsFileUpdate)![1]!.replace("~", home);
    await run("mkdir", ["-p", join(home, ".config", "s3-broker")]);
    writeFileSync(keyFile, created.secret, { mode: 0o600 });
    const update = created.setup.credentialsFileUpdate.split("\n").find((line) => line.startsWith("s3-broker update"))!;
    await run("sh", ["-c", `${update} --once`], { env });
    expect(await listWith("aws-cli", target, { ...env, AWS_PROFILE: "s3-broker-nightly-export" })).toContain(SAMPLE);

    await run("mkdir", ["-p", join(home, ".aws")]);
    writeFileSync(join(home, ".aws", "config"), created.setup.credentialProcessProfile.split("\n").filter((line) => !line.startsWith("#")).join("\n"));
    rmSync(join(home, ".aws", "credentials"));
    expect(await listWith("aws-cli", target, { ...env, AWS_PROFILE: "s3-broker-nightly-export" })).toContain(SAMPLE);
  });
});
