import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM for tokens at rest. A sealed value is `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url),
 * so values sealed under a retired key still open while it is listed, and `context` (the row and
 * column) is bound as additional data so a value cannot be moved to another row.
 */
export class TokenCipher {
  constructor(
    readonly activeKeyId: string,
    private readonly keys: ReadonlyMap<string, Buffer>,
  ) {
    const active = keys.get(activeKeyId);
    if (!active || active.length !== 32) throw new Error("the active token encryption key must be 32 bytes");
  }

  /** Whether values sealed with this key id can be opened. */
  hasKey(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.keys.get(this.activeKeyId)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, "utf8"));
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return ["v1", this.activeKeyId, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ciphertext.toString("base64url")].join(".");
  }

  open(sealed: string, context: string): string {
    const parts = sealed.split(".");
    const [version, keyId, iv, tag, ciphertext] = parts;
    if (parts.length !== 5 || version !== "v1" || !keyId || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new Error("sealed token has an unknown format");
    }
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`no token encryption key with id ${keyId} is configured`);
    const ivBytes = Buffer.from(iv, "base64url");
    const tagBytes = Buffer.from(tag, "base64url");
    // A shorter tag would be accepted by GCM and weaken the check: only the full 16 bytes open.
    if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) throw new Error("sealed token has an unknown format");
    const decipher = createDecipheriv("aes-256-gcm", key, ivBytes, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(tagBytes);
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
  }

  /** The key id a sealed value was written with, so a rotation job can find what to re-seal. */
  static keyIdOf(sealed: string): string | undefined {
    return sealed.split(".")[1];
  }
}
