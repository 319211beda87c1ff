import { everySealedValue } from "./key-rotation.js";
import { contextOf } from "./rows.js";
import type { PostgresStore } from "./postgres-store.js";
import type { SqliteStore } from "./sqlite-store.js";
import type { Store } from "./store.js";
import { STORE_TABLES, type StoreTable } from "./tables.js";
import type { TokenCipher } from "./token-cipher.js";

export interface MoveReport {
  /** Rows per table, the same in both stores once the move is verified. */
  rows: Record<StoreTable, number>;
  /** Sealed values (Pool B tokens, cached credentials) that opened in PostgreSQL with the configured keys. */
  sealedValuesOpened: number;
}

/** Raised before anything is written (target not empty), or after the copy when it does not verify. */
export class MoveRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MoveRefused";
  }
}

async function openEverySealedValue(store: Store, cipher: TokenCipher): Promise<number> {
  let opened = 0;
  for await (const value of everySealedValue(store, 500)) {
    cipher.open(value.sealed, contextOf(value));
    opened += 1;
  }
  return opened;
}

/**
 * Copies everything from a SQLite store into an empty PostgreSQL one (both opened, so migrated, by
 * the caller; the SQLite file's lock keeps its broker stopped meanwhile): connections with their
 * sealed tokens, client keys, issuances, the audit trail with its ids (cursors stay valid), cached
 * credentials, cut-offs, grants and the canary. Sealed values move as they are: their additional
 * data names the row, not the store. One transaction; then counts and every sealed value are
 * checked on the PostgreSQL side.
 */
export async function moveToPostgres(source: SqliteStore, target: PostgresStore, cipher: TokenCipher): Promise<MoveReport> {
  await source.checkEncryptionKey();
  const occupied: string[] = [];
  for (const table of STORE_TABLES) {
    if (table === "broker_meta") continue; // a broker started on the target leaves only its canary
    const count = await target.countRows(table);
    if (count > 0) occupied.push(`${table}: ${count}`);
  }
  if (occupied.length > 0) {
    throw new MoveRefused(`The PostgreSQL database already holds broker data (${occupied.join(", ")}); move into an empty one. Nothing was copied.`);
  }

  const rows = Object.fromEntries(STORE_TABLES.map((table) => [table, source.countRows(table)])) as Record<StoreTable, number>;
  await target.importRows(STORE_TABLES.map((table) => ({ table, rows: source.tableRows(table) })));

  const mismatched: string[] = [];
  for (const table of STORE_TABLES) {
    const copied = await target.countRows(table);
    if (copied !== rows[table]) mismatched.push(`${table}: ${rows[table]} in SQLite, ${copied} in PostgreSQL`);
  }
  if (mismatched.length > 0) throw new MoveRefused(`The copy does not verify (${mismatched.join("; ")}).`);
  await target.checkEncryptionKey();
  return { rows, sealedValuesOpened: await openEverySealedValue(target, cipher) };
}
