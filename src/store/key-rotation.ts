import { contextOf } from "./rows.js";
import type { SealedValue, Store } from "./store.js";
import { TokenCipher } from "./token-cipher.js";

export interface RotationReport {
  activeKeyId: string;
  /** Sealed values per key id before the pass (the canary not counted). */
  before: Record<string, number>;
  resealed: number;
  /** Values a running broker rewrote meanwhile: already sealed with its own active key, left as they are. */
  changedMeanwhile: number;
  /** Values that did not open with the key their id names (damaged, or a different key under the same id). */
  unreadable: Array<Pick<SealedValue, "userId" | "column">>;
  /** Values still sealed with another key afterwards, per key id: a broker still sealing with an old key, or unreadable ones. */
  remaining: Record<string, number>;
}

/** Raised before anything is written: values sealed with keys that are not configured cannot be re-sealed. */
export class RotationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RotationRefused";
  }
}

const DEFAULT_BATCH = 500;

/** Every sealed value of the store, a page of users at a time. */
export async function* everySealedValue(store: Store, batchSize: number): AsyncGenerator<SealedValue> {
  let after = "";
  for (;;) {
    const page = await store.sealedValues(after, batchSize);
    yield* page.values;
    if (page.lastUserId === null) return;
    after = page.lastUserId;
  }
}

async function countByKeyId(store: Store, batchSize: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for await (const value of everySealedValue(store, batchSize)) {
    const keyId = TokenCipher.keyIdOf(value.sealed) ?? "(unknown format)";
    counts[keyId] = (counts[keyId] ?? 0) + 1;
  }
  return counts;
}

/**
 * Re-seals every stored secret under the active key, so a retired key can be dropped from
 * TOKEN_ENCRYPTION_PREVIOUS_KEYS. Safe beside running brokers on PostgreSQL: each value is replaced
 * only if it is still the one read (a broker's own write, under its active key, wins). Run it after
 * every broker has the new key active, or what they write meanwhile is reported as remaining.
 */
export async function rotateEncryptionKey(store: Store, cipher: TokenCipher, options: { batchSize?: number } = {}): Promise<RotationReport> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  // Opens the canary with the configured keys and moves it to the active key (or refuses: wrong keys).
  await store.checkEncryptionKey();
  const before = await countByKeyId(store, batchSize);
  const missing = Object.keys(before).filter((keyId) => !cipher.hasKey(keyId));
  if (missing.length > 0) {
    throw new RotationRefused(
      `${missing.map((id) => `${before[id]} value(s) are sealed with key id ${id}`).join(", ")}, which is not configured: ` +
        "list it in TOKEN_ENCRYPTION_PREVIOUS_KEYS and run again (nothing was changed).",
    );
  }

  let resealed = 0;
  let changedMeanwhile = 0;
  const unreadable: RotationReport["unreadable"] = [];
  for await (const value of everySealedValue(store, batchSize)) {
    if (TokenCipher.keyIdOf(value.sealed) === cipher.activeKeyId) continue;
    let plaintext: string;
    try {
      plaintext = cipher.open(value.sealed, contextOf(value));
    } catch {
      unreadable.push({ userId: value.userId, column: value.column });
      continue;
    }
    if (await store.replaceSealedValue(value, cipher.seal(plaintext, contextOf(value)))) resealed += 1;
    else changedMeanwhile += 1;
  }

  const after = await countByKeyId(store, batchSize);
  const remaining = Object.fromEntries(Object.entries(after).filter(([keyId]) => keyId !== cipher.activeKeyId));
  return { activeKeyId: cipher.activeKeyId, before, resealed, changedMeanwhile, unreadable, remaining };
}
