import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * Creates the PostgreSQL database a URL names when it is missing (tests and the benchmark work in
 * their own database on a machine whose PostgreSQL has only its default ones).
 */
export async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = "/postgres";
  maintenance.search = "";
  const client = new pg.Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`).catch((error: { code?: string }) => {
        if (error.code !== "42P04") throw error; // created meanwhile by a parallel run
      });
    }
  } finally {
    await client.end();
  }
}

export interface Schema {
  /** A DATABASE_URL whose search_path is a new, empty schema. */
  url: string;
  drop(): Promise<void>;
}

/** A new schema in the database (created first when missing), so runs side by side leave nothing behind. */
export async function freshSchema(databaseUrl: string, prefix = "t"): Promise<Schema> {
  await ensureDatabase(databaseUrl);
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE SCHEMA ${name}`);
  const url = new URL(databaseUrl);
  url.searchParams.set("options", `-c search_path=${name}`);
  return { url: url.toString(), drop: () => run(`DROP SCHEMA ${name} CASCADE`) };
}
