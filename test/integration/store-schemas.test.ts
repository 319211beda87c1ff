import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { PostgresStore } from "../../src/store/postgres-store.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { STORE_TABLES } from "../../src/store/tables.js";
import { testCipher } from "../support/store-fixtures.js";
import { freshSchema } from "../support/postgres.js";

/**
 * Both stores, migrated from empty, described in one vocabulary: per table its columns (kind,
 * NOT NULL, default), primary key, foreign keys and indexes (by columns, unique or not). A
 * migration added to one store and not the other fails here, and the SQLite-to-PostgreSQL move
 * (which copies columns by name) relies on it.
 */
interface TableShape {
  columns: Record<string, { kind: "text" | "integer"; notNull: boolean; default: string | null }>;
  primaryKey: string[];
  foreignKeys: string[];
  indexes: string[];
}

const kindOf = (type: string): "text" | "integer" => {
  const t = type.toLowerCase();
  if (t === "text") return "text";
  if (["integer", "bigint", "int8", "int4"].includes(t)) return "integer";
  throw new Error(`unexpected column type ${type}`);
};
/** 'READ'::text and 'READ', 0 and 0; sequence defaults are the serial id, not a default. */
const normaliseDefault = (value: string | null): string | null => (value === null || value.startsWith("nextval(") ? null : value.replace(/::[a-z ]+$/, ""));

function sqliteShapes(path: string): Record<string, TableShape> {
  const db = new Database(path, { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'").pluck().all() as string[]).sort();
    return Object.fromEntries(
      tables.map((table) => {
        const columns = db.pragma(`table_info(${table})`) as Array<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>;
        const foreignKeys = db.pragma(`foreign_key_list(${table})`) as Array<{ table: string; from: string; to: string }>;
        const indexes = db.pragma(`index_list(${table})`) as Array<{ name: string; unique: number; origin: string }>;
        const shape: TableShape = {
          columns: Object.fromEntries(columns.map((c) => [c.name, { kind: kindOf(c.type), notNull: c.notnull === 1 || c.pk > 0, default: normaliseDefault(c.dflt_value) }])),
          primaryKey: columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name),
          foreignKeys: foreignKeys.map((f) => `${f.from} -> ${f.table}(${f.to})`).sort(),
          indexes: indexes
            .filter((i) => i.origin !== "pk")
            .map((i) => {
              const keyColumns = (db.pragma(`index_xinfo(${i.name})`) as Array<{ name: string | null; desc: number; key: number }>).filter((c) => c.key === 1);
              return `${i.unique ? "unique " : ""}(${keyColumns.map((c) => `${c.name}${c.desc ? " desc" : ""}`).join(", ")})`;
            })
            .sort(),
        };
        return [table, shape];
      }),
    );
  } finally {
    db.close();
  }
}

async function postgresShapes(url: string): Promise<Record<string, TableShape>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const q = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await client.query<T>(sql, params)).rows;
    const tables = (await q<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' ORDER BY table_name")).map((r) => r.table_name);
    const shapes: Record<string, TableShape> = {};
    for (const table of tables) {
      const columns = await q<{ column_name: string; data_type: string; is_nullable: string; column_default: string | null }>(
        "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
        [table],
      );
      const constraints = await q<{ contype: string; def: string }>(
        "SELECT contype, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = (current_schema() || '.' || $1)::regclass",
        [table],
      );
      const indexes = await q<{ indexdef: string; primary: boolean }>(
        `SELECT pg_get_indexdef(i.indexrelid) AS indexdef, i.indisprimary AS primary FROM pg_index i WHERE i.indrelid = (current_schema() || '.' || $1)::regclass`,
        [table],
      );
      const listIn = (text: string) => text.slice(text.indexOf("(") + 1, text.indexOf(")")).split(",").map((s) => s.trim().toLowerCase());
      shapes[table] = {
        columns: Object.fromEntries(columns.map((c) => [c.column_name, { kind: kindOf(c.data_type), notNull: c.is_nullable === "NO", default: normaliseDefault(c.column_default) }])),
        primaryKey: listIn(constraints.find((c) => c.contype === "p")!.def),
        foreignKeys: constraints
          .filter((c) => c.contype === "f")
          .map((c) => {
            const [, from, to, toColumns] = /^FOREIGN KEY \((.+?)\) REFERENCES (?:\w+\.)?(\w+)\((.+?)\)/.exec(c.def)!;
            return `${from} -> ${to}(${toColumns})`;
          })
          .sort(),
        indexes: indexes
          // PostgreSQL's prefix-search indexes (text_pattern_ops on lower(...), for administrators'
          // connections(search:)) have no SQLite counterpart: SQLite's LIKE cannot use an expression
          // index, and a SQLite store serves one small deployment.
          .filter((i) => !i.primary && !i.indexdef.includes("text_pattern_ops"))
          .map((i) => `${/^CREATE UNIQUE/.test(i.indexdef) ? "unique " : ""}(${listIn(i.indexdef.slice(i.indexdef.lastIndexOf(" USING "))).join(", ")})`)
          .sort(),
      };
    }
    return shapes;
  } finally {
    await client.end();
  }
}

describe("the two stores' schemas", () => {
  it("match table for table: columns, keys, foreign keys and indexes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "schemas-"));
    const schema = await freshSchema();
    try {
      const sqlitePath = join(dir, "broker.sqlite");
      await new SqliteStore(sqlitePath, testCipher).close();
      await (await PostgresStore.open(schema.url, testCipher)).close();

      const sqlite = sqliteShapes(sqlitePath);
      const postgres = await postgresShapes(schema.url);
      expect(Object.keys(sqlite).sort()).toEqual([...STORE_TABLES].sort());
      expect(Object.keys(postgres).sort()).toEqual([...STORE_TABLES].sort());
      for (const table of STORE_TABLES) expect({ table, ...postgres[table] }).toEqual({ table, ...sqlite[table] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await schema.drop();
    }
  });
});
