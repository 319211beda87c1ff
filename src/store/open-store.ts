import type { StoreConfig } from "../config/environment.js";
import { PostgresStore } from "./postgres-store.js";
import { SqliteStore } from "./sqlite-store.js";
import type { Store } from "./store.js";
import { TokenCipher } from "./token-cipher.js";

export const cipherFor = (config: Pick<StoreConfig, "encryption">) => new TokenCipher(config.encryption.activeKeyId, config.encryption.keys);

/** PostgreSQL when DATABASE_URL is set (several replicas), else the embedded SQLite file. */
export async function openStore(config: StoreConfig, cipher: TokenCipher = cipherFor(config)): Promise<Store> {
  return config.database.url
    ? PostgresStore.open(config.database.url, cipher, { poolSize: config.database.poolSize })
    : new SqliteStore(config.database.path, cipher);
}
