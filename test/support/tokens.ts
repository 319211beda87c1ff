import { execFileSync } from "node:child_process";
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { importJWK, SignJWT, type JWK } from "jose";
import type { StackInfo } from "../../scripts/lib/bootstrap.js";

/**
 * moto signs every user pool token with one RS256 key whose private half ships in moto's source
 * (cognitoidp/resources/jwks-private.json.gz), so tests can mint tokens that are correctly signed
 * but wrong in one chosen way.
 */
export function motoPrivateJwk(): JWK {
  const motoDir = execFileSync(process.env.PYTHON ?? "python3", ["-c", "import moto, os; print(os.path.dirname(moto.__file__))"], {
    encoding: "utf8",
  }).trim();
  return JSON.parse(gunzipSync(readFileSync(`${motoDir}/cognitoidp/resources/jwks-private.json.gz`)).toString("utf8")) as JWK;
}

export interface MintOptions {
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
}

/** A Pool A ID token for `sub`, valid in every respect unless the options change it. */
export async function mintPoolAToken(stack: StackInfo, sub: string, options: MintOptions = {}): Promise<string> {
  const jwk = motoPrivateJwk();
  const key = await importJWK(jwk, "RS256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: `https://cognito-idp.${stack.region}.amazonaws.com/${stack.poolA.userPoolId}`,
    sub,
    aud: stack.poolA.clientId,
    token_use: "id",
    iat: now,
    auth_time: now,
    exp: now + 3600,
    "custom:tenant": "acme",
    ...options.claims,
  })
    .setProtectedHeader({ alg: "RS256", kid: jwk.kid ?? "dummy", ...options.header } as { alg: string })
    .sign(key);
}

/** base64url of a JSON value, for hand-built tokens (alg none, tampering). */
export function b64url(value: unknown): string {
  return Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
}
