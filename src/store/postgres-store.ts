import pg from "pg";
import { UpstreamUnavailableError } from "../errors.js";
import { postgresMigrations } from "./postgres-migrations.js";
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
import type { AccessGrant, AuditEvent, CachedCredentials, ClientKey, Connection, ConnectionPatch, CredentialFlow, Issuance, Page, PoolBTokens, SealedValue, SessionDenial, Store, TenantCutoff } from "./store.js";
import type { TokenCipher } from "./token-cipher.js";
import { CANARY_KEY, checkEncryptionCanary } from "./encryption-canary.js";
import { SERIAL_TABLES, type StoreTable } from "./tables.js";

const INT8_OID = 20;
/** Epoch milliseconds and serial ids fit a JavaScript number; read BIGINT as one. */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * Failures of the database connection itself (a restart, a refused or dropped connection, a pool
 * wait or query past its bound), as opposed to errors in a statement: the caller may retry.
 */
const CONNECTION_ERROR_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006"]);
const CONNECTION_ERROR_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error/;

export function asStoreError(error: unknown): unknown {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if ((code && CONNECTION_ERROR_CODES.has(code)) || (message && CONNECTION_ERROR_MESSAGES.test(message))) return new UpstreamUnavailableError("The broker's database is unavailable; try again shortly.").causedBy(error);
  return error;
}

/** Lock ids for pg_advisory_lock: one for migrations, and one per user derived by hashtext(). */
const MIGRATION_LOCK = 0x53334252; // "S3BR"

/**
 * The store for several replicas: PostgreSQL, chosen by DATABASE_URL. Provisioning and issuance
 * for one user are serialised across processes with a session-level advisory lock.
 */
export class PostgresStore implements Store {
  private readonly pool: pg.Pool;
  /**
   * Advisory locks are held on connections of their own: a lock holder's queries then never wait
   * for a connection that another lock holder keeps, which would deadlock a busy pool.
   */
  private readonly lockPool: pg.Pool;

  private constructor(connectionString: string, private readonly cipher: TokenCipher, poolSize: number) {
    // Bounds, so a database that stops answering gives typed errors rather than hung requests.
    this.pool = new pg.Pool({ connectionString, max: poolSize, types, connectionTimeoutMillis: 5_000, query_timeout: 10_000 });
    this.lockPool = new pg.Pool({ connectionString, max: poolSize, types, connectionTimeoutMillis: 5_000 });
    // An idle client that dies (database restart) must not take the process down; the next query reconnects.
    this.pool.on("error", () => undefined);
    this.lockPool.on("error", () => undefined);
  }

  /**
   * A checked-out client has no pool listener: a session the server ends meanwhile (a restart, a
   * failover) would emit an unhandled 'error' and take the process down. This one records the loss,
   * and `release` drops a lost client instead of returning it to the pool.
   */
  private static async checkout(pool: pg.Pool): Promise<{ client: pg.PoolClient; release(broken?: boolean): void }> {
    const client = await pool.connect();
    let lost = false;
    const onError = () => void (lost = true);
    client.on("error", onError);
    return {
      client,
      release: (broken = false) => {
        client.off("error", onError);
        client.release(broken || lost);
      },
    };
  }

  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (error) {
      throw asStoreError(error);
    }
  }

  static async open(connectionString: string, cipher: TokenCipher, options: { poolSize?: number } = {}): Promise<PostgresStore> {
    const store = new PostgresStore(connectionString, cipher, options.poolSize ?? 10);
    await store.migrate();
    return store;
  }

  private async migrate(): Promise<void> {
    const { client, release } = await PostgresStore.checkout(this.pool);
    try {
      // Replicas starting together: one migrates, the others wait and then find nothing to do.
      await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
      await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
      const applied = new Set((await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map((r) => r.version));
      for (const migration of postgresMigrations) {
        if (applied.has(migration.version)) continue;
        await client.query("BEGIN");
        try {
          await client.query(migration.sql);
          await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [migration.version, migration.name, Date.now()]);
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK");
          throw error;
        }
      }
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
      release();
    }
  }

  async appliedMigrations(): Promise<number[]> {
    return (await this.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version")).rows.map((r) => r.version);
  }

  async createGrant(g: AccessGrant): Promise<AccessGrant> {
    await this.query("INSERT INTO grant_tenants (tenant, managed_since) VALUES ($1, $2) ON CONFLICT (tenant) DO NOTHING", [g.tenant, g.createdAt.getTime()]);
    await this.query(
      `INSERT INTO access_grants (id, tenant, location, permission, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (tenant, location, permission) DO NOTHING`,
      [g.id, g.tenant, g.location, g.permission, g.createdBy, g.createdAt.getTime()],
    );
    const { rows } = await this.query<GrantRow>("SELECT * FROM access_grants WHERE tenant = $1 AND location = $2 AND permission = $3", [g.tenant, g.location, g.permission]);
    return toGrant(rows[0]!);
  }

  async listGrants(tenant: string): Promise<AccessGrant[]> {
    return (await this.query<GrantRow>("SELECT * FROM access_grants WHERE tenant = $1 ORDER BY location, permission", [tenant])).rows.map(toGrant);
  }

  async grantsManaged(tenant: string): Promise<boolean> {
    return ((await this.query("SELECT 1 FROM grant_tenants WHERE tenant = $1", [tenant])).rowCount ?? 0) > 0;
  }

  async getGrant(id: string): Promise<AccessGrant | null> {
    const { rows } = await this.query<GrantRow>("SELECT * FROM access_grants WHERE id = $1", [id]);
    return rows[0] ? toGrant(rows[0]) : null;
  }

  async deleteGrant(id: string): Promise<boolean> {
    return ((await this.query("DELETE FROM access_grants WHERE id = $1", [id])).rowCount ?? 0) > 0;
  }

  async ping(): Promise<void> {
    await this.query("SELECT 1");
  }

  async checkEncryptionKey(): Promise<void> {
    await checkEncryptionCanary(
      this.cipher,
      async () => (await this.query<{ value: string }>("SELECT value FROM broker_meta WHERE key = $1", [CANARY_KEY])).rows[0]?.value ?? null,
      async (sealed) => void (await this.query("INSERT INTO broker_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", [CANARY_KEY, sealed])),
    );
  }

  async withUserLock<T>(userId: string, task: () => Promise<T>): Promise<T> {
    let held: Awaited<ReturnType<typeof PostgresStore.checkout>>;
    try {
      held = await PostgresStore.checkout(this.lockPool);
      await held.client.query("SELECT pg_advisory_lock(hashtext($1))", [`user:${userId}`]).catch((error: unknown) => {
        held.release(true);
        throw error;
      });
    } catch (error) {
      throw asStoreError(error);
    }
    let broken = false;
    try {
      return await task();
    } finally {
      // A connection lost meanwhile has released the lock with its session: it is dropped, not reused.
      await held.client.query("SELECT pg_advisory_unlock(hashtext($1))", [`user:${userId}`]).catch(() => (broken = true));
      held.release(broken);
    }
  }

  async getConnection(userId: string): Promise<Connection | null> {
    return (await this.getConnections([userId]))[0]!;
  }

  async getConnections(userIds: readonly string[]): Promise<Array<Connection | null>> {
    if (userIds.length === 0) return [];
    const { rows } = await this.query<ConnectionColumnsRow>(`SELECT ${CONNECTION_COLUMNS} FROM connections WHERE user_id = ANY($1)`, [userIds]);
    const byUser = new Map(rows.map((r) => [r.user_id, toConnection(r)]));
    return userIds.map((id) => byUser.get(id) ?? null);
  }

  async getPoolBTokens(userId: string): Promise<PoolBTokens | null> {
    const { rows } = await this.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM connections WHERE user_id = $1`,
      [userId],
    );
    return rows[0] ? openTokenColumns(rows[0], this.cipher) : null;
  }

  async createConnection(c: Pick<Connection, "userId" | "tenant" | "poolBUsername">): Promise<Connection> {
    const now = Date.now();
    await this.query(
      `INSERT INTO connections (user_id, tenant, pool_b_username, state, created_at, updated_at)
       VALUES ($1, $2, $3, 'PROVISIONING', $4, $4) ON CONFLICT (user_id) DO NOTHING`,
      [c.userId, c.tenant, c.poolBUsername, now],
    );
    return (await this.getConnection(c.userId))!;
  }

  async updateConnection(userId: string, patch: ConnectionPatch): Promise<void> {
    const sets = ["updated_at = $2"];
    const values: unknown[] = [userId, Date.now()];
    const set = (column: string, value: unknown) => {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    };
    if (patch.tenant !== undefined) set("tenant", patch.tenant);
    if (patch.identityId !== undefined) set("identity_id", patch.identityId);
    if (patch.state !== undefined) set("state", patch.state);
    if (patch.epoch !== undefined) set("epoch", patch.epoch);
    if (patch.poolAUsername !== undefined) set("pool_a_username", patch.poolAUsername);
    if (patch.poolAEmail !== undefined) set("pool_a_email", patch.poolAEmail);
    if (patch.tagLiveUntil !== undefined) set("tag_live_until", patch.tagLiveUntil === null ? null : patch.tagLiveUntil.getTime());
    if (patch.tokens !== undefined) {
      const sealed = sealTokenColumns(userId, patch.tokens, this.cipher);
      set("id_token_sealed", sealed.idToken);
      set("id_token_expires_at", sealed.idTokenExpiresAt);
      set("refresh_token_sealed", sealed.refreshToken);
      set("refresh_token_expires_at", sealed.refreshTokenExpiresAt);
    }
    await this.query(`UPDATE connections SET ${sets.join(", ")} WHERE user_id = $1`, values);
  }

  async listConnections(options: { first: number; after?: string | null; tenant?: string | null; search?: string | null }): Promise<Page<Connection>> {
    const { rows } = await this.query<ConnectionColumnsRow>(
      `SELECT ${CONNECTION_COLUMNS} FROM connections WHERE user_id > $1 AND ($2::text IS NULL OR tenant = $2)
       AND ($4::text IS NULL OR lower(pool_a_username) LIKE $4 ESCAPE '\\' OR lower(pool_a_email) LIKE $4 ESCAPE '\\' OR lower(user_id) LIKE $4 ESCAPE '\\')
       ORDER BY user_id LIMIT $3`,
      [options.after ?? "", options.tenant ?? null, options.first + 1, likePrefix(options.search)],
    );
    return { items: rows.slice(0, options.first).map(toConnection), hasNextPage: rows.length > options.first };
  }

  async recordIssuance(i: Issuance): Promise<void> {
    await this.query(
      "INSERT INTO issuances (user_id, flow, duration_seconds, issued_at, expires_at, request_id) VALUES ($1, $2, $3, $4, $5, $6)",
      [i.userId, i.flow, i.durationSeconds, i.issuedAt.getTime(), i.expiresAt.getTime(), i.requestId],
    );
  }

  async lastIssuance(userId: string): Promise<Issuance | null> {
    return (await this.lastIssuances([userId]))[0]!;
  }

  async lastIssuances(userIds: readonly string[]): Promise<Array<Issuance | null>> {
    if (userIds.length === 0) return [];
    const { rows } = await this.query<IssuanceRow>(
      "SELECT DISTINCT ON (user_id) * FROM issuances WHERE user_id = ANY($1) ORDER BY user_id, id DESC",
      [userIds],
    );
    const byUser = new Map(rows.map((r) => [r.user_id, toIssuance(r)]));
    return userIds.map((id) => byUser.get(id) ?? null);
  }

  async appendAudit(e: AuditEvent): Promise<void> {
    const values = auditValues(e);
    await this.query(`INSERT INTO audit_events (${AUDIT_COLUMNS}) VALUES (${values.map((_, i) => `$${i + 1}`).join(", ")})`, values);
  }

  async auditEvents(subjectUserId: string, limit: number): Promise<AuditEvent[]> {
    return (await this.auditEventsPage(subjectUserId, { first: limit })).items;
  }

  async auditEventsPage(subjectUserId: string, options: { first: number; after?: number | null }): Promise<Page<AuditEvent>> {
    const { rows } = await this.query<AuditRow>(
      "SELECT * FROM audit_events WHERE subject_user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
      [subjectUserId, options.after ?? Number.MAX_SAFE_INTEGER, options.first + 1],
    );
    return { items: rows.slice(0, options.first).map(toAuditEvent), hasNextPage: rows.length > options.first };
  }

  async createClientKey(k: Omit<ClientKey, "revokedAt" | "firstUsedAt" | "lastUsedAt">): Promise<void> {
    await this.query(
      `INSERT INTO client_keys (id, user_id, name, flow, duration_seconds, secret_hash, scope_target, scope_permission, created_by, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [k.id, k.userId, k.name, k.flow, k.durationSeconds, k.secretHash, k.scopeTarget, k.scopePermission, k.createdBy, k.createdAt.getTime(), k.expiresAt.getTime()],
    );
  }

  async getClientKey(id: string): Promise<ClientKey | null> {
    const { rows } = await this.query<ClientKeyRow>("SELECT * FROM client_keys WHERE id = $1", [id]);
    return rows[0] ? toClientKey(rows[0]) : null;
  }

  async listClientKeys(userId: string): Promise<ClientKey[]> {
    return (await this.listClientKeysFor([userId]))[0]!;
  }

  async listClientKeysFor(userIds: readonly string[]): Promise<ClientKey[][]> {
    if (userIds.length === 0) return [];
    const { rows } = await this.query<ClientKeyRow>("SELECT * FROM client_keys WHERE user_id = ANY($1) ORDER BY created_at, id", [userIds]);
    return userIds.map((id) => rows.filter((r) => r.user_id === id).map(toClientKey));
  }

  async revokeClientKey(id: string, at: Date): Promise<ClientKey | null> {
    await this.query("UPDATE client_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", [at.getTime(), id]);
    return this.getClientKey(id);
  }

  async revokeClientKeysOf(userId: string, at: Date): Promise<number> {
    return (await this.query("UPDATE client_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL", [at.getTime(), userId])).rowCount ?? 0;
  }

  async recordClientKeyUse(id: string, at: Date): Promise<boolean> {
    // One statement: whether this was the first use is decided atomically, also across replicas.
    const { rows } = await this.query<{ first: boolean }>(
      `UPDATE client_keys SET first_used_at = COALESCE(first_used_at, $1), last_used_at = $1 WHERE id = $2
       RETURNING first_used_at = $1 AND last_used_at = $1 AS first`,
      [at.getTime(), id],
    );
    return rows[0]?.first ?? false;
  }

  async claimSessionTag(userId: string, tag: string): Promise<boolean> {
    try {
      const result = await this.query(
        `UPDATE connections SET session_tag = $2, tag_live_until = NULL, updated_at = $3
         WHERE user_id = $1 AND NOT EXISTS (SELECT 1 FROM session_denials WHERE tag = $2)`,
        [userId, tag, Date.now()],
      );
      return (result.rowCount ?? 0) > 0;
    } catch (error) {
      // unique_violation: another connection holds the tag.
      if ((error as { code?: string }).code === "23505") return false;
      throw error;
    }
  }

  async putSessionDenial(d: Omit<SessionDenial, "applied">): Promise<void> {
    await this.query(
      `INSERT INTO session_denials (tag, shard, slot, tenant, user_id, expires_at, applied) VALUES ($1, $2, $3, $4, $5, $6, 0)
       ON CONFLICT (tag) DO UPDATE SET expires_at = GREATEST(session_denials.expires_at, EXCLUDED.expires_at)`,
      [d.tag, d.shard, d.slot, d.tenant, d.userId, d.expiresAt.getTime()],
    );
  }

  async getSessionDenial(tag: string): Promise<SessionDenial | null> {
    const { rows } = await this.query<SessionDenialRow>("SELECT * FROM session_denials WHERE tag = $1", [tag]);
    return rows[0] ? toSessionDenial(rows[0]) : null;
  }

  async denialSlotCounts(shard: number, now: Date): Promise<Map<number, number>> {
    await this.query("DELETE FROM session_denials WHERE shard = $1 AND expires_at <= $2", [shard, now.getTime()]);
    const { rows } = await this.query<{ slot: number; n: string }>("SELECT slot, COUNT(*) AS n FROM session_denials WHERE shard = $1 AND slot >= 0 GROUP BY slot", [shard]);
    return new Map(rows.map((r) => [Number(r.slot), Number(r.n)]));
  }

  async unplacedDenials(shard: number): Promise<SessionDenial[]> {
    const { rows } = await this.query<SessionDenialRow>("SELECT * FROM session_denials WHERE shard = $1 AND slot = -1 AND applied = 0 ORDER BY tag", [shard]);
    return rows.map(toSessionDenial);
  }

  async denialsInSlot(shard: number, slot: number): Promise<SessionDenial[]> {
    const { rows } = await this.query<SessionDenialRow>("SELECT * FROM session_denials WHERE shard = $1 AND slot = $2 ORDER BY tag", [shard, slot]);
    return rows.map(toSessionDenial);
  }

  async placeDenials(placements: ReadonlyArray<{ tag: string; slot: number; applied: boolean }>): Promise<void> {
    if (placements.length === 0) return;
    await this.query(
      `UPDATE session_denials d SET slot = p.slot, applied = p.applied
       FROM unnest($1::text[], $2::int[], $3::int[]) AS p(tag, slot, applied) WHERE d.tag = p.tag`,
      [placements.map((p) => p.tag), placements.map((p) => p.slot), placements.map((p) => (p.applied ? 1 : 0))],
    );
  }

  async putTenantCutoff(c: TenantCutoff): Promise<void> {
    await this.query(
      `INSERT INTO tenant_cutoffs (tenant, cutoff_at, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (tenant) DO UPDATE SET cutoff_at = GREATEST(tenant_cutoffs.cutoff_at, EXCLUDED.cutoff_at), expires_at = GREATEST(tenant_cutoffs.expires_at, EXCLUDED.expires_at)`,
      [c.tenant, c.cutoffAt.getTime(), c.expiresAt.getTime()],
    );
  }

  async tenantCutoffs(now: Date): Promise<TenantCutoff[]> {
    await this.query("DELETE FROM tenant_cutoffs WHERE expires_at <= $1", [now.getTime()]);
    const { rows } = await this.query<TenantCutoffRow>("SELECT * FROM tenant_cutoffs ORDER BY tenant");
    return rows.map(toTenantCutoff);
  }

  async getCachedCredentials(userId: string, flow: CredentialFlow, durationSeconds: number): Promise<CachedCredentials | null> {
    const { rows } = await this.query<{ sealed: string }>(
      "SELECT sealed FROM credential_cache WHERE user_id = $1 AND flow = $2 AND duration_seconds = $3",
      [userId, flow, durationSeconds],
    );
    return rows[0] ? unsealCredentials(this.cipher.open(rows[0].sealed, credentialsContext(userId, flow, durationSeconds))) : null;
  }

  async putCachedCredentials(userId: string, flow: CredentialFlow, durationSeconds: number, credentials: CachedCredentials): Promise<void> {
    const sealed = this.cipher.seal(JSON.stringify(credentials), credentialsContext(userId, flow, durationSeconds));
    await this.query(
      `INSERT INTO credential_cache (user_id, flow, duration_seconds, sealed, expires_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (user_id, flow, duration_seconds) DO UPDATE SET sealed = EXCLUDED.sealed, expires_at = EXCLUDED.expires_at`,
      [userId, flow, durationSeconds, sealed, credentials.expiration.getTime()],
    );
  }

  async forgetCachedCredentials(userId: string): Promise<void> {
    await this.query("DELETE FROM credential_cache WHERE user_id = $1", [userId]);
  }

  async sealedValues(afterUserId: string, limit: number): Promise<{ values: SealedValue[]; lastUserId: string | null }> {
    // COLLATE "C": the byte order SQLite uses too, and the one "user_id > cursor" pages by.
    const tokenRows = (
      await this.query<Parameters<typeof sealedValuesPage>[0][number]>(
        `SELECT user_id, id_token_sealed, refresh_token_sealed FROM connections WHERE user_id COLLATE "C" > $1 ORDER BY user_id COLLATE "C" LIMIT $2`,
        [afterUserId, limit],
      )
    ).rows;
    const last = tokenRows.at(-1)?.user_id;
    const cacheRows =
      last === undefined
        ? []
        : (
            await this.query<Parameters<typeof sealedValuesPage>[1][number]>(
              `SELECT user_id, flow, duration_seconds, sealed FROM credential_cache WHERE user_id COLLATE "C" > $1 AND user_id COLLATE "C" <= $2`,
              [afterUserId, last],
            )
          ).rows;
    return sealedValuesPage(tokenRows, cacheRows);
  }

  async replaceSealedValue(value: SealedValue, next: string): Promise<boolean> {
    const result =
      value.column === "credentials"
        ? await this.query("UPDATE credential_cache SET sealed = $1 WHERE user_id = $2 AND flow = $3 AND duration_seconds = $4 AND sealed = $5", [next, value.userId, value.flow, value.durationSeconds, value.sealed])
        : await this.query(`UPDATE connections SET ${value.column}_sealed = $1 WHERE user_id = $2 AND ${value.column}_sealed = $3`, [next, value.userId, value.sealed]);
    return result.rowCount === 1;
  }

  async countRows(table: StoreTable): Promise<number> {
    return Number((await this.query<{ count: string }>(`SELECT count(*) AS count FROM ${table}`)).rows[0]!.count);
  }

  /**
   * Inserts rows as they are (ids included) in one transaction: the move from SQLite either lands
   * whole or leaves the database as it was. Serial ids continue after the copied ones.
   */
  async importRows(tables: ReadonlyArray<{ table: StoreTable; rows: Iterable<Record<string, unknown>> }>, batchSize = 500): Promise<void> {
    const { client, release } = await PostgresStore.checkout(this.pool);
    try {
      await client.query("BEGIN");
      for (const { table, rows } of tables) {
        let batch: Array<Record<string, unknown>> = [];
        const flush = async () => {
          if (batch.length === 0) return;
          const columns = Object.keys(batch[0]!);
          const values = batch.map((_, r) => `(${columns.map((__, c) => `$${r * columns.length + c + 1}`).join(", ")})`).join(", ");
          // A canary already written by a broker started on this database gives way to the copied one.
          const conflict = table === "broker_meta" ? " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value" : "";
          await client.query(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${values}${conflict}`, batch.flatMap((row) => columns.map((c) => row[c])));
          batch = [];
        };
        for (const row of rows) {
          batch.push(row);
          if (batch.length >= batchSize) await flush();
        }
        await flush();
        if (SERIAL_TABLES.has(table)) {
          await client.query(`SELECT setval(pg_get_serial_sequence($1, 'id'), COALESCE((SELECT max(id) FROM ${table}), 0) + 1, false)`, [table]);
        }
      }
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.lockPool.end()]);
  }
}
