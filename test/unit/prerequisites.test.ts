import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/** A port nothing listens on (taken, then let go). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const bare = mkdtempSync(join(tmpdir(), "bare-machine-"));
afterAll(() => rmSync(bare, { recursive: true, force: true }));

describe("npm test's prerequisites (test/prerequisites.sh)", () => {
  it("on a machine that lacks everything, and told only to check, stops with one list of what is missing and the command for each", async () => {
    // A PATH with the shell's basic tools only: no Python, rclone, s3cmd, AWS CLI, psql or redis-server.
    for (const tool of ["bash", "seq", "sleep", "id", "ls", "head", "tr", "base64", "grep", "mv", "sort", "tail", "cat"]) symlinkSync(`/usr/bin/${tool}`, join(bare, tool));
    const env = {
      PATH: bare,
      HOME: bare,
      TEST_PREREQUISITES: "check",
      PYTHON: "python3",
      CHROMIUM_PATH: join(bare, "no-chromium"),
      TEST_REDIS_PORT: String(await closedPort()),
      TEST_POSTGRES_PORT: String(await closedPort()),
    };
    const run = spawnSync("/usr/bin/bash", ["test/prerequisites.sh"], { env, encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^npm test cannot run here yet: .*docs\/testing\.md/);
    const report = run.stderr;
    expect(report).toContain("- python3\n      sudo apt-get install -y python3 python3-pip");
    expect(report).toContain("- rclone s3cmd chromium buildah podman debootstrap util-linux\n      sudo apt-get install -y rclone s3cmd chromium buildah podman debootstrap util-linux");
    expect(report).toContain(`- Redis on 127.0.0.1:${env.TEST_REDIS_PORT}\n      sudo apt-get install -y redis-server`);
    expect(report).toContain(`- PostgreSQL on 127.0.0.1:${env.TEST_POSTGRES_PORT}\n      sudo apt-get install -y postgresql`);
    // Told only to check, it installed and started nothing.
    expect(report).not.toMatch(/^prerequisites: (installing|starting|giving)/m);
  });

  it("passes on this machine once npm test has run it (everything the suite needs is here)", () => {
    const run = spawnSync("bash", ["test/prerequisites.sh"], { env: { ...process.env, TEST_PREREQUISITES: "check" }, encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });
});
