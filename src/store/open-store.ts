import type { StoreConfig } from "../config/environment.js";
import { PostgresStore } from "./postgres-store.js";
import type { Store } from "./store.js";
import { TokenCipher } from "./token-cipher.js";

export const cipherFor = (config: Pick<StoreConfig, "encryption">) => new TokenCipher(config.encryption.activeKeyId, config.encryption.keys);

/**
 * PostgreSQL when DATABASE_URL is set (several replicas), else the embedded SQLite file. SQLite's
 * driver (better-sqlite3, a native module) is an optional dependency loaded only here: the
 * container image leaves it out, and says so instead of failing on a missing module.
 */
export async function openStore(config: StoreConfig, cipher: TokenCipher = cipherFor(config)): Promise<Store> {
  if (config.database.url) return PostgresStore.open(config.database.url, cipher, { poolSize: config.database.poolSize });
  let sqlite: typeof import("./sqlite-store.js");
  try {
    sqlite = await import("./sqlite-store.js");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new Error("this build has no SQLite driver (better-sqlite3; the container image is built for PostgreSQL): set DATABASE_URL");
  }
  return new sqlite.SqliteStore(config.database.path, cipher);
}
