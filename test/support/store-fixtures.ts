import { randomBytes } from "node:crypto";
import { TokenCipher } from "../../src/store/token-cipher.js";

/** A throw-away key and a recognisable token set, for store tests that look for plain text on disk. */
export const testKey = randomBytes(32);
export const testCipher = new TokenCipher("k1", new Map([["k1", testKey]]));
export const plainTokens = {
  idToken: "eyJraWQiOi.ID-TOKEN-PLAINTEXT.sig",
  idTokenExpiresAt: new Date("2026-11-23T21:00:00Z"),
  refreshToken: "REFRESH-TOKEN-PLAINTEXT",
  refreshTokenExpiresAt: new Date("2026-12-23T20:00:00Z"),
};
