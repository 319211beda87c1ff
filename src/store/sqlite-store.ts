import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { LRUCache } from "lru-cache";
import type { AccessGrant, AuditEvent, CachedCredentials, ClientKey, Connection, ConnectionPatch, CredentialFlow, Issuance, Page, PoolBTokens, SealedValue, SessionDenial, Store, TenantCutoff } from "./store.js";
import {
  type AuditRow,
  type ClientKeyRow,
  type IssuanceRow,
  credentialsContext,
  sealTokenColumns,
  toAuditEvent,
  toClientKey,
  toConnection,
  CONNECTION_COLUMNS,
  type ConnectionColumnsRow,
  openTokenColumns,
  TOKEN_COLUMNS,
  type TokenRow,
  toIssuance,
  unsealCredentials,
  AUDIT_COLUMNS,
  likePrefix,
  auditValues,
  type SessionDenialRow,
  toSessionDenial,
  type TenantCutoffRow,
  toTenantCutoff,
  type GrantRow,
  toGrant,
  sealedValuesPage,
} from "./rows.js";
import { sqliteMigrations } from "./sqlite-migrations.js";
import type { TokenCipher } from "./token-cipher.js";
import { CANARY_KEY, checkEncryptionCanary } from "./encryption-canary.js";
import type { StoreTable } from "./tables.js";

/** `?, ?, ?` for an IN list: unlike json_each, it lets SQLite use the index (one statement per list length). */
const placeholders = (count: number) => Array.from({ length: count }, () => "?").join(", ");

/** Raised when another process holds the SQLite file: one broker process per file. */
export class DatabaseInUseError extends Error {
  constructor(path: string) {
    super(
      `The SQLite database ${path} is in use by another process. One broker process owns a SQLite file; ` +
        "stop the other one, or run several replicas on PostgreSQL (DATABASE_URL).",
    );
    this.name = "DatabaseInUseError";
  }
}

/**
 * The embedded default store: one SQLite file in WAL mode, owned by one process. The ownership is
 * enforced (an exclusive lock held while the store is open), which is what lets the broker's
 * in-process user lock stand for a database lock, and this class cache connection rows.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;

  /**
   * Connection rows (never tokens) by user id, read on nearly every request. Every write to the
   * connections table goes through this class and no other process can write the file, so an
   * entry is dropped on each write and can never be stale.
   */
  private readonly connections = new LRUCache<string, Connection>({ max: 10_000 });

  constructor(path: string, private readonly cipher: TokenCipher) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma("busy_timeout = 5000");
    // Before WAL is first used: the lock is then held from the first access until close, and WAL
    // keeps its index in process memory rather than a shared-memory file.
    this.db.pragma("locking_mode = EXCLUSIVE");
    try {
      this.db.pragma("journal_mode = WAL");
    } catch (error) {
      this.db.close();
      if ((error as { code?: string }).code === "SQLITE_BUSY") throw new DatabaseInUseError(path);
      throw error;
    }
    // WAL's recommended durability: no corruption on a crash, no fsync on every commit (a power cut
    // may lose the last transactions). Every audited request writes, so this sets the write rate.
    this.db.pragma("synchronous = NORMAL");
    this.migrate();
    this.db.pragma("foreign_keys = ON");
  }

  /**
   * Runs with foreign keys off (SQLite's documented way to rebuild a table that others reference),
   * each migration in its own transaction, then checks that every reference still holds.
   */
  private migrate(): void {
    this.db.pragma("foreign_keys = OFF");
    this.db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    const applied = new Set(this.db.prepare("SELECT version FROM schema_migrations").pluck().all() as number[]);
    for (const migration of sqliteMigrations) {
      if (applied.has(migration.version)) continue;
      this.db.transaction(() => {
        this.db.exec(migration.sql);
        this.db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(migration.version, migration.name, Date.now());
        const broken = this.db.pragma("foreign_key_check") as unknown[];
        if (broken.length > 0) throw new Error(`migration ${migration.version} left ${broken.length} broken references`);
      })();
    }
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** Prepared once per distinct SQL text: preparing on every call costs more than running the query. */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  /** Applied migration versions, oldest first. */
  appliedMigrations(): number[] {
    return this.db.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all() as number[];
  }

  async getConnection(userId: string): Promise<Connection | null> {
    return this.cachedConnection(userId) ?? null;
  }

  private cachedConnection(userId: string): Connection | undefined {
    let connection = this.connections.get(userId);
    if (!connection) {
      const row = this.sql(`SELECT ${CONNECTION_COLUMNS} FROM connections WHERE user_id = ?`).get(userId) as ConnectionColumnsRow | undefined;
      if (!row) return undefined;
      // Frozen: every caller shares the cached object.
      connection = Object.freeze(toConnection(row));
      this.connections.set(userId, connection);
    }
    return connection;
  }

  async getPoolBTokens(userId: string): Promise<PoolBTokens | null> {
    const row = this.sql(`SELECT ${TOKEN_COLUMNS} FROM connections WHERE user_id = ?`).get(userId) as TokenRow | undefined;
    return row ? openTokenColumns(row, this.cipher) : null;
  }

  async createConnection(c: Pick<Connection, "userId" | "tenant" | "poolBUsername">): Promise<Connection> {
    const now = Date.now();
    this
      .sql(
        `INSERT INTO connections (user_id, tenant, pool_b_username, state, created_at, updated_at)
         VALUES (?, ?, ?, 'PROVISIONING', ?, ?) ON CONFLICT (user_id) DO NOTHING`,
      )
      .run(c.userId, c.tenant, c.poolBUsername, now, now);
    this.connections.delete(c.userId);
    return (await this.getConnection(c.userId))!;
  }

  async updateConnection(userId: string, patch: ConnectionPatch): Promise<void> {
    const sets: string[] = ["updated_at = @updatedAt"];
    const params: Record<string, unknown> = { userId, updatedAt: Date.now() };
    if (patch.tenant !== undefined) {
      sets.push("tenant = @tenant");
      params.tenant = patch.tenant;
    }
    if (patch.identityId !== undefined) {
      sets.push("identity_id = @identityId");
      params.identityId = patch.identityId;
    }
    if (patch.state !== undefined) {
      sets.push("state = @state");
      params.state = patch.state;
    }
    if (patch.epoch !== undefined) {
      sets.push("epoch = @epoch");
      params.epoch = patch.epoch;
    }
    if (patch.poolAUsername !== undefined) {
      sets.push("pool_a_username = @poolAUsername");
      params.poolAUsername = patch.poolAUsername;
    }
    if (patch.poolAEmail !== undefined) {
      sets.push("pool_a_email = @poolAEmail");
      params.poolAEmail = patch.poolAEmail;
    }
    if (patch.tagLiveUntil !== undefined) {
      sets.push("tag_live_until = @tagLiveUntil");
      params.tagLiveUntil = patch.tagLiveUntil === null ? null : patch.tagLiveUntil.getTime();
    }
    if (patch.tokens !== undefined) {
      sets.push(
        "id_token_sealed = @idToken",
        "id_token_expires_at = @idTokenExpiresAt",
        "refresh_token_sealed = @refreshToken",
        "refresh_token_expires_at = @refreshTokenExpiresAt",
      );
      Object.assign(params, sealTokenColumns(userId, patch.tokens, this.cipher));
    }
    this.connections.delete(userId);
    this.sql(`UPDATE connections SET ${sets.join(", ")} WHERE user_id = @userId`).run(params);
  }

  async recordIssuance(i: Issuance): Promise<void> {
    this
      .sql("INSERT INTO issuances (user_id, flow, duration_seconds, issued_at, expires_at, request_id) VALUES (?, ?, ?, ?, ?, ?)")
      .run(i.userId, i.flow, i.durationSeconds, i.issuedAt.getTime(), i.expiresAt.getTime(), i.requestId);
  }

  async lastIssuance(userId: string): Promise<Issuance | null> {
    return (await this.lastIssuances([userId]))[0]!;
  }

  async lastIssuances(userIds: readonly string[]): Promise<Array<Issuance | null>> {
    if (userIds.length === 0) return [];
    const rows = this
      .sql(
        `SELECT i.* FROM issuances i
         JOIN (SELECT user_id, MAX(id) AS id FROM issuances WHERE user_id IN (${placeholders(userIds.length)}) GROUP BY user_id) last ON last.id = i.id`,
      )
      .all(...userIds) as IssuanceRow[];
    const byUser = new Map(rows.map((r) => [r.user_id, toIssuance(r)]));
    return userIds.map((id) => byUser.get(id) ?? null);
  }

  /** Audit events waiting for the next group commit, with their callers' promises. */
  private pendingAudit: Array<{ event: AuditEvent; resolve: () => void; reject: (error: unknown) => void }> = [];

  /**
   * Group commit: events appended in the same turn of the event loop are written in one
   * transaction, and each caller's promise settles only once that transaction has committed, so
   * nothing is acknowledged before it is stored. Under load one commit serves many requests (a
   * commit costs several times an insert).
   */
  appendAudit(event: AuditEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pendingAudit.push({ event, resolve, reject });
      if (this.pendingAudit.length === 1) setImmediate(() => this.flushAudit());
    });
  }

  private flushAudit(): void {
    const batch = this.pendingAudit;
    if (batch.length === 0) return;
    this.pendingAudit = [];
    try {
      this.db.transaction(() => {
        for (const { event } of batch) this.insertAudit(event);
      })();
    } catch {
      // The batch rolled back as a whole: write each event on its own, so one bad event fails alone.
      for (const pending of batch) {
        try {
          this.insertAudit(pending.event);
          pending.resolve();
        } catch (error) {
          pending.reject(error);
        }
      }
      return;
    }
    for (const pending of batch) pending.resolve();
  }

  private insertAudit(e: AuditEvent): void {
    this.sql(`INSERT INTO audit_events (${AUDIT_COLUMNS}) VALUES (${placeholders(17)})`).run(...auditValues(e));
  }

  async auditEvents(subjectUserId: string, limit: number): Promise<AuditEvent[]> {
    return (await this.auditEventsPage(subjectUserId, { first: limit })).items;
  }

  async auditEventsPage(subjectUserId: string, options: { first: number; after?: number | null }): Promise<Page<AuditEvent>> {
    const rows = this
      .sql("SELECT * FROM audit_events WHERE subject_user_id = ? AND id < ? ORDER BY id DESC LIMIT ?")
      .all(subjectUserId, options.after ?? Number.MAX_SAFE_INTEGER, options.first + 1) as AuditRow[];
    return { items: rows.slice(0, options.first).map(toAuditEvent), hasNextPage: rows.length > options.first };
  }

  async createClientKey(k: Omit<ClientKey, "revokedAt" | "firstUsedAt" | "lastUsedAt">): Promise<void> {
    this
      .sql(
        `INSERT INTO client_keys (id, user_id, name, flow, duration_seconds, secret_hash, scope_target, scope_permission, created_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(k.id, k.userId, k.name, k.flow, k.durationSeconds, k.secretHash, k.scopeTarget, k.scopePermission, k.createdBy, k.createdAt.getTime(), k.expiresAt.getTime());
  }

  async getClientKey(id: string): Promise<ClientKey | null> {
    const row = this.sql("SELECT * FROM client_keys WHERE id = ?").get(id) as ClientKeyRow | undefined;
    return row ? toClientKey(row) : null;
  }

  async listClientKeys(userId: string): Promise<ClientKey[]> {
    const rows = this.sql("SELECT * FROM client_keys WHERE user_id = ? ORDER BY created_at, id").all(userId) as ClientKeyRow[];
    return rows.map(toClientKey);
  }

  async revokeClientKey(id: string, at: Date): Promise<ClientKey | null> {
    this.sql("UPDATE client_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(at.getTime(), id);
    return this.getClientKey(id);
  }

  async revokeClientKeysOf(userId: string, at: Date): Promise<number> {
    return this.sql("UPDATE client_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL").run(at.getTime(), userId).changes;
  }

  async recordClientKeyUse(id: string, at: Date): Promise<boolean> {
    const first = this.sql("UPDATE client_keys SET first_used_at = ?, last_used_at = ? WHERE id = ? AND first_used_at IS NULL").run(at.getTime(), at.getTime(), id);
    if (first.changes > 0) return true;
    this.sql("UPDATE client_keys SET last_used_at = ? WHERE id = ?").run(at.getTime(), id);
    return false;
  }

  async claimSessionTag(userId: string, tag: string): Promise<boolean> {
    this.connections.delete(userId);
    return this.db.transaction(() => {
      if (this.sql("SELECT 1 FROM session_denials WHERE tag = ?").get(tag)) return false;
      try {
        return this.sql("UPDATE connections SET session_tag = ?, tag_live_until = NULL, updated_at = ? WHERE user_id = ?").run(tag, Date.now(), userId).changes > 0;
      } catch (error) {
        if ((error as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") return false;
        throw error;
      }
    })();
  }

  async putSessionDenial(d: Omit<SessionDenial, "applied">): Promise<void> {
    this
      .sql(
        `INSERT INTO session_denials (tag, shard, slot, tenant, user_id, expires_at, applied) VALUES (?, ?, ?, ?, ?, ?, 0)
         ON CONFLICT (tag) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)`,
      )
      .run(d.tag, d.shard, d.slot, d.tenant, d.userId, d.expiresAt.getTime());
  }

  async getSessionDenial(tag: string): Promise<SessionDenial | null> {
    const row = this.sql("SELECT * FROM session_denials WHERE tag = ?").get(tag) as SessionDenialRow | undefined;
    return row ? toSessionDenial(row) : null;
  }

  async denialSlotCounts(shard: number, now: Date): Promise<Map<number, number>> {
    this.sql("DELETE FROM session_denials WHERE shard = ? AND expires_at <= ?").run(shard, now.getTime());
    const rows = this.sql("SELECT slot, COUNT(*) AS n FROM session_denials WHERE shard = ? AND slot >= 0 GROUP BY slot").all(shard) as Array<{ slot: number; n: number }>;
    return new Map(rows.map((r) => [Number(r.slot), Number(r.n)]));
  }

  async unplacedDenials(shard: number): Promise<SessionDenial[]> {
    return (this.sql("SELECT * FROM session_denials WHERE shard = ? AND slot = -1 AND applied = 0 ORDER BY tag").all(shard) as SessionDenialRow[]).map(toSessionDenial);
  }

  async denialsInSlot(shard: number, slot: number): Promise<SessionDenial[]> {
    return (this.sql("SELECT * FROM session_denials WHERE shard = ? AND slot = ? ORDER BY tag").all(shard, slot) as SessionDenialRow[]).map(toSessionDenial);
  }

  async placeDenials(placements: ReadonlyArray<{ tag: string; slot: number; applied: boolean }>): Promise<void> {
    const place = this.sql("UPDATE session_denials SET slot = ?, applied = ? WHERE tag = ?");
    this.db.transaction(() => {
      for (const p of placements) place.run(p.slot, p.applied ? 1 : 0, p.tag);
    })();
  }

  async putTenantCutoff(c: TenantCutoff): Promise<void> {
    this
      .sql(
        `INSERT INTO tenant_cutoffs (tenant, cutoff_at, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (tenant) DO UPDATE SET cutoff_at = MAX(cutoff_at, excluded.cutoff_at), expires_at = MAX(expires_at, excluded.expires_at)`,
      )
      .run(c.tenant, c.cutoffAt.getTime(), c.expiresAt.getTime());
  }

  async tenantCutoffs(now: Date): Promise<TenantCutoff[]> {
    this.sql("DELETE FROM tenant_cutoffs WHERE expires_at <= ?").run(now.getTime());
    return (this.sql("SELECT * FROM tenant_cutoffs ORDER BY tenant").all() as TenantCutoffRow[]).map(toTenantCutoff);
  }

  async createGrant(g: AccessGrant): Promise<AccessGrant> {
    this.sql("INSERT INTO grant_tenants (tenant, managed_since) VALUES (?, ?) ON CONFLICT (tenant) DO NOTHING").run(g.tenant, g.createdAt.getTime());
    this
      .sql(
        `INSERT INTO access_grants (id, tenant, location, permission, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant, location, permission) DO NOTHING`,
      )
      .run(g.id, g.tenant, g.location, g.permission, g.createdBy, g.createdAt.getTime());
    const row = this.sql("SELECT * FROM access_grants WHERE tenant = ? AND location = ? AND permission = ?").get(g.tenant, g.location, g.permission) as GrantRow;
    return toGrant(row);
  }

  async listGrants(tenant: string): Promise<AccessGrant[]> {
    return (this.sql("SELECT * FROM access_grants WHERE tenant = ? ORDER BY location, permission").all(tenant) as GrantRow[]).map(toGrant);
  }

  async grantsManaged(tenant: string): Promise<boolean> {
    return this.sql("SELECT 1 FROM grant_tenants WHERE tenant = ?").get(tenant) !== undefined;
  }

  async getGrant(id: string): Promise<AccessGrant | null> {
    const row = this.sql("SELECT * FROM access_grants WHERE id = ?").get(id) as GrantRow | undefined;
    return row ? toGrant(row) : null;
  }

  async deleteGrant(id: string): Promise<boolean> {
    return this.sql("DELETE FROM access_grants WHERE id = ?").run(id).changes > 0;
  }

  async ping(): Promise<void> {
    this.sql("SELECT 1").get();
  }

  async checkEncryptionKey(): Promise<void> {
    await checkEncryptionCanary(
      this.cipher,
      async () => (this.sql("SELECT value FROM broker_meta WHERE key = ?").get(CANARY_KEY) as { value: string } | undefined)?.value ?? null,
      async (sealed) => void this.sql("INSERT INTO broker_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(CANARY_KEY, sealed),
    );
  }

  /** One process owns a SQLite file; the domain's in-process lock is all that is needed. */
  async withUserLock<T>(_userId: string, task: () => Promise<T>): Promise<T> {
    return task();
  }

  async getCachedCredentials(userId: string, flow: CredentialFlow, durationSeconds: number): Promise<CachedCredentials | null> {
    const row = this
      .sql("SELECT sealed FROM credential_cache WHERE user_id = ? AND flow = ? AND duration_seconds = ?")
      .get(userId, flow, durationSeconds) as { sealed: string } | undefined;
    return row ? unsealCredentials(this.cipher.open(row.sealed, credentialsContext(userId, flow, durationSeconds))) : null;
  }

  async putCachedCredentials(userId: string, flow: CredentialFlow, durationSeconds: number, credentials: CachedCredentials): Promise<void> {
    const sealed = this.cipher.seal(JSON.stringify(credentials), credentialsContext(userId, flow, durationSeconds));
    this
      .sql(
        `INSERT INTO credential_cache (user_id, flow, duration_seconds, sealed, expires_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (user_id, flow, duration_seconds) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at`,
      )
      .run(userId, flow, durationSeconds, sealed, credentials.expiration.getTime());
  }

  async forgetCachedCredentials(userId: string): Promise<void> {
    this.sql("DELETE FROM credential_cache WHERE user_id = ?").run(userId);
  }

  async getConnections(userIds: readonly string[]): Promise<Array<Connection | null>> {
    // Each id is one indexed lookup, mostly answered from the cache: no IN list to build.
    return userIds.map((id) => this.cachedConnection(id) ?? null);
  }

  async listClientKeysFor(userIds: readonly string[]): Promise<ClientKey[][]> {
    if (userIds.length === 0) return [];
    const rows = this
      .sql(`SELECT * FROM client_keys WHERE user_id IN (${placeholders(userIds.length)}) ORDER BY created_at, id`)
      .all(...userIds) as ClientKeyRow[];
    return userIds.map((id) => rows.filter((r) => r.user_id === id).map(toClientKey));
  }

  async listConnections(options: { first: number; after?: string | null; tenant?: string | null; search?: string | null }): Promise<Page<Connection>> {
    const rows = this
      .sql(
        `SELECT ${CONNECTION_COLUMNS} FROM connections WHERE user_id > ? AND (? IS NULL OR tenant = ?)
         AND (? IS NULL OR lower(pool_a_username) LIKE ? ESCAPE '\\' OR lower(pool_a_email) LIKE ? ESCAPE '\\' OR lower(user_id) LIKE ? ESCAPE '\\') ORDER BY user_id LIMIT ?`,
      )
      .all(options.after ?? "", options.tenant ?? null, options.tenant ?? null, ...Array(4).fill(likePrefix(options.search)), options.first + 1) as ConnectionColumnsRow[];
    return { items: rows.slice(0, options.first).map(toConnection), hasNextPage: rows.length > options.first };
  }

  async sealedValues(afterUserId: string, limit: number): Promise<{ values: SealedValue[]; lastUserId: string | null }> {
    const tokenRows = this.sql("SELECT user_id, id_token_sealed, refresh_token_sealed FROM connections WHERE user_id > ? ORDER BY user_id LIMIT ?").all(afterUserId, limit) as Parameters<typeof sealedValuesPage>[0];
    const last = tokenRows.at(-1)?.user_id;
    const cacheRows = last === undefined ? [] : (this.sql("SELECT user_id, flow, duration_seconds, sealed FROM credential_cache WHERE user_id > ? AND user_id <= ? ORDER BY user_id").all(afterUserId, last) as Parameters<typeof sealedValuesPage>[1]);
    return sealedValuesPage(tokenRows, cacheRows);
  }

  async replaceSealedValue(value: SealedValue, next: string): Promise<boolean> {
    const result =
      value.column === "credentials"
        ? this.sql("UPDATE credential_cache SET sealed = ? WHERE user_id = ? AND flow = ? AND duration_seconds = ? AND sealed = ?").run(next, value.userId, value.flow, value.durationSeconds, value.sealed)
        : this.sql(`UPDATE connections SET ${value.column}_sealed = ? WHERE user_id = ? AND ${value.column}_sealed = ?`).run(next, value.userId, value.sealed);
    return result.changes === 1;
  }

  async close(): Promise<void> {
    this.flushAudit();
    this.db.close();
  }

  /** Rows of one table as stored, in insertion order: what the move to PostgreSQL copies (src/store/move-to-postgres.ts). */
  *tableRows(table: StoreTable): Generator<Record<string, unknown>> {
    // A generator, so the statement opens only when the copy reaches this table (an open
    // iterator keeps the connection busy, and close() would fail after a failed copy).
    this.flushAudit();
    yield* this.db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).iterate() as IterableIterator<Record<string, unknown>>;
  }

  countRows(table: StoreTable): number {
    this.flushAudit();
    return this.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  }

  /** Raw row access for tests that check what is really on disk. */
  rawConnectionRow(userId: string): Record<string, unknown> | undefined {
    return this.sql("SELECT * FROM connections WHERE user_id = ?").get(userId) as Record<string, unknown> | undefined;
  }

}
