import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Authenticator } from "../../src/auth/authentication.js";
import { PoolATokenVerifier } from "../../src/auth/pool-a-verifier.js";
import type { PartnerPrincipal, UserPrincipal } from "../../src/auth/principal.js";
import { partnerActorId, PARTNER_SCOPES, type PartnerScope } from "../../src/auth/partners.js";
import type { ClientKeyCredentials } from "../../src/broker/client-keys/client-keys.service.js";
import { composeDomain, type Domain } from "../../src/broker/compose.js";
import { RateLimits } from "../../src/broker/rate-limits.js";
import type { BrokerServices } from "../../src/broker/services.js";
import { UserS3 } from "../../src/cognito/user-s3.js";
import { type BrokerConfig, loadEnvironment } from "../../src/config/environment.js";
import { InMemoryIam } from "../../src/dev/in-memory-iam.js";
import { ForbiddenError } from "../../src/errors.js";
import { denyListDocument } from "../../src/policy/policies.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { TokenCipher } from "../../src/store/token-cipher.js";
import { InMemoryApplicationDirectory } from "./fakes/application-directory.js";
import { InMemoryDataPlatformPool } from "./fakes/data-platform-pool.js";
import { InMemoryIdentityExchange } from "./fakes/identity-exchange.js";

/** A valid environment for the domain's services (no AWS is called: Pool A is in memory). */
export const DOMAIN_ENV = {
  AWS_REGION: "eu-west-1",
  POOL_A_USER_POOL_ID: "eu-west-1_AAAAAAAAA",
  POOL_A_CLIENT_ID: "client-a",
  POOL_B_USER_POOL_ID: "eu-west-1_BBBBBBBBB",
  POOL_B_CLIENT_ID: "client-b",
  IDENTITY_POOL_ID: "eu-west-1:0f0e4a4c-1111-2222-3333-444455556666",
  CLASSIC_ROLE_ARN: "arn:aws:iam::123456789012:role/tenant-reader",
  CLASSIC_WRITER_ROLE_ARN: "arn:aws:iam::123456789012:role/tenant-writer",
  DENY_LIST_POLICY_ARNS: "arn:aws:iam::123456789012:policy/deny-list-0",
  S3_BUCKET: "company-data",
  TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
};

/** The domain (src/broker/compose.ts), what it is built on, and shortcuts to the services most tests call. */
export interface DomainKit extends Domain {
  config: BrokerConfig;
  store: SqliteStore;
  /** Pool A, Pool B, the identity pool with STS, and IAM: in memory, each counting its calls. */
  directory: InMemoryApplicationDirectory;
  pool: InMemoryDataPlatformPool;
  exchange: InMemoryIdentityExchange;
  iam: InMemoryIam;
  grants: BrokerServices["grants"];
  issuance: BrokerServices["issuance"];
  lifecycle: BrokerServices["lifecycle"];
  clientKeys: BrokerServices["clientKeys"];
  /** Who is asking (src/auth/), as the HTTP layer asks it. */
  authenticator: Authenticator;
  /** What the credential endpoint does with a presented key: authenticate it, then credentials for it. */
  credentialsWithKey(secret: string | undefined): Promise<ClientKeyCredentials>;
  /** The services' clock, in ms; move it forward instead of sleeping. */
  clock: { now: number };
  /** What the services logged as warnings. */
  warnings: string[];
  meta: { requestId: string; log: { info(): void; warn(obj: object, msg?: string): void; error(): void } };
  /** Where the store lives and the key that seals it: what a second replica of the broker shares. */
  storage: { path: string; cipher: TokenCipher };
  close(): Promise<void>;
}

/**
 * The domain's services wired as the composition root (src/app.ts) wires them, on a real SQLite
 * store in a temporary folder, with Pool A, Pool B, the identity pool, STS and IAM in memory: the
 * domain's rules (tenancy, grants, issuance and reuse, revocation, moves, client keys) tested in
 * milliseconds. One kit per test (beforeEach), so nothing is shared.
 *
 * `replicaOf`: another broker process beside that kit's (a second replica, or the same broker
 * restarted with other settings `env`): the same store and AWS (its fakes) and clock, its own
 * caches and locks in memory. Close it before the kit it shares with.
 */
export function domainKit(env: Record<string, string> = {}, options: { replicaOf?: DomainKit } = {}): DomainKit {
  const shared = options.replicaOf;
  const dir = shared ? null : mkdtempSync(join(tmpdir(), "domain-"));
  const storage = shared?.storage ?? { path: join(dir!, "broker.sqlite"), cipher: new TokenCipher("k1", new Map([["k1", randomBytes(32)]])) };
  // One process owns a SQLite file: a replica shares the store itself (replicas share one database).
  const store = shared?.store ?? new SqliteStore(storage.path, storage.cipher);
  const config = loadEnvironment({ ...DOMAIN_ENV, ...env });
  const clock = shared?.clock ?? { now: Date.UTC(2026, 11, 1, 12, 0, 0) };
  const now = () => clock.now;
  const directory = shared?.directory ?? new InMemoryApplicationDirectory();
  const pool = shared?.pool ?? new InMemoryDataPlatformPool(now);
  const exchange = shared?.exchange ?? new InMemoryIdentityExchange(now);
  const iam = shared?.iam ?? new InMemoryIam(now);
  if (!shared) {
    for (const shard of config.shards) {
      for (const arn of shard.denyListPolicyArns) iam.createPolicy(arn, denyListDocument([]), [shard.readerRoleArn, ...(shard.writerRoleArn ? [shard.writerRoleArn] : [])]);
    }
  }
  const rateLimits = new RateLimits(config.rateLimits);
  // Presigning is local; a listing would need S3 (nothing listens here: the emulator suites list).
  const s3 = new UserS3({ region: config.aws.region, endpoint: "http://127.0.0.1:9", bucket: config.s3.bucket, requestTimeoutMs: 1000 });
  const domain = composeDomain({ config, store, directory: directory.asDirectory(), pool: pool.asPool(), exchange: exchange.asExchange(), iam, s3, rateLimits, now });
  const { services } = domain;
  const authenticator = new Authenticator(new PoolATokenVerifier(config.poolA, config.partners), domain.keyAuthenticator);
  const warnings: string[] = [];
  const meta = { requestId: "r-1", log: { info: () => undefined, warn: (_obj: object, msg?: string) => void warnings.push(msg ?? ""), error: () => undefined } };
  return {
    config, store, directory, pool, exchange, iam, ...domain,
    grants: services.grants, issuance: services.issuance, lifecycle: services.lifecycle, clientKeys: services.clientKeys,
    authenticator,
    credentialsWithKey: async (secret) => services.clientKeys.credentialsFor(await authenticator.clientKey(secret, meta), meta),
    clock, warnings, meta, storage,
    async close() {
      await rateLimits.close();
      if (shared) return;
      await store.close();
      rmSync(dir!, { recursive: true, force: true });
    },
  };
}

/** A Pool A user's principal as the authenticator makes it from an ID token. */
export function idTokenOf(userId: string, tenantClaim: string | null, options: { admin?: boolean; email?: string | null } = {}): UserPrincipal {
  return { kind: "user", userId, username: `user-${userId}`, email: options.email ?? null, tokenUse: "id", tenantClaim, groups: options.admin ? ["broker-admins"] : [], isAdmin: options.admin ?? false };
}

/** A fresh Pool A user of `tenant` (present in the directory, with a verified e-mail), signed in with an ID token: its principal. */
export function poolAUser(kit: Pick<DomainKit, "directory">, tenant: string, options: { admin?: boolean } = {}): UserPrincipal {
  const sub = randomUUID();
  const email = `user-${sub.slice(0, 8)}@example.com`;
  kit.directory.add({ sub, username: `user-${sub}`, tenant, groups: options.admin ? ["broker-admins"] : [], attributes: { email, email_verified: "true" } });
  return idTokenOf(sub, tenant, { ...options, email });
}

/** A fresh Pool A user of `tenant` whose data platform user is provisioned (ACTIVE). */
export async function provisionedUser(kit: DomainKit, tenant = "acme"): Promise<UserPrincipal> {
  const user = poolAUser(kit, tenant);
  await kit.lifecycle.provision(user, null, kit.meta);
  return user;
}

/** A partner's back end as the authenticator makes it from a client-credentials token (its tenants come from PARTNER_CLIENTS). */
export function partnerOf(clientId: string, tenants: readonly string[], scopes: readonly PartnerScope[] = PARTNER_SCOPES): PartnerPrincipal {
  return { kind: "partner", userId: partnerActorId(clientId), username: null, email: null, tokenUse: "access", tenantClaim: null, groups: [], isAdmin: false, partner: { clientId, tenants, scopes } };
}

/** The reason of a FORBIDDEN refusal, or null when the work succeeded (other errors are returned as they are). */
export async function forbiddenReasonOf(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => null,
    (error: unknown) => (error instanceof ForbiddenError ? error.reason : error),
  );
}
