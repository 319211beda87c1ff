import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import type { Authenticator } from "../auth/authentication.js";
import { dependencyUp, readiness } from "../metrics.js";
import type { Store } from "../store/store.js";

/** Shared between the server and the process that runs it: readiness fails first on shutdown. */
export interface Lifecycle {
  shuttingDown: boolean;
}

export interface ReadinessChecks {
  shuttingDown: boolean;
  store: "ok" | "unreachable";
  jwks: "ok" | "not loaded";
}

/**
 * Whether the broker can do its job: the store answers, Pool A's keys (JWKS) are loaded, and it is
 * not draining. What /readyz answers (a load balancer's health check) and what the metrics report
 * (broker_ready, broker_dependency_up), decided here once.
 */
export class ReadinessProbe {
  constructor(private readonly deps: { store: Store; authenticator: Pick<Authenticator, "poolA">; lifecycle: Lifecycle; redis?: Redis | undefined }) {}

  async check(): Promise<{ ready: boolean; checks: ReadinessChecks }> {
    const { store, authenticator, lifecycle, redis } = this.deps;
    const checks: ReadinessChecks = { shuttingDown: lifecycle.shuttingDown, store: "ok", jwks: "ok" };
    try {
      await store.ping();
    } catch {
      checks.store = "unreachable";
    }
    if (!authenticator.poolA.jwksLoaded) {
      checks.jwks = await authenticator.poolA.warmUp().then(
        () => "ok" as const,
        () => "not loaded" as const,
      );
    }
    const ready = !checks.shuttingDown && checks.store === "ok" && checks.jwks === "ok";
    readiness.set(ready ? 1 : 0);
    dependencyUp.set({ dependency: "database" }, checks.store === "ok" ? 1 : 0);
    dependencyUp.set({ dependency: "jwks" }, checks.jwks === "ok" ? 1 : 0);
    // Redis is not needed to be ready (rate limits fall back to memory), but on-call wants to know.
    if (redis) dependencyUp.set({ dependency: "redis" }, redis.status === "ready" ? 1 : 0);
    return { ready, checks };
  }
}

/** Health: what a load balancer and an orchestrator ask. */
export function registerHealth(app: FastifyInstance, probe: ReadinessProbe): void {
  // Liveness: the process answers. Readiness: it can do its job and is not shutting down, so a
  // load balancer stops sending traffic before the server closes.
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const { ready, checks } = await probe.check();
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", checks });
  });
}
