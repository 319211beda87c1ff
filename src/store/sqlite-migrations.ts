/** Versioned schema changes, applied in order at start-up; never edit one that has shipped, add a new one. */
export const sqliteMigrations: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: "connections, issuances, audit",
    sql: `
      CREATE TABLE connections (
        user_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        pool_b_username TEXT NOT NULL UNIQUE,
        identity_id TEXT,
        state TEXT NOT NULL CHECK (state IN ('PROVISIONING', 'ACTIVE', 'DISABLED')),
        id_token_sealed TEXT,
        id_token_expires_at INTEGER,
        refresh_token_sealed TEXT,
        refresh_token_expires_at INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE issuances (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL REFERENCES connections(user_id),
        flow TEXT NOT NULL,
        duration_seconds INTEGER NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        request_id TEXT NOT NULL
      );
      CREATE INDEX issuances_by_user ON issuances(user_id, id DESC);
      CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor_user_id TEXT NOT NULL,
        subject_user_id TEXT NOT NULL,
        action TEXT NOT NULL,
        outcome TEXT NOT NULL,
        request_id TEXT NOT NULL,
        flow TEXT,
        duration_seconds INTEGER,
        error_code TEXT
      );
      CREATE INDEX audit_events_by_subject ON audit_events(subject_user_id, id DESC);
    `,
  },
];
