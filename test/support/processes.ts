import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

export interface WatchedProcess {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved as they came (what a test shows when the process misbehaves). */
  output(): string;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** A process whose output is kept for the test to read, and whose exit it can await. */
export function watchedProcess(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): WatchedProcess {
  const child = spawn(command, args, { ...(cwd ? { cwd } : {}), env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  return { child, output: () => output, exited: once(child, "exit").then(([code]) => code as number | null) };
}
