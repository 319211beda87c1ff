import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { brokerEnvironment, type StackInfo } from "../../src/dev/bootstrap.js";
import { freePort } from "../../src/dev/moto.js";
import { watchedProcess } from "./processes.js";

const REPO = resolve(import.meta.dirname, "../..");

const statusOf = (url: string) => fetch(url).then((r) => r.status, () => "refused" as const);

/**
 * The broker as operators run it: `node src/main.ts` in a process of its own (production mode, a
 * SQLite file in `dir`), configured by its environment only; its output collected.
 */
export async function startBrokerProcess(stack: StackInfo, dir: string, overrides: Record<string, string>, options: { awsCredentials?: boolean } = {}) {
  const port = await freePort();
  const env = brokerEnvironment(stack, {
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    METRICS_PORT: "0",
    DATABASE_PATH: join(dir, `${randomBytes(4).toString("hex")}.sqlite`),
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    ...overrides,
  });
  const credentials = options.awsCredentials === false ? { AWS_EC2_METADATA_DISABLED: "true", HOME: dir } : { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };
  const { child, output, exited } = watchedProcess(process.execPath, ["--import", "tsx", resolve(REPO, "src/main.ts")], { PATH: process.env.PATH, ...credentials, ...env }, REPO);
  const base = `http://127.0.0.1:${port}`;
  return {
    child,
    base,
    env,
    exited,
    output,
    /** Until the process listens (any answer from /healthz), or exits. */
    async listening(): Promise<boolean> {
      for (let i = 0; i < 300; i += 1) {
        if ((await statusOf(`${base}/healthz`)) === 200) return true;
        if (child.exitCode !== null) return false;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`neither listening nor exited:\n${output()}`);
    },
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
