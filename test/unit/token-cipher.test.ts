import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TokenCipher } from "../../src/store/token-cipher.js";

const key1 = randomBytes(32);
const key2 = randomBytes(32);

describe("token encryption at rest (AES-256-GCM)", () => {
  const cipher = new TokenCipher("k1", new Map([["k1", key1]]));

  it("round-trips and never stores the plain text", () => {
    const sealed = cipher.seal("eyJhbGciOi.secret-token", "user-1/id_token");
    expect(sealed).not.toContain("secret-token");
    expect(cipher.open(sealed, "user-1/id_token")).toBe("eyJhbGciOi.secret-token");
  });

  it("uses a fresh IV each time", () => {
    expect(cipher.seal("same", "c")).not.toBe(cipher.seal("same", "c"));
  });

  it("refuses a value moved to another row or column", () => {
    const sealed = cipher.seal("token", "user-1/id_token");
    expect(() => cipher.open(sealed, "user-2/id_token")).toThrow();
    expect(() => cipher.open(sealed, "user-1/refresh_token")).toThrow();
  });

  it("opens only values with the full 16-byte tag and a 12-byte IV, in exactly five parts", () => {
    const parts = cipher.seal("token", "ctx").split(".");
    // GCM would accept a truncated tag (down to 4 bytes) unless the length is pinned.
    const truncated = [...parts.slice(0, 3), Buffer.from(parts[3]!, "base64url").subarray(0, 4).toString("base64url"), parts[4]].join(".");
    expect(() => cipher.open(truncated, "ctx")).toThrow(/unknown format/);
    const shortIv = [parts[0], parts[1], Buffer.alloc(8).toString("base64url"), parts[3], parts[4]].join(".");
    expect(() => cipher.open(shortIv, "ctx")).toThrow(/unknown format/);
    expect(() => cipher.open(`${parts.join(".")}.extra`, "ctx")).toThrow(/unknown format/);
    expect(cipher.open(parts.join("."), "ctx")).toBe("token");
  });

  it("refuses a tampered value", () => {
    const parts = cipher.seal("token", "ctx").split(".");
    const ciphertext = Buffer.from(parts[4]!, "base64url");
    ciphertext[0] = ciphertext[0]! ^ 0xff;
    parts[4] = ciphertext.toString("base64url");
    expect(() => cipher.open(parts.join("."), "ctx")).toThrow();
  });

  it("opens values sealed under a retired key and seals new ones under the active key", () => {
    const old = cipher.seal("token", "ctx");
    const rotated = new TokenCipher("k2", new Map([["k2", key2], ["k1", key1]]));
    expect(rotated.open(old, "ctx")).toBe("token");
    expect(TokenCipher.keyIdOf(rotated.seal("token", "ctx"))).toBe("k2");
  });

  it("says which key is missing instead of decrypting garbage", () => {
    const sealed = new TokenCipher("k9", new Map([["k9", key2]])).seal("token", "ctx");
    expect(() => cipher.open(sealed, "ctx")).toThrow(/k9/);
  });
});
