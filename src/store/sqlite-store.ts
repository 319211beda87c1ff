import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { AuditEvent, ClientKey, Connection, ConnectionState, CredentialFlow, Issuance, PoolBTokens, Store } from "./store.js";
import { sqliteMigrations } from "./sqlite-migrations.js";
import type { TokenCipher } from "./token-cipher.js";

interface ClientKeyRow {
  id: string;
  user_id: string;
  name: string;
  flow: CredentialFlow;
  duration_seconds: number;
  secret_hash: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  first_used_at: number | null;
  last_used_at: number | null;
}

const dateOrNull = (value: number | null) => (value === null ? null : new Date(value));

function toClientKey(row: ClientKeyRow): ClientKey {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    flow: row.flow,
    durationSeconds: row.duration_seconds,
    secretHash: row.secret_hash,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    revokedAt: dateOrNull(row.revoked_at),
    firstUsedAt: dateOrNull(row.first_used_at),
    lastUsedAt: dateOrNull(row.last_used_at),
  };
}

interface ConnectionRow {
  user_id: string;
  tenant: string;
  pool_b_username: string;
  identity_id: string | null;
  state: ConnectionState;
  id_token_sealed: string | null;
  id_token_expires_at: number | null;
  refresh_token_sealed: string | null;
  refresh_token_expires_at: number | null;
  created_at: number;
  updated_at: number;
}

/** The embedded default store: one SQLite file in WAL mode. */
export class SqliteStore implements Store {
  private readonly db: Database.Database;

  constructor(path: string, private readonly cipher: TokenCipher) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000");
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

  /** Applied migration versions, oldest first. */
  appliedMigrations(): number[] {
    return this.db.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all() as number[];
  }

  async getConnection(userId: string): Promise<Connection | null> {
    const row = this.db.prepare("SELECT * FROM connections WHERE user_id = ?").get(userId) as ConnectionRow | undefined;
    return row ? this.toConnection(row) : null;
  }

  async createConnection(c: Pick<Connection, "userId" | "tenant" | "poolBUsername">): Promise<Connection> {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO connections (user_id, tenant, pool_b_username, state, created_at, updated_at)
         VALUES (?, ?, ?, 'PROVISIONING', ?, ?) ON CONFLICT (user_id) DO NOTHING`,
      )
      .run(c.userId, c.tenant, c.poolBUsername, now, now);
    return (await this.getConnection(c.userId))!;
  }

  async updateConnection(userId: string, patch: Partial<Pick<Connection, "tenant" | "identityId" | "state" | "tokens">>): Promise<void> {
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
    if (patch.tokens !== undefined) {
      sets.push(
        "id_token_sealed = @idToken",
        "id_token_expires_at = @idTokenExpiresAt",
        "refresh_token_sealed = @refreshToken",
        "refresh_token_expires_at = @refreshTokenExpiresAt",
      );
      const t = patch.tokens;
      params.idToken = t ? this.cipher.seal(t.idToken, `${userId}/id_token`) : null;
      params.idTokenExpiresAt = t ? t.idTokenExpiresAt.getTime() : null;
      params.refreshToken = t ? this.cipher.seal(t.refreshToken, `${userId}/refresh_token`) : null;
      params.refreshTokenExpiresAt = t ? t.refreshTokenExpiresAt.getTime() : null;
    }
    this.db.prepare(`UPDATE connections SET ${sets.join(", ")} WHERE user_id = @userId`).run(params);
  }

  async recordIssuance(i: Issuance): Promise<void> {
    this.db
      .prepare("INSERT INTO issuances (user_id, flow, duration_seconds, issued_at, expires_at, request_id) VALUES (?, ?, ?, ?, ?, ?)")
      .run(i.userId, i.flow, i.durationSeconds, i.issuedAt.getTime(), i.expiresAt.getTime(), i.requestId);
  }

  async lastIssuance(userId: string): Promise<Issuance | null> {
    const row = this.db.prepare("SELECT * FROM issuances WHERE user_id = ? ORDER BY id DESC LIMIT 1").get(userId) as
      | { user_id: string; flow: CredentialFlow; duration_seconds: number; issued_at: number; expires_at: number; request_id: string }
      | undefined;
    if (!row) return null;
    return {
      userId: row.user_id,
      flow: row.flow,
      durationSeconds: row.duration_seconds,
      issuedAt: new Date(row.issued_at),
      expiresAt: new Date(row.expires_at),
      requestId: row.request_id,
    };
  }

  async appendAudit(e: AuditEvent): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO audit_events (at, actor_user_id, subject_user_id, action, outcome, request_id, flow, duration_seconds, error_code, client_key_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        e.at.getTime(),
        e.actorUserId,
        e.subjectUserId,
        e.action,
        e.outcome,
        e.requestId,
        e.flow ?? null,
        e.durationSeconds ?? null,
        e.errorCode ?? null,
        e.clientKeyId ?? null,
      );
  }

  async auditEvents(subjectUserId: string, limit: number): Promise<AuditEvent[]> {
    const rows = this.db
      .prepare("SELECT * FROM audit_events WHERE subject_user_id = ? ORDER BY id DESC LIMIT ?")
      .all(subjectUserId, limit) as Array<{
      at: number;
      actor_user_id: string;
      subject_user_id: string;
      action: AuditEvent["action"];
      outcome: AuditEvent["outcome"];
      request_id: string;
      flow: CredentialFlow | null;
      duration_seconds: number | null;
      error_code: string | null;
      client_key_id: string | null;
    }>;
    return rows.map((r) => ({
      at: new Date(r.at),
      actorUserId: r.actor_user_id,
      subjectUserId: r.subject_user_id,
      action: r.action,
      outcome: r.outcome,
      requestId: r.request_id,
      ...(r.flow ? { flow: r.flow } : {}),
      ...(r.duration_seconds !== null ? { durationSeconds: r.duration_seconds } : {}),
      ...(r.error_code ? { errorCode: r.error_code } : {}),
      ...(r.client_key_id ? { clientKeyId: r.client_key_id } : {}),
    }));
  }

  async createClientKey(k: Omit<ClientKey, "revokedAt" | "firstUsedAt" | "lastUsedAt">): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO client_keys (id, user_id, name, flow, duration_seconds, secret_hash, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(k.id, k.userId, k.name, k.flow, k.durationSeconds, k.secretHash, k.createdAt.getTime(), k.expiresAt.getTime());
  }

  async getClientKey(id: string): Promise<ClientKey | null> {
    const row = this.db.prepare("SELECT * FROM client_keys WHERE id = ?").get(id) as ClientKeyRow | undefined;
    return row ? toClientKey(row) : null;
  }

  async listClientKeys(userId: string): Promise<ClientKey[]> {
    const rows = this.db.prepare("SELECT * FROM client_keys WHERE user_id = ? ORDER BY created_at, id").all(userId) as ClientKeyRow[];
    return rows.map(toClientKey);
  }

  async revokeClientKey(id: string, at: Date): Promise<ClientKey | null> {
    this.db.prepare("UPDATE client_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(at.getTime(), id);
    return this.getClientKey(id);
  }

  async revokeClientKeysOf(userId: string, at: Date): Promise<number> {
    return this.db.prepare("UPDATE client_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL").run(at.getTime(), userId).changes;
  }

  async recordClientKeyUse(id: string, at: Date): Promise<boolean> {
    const first = this.db.prepare("UPDATE client_keys SET first_used_at = ?, last_used_at = ? WHERE id = ? AND first_used_at IS NULL").run(at.getTime(), at.getTime(), id);
    if (first.changes > 0) return true;
    this.db.prepare("UPDATE client_keys SET last_used_at = ? WHERE id = ?").run(at.getTime(), id);
    return false;
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /** Raw row access for tests that check what is really on disk. */
  rawConnectionRow(userId: string): Record<string, unknown> | undefined {
    return this.db.prepare("SELECT * FROM connections WHERE user_id = ?").get(userId) as Record<string, unknown> | undefined;
  }

  private toConnection(row: ConnectionRow): Connection {
    let tokens: PoolBTokens | null = null;
    if (row.id_token_sealed && row.refresh_token_sealed && row.id_token_expires_at !== null && row.refresh_token_expires_at !== null) {
      tokens = {
        idToken: this.cipher.open(row.id_token_sealed, `${row.user_id}/id_token`),
        idTokenExpiresAt: new Date(row.id_token_expires_at),
        refreshToken: this.cipher.open(row.refresh_token_sealed, `${row.user_id}/refresh_token`),
        refreshTokenExpiresAt: new Date(row.refresh_token_expires_at),
      };
    }
    return {
      userId: row.user_id,
      tenant: row.tenant,
      poolBUsername: row.pool_b_username,
      identityId: row.identity_id,
      state: row.state,
      tokens,
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    };
  }
}
