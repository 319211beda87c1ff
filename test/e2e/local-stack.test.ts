import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/dev/moto.js";

// The README's first command, as a new user runs it: `npm run stack` in a folder of its own (so
// .local/ is this test's), then what the README says to do next with what it wrote.
const REPO = resolve(import.meta.dirname, "../..");
const TSX = [resolve(REPO, "node_modules/.bin/tsx"), "--tsconfig", resolve(REPO, "tsconfig.json")];

const folders: string[] = [];
const started: ChildProcess[] = [];

afterAll(async () => {
  // tsx passes SIGINT and SIGTERM on to the program (which stops its moto); SIGKILL would orphan both.
  for (const child of started.filter((c) => c.exitCode === null)) {
    child.kill("SIGINT");
    await Promise.race([once(child, "exit"), new Promise((r) => setTimeout(r, 10_000))]);
  }
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** A folder of its own for each test, as a fresh clone would be. */
function freshFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), "local-stack-"));
  folders.push(folder);
  return folder;
}

/** No AWS variables of the test runner: the stack and broker.env must bring their own. */
const userEnv = (folder: string, extra: Record<string, string>) => ({ PATH: process.env.PATH, HOME: folder, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...extra });

function run(folder: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(TSX[0]!, [...TSX.slice(1), ...args], { cwd: folder, env, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const waitFor = async (text: string, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!output.includes(text)) {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before printing "${text}":\n${output}`);
      if (Date.now() > deadline) throw new Error(`no "${text}" within ${timeoutMs} ms:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, exited, waitFor, output: () => output };
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolvePromise(true)));
    socket.once("error", () => resolvePromise(false));
  });
}

async function graphql(url: string, query: string, token: string) {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
  return (await response.json()) as { data?: Record<string, unknown>; errors?: Array<{ extensions?: { code?: string } }> };
}

/** Whether nothing listens on the loopback port now. */
const portIsFree = (port: number) =>
  new Promise<boolean>((done) => {
    const probe = createServer();
    probe.once("error", () => done(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => done(true)));
  });

/** A free port whose successor is free too: broker.env puts the second broker on the stack's port plus one. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port < 65535 && (await portIsFree(port + 1))) return port;
  }
}

describe("the local stack, as the README has a new user run it", () => {
  it("refuses a second stack in the same folder before starting anything, and .local/broker.env runs a working broker beside it", { timeout: 240_000 }, async () => {
    const folder = freshFolder();
    const port = await freePortPair();
    const motoPort = await freePort();
    const first = run(folder, [resolve(REPO, "src/dev/stack.ts")], userEnv(folder, { PORT: String(port), MOTO_PORT: String(motoPort) }));
    // "Stop with Ctrl-C." ends what the stack prints once it is ready; the helper line comes before it.
    await first.waitFor("Stop with Ctrl-C.");
    expect(first.output()).toContain("The broker is ready");
    expect(first.output()).toContain(`npm install -g http://127.0.0.1:${port}/helper/s3-broker.tgz`);
    // The console's address, and the console is there.
    expect(first.output()).toContain(`The console:   http://127.0.0.1:${port}/console/`);
    expect((await fetch(`http://127.0.0.1:${port}/console/`)).status).toBe(200);
    // The names the docs' commands use, for whatever ports the stack was given.
    expect(first.output()).toContain("For the docs' commands, in another shell:  . .local/stack.env");
    const named = spawnSync("bash", ["-c", ". .local/stack.env && curl -s -o /dev/null -w '%{http_code}' \"$BROKER/healthz\" && echo \" $MOTO $BUCKET\""], { cwd: folder, encoding: "utf8" });
    const stackInfo = JSON.parse(readFileSync(join(folder, ".local/stack.json"), "utf8")) as { endpoint: string; bucket: string };
    expect(named.stdout.trim()).toBe(`200 ${stackInfo.endpoint} ${stackInfo.bucket}`);

    const second = run(folder, [resolve(REPO, "src/dev/stack.ts")], userEnv(folder, { PORT: String(await freePort()) }));
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(new RegExp(`A local stack is already running in this folder \\(process \\d+, http://127\\.0\\.0\\.1:${port}/graphql\\)`));
    expect(second.output()).not.toContain("Starting moto");
    // The first stack's state is untouched and still serves.
    expect(JSON.parse(readFileSync(join(folder, ".local/stack.json"), "utf8"))).toMatchObject({ region: "eu-west-1" });

    // broker.env alone (no AWS variables in the environment) runs a second broker that really provisions.
    // It names the stack's port plus one; that was free when the stack started, but the suite's other
    // files take free ports meanwhile, so the test gives it one free now (the environment wins over
    // --env-file) and checks broker.env's own choice as written.
    expect(readFileSync(join(folder, ".local/broker.env"), "utf8")).toMatch(new RegExp(`^PORT=${port + 1}$`, "m"));
    const besidePort = await freePort();
    const beside = run(folder, ["--env-file=.local/broker.env", resolve(REPO, "src/main.ts")], userEnv(folder, { PORT: String(besidePort) }));
    const besideUrl = `http://127.0.0.1:${besidePort}`;
    for (let i = 0; ; i += 1) {
      const ready = await fetch(`${besideUrl}/readyz`).then((r) => r.status, () => 0);
      if (ready === 200) break;
      expect(beside.child.exitCode, beside.output()).toBeNull();
      expect(i).toBeLessThan(600);
      await new Promise((r) => setTimeout(r, 100));
    }
    const token = run(folder, [resolve(REPO, "src/dev/token.ts"), "alice"], userEnv(folder, {}));
    expect(await token.exited).toBe(0);
    const idToken = token.output().trim().split("\n").pop()!;
    const provisioned = await graphql(`${besideUrl}/graphql`, "mutation { provisionDataPlatformUser { state prefix } }", idToken);
    expect(provisioned).toEqual({ data: { provisionDataPlatformUser: { state: "ACTIVE", prefix: "tenants/acme/" } } });

    // The example partner (tenant acme), with the token the helper mints as Cognito's endpoint would.
    const partner = run(folder, [resolve(REPO, "src/dev/token.ts"), "--partner"], userEnv(folder, {}));
    expect(await partner.exited).toBe(0);
    const partnerToken = partner.output().trim().split("\n").pop()!;
    const stack = JSON.parse(readFileSync(join(folder, ".local/stack.json"), "utf8")) as { demoUsers: Array<{ username: string; sub: string }> };
    const subOf = (name: string) => stack.demoUsers.find((u) => u.username === name)!.sub;
    const stackUrl = `http://127.0.0.1:${port}/graphql`;
    expect(await graphql(stackUrl, `mutation { provisionDataPlatformUser(userId: "${subOf("alice")}") { state tenant } }`, partnerToken)).toEqual({
      data: { provisionDataPlatformUser: { state: "ACTIVE", tenant: "acme" } },
    });
    const bob = await graphql(stackUrl, `{ connectionStatus(userId: "${subOf("bob")}") { state } }`, partnerToken);
    expect(bob.errors?.[0]?.extensions).toMatchObject({ code: "FORBIDDEN", reason: "PARTNER_TENANT" });

    beside.child.kill("SIGTERM");
    await beside.exited;
    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);
    expect(await portAnswers(motoPort)).toBe(false);
    expect(existsSync(join(folder, ".local/stack.lock"))).toBe(false);
  });

  it("stops its moto when it cannot start the broker, and says why", { timeout: 120_000 }, async () => {
    const taken = createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    const port = (taken.address() as { port: number }).port;
    const motoPort = await freePort();
    try {
      const folder = freshFolder();
      const stack = run(folder, [resolve(REPO, "src/dev/stack.ts")], userEnv(folder, { PORT: String(port), MOTO_PORT: String(motoPort) }));
      expect(await stack.exited).toBe(1);
      expect(stack.output()).toMatch(/The local stack could not start: .*EADDRINUSE/);
      expect(await portAnswers(motoPort)).toBe(false);
    } finally {
      taken.close();
    }
  });
});
