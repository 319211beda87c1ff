import { z } from "zod";
import { isValidTenant } from "../policy/tenant.js";
import { MANAGED_POLICY_MAX_CHARS, MAX_SHARDS } from "../policy/policies.js";
import { UPSTREAM_BUDGET_NAMES, type UpstreamBudgetName } from "./upstream-quotas.js";

/** Thrown when the environment does not describe a usable broker; main() prints it and exits 1. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid broker configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const booleanString = z
  .enum(["true", "false", "1", "0"])
  .transform((value) => value === "true" || value === "1");

const userPoolId = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d_[A-Za-z0-9]+$/, "must look like <region>_<id>");
/** Where the broker's figures go in CloudWatch (METRICS_CLOUDWATCH=emf) unless METRICS_CLOUDWATCH_NAMESPACE says otherwise; the CDK alarms read it. */
export const DEFAULT_CLOUDWATCH_NAMESPACE = "S3AccessBroker";

/** Exactly 32 bytes in standard base64 (44 characters): Buffer.from would skip junk around a key. */
const STRICT_BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;
/** 64 hexadecimal digits: what AWS Secrets Manager can generate (the CDK service's key is such a secret). */
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const KEY_FORMS = "32 bytes in standard base64 (44 characters, e.g. openssl rand -base64 32) or in hexadecimal (64 digits, e.g. openssl rand -hex 32)";
const base64Key = z.string().refine((value) => STRICT_BASE64_KEY.test(value) || HEX_KEY.test(value), `must be ${KEY_FORMS}`);
const keyBytes = (encoded: string) => (HEX_KEY.test(encoded) ? Buffer.from(encoded, "hex") : Buffer.from(encoded, "base64"));
/** No ".": it separates the parts of a sealed value. */
const keyId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "must be 1-32 characters of A-Z a-z 0-9 _ -");

/** "GetId=20,UserCreation=40": requests per second for the named upstream budgets (their defaults: src/config/upstream-quotas.ts; the pacing: src/cognito/upstream-budgets.ts). */
const upstreamBudgets = z
  .string()
  .default("")
  .transform((value, context) => {
    const budgets: Partial<Record<UpstreamBudgetName, number>> = {};
    for (const entry of value.split(",").map((e) => e.trim()).filter(Boolean)) {
      const [name, rate] = entry.split("=").map((part) => part.trim());
      const perSecond = Number(rate);
      if (!UPSTREAM_BUDGET_NAMES.includes(name as UpstreamBudgetName) || !Number.isInteger(perSecond) || perSecond < 1 || perSecond > 100_000) {
        context.addIssue({ code: "custom", message: `"${entry}" must be NAME=requests per second (a whole number from 1), NAME one of ${UPSTREAM_BUDGET_NAMES.join(", ")}` });
        return z.NEVER;
      }
      budgets[name as UpstreamBudgetName] = perSecond;
    }
    return budgets;
  });

const roleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, "must be an IAM role ARN");
const policyArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:policy\/.+$/, "must be an IAM policy ARN");

/**
 * SESSION_SHARDS: the shards (docs/revocation.md), as JSON:
 * [{"readerRoleArn": "…", "writerRoleArn": "…", "denyListPolicyArns": ["…", …]}, …], at most 25.
 */
const sessionShards = z
  .string()
  .optional()
  .transform((value, context) => {
    if (value === undefined || value.trim() === "") return undefined;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      context.addIssue({ code: "custom", message: "must be JSON: an array of shards" });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .array(z.object({ readerRoleArn: roleArn, writerRoleArn: roleArn.optional(), denyListPolicyArns: z.array(policyArn).min(1).max(20) }).strict())
      .min(1)
      .max(MAX_SHARDS)
      .refine((shards) => shards.every((s) => (s.writerRoleArn === undefined) === (shards[0]!.writerRoleArn === undefined)), "either every shard has a writer role or none has")
      .optional(),
  );

/** https, or plain http on loopback only (an emulator, a test's stand-in); a URL z.url() failed is reported there. */
function httpsOrLoopback(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname));
}

/** "<app client id>=acme+globex,<app client id>=initech": the partner app clients of Pool A and the tenants each may act in. */
const partnerClients = z
  .string()
  .default("")
  .transform((value, context) => {
    const clients = new Map<string, readonly string[]>();
    for (const entry of value.split(",").map((e) => e.trim()).filter(Boolean)) {
      const [clientId, tenantList] = entry.split("=").map((part) => part.trim());
      const tenants = (tenantList ?? "").split("+").map((t) => t.trim()).filter(Boolean);
      if (!clientId || !/^[A-Za-z0-9_+]{1,128}$/.test(clientId) || tenants.length === 0 || !tenants.every(isValidTenant) || clients.has(clientId)) {
        context.addIssue({ code: "custom", message: `"${entry}" must be <app client id>=<tenant>[+<tenant>…], each client once, tenants as in POOL_A_TENANT_CLAIM values` });
        return z.NEVER;
      }
      clients.set(clientId, tenants);
    }
    return clients as ReadonlyMap<string, readonly string[]>;
  });

/** Exact browser origins (scheme://host[:port]), comma-separated; "*" is refused: an API that hands out credentials names its front ends. */
const corsOrigins = z
  .string()
  .default("")
  .transform((value) => value.split(",").map((o) => o.trim()).filter(Boolean))
  .refine(
    (origins) => origins.every((origin) => URL.canParse(origin) && new URL(origin).origin === origin && /^https?:$/.test(new URL(origin).protocol)),
    "must be a comma-separated list of exact origins such as https://app.example.com (no path, no trailing slash, no *)",
  );

/** The store's concern (where it is, and the keys that seal its secrets): the broker and the store commands both read it. */
const storeFields = {
  DATABASE_PATH: z.string().min(1).default("./data/broker.sqlite"),
  /** postgres://… selects the PostgreSQL store (several replicas); SQLite at DATABASE_PATH otherwise. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL").optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  TOKEN_ENCRYPTION_KEY: base64Key,
  TOKEN_ENCRYPTION_KEY_ID: keyId.default("k1"),
  /** Retired keys kept for decryption during rotation: "id:base64,id:base64". */
  TOKEN_ENCRYPTION_PREVIOUS_KEYS: z.string().default(""),
};

type StoreFields = z.output<z.ZodObject<typeof storeFields>>;

function storeSettings(env: StoreFields) {
  return {
    database: { path: env.DATABASE_PATH, url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE },
    encryption: {
      activeKeyId: env.TOKEN_ENCRYPTION_KEY_ID,
      keys: parseKeys(env.TOKEN_ENCRYPTION_KEY_ID, env.TOKEN_ENCRYPTION_KEY, env.TOKEN_ENCRYPTION_PREVIOUS_KEYS),
    },
  };
}

const storeSchema = z.object(storeFields).transform(storeSettings);

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    HOST: z.string().default("127.0.0.1"),
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    /** The broker's external base URL (e.g. https://broker.example.com), used in configuration snippets. */
    PUBLIC_URL: z.url().optional(),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** Prometheus metrics on a listener of their own; 0 picks a free port (logged at start). */
    METRICS_HOST: z.string().default("127.0.0.1"),
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    /** "emf": the broker's figures also go to CloudWatch, as embedded metric format lines in its log (the CDK service sets it). */
    METRICS_CLOUDWATCH: z.enum(["off", "emf"]).default("off"),
    METRICS_CLOUDWATCH_INTERVAL_SECONDS: z.coerce.number().int().min(10).max(3600).default(60),
    METRICS_CLOUDWATCH_NAMESPACE: z.string().regex(/^[A-Za-z0-9._/#:-]{1,255}$/, "letters, digits and . _ / # : -").default(DEFAULT_CLOUDWATCH_NAMESPACE),
    /** Browser front ends on other origins that may call the API; none by default. */
    CORS_ALLOWED_ORIGINS: corsOrigins,

    AWS_REGION: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "must be an AWS region such as eu-west-1"),
    /** Only for a local emulator; unset on AWS. */
    AWS_ENDPOINT_URL: z.url().optional(),
    /** Per attempt; the SDK makes up to AWS_MAX_ATTEMPTS with backoff before the broker answers UPSTREAM_UNAVAILABLE. */
    AWS_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    AWS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
    /** Requests per second per AWS quota, for all replicas together (defaults: the published quotas). */
    UPSTREAM_BUDGETS: upstreamBudgets,
    /** How long a request may wait for its turn in an upstream budget before UPSTREAM_UNAVAILABLE. */
    UPSTREAM_MAX_WAIT_MS: z.coerce.number().int().min(0).max(300_000).default(5_000),
    /** Replicas with the same scope share budgets in Redis; default: the AWS account and Region. */
    UPSTREAM_BUDGET_SCOPE: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, "must be 1-100 characters of A-Z a-z 0-9 _ . : -").optional(),

    POOL_A_USER_POOL_ID: userPoolId,
    POOL_A_CLIENT_ID: z.string().min(1),
    POOL_A_TOKEN_USE: z.enum(["id", "access"]).default("id"),
    POOL_A_ISSUER: z.url().optional(),
    POOL_A_JWKS_URI: z
      .url()
      .refine((uri) => !URL.canParse(uri) || httpsOrLoopback(new URL(uri)), "must be https (plain http only on loopback, for an emulator)")
      .optional(),
    POOL_A_TENANT_CLAIM: z.string().min(1).default("custom:tenant"),
    POOL_A_ADMIN_GROUP: z.string().min(1).default("broker-admins"),
    /** A token (or Pool A user) without the tenant claim: refused (none), or the user is their own tenant (sub), on purpose only. */
    POOL_A_TENANT_FALLBACK: z.enum(["none", "sub"]).default("none"),
    /**
     * The start-up check that Pool A's app client cannot write the tenant attribute. Turn it off
     * only for pools whose tenant claim does not come from a user attribute (e.g. a token trigger).
     */
    POOL_A_SKIP_TENANT_WRITE_CHECK: booleanString.default(false),
    /** How long a Pool A look-up (user enabled and present, groups, tenant attribute) is trusted. */
    POOL_A_STANDING_CACHE_SECONDS: z.coerce.number().int().min(0).max(60).default(60),

    /** Partner app clients (client-credentials tokens) and their tenants; none by default. */
    PARTNER_CLIENTS: partnerClients,
    /** The identifier of Pool A's resource server whose scopes partner tokens carry. */
    PARTNER_RESOURCE_SERVER: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/, "must be a resource server identifier (printable, no spaces, quotes or backslashes)").default("s3-broker"),

    POOL_B_USER_POOL_ID: userPoolId,
    POOL_B_CLIENT_ID: z.string().min(1),
    POOL_B_CLIENT_SECRET: z.string().min(1).optional(),
    POOL_B_REFRESH_TOKEN_VALIDITY_SECONDS: z.coerce.number().int().min(3600).max(315_360_000).default(2_592_000),

    IDENTITY_POOL_ID: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d:[0-9a-f-]+$/, "must look like <region>:<uuid>"),
    CLASSIC_ROLE_ARN: roleArn,
    CLASSIC_ROLE_MAX_SESSION_SECONDS: z.coerce.number().int().min(3600).max(43200).default(3600),
    /** The writer role (same trust and MaxSessionDuration as the classic role) for WRITE and READWRITE scopes; without it writes are refused. */
    CLASSIC_WRITER_ROLE_ARN: roleArn.optional(),
    /** The shards: each a reader role, a writer role and deny-list policies. Unset: one shard of CLASSIC_ROLE_ARN, CLASSIC_WRITER_ROLE_ARN and DENY_LIST_POLICY_ARNS. */
    SESSION_SHARDS: sessionShards,
    /** The one shard's deny-list policies (comma-separated), when SESSION_SHARDS is unset. */
    DENY_LIST_POLICY_ARNS: z
      .string()
      .default("")
      .transform((value) => value.split(",").map((a) => a.trim()).filter(Boolean))
      .pipe(z.array(policyArn).max(20)),
    /** A deny-list document's budget: IAM's managed-policy quota (lower only to test overflow). */
    DENY_LIST_POLICY_MAX_CHARS: z.coerce.number().int().min(256).max(MANAGED_POLICY_MAX_CHARS).default(MANAGED_POLICY_MAX_CHARS),

    S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name"),
    S3_PREFIX_TEMPLATE: z
      .string()
      .refine((t) => t.includes("{tenant}"), "must contain {tenant}")
      .refine((t) => t.endsWith("/"), "must end with /")
      .default("tenants/{tenant}/"),

    /** The last resort's inline policy on every tenant role (a tenant cut off when its shard's deny lists are full), and its share of the role's 10,240 inline characters. */
    TENANT_CUTOFF_POLICY_NAME: z.string().regex(/^[\w+=,.@-]{1,128}$/, "must be an IAM policy name").default("broker-tenant-cutoffs"),
    TENANT_CUTOFF_POLICY_MAX_CHARS: z.coerce.number().int().min(1024).max(10_240).default(8192),

    TOKEN_SAFETY_MARGIN_SECONDS: z.coerce.number().int().min(30).max(1800).default(300),

    ...storeFields,

    RATE_LIMIT_MUTATIONS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(60),
    RATE_LIMIT_CREDENTIAL_ENDPOINT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(120),
    /** Revocations per actor (each costs two calls of Cognito's unraisable 25/s quota that every tenant shares). */
    RATE_LIMIT_REVOCATIONS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(60),
    /** Users an administrator may revoke per minute through revokeDataPlatformUsers (the bulk path). */
    RATE_LIMIT_BULK_REVOCATIONS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
    /** Every root field of a query or mutation (each alias counts), per actor: user, administrator or partner. */
    RATE_LIMIT_FIELDS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
    /** Per partner, look-ups of users the broker has no connection for (Pool A's ListUsers, 30/s for everyone). */
    RATE_LIMIT_PARTNER_LOOKUPS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(120),
    /** Per source address, failed client-key authentications at the credential endpoint. */
    RATE_LIMIT_KEY_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(30),
    /** Per source address, GraphQL requests without a valid token (introspection, the Sandbox, refused tokens). */
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
    /** Live (not revoked, not expired) client keys one user may have. */
    CLIENT_KEYS_PER_USER: z.coerce.number().int().min(1).max(1000).default(20),
    /** Take the client address from X-Forwarded-For as set by this many proxies in front (a load balancer: 1); 0 trusts none. */
    TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(5).default(0),
    /** Rate-limit counters shared by replicas; in-process memory when unset. */
    REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL").optional(),

    /** On SIGTERM, how long readiness fails before the server stops accepting (for the load balancer to notice). */
    SHUTDOWN_DRAIN_SECONDS: z.coerce.number().min(0).max(120).optional(),

    /** The reference console at /console/: on by default outside production. */
    CONSOLE_ENABLED: booleanString.optional(),
    /**
     * How the console signs users in to Pool A: `password` (USER_PASSWORD_AUTH from the browser, as
     * on the local stack) or `managed-login` (Cognito's managed login, OAuth 2.0 code + PKCE).
     */
    CONSOLE_SIGN_IN: z.enum(["password", "managed-login"]).default("password"),
    /** Pool A's domain for managed login: https://<prefix>.auth.<region>.amazoncognito.com or a custom domain. */
    CONSOLE_OAUTH_DOMAIN: z
      .url()
      .refine(
        (uri) => !URL.canParse(uri) || (httpsOrLoopback(new URL(uri)) && new URL(uri).pathname === "/" && !new URL(uri).search),
        "must be an https origin such as https://auth.example.com (plain http only on loopback)",
      )
      .optional(),
    GRAPHQL_SANDBOX: booleanString.optional(),
    GRAPHQL_INTROSPECTION: booleanString.optional(),
    /** The hot path for already-validated documents (src/http/prepared-operations.ts); off sends every request through Apollo's pipeline. */
    GRAPHQL_HOT_PATH: booleanString.default(true),
    /** Estimated bytes of documents the hot path remembers (64 KiB to 1 GiB); one document takes at most an eighth. */
    GRAPHQL_DOCUMENT_CACHE_BYTES: z.coerce.number().int().min(64 * 1024).max(1024 * 1024 * 1024).default(8 * 1024 * 1024),
  })
  .refine((env) => env.CONSOLE_SIGN_IN !== "managed-login" || env.CONSOLE_OAUTH_DOMAIN !== undefined, {
    path: ["CONSOLE_OAUTH_DOMAIN"],
    message: "is required when CONSOLE_SIGN_IN=managed-login: Pool A's domain",
  })
  .refine((env) => env.SESSION_SHARDS !== undefined || env.DENY_LIST_POLICY_ARNS.length > 0, {
    path: ["DENY_LIST_POLICY_ARNS"],
    message: "is required unless SESSION_SHARDS is set: the deny-list policies attached to the tenant roles (docs/revocation.md)",
  })
  // Set-ups handed out with client keys name the broker's address; in production it must never come
  // from a request's Host header, which any client sets.
  .refine((env) => env.NODE_ENV !== "production" || env.PUBLIC_URL !== undefined, {
    path: ["PUBLIC_URL"],
    message: "is required in production: the broker's external base URL (https://…), which client keys' set-ups name; it is never taken from a request's Host header",
  })
  .refine((env) => !env.PARTNER_CLIENTS.has(env.POOL_A_CLIENT_ID), {
    path: ["PARTNER_CLIENTS"],
    message: "must not name POOL_A_CLIENT_ID: the application's own app client signs in end users, not partners",
  })
  .transform((env) => {
    const production = env.NODE_ENV === "production";
    const accountId = /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(env.CLASSIC_ROLE_ARN)![1]!;
    const issuer = env.POOL_A_ISSUER ?? `https://cognito-idp.${env.AWS_REGION}.amazonaws.com/${env.POOL_A_USER_POOL_ID}`;
    return {
      production,
      host: env.HOST,
      port: env.PORT,
      publicUrl: env.PUBLIC_URL?.replace(/\/+$/, ""),
      corsAllowedOrigins: env.CORS_ALLOWED_ORIGINS,
      metrics: {
        host: env.METRICS_HOST,
        port: env.METRICS_PORT,
        cloudWatch: env.METRICS_CLOUDWATCH === "emf" ? { intervalMs: env.METRICS_CLOUDWATCH_INTERVAL_SECONDS * 1000, namespace: env.METRICS_CLOUDWATCH_NAMESPACE } : null,
      },
      logLevel: env.LOG_LEVEL,
      aws: {
        /** The broker's AWS account: the classic role's (the ARN's pattern is checked above). */
        accountId,
        region: env.AWS_REGION,
        endpoint: env.AWS_ENDPOINT_URL,
        requestTimeoutMs: env.AWS_REQUEST_TIMEOUT_MS,
        maxAttempts: env.AWS_MAX_ATTEMPTS,
        budgets: {
          perSecond: env.UPSTREAM_BUDGETS,
          maxWaitMs: env.UPSTREAM_MAX_WAIT_MS,
          scope: env.UPSTREAM_BUDGET_SCOPE ?? `${accountId}:${env.AWS_REGION}`,
        },
      },
      poolA: {
        userPoolId: env.POOL_A_USER_POOL_ID,
        clientId: env.POOL_A_CLIENT_ID,
        tokenUse: env.POOL_A_TOKEN_USE,
        issuer,
        jwksUri: env.POOL_A_JWKS_URI ?? `${issuer}/.well-known/jwks.json`,
        tenantClaim: env.POOL_A_TENANT_CLAIM,
        adminGroup: env.POOL_A_ADMIN_GROUP,
        tenantFallback: env.POOL_A_TENANT_FALLBACK,
        skipTenantWriteCheck: env.POOL_A_SKIP_TENANT_WRITE_CHECK,
        standingCacheMs: env.POOL_A_STANDING_CACHE_SECONDS * 1000,
      },
      partners: { resourceServer: env.PARTNER_RESOURCE_SERVER, clients: env.PARTNER_CLIENTS },
      poolB: {
        userPoolId: env.POOL_B_USER_POOL_ID,
        clientId: env.POOL_B_CLIENT_ID,
        clientSecret: env.POOL_B_CLIENT_SECRET,
        refreshTokenValiditySeconds: env.POOL_B_REFRESH_TOKEN_VALIDITY_SECONDS,
      },
      identityPoolId: env.IDENTITY_POOL_ID,
      classicRole: { arn: env.CLASSIC_ROLE_ARN, maxSessionSeconds: env.CLASSIC_ROLE_MAX_SESSION_SECONDS, writerArn: env.CLASSIC_WRITER_ROLE_ARN },
      /** Every shard's roles and deny lists; the first is CLASSIC_ROLE_ARN's when SESSION_SHARDS is unset. */
      shards: env.SESSION_SHARDS ?? [{ readerRoleArn: env.CLASSIC_ROLE_ARN, writerRoleArn: env.CLASSIC_WRITER_ROLE_ARN, denyListPolicyArns: env.DENY_LIST_POLICY_ARNS }],
      denyLists: {
        denyListMaxChars: env.DENY_LIST_POLICY_MAX_CHARS,
        tenantCutoffPolicyName: env.TENANT_CUTOFF_POLICY_NAME,
        tenantCutoffMaxChars: env.TENANT_CUTOFF_POLICY_MAX_CHARS,
      },
      s3: { bucket: env.S3_BUCKET, prefixTemplate: env.S3_PREFIX_TEMPLATE },
      tokenSafetyMarginSeconds: env.TOKEN_SAFETY_MARGIN_SECONDS,
      ...storeSettings(env),
      rateLimits: {
        mutationsPerMinute: env.RATE_LIMIT_MUTATIONS_PER_MINUTE,
        credentialEndpointPerMinute: env.RATE_LIMIT_CREDENTIAL_ENDPOINT_PER_MINUTE,
        revocationsPerMinute: env.RATE_LIMIT_REVOCATIONS_PER_MINUTE,
        bulkRevocationsPerMinute: env.RATE_LIMIT_BULK_REVOCATIONS_PER_MINUTE,
        actorFieldsPerMinute: env.RATE_LIMIT_FIELDS_PER_MINUTE,
        partnerLookupsPerMinute: env.RATE_LIMIT_PARTNER_LOOKUPS_PER_MINUTE,
        keyFailuresPerMinute: env.RATE_LIMIT_KEY_FAILURES_PER_MINUTE,
        anonymousPerMinute: env.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
        redisUrl: env.REDIS_URL,
      },
      clientKeysPerUser: env.CLIENT_KEYS_PER_USER,
      trustedProxyHops: env.TRUSTED_PROXY_HOPS,
      shutdownDrainMs: (env.SHUTDOWN_DRAIN_SECONDS ?? (production ? 5 : 0)) * 1000,
      console: {
        enabled: env.CONSOLE_ENABLED ?? !production,
        signIn: env.CONSOLE_SIGN_IN,
        oauthDomain: env.CONSOLE_OAUTH_DOMAIN === undefined ? undefined : new URL(env.CONSOLE_OAUTH_DOMAIN).origin,
        // Where the browser calls Pool A (InitiateAuth): the emulator's endpoint, or Cognito's in the Region.
        cognitoEndpoint: env.AWS_ENDPOINT_URL ?? `https://cognito-idp.${env.AWS_REGION}.amazonaws.com/`,
      },
      graphql: {
        sandbox: env.GRAPHQL_SANDBOX ?? !production,
        introspection: env.GRAPHQL_INTROSPECTION ?? !production,
        hotPath: env.GRAPHQL_HOT_PATH,
        documentCacheBytes: env.GRAPHQL_DOCUMENT_CACHE_BYTES,
      },
    };
  });

export type BrokerConfig = z.output<typeof schema>;

function parseKeys(activeId: string, activeKey: string, previous: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>([[activeId, keyBytes(activeKey)]]);
  for (const entry of previous.split(",").map((e) => e.trim()).filter(Boolean)) {
    const separator = entry.indexOf(":");
    const id = entry.slice(0, separator);
    const encoded = entry.slice(separator + 1);
    const key = keyBytes(encoded);
    if (separator < 1 || !keyId.safeParse(id).success || !(STRICT_BASE64_KEY.test(encoded) || HEX_KEY.test(encoded))) {
      throw new ConfigError([`TOKEN_ENCRYPTION_PREVIOUS_KEYS: each entry must be <key id>:<key>, the key ${KEY_FORMS}`]);
    }
    if (!keys.has(id)) keys.set(id, key);
  }
  return keys;
}

export type StoreConfig = z.output<typeof storeSchema>;

function parse<T extends z.ZodType>(target: T, env: NodeJS.ProcessEnv): z.output<T> {
  const result = target.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`));
  }
  return result.data;
}

/** Parses and validates the environment; throws ConfigError naming every problem (never a value). */
export function loadEnvironment(env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  return parse(schema, env);
}

/** Only the store's variables, for the store commands (src/admin/), which need no AWS or Pool settings. */
export function loadStoreEnvironment(env: NodeJS.ProcessEnv = process.env): StoreConfig {
  return parse(storeSchema, env);
}
