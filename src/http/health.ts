import type { FastifyInstance } from "fastify";
import type { Authenticator } from "../auth/authentication.js";
import type { Store } from "../store/store.js";
import type { Lifecycle } from "./dependencies.js";

/** Health: what a load balancer and an orchestrator ask. */
export function registerHealth(app: FastifyInstance, deps: { store: Store; authenticator: Pick<Authenticator, "poolA">; lifecycle: Lifecycle }): void {
  // Liveness: the process answers. Readiness: it can do its job (store reachable, JWKS loaded) and
  // is not shutting down, so a load balancer stops sending traffic before the server closes.
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const checks = { shuttingDown: deps.lifecycle.shuttingDown, store: "ok", jwks: "ok" };
    try {
      await deps.store.ping();
    } catch {
      checks.store = "unreachable";
    }
    if (!deps.authenticator.poolA.jwksLoaded) {
      checks.jwks = await deps.authenticator.poolA.warmUp().then(
        () => "ok",
        () => "not loaded",
      );
    }
    const ready = !checks.shuttingDown && checks.store === "ok" && checks.jwks === "ok";
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", checks });
  });
}
