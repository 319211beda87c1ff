import type { BrokerConfig } from "../config/environment.js";
import { PostgresStore } from "./postgres-store.js";
import { SqliteStore } from "./sqlite-store.js";
import type { Store } from "./store.js";
import { TokenCipher } from "./token-cipher.js";

/** PostgreSQL when DATABASE_URL is set (several replicas), else the embedded SQLite file. */
export async function openStore(config: Pick<BrokerConfig, "database" | "encryption">): Promise<Store> {
  const cipher = new TokenCipher(config.encryption.activeKeyId, config.encryption.keys);
  return config.database.url
    ? PostgresStore.open(config.database.url, cipher, { poolSize: config.database.poolSize })
    : new SqliteStore(config.database.path, cipher);
}
