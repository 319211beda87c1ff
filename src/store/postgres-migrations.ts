/** Versioned schema changes for PostgreSQL, applied in order at start-up under an advisory lock. */
export const postgresMigrations: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: "connections, issuances, audit, client keys, credential cache",
    sql: `
      CREATE TABLE connections (
        user_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        pool_b_username TEXT NOT NULL UNIQUE,
        identity_id TEXT,
        state TEXT NOT NULL CHECK (state IN ('PROVISIONING', 'ACTIVE', 'DISABLED', 'REVOKED')),
        id_token_sealed TEXT,
        id_token_expires_at BIGINT,
        refresh_token_sealed TEXT,
        refresh_token_expires_at BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX connections_by_tenant ON connections (tenant, user_id);
      CREATE TABLE issuances (
        id BIGSERIAL PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES connections(user_id),
        flow TEXT NOT NULL,
        duration_seconds INTEGER NOT NULL,
        issued_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        request_id TEXT NOT NULL
      );
      CREATE INDEX issuances_by_user ON issuances (user_id, id DESC);
      CREATE TABLE audit_events (
        id BIGSERIAL PRIMARY KEY,
        at BIGINT NOT NULL,
        actor_user_id TEXT NOT NULL,
        subject_user_id TEXT NOT NULL,
        action TEXT NOT NULL,
        outcome TEXT NOT NULL,
        request_id TEXT NOT NULL,
        flow TEXT,
        duration_seconds INTEGER,
        error_code TEXT,
        client_key_id TEXT
      );
      CREATE INDEX audit_events_by_subject ON audit_events (subject_user_id, id DESC);
      CREATE TABLE client_keys (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES connections(user_id),
        name TEXT NOT NULL,
        flow TEXT NOT NULL,
        duration_seconds INTEGER NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT,
        first_used_at BIGINT,
        last_used_at BIGINT
      );
      CREATE INDEX client_keys_by_user ON client_keys (user_id, created_at);
      CREATE TABLE credential_cache (
        user_id TEXT NOT NULL REFERENCES connections(user_id),
        flow TEXT NOT NULL,
        duration_seconds INTEGER NOT NULL,
        sealed TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, flow, duration_seconds)
      );
    `,
  },
  {
    version: 2,
    name: "tenant boundary: connection epochs, key creators, richer audit, session cut-offs",
    sql: `
      ALTER TABLE connections ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE client_keys ADD COLUMN created_by TEXT;
      ALTER TABLE audit_events ADD COLUMN tenant TEXT;
      ALTER TABLE audit_events ADD COLUMN previous_tenant TEXT;
      ALTER TABLE audit_events ADD COLUMN reason TEXT;
      ALTER TABLE audit_events ADD COLUMN client_request_id TEXT;
      CREATE TABLE session_cutoffs (
        principal_tag TEXT PRIMARY KEY,
        cutoff_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: "access grants; the target of audited events; scoped client keys",
    sql: `
      ALTER TABLE audit_events ADD COLUMN target TEXT;
      ALTER TABLE audit_events ADD COLUMN audit_context TEXT;
      ALTER TABLE client_keys ADD COLUMN scope_target TEXT NOT NULL DEFAULT '';
      ALTER TABLE client_keys ADD COLUMN scope_permission TEXT NOT NULL DEFAULT 'READ';
      CREATE TABLE access_grants (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        location TEXT NOT NULL,
        permission TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        UNIQUE (tenant, location, permission)
      );
    `,
  },
  {
    version: 4,
    name: "broker meta: the sealed encryption canary",
    sql: `
      CREATE TABLE broker_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: "session tags and deny lists per shard (membership, no time); tenant cut-offs only as the last resort; the Pool A username of each connection",
    sql: `
      ALTER TABLE connections ADD COLUMN session_tag TEXT;
      ALTER TABLE connections ADD COLUMN tag_live_until BIGINT;
      ALTER TABLE connections ADD COLUMN pool_a_username TEXT;
      CREATE UNIQUE INDEX connections_by_session_tag ON connections (session_tag);
      DROP TABLE session_cutoffs;
      CREATE TABLE session_denials (
        tag TEXT PRIMARY KEY,
        shard INTEGER NOT NULL,
        slot INTEGER NOT NULL,
        tenant TEXT NOT NULL,
        user_id TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        applied INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX session_denials_by_shard ON session_denials (shard, slot, tag);
      CREATE INDEX session_denials_by_expiry ON session_denials (shard, expires_at);
      CREATE TABLE tenant_cutoffs (
        tenant TEXT PRIMARY KEY,
        cutoff_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: "tenants whose access is managed by grants: once a tenant has had a grant, it has exactly its grants (none when all are deleted)",
    sql: `
      CREATE TABLE grant_tenants (
        tenant TEXT PRIMARY KEY,
        managed_since BIGINT NOT NULL
      );
      INSERT INTO grant_tenants (tenant, managed_since) SELECT tenant, MIN(created_at) FROM access_grants GROUP BY tenant;
    `,
  },
  {
    version: 7,
    name: "the trace an audited event was part of (OpenTelemetry trace id), when traces are on",
    sql: `
      ALTER TABLE audit_events ADD COLUMN trace_id TEXT;
    `,
  },
  {
    version: 8,
    name: "the Pool A e-mail address of each connection (verified, as learnt at provisioning); administrators' prefix search by username, e-mail or id served by indexes",
    sql: `
      ALTER TABLE connections ADD COLUMN pool_a_email TEXT;
      CREATE INDEX connections_by_username_prefix ON connections (lower(pool_a_username) text_pattern_ops);
      CREATE INDEX connections_by_email_prefix ON connections (lower(pool_a_email) text_pattern_ops);
      CREATE INDEX connections_by_user_id_prefix ON connections (lower(user_id) text_pattern_ops);
    `,
  },
];
