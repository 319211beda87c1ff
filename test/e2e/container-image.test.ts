import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IssueCredentialsDocument, ProvisionDataPlatformUserDocument } from "../../src/client/graphql.js";
import { brokerEnvironment } from "../../src/dev/bootstrap.js";
import { freePort } from "../../src/dev/moto.js";
import { buildImage, type BuiltImage, mountImage, pgpassPasswordFor, removeImage, runEntrypoint } from "../support/container.js";
import { execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser } from "../support/pool-a-users.js";
import { freshSchema, type TestSchema } from "../support/postgres.js";

/**
 * The production image (src/infra/Containerfile), built here with no registry (src/dev/image.sh)
 * and started as a container runtime would start it (read-only root, its user, its entrypoint)
 * against the local stack: what it holds, and that it serves.
 */
const IMAGE = `localhost/s3-access-broker:test-${process.pid}`;
let image: BuiltImage;
let mounted: Awaited<ReturnType<typeof mountImage>>;
let aws: LocalAws;
let schema: TestSchema;

beforeAll(async () => {
  [image, aws, schema] = await Promise.all([buildImage(IMAGE), startLocalAws(), freshSchema()]);
  mounted = await mountImage(IMAGE);
  console.log(`image ${IMAGE}: ${(image.sizeBytes / 1e6).toFixed(0)} MB, built in ${image.buildSeconds.toFixed(0)} s`);
}, 20 * 60_000);

afterAll(async () => {
  await mounted?.remove();
  await removeImage(IMAGE);
  await schema?.drop();
  await aws?.stop();
}, 120_000);

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)]));

describe("the container image", () => {
  it("runs Node 24 as a non-root user, from a read-only entrypoint, with a health check and the two ports", () => {
    expect(image.config.User).toBe("65532:65532");
    expect(image.config.Entrypoint).toEqual(["/nodejs/bin/node"]);
    expect(image.config.Cmd).toEqual(["/app/dist/main.js"]);
    expect(image.healthcheck?.Test?.join(" ")).toContain("/healthz");
    expect(Object.keys(image.config.ExposedPorts ?? {}).sort()).toEqual(["8080/tcp", "9464/tcp"]);
    expect(image.config.Env).toEqual(expect.arrayContaining(["NODE_ENV=production", "HOST=0.0.0.0", "PORT=8080"]));
  });

  it("holds the compiled server and its production dependencies only: no sources, tests, dev tooling, CDK app, shell or package manager", () => {
    const app = join(mounted.root, "app");
    expect(existsSync(join(app, "dist/main.js"))).toBe(true);
    expect(existsSync(join(app, "dist/console/index.html"))).toBe(true);
    for (const absent of ["src", "test", "dist/dev", "dist/infra", "tsconfig.json", ".git"]) expect(existsSync(join(app, absent)), absent).toBe(false);
    expect(files(join(app, "dist")).filter((f) => f.endsWith(".ts") || f.endsWith(".map"))).toEqual([]);
    // Packages, scoped ones as "@scope/name" (npm prune leaves empty scope folders behind).
    const modules = readdirSync(join(app, "node_modules")).flatMap((name) => (name.startsWith("@") ? readdirSync(join(app, "node_modules", name)).map((inner) => `${name}/${inner}`) : [name]));
    expect(modules.length).toBeGreaterThan(50);
    for (const devOnly of ["vitest", "tsx", "typescript", "aws-cdk-lib", "playwright-core", "better-sqlite3", "@graphql-codegen/cli"]) expect(modules, devOnly).not.toContain(devOnly);
    for (const tool of ["bin/sh", "bin/bash", "usr/bin/apt", "usr/local/bin/npm"]) expect(existsSync(join(mounted.root, tool)), tool).toBe(false);
    const megabytes = image.sizeBytes / 1e6;
    console.log(`image size ${megabytes.toFixed(0)} MB (node_modules ${(files(join(app, "node_modules")).reduce((sum, f) => sum + statSync(f).size, 0) / 1e6).toFixed(0)} MB)`);
    expect(megabytes).toBeLessThan(300);
  });

  it("starts read-only as its own user against PostgreSQL, becomes ready, issues credentials, stops cleanly, and runs the key rotation as a one-off task", { timeout: 120_000 }, async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const password = pgpassPasswordFor(schema.url);
    const env = brokerEnvironment(aws.stack, {
      PORT: String(port),
      METRICS_PORT: String(await freePort()),
      PUBLIC_URL: base,
      DATABASE_URL: schema.url,
      ...(password ? { PGPASSWORD: password } : {}),
      TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      LOG_LEVEL: "info",
      SHUTDOWN_DRAIN_SECONDS: "1",
    });
    const started = performance.now();
    const broker = runEntrypoint(mounted.root, image, env);
    try {
      let ready = false;
      for (let i = 0; i < 600 && !ready && broker.child.exitCode === null; i++) {
        ready = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
        if (!ready) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready, broker.output()).toBe(true);
      console.log(`cold start to ready: ${Math.round(performance.now() - started)} ms`);

      const { idToken } = await (await freshPoolAUser(aws.stack)).signIn();
      expect((await execute(`${base}/graphql`, ProvisionDataPlatformUserDocument, {}, idToken)).errors).toBeUndefined();
      const issued = await execute(`${base}/graphql`, IssueCredentialsDocument, { flow: "CLASSIC", durationSeconds: 900 }, idToken);
      expect(issued.errors).toBeUndefined();
      expect(issued.data!.issueCredentials.accessKeyId).toMatch(/^[A-Z0-9]{16,}$/);
      // The server runs as the image's user, not root.
      const server = broker.serverPid();
      expect(readFileSync(`/proc/${server}/status`, "utf8")).toMatch(/^Uid:\s+65532\s+65532/m);
      expect(readFileSync(`/proc/${server}/cmdline`, "utf8").split("\0")).toEqual(expect.arrayContaining(["/nodejs/bin/node", "/app/dist/main.js"]));
      // A runtime's stop (SIGTERM): readiness fails, the drain runs, the process exits 0.
      expect(await broker.stop()).toBe(0);
    } finally {
      await broker.stop();
    }

    // A one-off task with the image's store command (the key rotation on AWS, docs/operators.md):
    // a new key in hexadecimal, the old one kept readable, every sealed value re-sealed.
    const rotation = runEntrypoint(
      mounted.root,
      image,
      { ...env, TOKEN_ENCRYPTION_KEY: "ab".repeat(32), TOKEN_ENCRYPTION_KEY_ID: "k2", TOKEN_ENCRYPTION_PREVIOUS_KEYS: `k1:${env.TOKEN_ENCRYPTION_KEY}` },
      ["/app/dist/admin/main.js", "rotate-encryption-key"],
    );
    expect(await rotation.exited, rotation.output()).toBe(0);
    expect(rotation.output()).toContain("Active key: k2");
    expect(rotation.output()).toMatch(/Re-sealed: [1-9]/);
  });

  it("says what is missing, and stops, when given a SQLite path instead of PostgreSQL", { timeout: 60_000 }, async () => {
    const env = brokerEnvironment(aws.stack, { PORT: String(await freePort()), METRICS_PORT: "0", PUBLIC_URL: "http://127.0.0.1", DATABASE_PATH: "/tmp/broker.sqlite", TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"), AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" });
    const broker = runEntrypoint(mounted.root, image, env);
    expect(await broker.exited).toBe(1);
    expect(broker.output()).toContain("this build has no SQLite driver");
    expect(broker.output()).toContain("set DATABASE_URL");
  });
});
