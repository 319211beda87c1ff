import { TokenCipher } from "./token-cipher.js";

/** The meta row that holds the sealed canary, and the context it is bound to. */
export const CANARY_KEY = "encryption_canary";
const CANARY_CONTEXT = "broker_meta/encryption_canary";
const CANARY_PLAINTEXT = "s3-access-broker: the configured keys open this store";

export class EncryptionKeyMismatchError extends Error {
  constructor(keyId: string | undefined) {
    super(
      `TOKEN_ENCRYPTION_KEY does not open the data in this store (its canary was sealed with key id ${keyId ?? "unknown"}): ` +
        "configure that key, or list it in TOKEN_ENCRYPTION_PREVIOUS_KEYS while rotating.",
    );
    this.name = "EncryptionKeyMismatchError";
  }
}

/**
 * At start-up, before any request: a wrong key would otherwise be found by users, as an
 * INTERNAL_SERVER_ERROR on every issuance. Opens the canary (and re-seals it under the active key,
 * so it follows rotations), or writes it into a store that has none.
 */
export async function checkEncryptionCanary(cipher: TokenCipher, read: () => Promise<string | null>, write: (sealed: string) => Promise<void>): Promise<void> {
  const sealed = await read();
  if (sealed !== null) {
    let opened: string | undefined;
    try {
      opened = cipher.open(sealed, CANARY_CONTEXT);
    } catch {
      // a key that is not configured, or one that does not match
    }
    if (opened !== CANARY_PLAINTEXT) throw new EncryptionKeyMismatchError(TokenCipher.keyIdOf(sealed));
    if (TokenCipher.keyIdOf(sealed) === cipher.activeKeyId) return;
  }
  await write(cipher.seal(CANARY_PLAINTEXT, CANARY_CONTEXT));
}

