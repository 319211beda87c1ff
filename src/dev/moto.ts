import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface MotoServer {
  endpoint: string;
  port: number;
  /** Freezes the server process (SIGSTOP): connections are accepted by the kernel but never answered. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** A free TCP port on loopback, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

function motoCommand(): { command: string; args: string[] } {
  const python = process.env.PYTHON ?? "python3";
  const probe = spawnSync(python, ["-c", "import moto.server"], { stdio: "ignore" });
  if (probe.status !== 0) {
    throw new Error(`moto server is not installed for ${python}. Install it with: pip install 'moto[server]'`);
  }
  return { command: python, args: ["-m", "moto.server"] };
}

/** Starts a moto server on loopback (a free port unless one is given) and waits until it answers. */
export async function startMoto(options: { port?: number; quiet?: boolean } = {}): Promise<MotoServer> {
  const port = options.port ?? (await freePort());
  const { command, args } = motoCommand();
  const child: ChildProcess = spawn(command, [...args, "-H", "127.0.0.1", "-p", String(port)], {
    stdio: options.quiet === false ? "inherit" : "ignore",
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: "false" },
  });
  let exited = false;
  child.on("exit", () => (exited = true));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`moto server exited during start-up (port ${port})`);
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`moto server did not answer on ${endpoint} within 30 s`);
    }
    await sleep(100);
  }
  return {
    endpoint,
    port,
    pause: () => void child.kill("SIGSTOP"),
    resume: () => void child.kill("SIGCONT"),
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGCONT");
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3_000).unref();
      }),
  };
}
