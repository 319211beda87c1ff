import { createServer, connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { UpstreamUnavailableError } from "../../src/errors.js";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { testCipher } from "../support/store-fixtures.js";
import { freshSchema } from "../support/postgres.js";

/**
 * The PostgreSQL store reached through a loopback proxy that the test cuts: the database really
 * goes away for the store (open connections dropped, new ones refused), without touching the
 * machine's shared PostgreSQL.
 */
async function proxyTo(host: string, port: number, listenPort = 0) {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((done) => server.listen(listenPort, "127.0.0.1", done));
  const address = server.address() as { port: number };
  return {
    port: address.port,
    cut: async () => {
      await new Promise<void>((done) => {
        server.close(() => done());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

describe("the PostgreSQL store when its database goes away", () => {
  it("answers with the retryable UPSTREAM_UNAVAILABLE, never an untyped error (which clients would see as INTERNAL_SERVER_ERROR)", async () => {
    const schema = await freshSchema();
    const target = new URL(schema.url);
    const proxy = await proxyTo(target.hostname, Number(target.port || 5432));
    target.port = String(proxy.port);
    const store = await PostgresStore.open(target.toString(), testCipher);
    try {
      await store.createConnection({ userId: "u1", tenant: "acme", poolBUsername: "dp-1" });
      await proxy.cut();
      for (const call of [() => store.getConnection("u1"), () => store.appendAudit({ at: new Date(), actorUserId: "u1", subjectUserId: "u1", action: "ISSUE", outcome: "SUCCESS", requestId: "r" }), () => store.withUserLock("u1", async () => 1)]) {
        const failure = await call().then(() => null, (error: unknown) => error);
        expect(failure).toBeInstanceOf(UpstreamUnavailableError);
        expect((failure as UpstreamUnavailableError).extensions).toEqual({ code: "UPSTREAM_UNAVAILABLE", retryable: true });
        expect((failure as Error).message).toBe("The broker's database is unavailable; try again shortly.");
      }
    } finally {
      await store.close().catch(() => undefined);
      await schema.drop();
    }
  });

  it("keeps the process running when the database goes away while a user lock is held, and the next lock works once it is back", async () => {
    const schema = await freshSchema();
    const database = new URL(schema.url);
    const reopen = (listenPort = 0) => proxyTo(database.hostname, Number(database.port || 5432), listenPort);
    let proxy = await reopen();
    const target = new URL(schema.url);
    target.port = String(proxy.port);
    const store = await PostgresStore.open(target.toString(), testCipher);
    // Without a listener on the checked-out lock connection, its 'error' is unhandled: vitest
    // reports it and Node would end a broker there (the fault drill's PostgreSQL restart found it).
    const unhandled: unknown[] = [];
    const record = (error: unknown) => unhandled.push(error);
    process.on("uncaughtException", record);
    try {
      const result = await store.withUserLock("u1", async () => {
        await proxy.cut();
        await new Promise((done) => setTimeout(done, 200));
        return "task finished";
      });
      expect(result).toBe("task finished");
      expect(unhandled).toEqual([]);
      proxy = await reopen(Number(target.port));
      expect(await store.withUserLock("u1", async () => "again")).toBe("again");
    } finally {
      process.off("uncaughtException", record);
      await proxy.cut();
      await store.close().catch(() => undefined);
      await schema.drop();
    }
  });
});
