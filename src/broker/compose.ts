import { ClientKeyAuthenticator } from "../auth/client-keys.js";
import type { ApplicationDirectory } from "../cognito/application-directory.js";
import type { DataPlatformPool } from "../cognito/data-platform-pool.js";
import type { IdentityExchange } from "../cognito/identity-exchange.js";
import type { IamDocuments } from "../cognito/role-policies.js";
import type { UserS3 } from "../cognito/user-s3.js";
import type { BrokerConfig } from "../config/environment.js";
import type { Store } from "../store/store.js";
import { Acting } from "./access/acting.js";
import { ApplicationStanding } from "./access/standing.js";
import { Tenancy } from "./access/tenancy.js";
import { AuditEventsService } from "./audit/audit-events.service.js";
import { AuditTrail } from "./audit/audit-trail.js";
import { ClientKeyService } from "./client-keys/client-keys.service.js";
import { ConnectionsService } from "./connections/connections.service.js";
import { IssuanceService } from "./credentials/issuance.service.js";
import { CredentialIssuer } from "./credentials/issuer.js";
import { SessionTags } from "./credentials/session-tags.js";
import { TokenCustody } from "./credentials/token-custody.js";
import { GrantsService } from "./grants/grants.service.js";
import { DenyLists } from "./lifecycle/deny-lists.js";
import { LifecycleService } from "./lifecycle/lifecycle.service.js";
import { ListingCursors } from "./objects/listing-cursors.js";
import { ObjectAccessService } from "./objects/object-access.service.js";
import type { RateLimits } from "./rate-limits.js";
import type { BrokerServices } from "./services.js";
import { UserLocks } from "./user-lock.js";

/** What the domain is built on: the store, the service layer's AWS parts (real, or in memory in the domain tests), the rate limits and a clock. */
export interface DomainParts {
  config: BrokerConfig;
  store: Store;
  directory: ApplicationDirectory;
  pool: DataPlatformPool;
  exchange: IdentityExchange;
  iam: IamDocuments;
  s3: UserS3;
  rateLimits: RateLimits;
  now: () => number;
}

/** The services callers use, and the inner parts a domain test looks at. */
export interface Domain {
  services: BrokerServices;
  keyAuthenticator: ClientKeyAuthenticator;
  standing: ApplicationStanding;
  tenancy: Tenancy;
  acting: Acting;
  custody: TokenCustody;
  denyLists: DenyLists;
  issuer: CredentialIssuer;
}

/**
 * The one place the domain's services are wired to each other: src/app.ts builds it on AWS, the
 * domain test kit (test/support/domain.ts) on the same parts in memory, so the tests exercise the
 * wiring that ships.
 */
export function composeDomain(parts: DomainParts): Domain {
  const { config, store, directory, pool, exchange, iam, s3, rateLimits, now } = parts;
  const locks = new UserLocks(store);
  const audit = new AuditTrail(store, now);
  const standing = new ApplicationStanding(directory, config.poolA.standingCacheMs, now);
  const tenancy = new Tenancy(config, standing, audit);
  const acting = new Acting(config, standing, tenancy, audit, store, (partner) => rateLimits.consume("partner-lookup", partner));
  let issuer: CredentialIssuer | undefined;
  const custody = new TokenCustody({ config, store, pool, now, forgetCredentials: (userId) => issuer!.forget(userId) });
  const grants = new GrantsService({ store, acting, tenancy, audit, bucket: config.s3.bucket, now });
  const denyLists = new DenyLists({ store, iam, locks, settings: { shards: config.shards, ...config.denyLists }, now });
  const tags = new SessionTags({ store, pool, shardCount: config.shards.length });
  issuer = new CredentialIssuer({ config, store, exchange, custody, grants, tags, denyLists, locks, now });
  const lifecycle = new LifecycleService({ config, store, pool, exchange, acting, tenancy, standing, audit, issuer, custody, denyLists, tags, locks, now });
  const issuance = new IssuanceService({ config, acting, tenancy, audit, issuer });
  const keyAuthenticator = new ClientKeyAuthenticator({ store, audit, rateLimits, now });
  const services: BrokerServices = {
    connections: new ConnectionsService({ config, store, acting, tenancy, audit, custody, locks, now }),
    lifecycle,
    issuance,
    grants,
    objects: new ObjectAccessService({ issuance, s3, cursors: new ListingCursors(config.encryption.keys.get(config.encryption.activeKeyId)!), now }),
    clientKeys: new ClientKeyService({ config, store, acting, tenancy, standing, audit, issuer, grants, rateLimits, sessions: lifecycle, now }),
    auditEvents: new AuditEventsService({ store, acting }),
  };
  return { services, keyAuthenticator, standing, tenancy, acting, custody, denyLists, issuer };
}
