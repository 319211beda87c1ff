/** Persistence for the broker, behind one interface (SQLite by default). Tokens cross it in plain text; implementations encrypt them at rest. */

export type ConnectionState = "PROVISIONING" | "ACTIVE" | "DISABLED" | "REVOKED";
export type CredentialFlow = "ENHANCED" | "CLASSIC";

export interface PoolBTokens {
  idToken: string;
  idTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
}

/** One end user's link to their data platform user in Pool B. */
export interface Connection {
  userId: string;
  tenant: string;
  poolBUsername: string;
  identityId: string | null;
  state: ConnectionState;
  /** The Pool B tokens' expiry; the tokens themselves are read only by getPoolBTokens. */
  tokenExpiry: { idTokenExpiresAt: Date; refreshTokenExpiresAt: Date } | null;
  /**
   * Bumped by every act that ends what was issued before it (revocation, reinstatement, a tenant
   * move): cached credentials carry the epoch they were issued in and are reused only within it.
   */
  epoch: number;
  /**
   * The user's current session tag (src/policy/policies.ts SESSION_TAG_KEY): every credential is
   * issued under it; revocation denies it, reinstatement and moves replace it. Null until the first
   * issuance after provisioning (or for connections made before tags existed).
   */
  sessionTag: string | null;
  /** The latest expiry of any credential issued under the current tag: how long a deny of the tag must last. */
  tagLiveUntil: Date | null;
  /**
   * The end user's Pool A username (it never changes for a sub), when known: standing checks then
   * use AdminGetUser (Pool A's UserRead quota, 120/s) instead of a ListUsers search (UserList, 30/s,
   * which every tenant's unknown-user look-ups share).
   */
  poolAUsername: string | null;
  /** The Pool A e-mail address Pool A had verified when the broker last learnt it (provisioning), for administrators to tell people apart. */
  poolAEmail: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What updateConnection may change; tokens are given in plain text and sealed by the store. */
export type ConnectionPatch = Partial<Pick<Connection, "tenant" | "identityId" | "state" | "epoch" | "tagLiveUntil" | "poolAUsername" | "poolAEmail">> & { tokens?: PoolBTokens | null };

export interface Issuance {
  userId: string;
  flow: CredentialFlow;
  durationSeconds: number;
  issuedAt: Date;
  expiresAt: Date;
  requestId: string;
}

export type AuditAction =
  | "PROVISION"
  | "ISSUE"
  | "REFRESH"
  | "REVOKE_DATA_PLATFORM_USER"
  | "CLIENT_KEY_CREATE"
  | "CLIENT_KEY_FIRST_USE"
  | "CLIENT_KEY_REVOKE"
  | "CLIENT_KEY_REFUSED"
  | "MOVE_TENANT"
  | "ACCESS_REFUSED"
  | "ADMIN_READ"
  | "PARTNER_READ"
  | "GRANT_CREATE"
  | "GRANT_DELETE";
export type AuditOutcome = "SUCCESS" | "FAILURE";

/** Who did what, for whom, when. Never secrets. */
export interface AuditEvent {
  /** Assigned by the store; increasing, so it doubles as a pagination cursor. */
  id?: number;
  at: Date;
  actorUserId: string;
  subjectUserId: string;
  action: AuditAction;
  outcome: AuditOutcome;
  requestId: string;
  flow?: CredentialFlow;
  durationSeconds?: number;
  /** An error code on failure. */
  errorCode?: string;
  /** The client key that made the request, for unattended clients. */
  clientKeyId?: string;
  /** The subject's tenant when the event happened (where the broker knew it). */
  tenant?: string;
  /** A tenant move: the tenant the user left. A refused cross-tenant attempt: the tenant claimed. */
  previousTenant?: string;
  /** A typed reason on refusals (e.g. TENANT_MISMATCH), the same as the error's extensions.reason. */
  reason?: string;
  /** What the event is about under the tenant's root: an issuance's scope target, a grant's location ("" = the whole prefix). */
  target?: string;
  /** The caller's own words on why (a job or purpose), as S3 Access Grants' AuditContext; never trusted. */
  auditContext?: string;
  /** The X-Request-Id the client sent, kept beside the broker's own request id (never trusted as it). */
  clientRequestId?: string;
  /** The OpenTelemetry trace the event was part of, when traces are on (docs/operators.md#traces). */
  traceId?: string;
}

/** A revocable credential for an unattended client; only a hash of its secret is kept. */
export interface ClientKey {
  id: string;
  userId: string;
  name: string;
  flow: CredentialFlow;
  durationSeconds: number;
  secretHash: string;
  /** What each credential the key obtains reaches, relative to the tenant's root ("" = all of it), and with which permission. */
  scopeTarget: string;
  scopePermission: AccessPermission;
  /** The administrator who made the key for someone else; null when the owner made it. */
  createdBy: string | null;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  firstUsedAt: Date | null;
  lastUsedAt: Date | null;
}

/** Issued AWS credentials kept (encrypted) so that every replica can reuse them. */
export interface CachedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  /** What they were issued for (see credentials/issued-for.ts); reused only for the very same. */
  issuedFor: string;
  /** When the broker asked for them (absent on entries cached before this was kept). */
  issuedAt?: Date;
  /** The session tag they were issued under. */
  sessionTag?: string;
}

/** What a grant allows. READ: list and read. WRITE: put (no delete, no read). READWRITE: both. */
export type AccessPermission = "READ" | "WRITE" | "READWRITE";

/** A named location under a tenant's root that the tenant's users may reach (see broker/grants/). */
export interface AccessGrant {
  id: string;
  tenant: string;
  /** Relative to the tenant's root: "" (all of it), a prefix ending in "/", or one object key. */
  location: string;
  permission: AccessPermission;
  createdBy: string;
  createdAt: Date;
}

/** A session tag on a shard's deny list, kept until no credential issued under it can be alive. */
export interface SessionDenial {
  tag: string;
  shard: number;
  /** Which of the shard's deny-list documents holds it. */
  slot: number;
  tenant: string;
  userId: string;
  expiresAt: Date;
  /** True once a write of its document that contains it has succeeded. */
  applied: boolean;
}

/** The last resort when a shard's deny lists are full: sessions of one tenant issued before `cutoffAt` are denied. */
export interface TenantCutoff {
  tenant: string;
  cutoffAt: Date;
  expiresAt: Date;
}

/** One sealed secret and where it lives: what key rotation re-seals and the store move verifies. */
export type SealedValue =
  | { userId: string; column: "id_token" | "refresh_token"; sealed: string }
  | { userId: string; column: "credentials"; flow: CredentialFlow; durationSeconds: number; sealed: string };

export interface Page<T> {
  items: T[];
  hasNextPage: boolean;
}

export interface Store {
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  /** The sealed canary (src/store/encryption-canary.ts): throws EncryptionKeyMismatchError when the configured keys cannot open this store's data. */
  checkEncryptionKey(): Promise<void>;
  /**
   * Runs `task` while holding a lock on the user that other broker processes sharing this store
   * respect too (PostgreSQL: an advisory lock). Within one process the domain serialises as well.
   */
  withUserLock<T>(userId: string, task: () => Promise<T>): Promise<T>;
  getCachedCredentials(userId: string, flow: CredentialFlow, durationSeconds: number): Promise<CachedCredentials | null>;
  putCachedCredentials(userId: string, flow: CredentialFlow, durationSeconds: number, credentials: CachedCredentials): Promise<void>;
  forgetCachedCredentials(userId: string): Promise<void>;
  /** Batch reads, for DataLoader: results in the order of `userIds`. */
  getConnections(userIds: readonly string[]): Promise<Array<Connection | null>>;
  lastIssuances(userIds: readonly string[]): Promise<Array<Issuance | null>>;
  listClientKeysFor(userIds: readonly string[]): Promise<ClientKey[][]>;
  /** Connections ordered by user id, after the cursor (a user id), optionally of one tenant. */
  listConnections(options: { first: number; after?: string | null; tenant?: string | null; search?: string | null }): Promise<Page<Connection>>;
  /** A user's audit events, newest first, before the cursor (an event id). */
  auditEventsPage(subjectUserId: string, options: { first: number; after?: number | null }): Promise<Page<AuditEvent>>;
  getConnection(userId: string): Promise<Connection | null>;
  /** The user's Pool B tokens, decrypted: the one read that returns them (null when none are stored). */
  getPoolBTokens(userId: string): Promise<PoolBTokens | null>;
  /** Inserts the connection unless one exists for the user; returns the stored one either way. */
  createConnection(connection: Pick<Connection, "userId" | "tenant" | "poolBUsername">): Promise<Connection>;
  updateConnection(userId: string, patch: ConnectionPatch): Promise<void>;
  recordIssuance(issuance: Issuance): Promise<void>;
  lastIssuance(userId: string): Promise<Issuance | null>;
  appendAudit(event: AuditEvent): Promise<void>;
  createClientKey(key: Omit<ClientKey, "revokedAt" | "firstUsedAt" | "lastUsedAt">): Promise<void>;
  getClientKey(id: string): Promise<ClientKey | null>;
  listClientKeys(userId: string): Promise<ClientKey[]>;
  /** Sets revoked_at unless already set; returns the key as stored afterwards. */
  revokeClientKey(id: string, at: Date): Promise<ClientKey | null>;
  revokeClientKeysOf(userId: string, at: Date): Promise<number>;
  /**
   * Makes `tag` the user's session tag (and clears tagLiveUntil) unless another connection or a
   * deny-list entry holds it: false when it is taken, so a tag never names two users.
   */
  claimSessionTag(userId: string, tag: string): Promise<boolean>;
  /** Adds a tag to a deny list (unapplied); an existing entry keeps its place and the later expiry. */
  putSessionDenial(denial: Omit<SessionDenial, "applied">): Promise<void>;
  getSessionDenial(tag: string): Promise<SessionDenial | null>;
  /** Deletes the shard's entries expired at `now`, then counts the placed ones per slot (slots without entries are left out). */
  denialSlotCounts(shard: number, now: Date): Promise<Map<number, number>>;
  /** The shard's entries no write has placed yet (slot -1, not applied), by tag. */
  unplacedDenials(shard: number): Promise<SessionDenial[]>;
  /** The entries one document holds, by tag. */
  denialsInSlot(shard: number, slot: number): Promise<SessionDenial[]>;
  /** Records where each entry stands (its slot, and whether a write that holds it succeeded). */
  placeDenials(placements: ReadonlyArray<{ tag: string; slot: number; applied: boolean }>): Promise<void>;
  /** Adds (or moves later) a tenant's last-resort cut-off. */
  putTenantCutoff(cutoff: TenantCutoff): Promise<void>;
  /** Every tenant cut-off still in force at `now`; expired ones are deleted. */
  tenantCutoffs(now: Date): Promise<TenantCutoff[]>;
  /**
   * Inserts the grant unless the same tenant, location and permission exist; returns the stored one
   * either way. Marks the tenant as managed by grants first (grantsManaged), so a failure between
   * the two leaves it with no access rather than the default.
   */
  createGrant(grant: AccessGrant): Promise<AccessGrant>;
  /** True once the tenant has had a grant: it has exactly its grants from then on, none when all are deleted. */
  grantsManaged(tenant: string): Promise<boolean>;
  /** A tenant's grants, by location. */
  listGrants(tenant: string): Promise<AccessGrant[]>;
  getGrant(id: string): Promise<AccessGrant | null>;
  /** True when a grant was removed. */
  deleteGrant(id: string): Promise<boolean>;
  /** Records a use; returns true when it was the key's first. */
  recordClientKeyUse(id: string, at: Date): Promise<boolean>;
  auditEvents(subjectUserId: string, limit: number): Promise<AuditEvent[]>;
  /**
   * Every sealed value (Pool B tokens, cached credentials) of up to `limit` users after the cursor
   * (a user id), in user id order; `lastUserId` is the next cursor, null at the end. The canary is
   * checkEncryptionKey's.
   */
  sealedValues(afterUserId: string, limit: number): Promise<{ values: SealedValue[]; lastUserId: string | null }>;
  /** Writes `next` where `value` was, if it is still there (compare-and-swap); false when a broker rewrote it meanwhile. */
  replaceSealedValue(value: SealedValue, next: string): Promise<boolean>;
  close(): Promise<void>;
}
