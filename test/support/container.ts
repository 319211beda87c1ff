import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { watchedProcess } from "./processes.js";

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, "../..");
const STORAGE = ["--storage-driver", "vfs"];

export interface BuiltImage {
  name: string;
  sizeBytes: number;
  buildSeconds: number;
  config: { User?: string; Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string; ExposedPorts?: Record<string, unknown> };
  /** Kept in Docker's image format (OCI has no health check). */
  healthcheck?: { Test?: string[] };
}

/** Builds the production image offline (src/dev/image.sh: the Containerfile on bases made locally). */
export async function buildImage(name: string): Promise<BuiltImage> {
  const started = performance.now();
  await run("bash", [join(REPO, "src/dev/image.sh"), name], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  const buildSeconds = (performance.now() - started) / 1000;
  const { stdout } = await run("podman", [...STORAGE, "image", "inspect", name]);
  const [inspected] = JSON.parse(stdout) as Array<{ Size: number; Config: BuiltImage["config"]; Healthcheck?: BuiltImage["healthcheck"] }>;
  return { name, sizeBytes: inspected!.Size, buildSeconds, config: inspected!.Config, ...(inspected!.Healthcheck ? { healthcheck: inspected!.Healthcheck } : {}) };
}

/** The image's root file system, mounted read-write for looking at (buildah from + mount); `remove` unmounts and forgets it. */
export async function mountImage(name: string): Promise<{ root: string; remove(): Promise<void> }> {
  const container = (await run("buildah", [...STORAGE, "from", "--pull-never", name])).stdout.trim();
  const root = (await run("buildah", [...STORAGE, "mount", container])).stdout.trim();
  return {
    root,
    async remove() {
      await run("buildah", [...STORAGE, "umount", container]).catch(() => undefined);
      await run("buildah", [...STORAGE, "rm", container]).catch(() => undefined);
    },
  };
}

/** Removes the image and the build's intermediate layers (vfs keeps a full copy of each), keeping the bases. */
export async function removeImage(name: string): Promise<void> {
  await run("podman", [...STORAGE, "rmi", "--force", name]).catch(() => undefined);
  await run("podman", [...STORAGE, "image", "prune", "--force"]).catch(() => undefined);
}

/**
 * Starts the image's entrypoint with its command (or `command`, as a task override would) as a
 * container runtime would, where none can run here: in a mount
 * namespace of its own, the root file system bound read-only with a scratch /tmp, /proc and /dev,
 * chrooted, as the image's user, with the image's environment and `env` (the host's network: the
 * emulator and the databases are on loopback).
 */
export function runEntrypoint(root: string, image: BuiltImage, env: Record<string, string>, command: string[] = image.config.Cmd ?? []) {
  const [uid, gid] = (image.config.User ?? "0:0").split(":");
  const imageEnv = Object.fromEntries((image.config.Env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
  const quote = (part: string) => `'${part.replace(/'/g, "'\\''")}'`;
  const entrypoint = [...(image.config.Entrypoint ?? []), ...command].map(quote).join(" ");
  // The host's shell sets the mounts up; the image has none, so what runs inside is the entrypoint alone.
  const script = [
    `mount --bind "$ROOT" "$ROOT"`,
    `mount -o remount,ro,bind "$ROOT"`,
    `mount -t tmpfs -o size=64m tmpfs "$ROOT/tmp"`,
    `mount --rbind /proc "$ROOT/proc"`,
    `mount --rbind /dev "$ROOT/dev"`,
    `exec unshare --root="$ROOT" --wd=${quote(image.config.WorkingDir || "/")} --setgid ${gid ?? uid} --setuid ${uid} -- ${entrypoint}`,
  ].join(" && ");
  const { child, output, exited } = watchedProcess("unshare", ["--mount", "--fork", "--", "/bin/sh", "-c", script], { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ROOT: root, ...imageEnv, ...env });
  /** The entrypoint's process: the first child of the namespace (unshare waits for it, ignoring signals). */
  const serverPid = () => Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(" ")[0]);
  return {
    child,
    output,
    exited,
    serverPid,
    /** What a runtime does to stop a container: SIGTERM to its process, then wait for it to exit. */
    async stop(): Promise<number | null> {
      if (child.exitCode === null) {
        try {
          process.kill(serverPid(), "SIGTERM");
        } catch {
          child.kill("SIGKILL");
        }
      }
      return exited;
    },
  };
}

/** The password for a postgres:// URL from ~/.pgpass, as libpq and node-postgres would find it (the container has no ~/.pgpass). */
export function pgpassPasswordFor(databaseUrl: string): string | undefined {
  const file = process.env.PGPASSFILE ?? join(homedir(), ".pgpass");
  if (!existsSync(file)) return undefined;
  const url = new URL(databaseUrl);
  const wanted = [url.hostname, url.port || "5432", url.pathname.slice(1), decodeURIComponent(url.username)];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const fields = line.split(":");
    if (fields.length < 5 || line.startsWith("#")) continue;
    if (wanted.every((value, i) => fields[i] === "*" || fields[i] === value)) return fields.slice(4).join(":");
  }
  return undefined;
}
