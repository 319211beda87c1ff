import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerEnvironment } from "../../src/dev/bootstrap.js";
import { createBroker, type Broker } from "../../src/app.js";
import { loadEnvironment } from "../../src/config/environment.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { TokenCipher } from "../../src/store/token-cipher.js";
import { AuditEventsDocument, ConnectionsDocument, ProvisionDataPlatformUserDocument } from "../../src/client/graphql.js";
import { errorCodes, execute } from "../support/graphql-client.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { tokenFor } from "../support/users.js";

/** Counts every call the broker makes on its store, to show that list queries do not fan out. */
function counting(store: Store): { store: Store; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return value.apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

let aws: LocalAws;
let broker: Broker;
let url: string;
let raw: SqliteStore;
let calls: string[];
let dir: string;
let admin: string;
let alice: string;

beforeAll(async () => {
  aws = await startLocalAws();
  dir = mkdtempSync(join(tmpdir(), "admin-queries-"));
  const config = loadEnvironment(brokerEnvironment(aws.stack, { NODE_ENV: "test", LOG_LEVEL: "warn", DATABASE_PATH: join(dir, "b.sqlite"), TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64") }));
  raw = new SqliteStore(config.database.path, new TokenCipher(config.encryption.activeKeyId, config.encryption.keys));
  const counted = counting(raw);
  calls = counted.calls;
  broker = await createBroker(config, { store: counted.store });
  url = `${await broker.app.listen({ host: "127.0.0.1", port: 0 })}/graphql`;
  [admin, alice] = await Promise.all([tokenFor(aws.stack, "admin"), tokenFor(aws.stack, "alice")]);
  // Many connections straight in the store (as earlier provisionings would have left them), a few with history.
  for (let i = 0; i < 60; i += 1) {
    const userId = `user-${String(i).padStart(3, "0")}`;
    await raw.createConnection({ userId, tenant: i % 3 === 0 ? "globex" : "acme", poolBUsername: `dp-${i}` });
    await raw.updateConnection(userId, { state: "ACTIVE", identityId: `eu-west-1:${i}` });
    if (i % 2 === 0) await raw.recordIssuance({ userId, flow: "CLASSIC", durationSeconds: 900, issuedAt: new Date(), expiresAt: new Date(Date.now() + 900_000), requestId: "seed" });
    if (i % 5 === 0) await raw.createClientKey({ id: `key-${i}`, userId, name: `job ${i}`, flow: "ENHANCED", durationSeconds: 3600, secretHash: "ab".repeat(32), scopeTarget: "", scopePermission: "READ" as const, createdBy: null, createdAt: new Date(), expiresAt: new Date(Date.now() + 86_400_000) });
  }
});

afterAll(async () => {
  await broker?.close();
  await aws?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function storeCallsFor(first: number): Promise<string[]> {
  calls.length = 0;
  const result = await execute(url, ConnectionsDocument, { first }, admin);
  expect(result.errors).toBeUndefined();
  expect(result.data!.connections.nodes).toHaveLength(first);
  return [...calls];
}

describe("administrator list queries", () => {
  it("cost the same bounded number of store calls for 5 or 60 connections (DataLoader)", async () => {
    const small = await storeCallsFor(5);
    const large = await storeCallsFor(60);
    expect(large).toEqual(small);
    // appendAudit: the administrator's read is audited, once per page.
    expect(large.sort()).toEqual(["appendAudit", "lastIssuances", "listClientKeysFor", "listConnections"]);
  });

  it("page through connections with a cursor, optionally by tenant, with batched fields filled in", async () => {
    const first = await execute(url, ConnectionsDocument, { first: 25 }, admin);
    expect(first.data!.connections.pageInfo).toEqual({ hasNextPage: true, endCursor: "user-024" });
    const seen = first.data!.connections.nodes.map((n) => n.userId);
    let cursor = first.data!.connections.pageInfo.endCursor;
    while (cursor) {
      const next = await execute(url, ConnectionsDocument, { first: 25, after: cursor }, admin);
      seen.push(...next.data!.connections.nodes.map((n) => n.userId));
      cursor = next.data!.connections.pageInfo.hasNextPage ? next.data!.connections.pageInfo.endCursor : null;
    }
    expect(seen.filter((id) => id.startsWith("user-"))).toHaveLength(60);
    const user0 = first.data!.connections.nodes.find((n) => n.userId === "user-000")!;
    expect(user0).toMatchObject({ lastCredentialFlow: "CLASSIC", clientKeys: [{ id: "key-0", name: "job 0" }] });
    expect(first.data!.connections.nodes.find((n) => n.userId === "user-001")).toMatchObject({ lastCredentialFlow: null, clientKeys: [] });
    const globex = await execute(url, ConnectionsDocument, { first: 100, tenant: "globex" }, admin);
    expect(globex.data!.connections.nodes.every((n) => n.tenant === "globex")).toBe(true);
    expect(globex.data!.connections.nodes).toHaveLength(20);
  });

  it("refuse ordinary users and page sizes out of range", async () => {
    expect(errorCodes(await execute(url, ConnectionsDocument, { first: 5 }, alice))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await execute(url, ConnectionsDocument, { first: 1000 }, admin))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await execute(url, ConnectionsDocument, { first: 0 }, admin))).toEqual(["BAD_USER_INPUT"]);
  });

  it("page a user's audit trail, newest first; users see only their own", async () => {
    const aliceToken = alice;
    for (let i = 0; i < 3; i += 1) await execute(url, ProvisionDataPlatformUserDocument, {}, aliceToken);
    const own = await execute(url, AuditEventsDocument, { first: 2 }, aliceToken);
    expect(own.errors).toBeUndefined();
    expect(own.data!.auditEvents.nodes.map((e) => e.action)).toEqual(["PROVISION", "PROVISION"]);
    expect(own.data!.auditEvents.pageInfo.hasNextPage).toBe(true);
    const rest = await execute(url, AuditEventsDocument, { first: 10, after: own.data!.auditEvents.pageInfo.endCursor }, aliceToken);
    // The third provisioning, and alice's refused attempt to list connections (an earlier test).
    expect(rest.data!.auditEvents.nodes.map((e) => [e.action, e.reason])).toEqual([
      ["PROVISION", null],
      ["ACCESS_REFUSED", "NOT_ADMIN"],
    ]);
    const aliceId = own.data!.auditEvents.nodes[0]!.subjectUserId;
    const asAdmin = (await execute(url, AuditEventsDocument, { userId: aliceId, first: 10 }, admin)).data!.auditEvents.nodes;
    // The administrator's read is itself on alice's trail, newest first.
    expect(asAdmin.map((e) => e.action)).toEqual(["ADMIN_READ", "PROVISION", "PROVISION", "PROVISION", "ACCESS_REFUSED"]);
    expect(errorCodes(await execute(url, AuditEventsDocument, { userId: "user-001", first: 10 }, aliceToken))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await execute(url, AuditEventsDocument, { first: 10, after: "not-a-cursor" }, aliceToken))).toEqual(["BAD_USER_INPUT"]);
  });
});
