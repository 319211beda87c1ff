import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { importPKCS8, SignJWT } from "jose";
import type { PartnerScope } from "../auth/partners.js";
import type { StackInfo } from "./bootstrap.js";

/**
 * Tokens signed with the emulator's key, for the local stack (moto has no OAuth token endpoint)
 * and for the tests.
 *
 * moto signs every user pool token with one RS256 key (kid "dummy") whose private half ships in
 * moto's source (cognitoidp/resources/jwks-private.json.gz), so tests can mint tokens that are
 * correctly signed but wrong in one chosen way. That JWK lacks the CRT parameters WebCrypto needs,
 * so Python's cryptography (a moto dependency) recovers them and hands back PKCS#8 PEM.
 */
const RECOVER_KEY = `
import base64, gzip, json, os, moto
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
jwk = json.load(gzip.open(os.path.join(os.path.dirname(moto.__file__), "cognitoidp/resources/jwks-private.json.gz")))
num = lambda v: int.from_bytes(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)), "big")
n, e, d = num(jwk["n"]), num(jwk["e"]), num(jwk["d"])
p, q = rsa.rsa_recover_prime_factors(n, e, d)
key = rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n)).private_key()
print(json.dumps({"kid": jwk["kid"], "pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()}))
`;

let motoKey: { kid: string; pem: string } | undefined;
export function motoSigningKey(): { kid: string; pem: string } {
  motoKey ??= JSON.parse(execFileSync(process.env.PYTHON ?? "python3", ["-c", RECOVER_KEY], { encoding: "utf8" })) as { kid: string; pem: string };
  return motoKey;
}

export interface MintOptions {
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
}

/** A Pool A ID token for `sub`, valid in every respect unless the options change it. */
export async function mintPoolAToken(stack: StackInfo, sub: string, options: MintOptions = {}): Promise<string> {
  const { kid, pem } = motoSigningKey();
  const key = await importPKCS8(pem, "RS256");
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
    .setProtectedHeader({ alg: "RS256", kid, ...options.header } as { alg: string })
    .sign(key);
}

/**
 * A partner's client-credentials access token, with the claims Cognito's token endpoint gives one
 * (`sub` and `client_id` the app client, the granted scopes, no username), signed with moto's key.
 */
export async function mintPartnerToken(stack: StackInfo, scopes: readonly PartnerScope[] | null, options: MintOptions & { clientId?: string } = {}): Promise<string> {
  const { kid, pem } = motoSigningKey();
  const key = await importPKCS8(pem, "RS256");
  const now = Math.floor(Date.now() / 1000);
  const clientId = options.clientId ?? stack.partner.clientId;
  return new SignJWT({
    iss: `https://cognito-idp.${stack.region}.amazonaws.com/${stack.poolA.userPoolId}`,
    sub: clientId,
    client_id: clientId,
    token_use: "access",
    ...(scopes ? { scope: scopes.map((s) => `${stack.partner.resourceServer}/${s}`).join(" ") } : {}),
    auth_time: now,
    iat: now,
    exp: now + 3600,
    version: 2,
    jti: randomUUID(),
    ...options.claims,
  })
    .setProtectedHeader({ alg: "RS256", kid, ...options.header } as { alg: string })
    .sign(key);
}

/** base64url of a JSON value, for hand-built tokens (alg none, tampering). */
export function b64url(value: unknown): string {
  return Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
}
