import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import type { StackInfo } from "./bootstrap.js";

export const LOCAL_DIR = resolve(process.cwd(), ".local");
export const STACK_FILE = resolve(LOCAL_DIR, "stack.json");
export const STACK_ENV_FILE = resolve(LOCAL_DIR, "stack.env");
const LOCK_FILE = resolve(LOCAL_DIR, "stack.lock");

/** moto accepts any credentials; the SDKs only need some to sign with. */
export const EMULATOR_CREDENTIALS = { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" };

export function useEmulatorCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID ??= EMULATOR_CREDENTIALS.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY ??= EMULATOR_CREDENTIALS.AWS_SECRET_ACCESS_KEY;
}

export function readStack(): StackInfo {
  try {
    return JSON.parse(readFileSync(STACK_FILE, "utf8")) as StackInfo;
  } catch {
    throw new Error(`No local stack found at ${STACK_FILE}. Start it first with: npm run stack`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * One stack per folder: the lock file names the running stack's process; a second stack refuses to
 * start (before it starts anything), and a lock left by a stack that died is taken over.
 */
export function holdStackLock(url: string): { release(): void } {
  mkdirSync(LOCAL_DIR, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(LOCK_FILE, "wx", 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, url }));
      closeSync(fd);
      return { release: () => rmSync(LOCK_FILE, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let holder: { pid?: number; url?: string } = {};
      try {
        holder = JSON.parse(readFileSync(LOCK_FILE, "utf8")) as typeof holder;
      } catch {
        // half-written by a stack that died at once: stale
      }
      if (holder.pid && holder.pid !== process.pid && alive(holder.pid)) {
        throw new Error(`A local stack is already running in this folder (process ${holder.pid}, ${holder.url ?? "unknown address"}). Use it, or stop it first (Ctrl-C in its terminal, or kill ${holder.pid}).`);
      }
      rmSync(LOCK_FILE, { force: true });
    }
  }
  throw new Error(`Could not take ${LOCK_FILE}; remove it if no stack runs.`);
}

/** The previous run's state (moto keeps nothing between runs), but not the lock this run holds. */
export function clearLocalState(): void {
  for (const name of readdirSync(LOCAL_DIR)) {
    if (resolve(LOCAL_DIR, name) !== LOCK_FILE) rmSync(resolve(LOCAL_DIR, name), { recursive: true, force: true });
  }
}
