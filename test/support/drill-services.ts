import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { freePort } from "../../src/dev/moto.js";

/**
 * Database and cache servers of a drill's own, on free loopback ports in temporary folders, so a
 * drill can stop and restart them without touching the machine's shared PostgreSQL and Redis.
 */
export interface DrillService {
  url: string;
  /** Stops the server (a clean, fast shutdown) and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it for good and removes its folder. */
  destroy(): Promise<void>;
}

const asPostgresUser = (command: string, args: string[]) =>
  // PostgreSQL refuses to run as root; these machines run tests as root.
  process.getuid?.() === 0 ? { command: "runuser", args: ["-u", "postgres", "--", command, ...args] } : { command, args };

function postgresBinary(name: string): string {
  const found = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  return found.status === 0 ? join(found.stdout.trim(), name) : name;
}

/** Signals `pid` (the server itself, which may run under runuser) and waits until `child` has exited. */
async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals, pid = child?.pid): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null || pid === undefined) return;
  const exited = once(child, "exit");
  process.kill(pid, signal);
  await exited;
}

export async function ownPostgres(): Promise<DrillService> {
  const dir = mkdtempSync(join(tmpdir(), "drill-pg-"));
  const data = join(dir, "data");
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
    chownSync(dir, id("-u"), id("-g"));
    chmodSync(dir, 0o700);
  }
  const init = asPostgresUser(postgresBinary("initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const initialised = spawnSync(init.command, init.args, { encoding: "utf8" });
  if (initialised.status !== 0) throw new Error(`initdb failed: ${initialised.stderr}`);
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;

  const start = async () => {
    const run = asPostgresUser(postgresBinary("postgres"), ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"]);
    child = spawn(run.command, run.args, { stdio: "ignore" });
    for (let i = 0; i < 300; i += 1) {
      const client = new pg.Client({ connectionString: url });
      const up = await client.connect().then(() => true, () => false);
      await client.end().catch(() => undefined);
      if (up) return;
      if (child.exitCode !== null) throw new Error("the drill's PostgreSQL exited at start");
      await sleep(100);
    }
    throw new Error("the drill's PostgreSQL did not start within 30 s");
  };
  await start();
  // SIGINT to the postmaster (runuser does not pass it on): PostgreSQL's fast shutdown, which ends
  // open sessions, as a restart for maintenance does.
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    await stopChild(child, "SIGINT", Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]));
  };
  return {
    url,
    start,
    stop,
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function ownRedis(): Promise<DrillService> {
  const dir = mkdtempSync(join(tmpdir(), "drill-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
    for (let i = 0; i < 100; i += 1) {
      if (spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" }).stdout.trim() === "PONG") return;
      await sleep(100);
    }
    throw new Error("the drill's Redis did not start");
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    stop: () => stopChild(child, "SIGTERM"),
    destroy: async () => {
      await stopChild(child, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
