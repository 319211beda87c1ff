import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Principal } from "../../src/auth/principal.js";
import { Acting } from "../../src/broker/access/acting.js";
import { ApplicationStanding } from "../../src/broker/access/standing.js";
import { Tenancy } from "../../src/broker/access/tenancy.js";
import { AuditTrail } from "../../src/broker/audit/audit-trail.js";
import { GrantsService } from "../../src/broker/grants/grants.service.js";
import { loadEnvironment } from "../../src/config/environment.js";
import { ForbiddenError } from "../../src/errors.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { TokenCipher } from "../../src/store/token-cipher.js";
import { InMemoryApplicationDirectory } from "./fakes/application-directory.js";

/** A valid environment for the domain's services (no AWS is called: Pool A is in memory). */
export const DOMAIN_ENV = {
  AWS_REGION: "eu-west-1",
  POOL_A_USER_POOL_ID: "eu-west-1_AAAAAAAAA",
  POOL_A_CLIENT_ID: "client-a",
  POOL_B_USER_POOL_ID: "eu-west-1_BBBBBBBBB",
  POOL_B_CLIENT_ID: "client-b",
  IDENTITY_POOL_ID: "eu-west-1:0f0e4a4c-1111-2222-3333-444455556666",
  CLASSIC_ROLE_ARN: "arn:aws:iam::123456789012:role/tenant-reader",
  DENY_LIST_POLICY_ARNS: "arn:aws:iam::123456789012:policy/deny-list-0",
  S3_BUCKET: "company-data",
  TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
};

export interface DomainKit {
  store: SqliteStore;
  directory: InMemoryApplicationDirectory;
  standing: ApplicationStanding;
  tenancy: Tenancy;
  acting: Acting;
  grants: GrantsService;
  /** The services' clock, in ms; move it forward instead of sleeping. */
  clock: { now: number };
  /** What the services logged as warnings. */
  warnings: string[];
  meta: { requestId: string; log: { info(): void; warn(obj: object, msg?: string): void; error(): void } };
  close(): Promise<void>;
}

/**
 * The domain's services wired as the composition root wires them, on a real SQLite store in a
 * temporary folder and Pool A in memory: for rules that need no AWS, tested in milliseconds. One
 * kit per test (beforeEach), so nothing is shared.
 */
export function domainKit(env: Record<string, string> = {}): DomainKit {
  const dir = mkdtempSync(join(tmpdir(), "domain-"));
  const store = new SqliteStore(join(dir, "broker.sqlite"), new TokenCipher("k1", new Map([["k1", randomBytes(32)]])));
  const config = loadEnvironment({ ...DOMAIN_ENV, ...env });
  const clock = { now: 1_000_000 };
  const now = () => clock.now;
  const directory = new InMemoryApplicationDirectory();
  const audit = new AuditTrail(store, now);
  const standing = new ApplicationStanding(directory.asDirectory(), config.poolA.standingCacheMs, now);
  const tenancy = new Tenancy(config, standing, audit);
  const acting = new Acting(config, standing, tenancy, audit, store, async () => undefined);
  const grants = new GrantsService({ store, acting, tenancy, audit, bucket: config.s3.bucket, now });
  const warnings: string[] = [];
  const meta = { requestId: "r-1", log: { info: () => undefined, warn: (_obj: object, msg?: string) => void warnings.push(msg ?? ""), error: () => undefined } };
  return {
    store, directory, standing, tenancy, acting, grants, clock, warnings, meta,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Pool A user's principal as the authenticator makes it from an ID token. */
export function idTokenOf(userId: string, tenantClaim: string | null, options: { admin?: boolean } = {}): Principal {
  return { userId, username: `user-${userId}`, tokenUse: "id", tenantClaim, groups: options.admin ? ["broker-admins"] : [], isAdmin: options.admin ?? false };
}

/** The reason of a FORBIDDEN refusal, or null when the work succeeded (other errors are returned as they are). */
export async function forbiddenReasonOf(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => null,
    (error: unknown) => (error instanceof ForbiddenError ? error.reason : error),
  );
}
