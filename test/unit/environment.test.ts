import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadEnvironment } from "../../src/config/environment.js";

const valid = {
  AWS_REGION: "eu-west-1",
  POOL_A_USER_POOL_ID: "eu-west-1_AAAAAAAAA",
  POOL_A_CLIENT_ID: "client-a",
  POOL_B_USER_POOL_ID: "eu-west-1_BBBBBBBBB",
  POOL_B_CLIENT_ID: "client-b",
  POOL_B_CLIENT_SECRET: "very-secret-value",
  IDENTITY_POOL_ID: "eu-west-1:0f0e4a4c-1111-2222-3333-444455556666",
  CLASSIC_ROLE_ARN: "arn:aws:iam::123456789012:role/tenant-reader",
  DENY_LIST_POLICY_ARNS: "arn:aws:iam::123456789012:policy/deny-list-0,arn:aws:iam::123456789012:policy/deny-list-1",
  S3_BUCKET: "company-data",
  TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
};

function problems(env: Record<string, string>): string[] {
  try {
    loadEnvironment(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("environment validation", () => {
  it("requires PUBLIC_URL in production, so set-ups never name an address a request's Host header chose", () => {
    expect(problems({ ...valid, NODE_ENV: "production" })).toEqual([expect.stringMatching(/^PUBLIC_URL: is required in production/)]);
    expect(problems({ ...valid })).toEqual([]);
  });

  it("makes one shard of the classic roles and DENY_LIST_POLICY_ARNS, and requires deny lists", () => {
    expect(loadEnvironment(valid).shards).toEqual([
      { readerRoleArn: valid.CLASSIC_ROLE_ARN, writerRoleArn: undefined, denyListPolicyArns: valid.DENY_LIST_POLICY_ARNS.split(",") },
    ]);
    const { DENY_LIST_POLICY_ARNS: _, ...without } = valid;
    expect(problems(without)).toEqual([expect.stringMatching(/^DENY_LIST_POLICY_ARNS: is required unless SESSION_SHARDS is set/)]);
  });

  it("reads SESSION_SHARDS as JSON, refusing anything but role and policy ARNs, mixed writers and more than 25 shards", () => {
    const shard = (n: number, writer = true) => ({
      readerRoleArn: `arn:aws:iam::123456789012:role/reader-${n}`,
      ...(writer ? { writerRoleArn: `arn:aws:iam::123456789012:role/writer-${n}` } : {}),
      denyListPolicyArns: [`arn:aws:iam::123456789012:policy/deny-${n}-0`],
    });
    const { DENY_LIST_POLICY_ARNS: _, ...base } = valid;
    expect(loadEnvironment({ ...base, SESSION_SHARDS: JSON.stringify([shard(0), shard(1)]) }).shards).toEqual([shard(0), shard(1)]);
    expect(problems({ ...base, SESSION_SHARDS: "[{" })).toEqual(["SESSION_SHARDS: must be JSON: an array of shards"]);
    expect(problems({ ...base, SESSION_SHARDS: JSON.stringify([{ ...shard(0), readerRoleArn: "arn:aws:iam::123456789012:policy/x" }]) })[0]).toMatch(/must be an IAM role ARN/);
    expect(problems({ ...base, SESSION_SHARDS: JSON.stringify([shard(0), shard(1, false)]) })[0]).toMatch(/either every shard has a writer role or none has/);
    expect(problems({ ...base, SESSION_SHARDS: JSON.stringify(Array.from({ length: 26 }, (_, i) => shard(i))) })).toHaveLength(1);
  });

  it("derives defaults from a minimal valid environment", () => {
    const config = loadEnvironment(valid);
    expect(config.poolA.issuer).toBe("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AAAAAAAAA");
    expect(config.poolA.jwksUri).toBe("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AAAAAAAAA/.well-known/jwks.json");
    expect(config.poolA.tenantClaim).toBe("custom:tenant");
    expect(config.poolA.adminGroup).toBe("broker-admins");
    expect(config.s3.prefixTemplate).toBe("tenants/{tenant}/");
    expect(config.graphql).toEqual({ sandbox: true, introspection: true, hotPath: true, documentCacheBytes: 8 * 1024 * 1024 });
  });

  it("turns Sandbox and introspection off in production unless asked", () => {
    expect(loadEnvironment({ ...valid, NODE_ENV: "production", PUBLIC_URL: "https://broker.example.com" }).graphql).toEqual({ sandbox: false, introspection: false, hotPath: true, documentCacheBytes: 8 * 1024 * 1024 });
    expect(loadEnvironment({ ...valid, GRAPHQL_HOT_PATH: "false" }).graphql.hotPath).toBe(false);
    expect(loadEnvironment({ ...valid, NODE_ENV: "production", PUBLIC_URL: "https://broker.example.com", GRAPHQL_INTROSPECTION: "true" }).graphql.introspection).toBe(true);
  });

  it("names every missing or malformed variable", () => {
    const { POOL_B_CLIENT_ID: _omitted, ...rest } = valid;
    const found = problems({ ...rest, AWS_REGION: "europe", TOKEN_ENCRYPTION_KEY: "c2hvcnQ=" });
    expect(found.join("\n")).toMatch(/POOL_B_CLIENT_ID/);
    expect(found.join("\n")).toMatch(/AWS_REGION/);
    expect(found.join("\n")).toMatch(/TOKEN_ENCRYPTION_KEY: must be 32 bytes/);
  });

  it("never repeats a secret value in its messages", () => {
    const message = problems({ ...valid, TOKEN_ENCRYPTION_KEY: "not-a-key-but-secret", POOL_A_JWKS_URI: "nope" }).join("\n");
    expect(message).not.toContain("not-a-key-but-secret");
    expect(message).not.toContain(valid.POOL_B_CLIENT_SECRET);
  });

  it("accepts plain http for the JWKS only on loopback", () => {
    expect(loadEnvironment({ ...valid, POOL_A_JWKS_URI: "http://127.0.0.1:5000/pool/.well-known/jwks.json" }).poolA.jwksUri).toMatch(/^http:/);
    expect(problems({ ...valid, POOL_A_JWKS_URI: "http://jwks.example.com/keys" }).join()).toMatch(/POOL_A_JWKS_URI/);
  });

  it("requires the prefix template to hold the tenant and end in a slash", () => {
    expect(problems({ ...valid, S3_PREFIX_TEMPLATE: "tenants/" }).join()).toMatch(/must contain \{tenant\}/);
    expect(problems({ ...valid, S3_PREFIX_TEMPLATE: "tenants/{tenant}" }).join()).toMatch(/must end with \//);
  });

  it("parses retired encryption keys for rotation", () => {
    const old = randomBytes(32).toString("base64");
    const config = loadEnvironment({ ...valid, TOKEN_ENCRYPTION_KEY_ID: "k2", TOKEN_ENCRYPTION_PREVIOUS_KEYS: `k1:${old}` });
    expect([...config.encryption.keys.keys()]).toEqual(["k2", "k1"]);
    expect(() => loadEnvironment({ ...valid, TOKEN_ENCRYPTION_PREVIOUS_KEYS: "k1:short" })).toThrow(ConfigError);
    expect(() => loadEnvironment({ ...valid, TOKEN_ENCRYPTION_PREVIOUS_KEYS: `k1:junk${old}` })).toThrow(ConfigError);
  });

  it("takes encryption keys only as exactly 32 bytes of standard base64 or hexadecimal, and key ids without a dot", () => {
    const key = valid.TOKEN_ENCRYPTION_KEY;
    const hex = randomBytes(32).toString("hex");
    // Buffer.from(…, "base64") skips what is not base64: junk around a key used to be accepted.
    for (const bad of [`junk${key}`, `${key} `, `${key}AAAA`, key.replace("=", ""), randomBytes(32).toString("base64url"), randomBytes(31).toString("base64"), hex.slice(2), `${hex}00`, hex.replace(/^../, "zz")]) {
      expect(problems({ ...valid, TOKEN_ENCRYPTION_KEY: bad }).join(), bad).toMatch(/TOKEN_ENCRYPTION_KEY: must be 32 bytes in standard base64 .* or in hexadecimal/);
    }
    // Secrets Manager's generated form (the CDK service): the same 32 bytes, whichever way written.
    const bytes = randomBytes(32);
    expect(loadEnvironment({ ...valid, TOKEN_ENCRYPTION_KEY: bytes.toString("hex") }).encryption.keys.get("k1")).toEqual(bytes);
    expect(loadEnvironment({ ...valid, TOKEN_ENCRYPTION_KEY: bytes.toString("base64") }).encryption.keys.get("k1")).toEqual(bytes);
    // The id is one part of a sealed value `v1.<id>.<iv>.<tag>.<ciphertext>`: a dot would break every read.
    expect(problems({ ...valid, TOKEN_ENCRYPTION_KEY_ID: "2026.12" }).join()).toMatch(/TOKEN_ENCRYPTION_KEY_ID: must be 1-32 characters of A-Z a-z 0-9 _ -/);
    expect(loadEnvironment({ ...valid, TOKEN_ENCRYPTION_KEY_ID: "2026-12_a" }).encryption.activeKeyId).toBe("2026-12_a");
  });

  it("reads partner app clients and their tenants, and refuses what could widen them", () => {
    const config = loadEnvironment({ ...valid, PARTNER_CLIENTS: "4h1qpartner=acme+initech, 7bd2other=globex" });
    expect([...config.partners.clients]).toEqual([
      ["4h1qpartner", ["acme", "initech"]],
      ["7bd2other", ["globex"]],
    ]);
    expect(config.partners.resourceServer).toBe("s3-broker");
    expect(loadEnvironment(valid).partners.clients.size).toBe(0);
    // A tenant that is not a plain identifier, no tenant, a client twice, the application's own client.
    for (const value of ["p1=acme/..", "p1=", "p1", "p1=acme,p1=globex", "p1=*"]) {
      expect(problems({ ...valid, PARTNER_CLIENTS: value }).join(" ")).toMatch(/^PARTNER_CLIENTS: /);
    }
    expect(problems({ ...valid, POOL_A_CLIENT_ID: "appclient1", PARTNER_CLIENTS: "appclient1=acme" })).toEqual([expect.stringMatching(/^PARTNER_CLIENTS: must not name POOL_A_CLIENT_ID/)]);
    expect(problems({ ...valid, PARTNER_RESOURCE_SERVER: "has space" })).toEqual([expect.stringMatching(/^PARTNER_RESOURCE_SERVER: /)]);
  });

  it("serves the console outside production, and in production only when asked", () => {
    expect(loadEnvironment(valid).console.enabled).toBe(true);
    expect(loadEnvironment({ ...valid, NODE_ENV: "production", PUBLIC_URL: "https://broker.example.com" }).console.enabled).toBe(false);
    expect(loadEnvironment({ ...valid, NODE_ENV: "production", PUBLIC_URL: "https://broker.example.com", CONSOLE_ENABLED: "true" }).console.enabled).toBe(true);
    expect(loadEnvironment(valid).console.cognitoEndpoint).toBe("https://cognito-idp.eu-west-1.amazonaws.com/");
    // Managed login needs Pool A's domain, an https origin (http only on loopback).
    expect(problems({ ...valid, CONSOLE_SIGN_IN: "managed-login" })).toEqual([expect.stringMatching(/^CONSOLE_OAUTH_DOMAIN: is required/)]);
    expect(problems({ ...valid, CONSOLE_SIGN_IN: "managed-login", CONSOLE_OAUTH_DOMAIN: "http://auth.example.com" })).toEqual([expect.stringMatching(/^CONSOLE_OAUTH_DOMAIN: must be an https origin/)]);
    expect(problems({ ...valid, CONSOLE_SIGN_IN: "managed-login", CONSOLE_OAUTH_DOMAIN: "https://auth.example.com/oauth2" }).join()).toMatch(/CONSOLE_OAUTH_DOMAIN/);
    expect(loadEnvironment({ ...valid, CONSOLE_SIGN_IN: "managed-login", CONSOLE_OAUTH_DOMAIN: "https://auth.example.com" }).console).toMatchObject({ signIn: "managed-login", oauthDomain: "https://auth.example.com" });
  });
});
