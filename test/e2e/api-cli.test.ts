import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintPartnerToken } from "../../src/dev/moto-tokens.js";
import { listWith, toolEnv } from "../support/aws-tools.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf } from "../support/credential-endpoint.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser } from "../support/pool-a-users.js";

const execFileAsync = promisify(execFile);

/**
 * The API commands of `s3-broker`, as a partner's script runs them: the helper installed with the
 * one documented command from the broker's own download, a partner token in a file, JSON read
 * from stdout and the exit code checked.
 */
let aws: LocalAws;
let broker: BrokerUnderTest;
let workDir: string;
let bin: string;
let tokenFile: string;

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack);
  workDir = mkdtempSync(join(tmpdir(), "api-cli-"));
  const prefix = join(workDir, "npm-global");
  // README's install command, into a private prefix instead of the machine's global one.
  await execFileAsync("npm", ["install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", `${baseUrlOf(broker.url)}/helper/s3-broker.tgz`], { timeout: 120_000 });
  bin = join(prefix, "bin", "s3-broker");
  tokenFile = join(workDir, "partner.token");
  writeFileSync(tokenFile, await mintPartnerToken(aws.stack, ["provision", "issue", "keys", "audit"]), { mode: 0o600 });
}, 180_000);

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

interface CliResult {
  exitCode: number;
  json: any;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const options = { env: toolEnv(workDir, { S3_BROKER_URL: baseUrlOf(broker.url), ...env }), timeout: 60_000 };
  try {
    const { stdout, stderr } = await execFileAsync(bin, args, options);
    return { exitCode: 0, json: JSON.parse(stdout), stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { exitCode: failed.code, json: failed.stdout ? JSON.parse(failed.stdout) : null, stderr: failed.stderr };
  }
}

describe("s3-broker's API commands", () => {
  it("ship the typed operations in the package they are installed from", () => {
    expect(existsSync(join(workDir, "npm-global/lib/node_modules/s3-broker/operations/credentials.graphql"))).toBe(true);
  });

  it("provision, show and issue for a partner's user; the credentials work with the AWS CLI on that tenant's prefix", async () => {
    const user = await freshPoolAUser(aws.stack, { tenant: "acme" });
    const provisioned = await cli(["provision", "--user", user.sub, "--token-file", tokenFile]);
    expect(provisioned).toMatchObject({ exitCode: 0, json: { userId: user.sub, state: "ACTIVE", tenant: "acme", prefix: "tenants/acme/" } });
    // Repeating is safe (scripts retry).
    expect((await cli(["provision", "--user", user.sub, "--token-file", tokenFile])).json.identityId).toBe(provisioned.json.identityId);

    const issued = await cli(["issue", "--user", user.sub, "--flow", "CLASSIC", "--duration", "900", "--token-file", tokenFile]);
    expect(issued.exitCode).toBe(0);
    expect(issued.json).toMatchObject({ flow: "CLASSIC", durationSeconds: 900, prefix: "tenants/acme/" });
    const keys = await listWith(
      "aws-cli",
      { endpoint: aws.moto.endpoint, region: aws.stack.region, bucket: aws.stack.bucket, prefix: "tenants/acme/" },
      toolEnv(workDir, { AWS_ACCESS_KEY_ID: issued.json.accessKeyId, AWS_SECRET_ACCESS_KEY: issued.json.secretAccessKey, AWS_SESSION_TOKEN: issued.json.sessionToken }),
    );
    expect(keys).toContain("tenants/acme/README.txt");

    const status = await cli(["status", "--user", user.sub], { S3_BROKER_TOKEN: await mintPartnerToken(aws.stack, ["issue"]) });
    expect(status.json).toMatchObject({ provisioned: true, lastCredentialFlow: "CLASSIC" });
    // The issuance is on the user's trail, by the partner.
    const trail = await cli(["audit", "--user", user.sub, "--first", "10", "--token-file", tokenFile]);
    expect(trail.json.nodes).toContainEqual(expect.objectContaining({ action: "ISSUE", actorUserId: `partner:${aws.stack.partner.clientId}`, outcome: "SUCCESS" }));
  });

  it("create, list and revoke a user's client keys", async () => {
    const user = await freshPoolAUser(aws.stack, { tenant: "acme" });
    await cli(["provision", "--user", user.sub, "--token-file", tokenFile]);
    const created = await cli(["keys", "create", "--name", "nightly-export", "--user", user.sub, "--token-file", tokenFile]);
    expect(created).toMatchObject({ exitCode: 0 });
    expect(created.json.secret).toMatch(/^s3bk_/);
    expect(created.json.key).toMatchObject({ name: "nightly-export", flow: "ENHANCED", revoked: false });
    const listed = await cli(["keys", "list", "--user", user.sub, "--token-file", tokenFile]);
    expect(listed.json.map((k: { id: string }) => k.id)).toEqual([created.json.key.id]);
    expect(JSON.stringify(listed.json)).not.toContain(created.json.secret);
    const revoked = await cli(["keys", "revoke", "--id", created.json.key.id, "--token-file", tokenFile]);
    expect(revoked).toMatchObject({ exitCode: 0, json: { id: created.json.key.id, revoked: true } });
  });

  it("say what went wrong as JSON on stdout, one line on stderr, and an exit code a script can branch on", async () => {
    const elsewhere = await freshPoolAUser(aws.stack, { tenant: "globex" });
    // Refused: a person must act (3), with the broker's code and reason.
    const refused = await cli(["provision", "--user", elsewhere.sub, "--token-file", tokenFile]);
    expect(refused).toMatchObject({ exitCode: 3, json: { error: { code: "FORBIDDEN", reason: "PARTNER_TENANT" } } });
    expect(refused.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^s3-broker: FORBIDDEN \(PARTNER_TENANT\): /)]);
    // Bad input (2): a partner must name the user.
    expect(await cli(["status", "--token-file", tokenFile])).toMatchObject({ exitCode: 2, json: { error: { code: "BAD_USER_INPUT", field: "userId" } } });
    // A token that is no longer valid: refused (3), reason EXPIRED.
    const now = Math.floor(Date.now() / 1000);
    const expired = await mintPartnerToken(aws.stack, ["provision"], { claims: { iat: now - 7200, exp: now - 3600 } });
    expect(await cli(["status", "--user", elsewhere.sub], { S3_BROKER_TOKEN: expired })).toMatchObject({ exitCode: 3, json: { error: { code: "UNAUTHENTICATED", reason: "EXPIRED" } } });
    // Local problems (2), nothing sent, and the same contract: JSON on stdout, one stderr line.
    const local = {
      "no token": await cli(["status", "--user", "u"]),
      "plain http off loopback": await cli(["status", "--user", "u", "--token-file", tokenFile], { S3_BROKER_URL: "http://broker.example.com" }),
      "an unknown flow": await cli(["issue", "--flow", "FAST", "--user", "u", "--token-file", tokenFile]),
      "a duration out of range": await cli(["issue", "--duration", "60", "--user", "u", "--token-file", tokenFile]),
      "an unknown option": await cli(["status", "--colour", "--token-file", tokenFile]),
      "an unknown mode": await cli(["stauts"]),
      "keys without an action": await cli(["keys"]),
    };
    for (const [what, result] of Object.entries(local)) {
      expect(result, what).toMatchObject({ exitCode: 2, json: { error: { code: "USAGE", message: expect.any(String) } } });
      expect(result.stderr.trim().split("\n"), what).toEqual([`s3-broker: ${result.json.error.message}`]);
    }
    expect(local["plain http off loopback"].stderr).toContain("https");
    expect(local["a duration out of range"].stderr).toContain("--duration must be a whole number from 900 to 43200");
    expect(local["an unknown option"].stderr).toContain("s3-broker status --help");
    // The broker cannot be reached: transient (1), the same contract.
    const down = await cli(["status", "--user", "u", "--token-file", tokenFile], { S3_BROKER_URL: "http://127.0.0.1:9" });
    expect(down).toMatchObject({ exitCode: 1, json: { error: { code: "BROKER_UNREACHABLE" } } });
    expect(down.stderr.trim().split("\n")).toEqual([expect.stringContaining("cannot reach the broker")]);
    // No token or secret in what a failure prints.
    const token = (await import("node:fs")).readFileSync(tokenFile, "utf8").trim();
    expect(refused.stderr + JSON.stringify(refused.json)).not.toContain(token);
  });

  it("every command has --help, and the top-level usage lists them", async () => {
    for (const command of [["status"], ["provision"], ["issue"], ["keys"], ["audit"]]) {
      const { stdout } = await execFileAsync(bin, [...command, "--help"]);
      expect(stdout).toMatch(/^Usage: s3-broker /);
      expect(stdout).toContain("Exit codes");
    }
    const { stdout } = await execFileAsync(bin, ["--help"]);
    for (const command of ["status", "provision", "issue", "keys list|create|revoke", "audit"]) expect(stdout).toContain(`  ${command}`);
  });
});
