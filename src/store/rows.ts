import type { AccessGrant, AuditEvent, CachedCredentials, SessionDenial, TenantCutoff, ClientKey, Connection, ConnectionState, CredentialFlow, Issuance, PoolBTokens, SealedValue } from "./store.js";
import type { TokenCipher } from "./token-cipher.js";

/** Row shapes and their mapping to the domain, shared by the SQLite and PostgreSQL stores (same columns in both). */

export interface ClientKeyRow {
  id: string;
  user_id: string;
  name: string;
  flow: CredentialFlow;
  duration_seconds: number;
  secret_hash: string;
  scope_target: string;
  scope_permission: ClientKey["scopePermission"];
  created_by: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  first_used_at: number | null;
  last_used_at: number | null;
}

/** Credentials come back from JSON with the expiration as a string. */
export function unsealCredentials(json: string): CachedCredentials {
  const { issuedAt, expiration, ...parsed } = JSON.parse(json) as Omit<CachedCredentials, "expiration" | "issuedAt"> & { expiration: string; issuedAt?: string };
  // Entries sealed before issuedFor existed match no request, so they are never reused.
  return { ...parsed, issuedFor: parsed.issuedFor ?? "", expiration: new Date(expiration), ...(issuedAt !== undefined ? { issuedAt: new Date(issuedAt) } : {}) };
}

const dateOrNull = (value: number | null) => (value === null ? null : new Date(value));

export function toClientKey(row: ClientKeyRow): ClientKey {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    flow: row.flow,
    durationSeconds: row.duration_seconds,
    secretHash: row.secret_hash,
    scopeTarget: row.scope_target ?? "",
    scopePermission: row.scope_permission ?? "READ",
    createdBy: row.created_by ?? null,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    revokedAt: dateOrNull(row.revoked_at),
    firstUsedAt: dateOrNull(row.first_used_at),
    lastUsedAt: dateOrNull(row.last_used_at),
  };
}

export interface IssuanceRow {
  user_id: string;
  flow: CredentialFlow;
  duration_seconds: number;
  issued_at: number;
  expires_at: number;
  request_id: string;
}

export function toIssuance(row: IssuanceRow): Issuance {
  return {
    userId: row.user_id,
    flow: row.flow,
    durationSeconds: row.duration_seconds,
    issuedAt: new Date(row.issued_at),
    expiresAt: new Date(row.expires_at),
    requestId: row.request_id,
  };
}

export interface AuditRow {
  id: number;
  at: number;
  actor_user_id: string;
  subject_user_id: string;
  action: AuditEvent["action"];
  outcome: AuditEvent["outcome"];
  request_id: string;
  flow: CredentialFlow | null;
  duration_seconds: number | null;
  error_code: string | null;
  client_key_id: string | null;
  tenant: string | null;
  previous_tenant: string | null;
  reason: string | null;
  client_request_id: string | null;
  target: string | null;
  audit_context: string | null;
  trace_id: string | null;
}

export function toAuditEvent(r: AuditRow): AuditEvent {
  return {
    id: r.id,
    at: new Date(r.at),
    actorUserId: r.actor_user_id,
    subjectUserId: r.subject_user_id,
    action: r.action,
    outcome: r.outcome,
    requestId: r.request_id,
    ...(r.flow ? { flow: r.flow } : {}),
    ...(r.duration_seconds !== null ? { durationSeconds: r.duration_seconds } : {}),
    ...(r.error_code ? { errorCode: r.error_code } : {}),
    ...(r.client_key_id ? { clientKeyId: r.client_key_id } : {}),
    ...(r.tenant ? { tenant: r.tenant } : {}),
    ...(r.previous_tenant ? { previousTenant: r.previous_tenant } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.client_request_id ? { clientRequestId: r.client_request_id } : {}),
    ...(r.target !== null && r.target !== undefined ? { target: r.target } : {}),
    ...(r.audit_context ? { auditContext: r.audit_context } : {}),
    ...(r.trace_id ? { traceId: r.trace_id } : {}),
  };
}

export interface ConnectionRow {
  user_id: string;
  tenant: string;
  pool_b_username: string;
  identity_id: string | null;
  state: ConnectionState;
  id_token_sealed: string | null;
  id_token_expires_at: number | null;
  refresh_token_sealed: string | null;
  refresh_token_expires_at: number | null;
  epoch: number;
  session_tag: string | null;
  tag_live_until: number | null;
  pool_a_username: string | null;
  pool_a_email: string | null;
  created_at: number;
  updated_at: number;
}


/** Additional data binding each sealed value to its row and column. */
export const tokenContext = (userId: string, column: "id_token" | "refresh_token") => `${userId}/${column}`;
export const credentialsContext = (userId: string, flow: CredentialFlow, durationSeconds: number) => `${userId}/credentials/${flow}/${durationSeconds}`;

/** The additional data a sealed value is bound to, wherever it is read from. */
export const contextOf = (value: SealedValue) =>
  value.column === "credentials" ? credentialsContext(value.userId, value.flow, value.durationSeconds) : tokenContext(value.userId, value.column);

/** A page of sealedValues from its two reads: the users' token columns and their cached credentials. */
export function sealedValuesPage(
  tokenRows: Array<{ user_id: string; id_token_sealed: string | null; refresh_token_sealed: string | null }>,
  cacheRows: Array<{ user_id: string; flow: CredentialFlow; duration_seconds: number; sealed: string }>,
): { values: SealedValue[]; lastUserId: string | null } {
  const values: SealedValue[] = [];
  for (const row of tokenRows) {
    if (row.id_token_sealed) values.push({ userId: row.user_id, column: "id_token", sealed: row.id_token_sealed });
    if (row.refresh_token_sealed) values.push({ userId: row.user_id, column: "refresh_token", sealed: row.refresh_token_sealed });
  }
  for (const row of cacheRows) values.push({ userId: row.user_id, column: "credentials", flow: row.flow, durationSeconds: Number(row.duration_seconds), sealed: row.sealed });
  return { values, lastUserId: tokenRows.at(-1)?.user_id ?? null };
}

export function sealTokenColumns(userId: string, tokens: PoolBTokens | null, cipher: TokenCipher) {
  return {
    idToken: tokens ? cipher.seal(tokens.idToken, tokenContext(userId, "id_token")) : null,
    idTokenExpiresAt: tokens ? tokens.idTokenExpiresAt.getTime() : null,
    refreshToken: tokens ? cipher.seal(tokens.refreshToken, tokenContext(userId, "refresh_token")) : null,
    refreshTokenExpiresAt: tokens ? tokens.refreshTokenExpiresAt.getTime() : null,
  };
}

/** The columns of a connection without its sealed tokens: views and state checks never read secrets. */
export const CONNECTION_COLUMNS =
  "user_id, tenant, pool_b_username, identity_id, state, id_token_expires_at, refresh_token_expires_at, epoch, session_tag, tag_live_until, pool_a_username, pool_a_email, created_at, updated_at";

/** A row as CONNECTION_COLUMNS reads it. */
export type ConnectionColumnsRow = Omit<ConnectionRow, "id_token_sealed" | "refresh_token_sealed">;

export function toConnection(row: ConnectionColumnsRow): Connection {
  return {
    userId: row.user_id,
    tenant: row.tenant,
    poolBUsername: row.pool_b_username,
    identityId: row.identity_id,
    state: row.state,
    tokenExpiry:
      row.id_token_expires_at !== null && row.refresh_token_expires_at !== null
        ? { idTokenExpiresAt: new Date(Number(row.id_token_expires_at)), refreshTokenExpiresAt: new Date(Number(row.refresh_token_expires_at)) }
        : null,
    epoch: Number(row.epoch),
    sessionTag: row.session_tag ?? null,
    tagLiveUntil: row.tag_live_until === null || row.tag_live_until === undefined ? null : new Date(Number(row.tag_live_until)),
    poolAUsername: row.pool_a_username ?? null,
    poolAEmail: row.pool_a_email ?? null,
    createdAt: new Date(Number(row.created_at)),
    updatedAt: new Date(Number(row.updated_at)),
  };
}

/** The columns getPoolBTokens reads: the only read of the sealed tokens. */
export const TOKEN_COLUMNS = "user_id, id_token_sealed, id_token_expires_at, refresh_token_sealed, refresh_token_expires_at";

export type TokenRow = Pick<ConnectionRow, "user_id" | "id_token_sealed" | "id_token_expires_at" | "refresh_token_sealed" | "refresh_token_expires_at">;

export function openTokenColumns(row: TokenRow, cipher: TokenCipher): PoolBTokens | null {
  if (!row.id_token_sealed || !row.refresh_token_sealed || row.id_token_expires_at === null || row.refresh_token_expires_at === null) return null;
  return {
    idToken: cipher.open(row.id_token_sealed, tokenContext(row.user_id, "id_token")),
    idTokenExpiresAt: new Date(Number(row.id_token_expires_at)),
    refreshToken: cipher.open(row.refresh_token_sealed, tokenContext(row.user_id, "refresh_token")),
    refreshTokenExpiresAt: new Date(Number(row.refresh_token_expires_at)),
  };
}

/**
 * A LIKE pattern, in lower case, for what starts with `search` in any case (its own % _ and \ taken
 * literally); null for no search. Matched against lower(column): PostgreSQL's text_pattern_ops
 * indexes on lower(...) serve it.
 */
export function likePrefix(search: string | null | undefined): string | null {
  return search ? `${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
}

/** The audit columns in insert order, and the values of one event for them: one list for both stores. */
export const AUDIT_COLUMNS =
  "at, actor_user_id, subject_user_id, action, outcome, request_id, flow, duration_seconds, error_code, client_key_id, tenant, previous_tenant, reason, client_request_id, target, audit_context, trace_id";

export function auditValues(e: AuditEvent): unknown[] {
  return [
    e.at.getTime(),
    e.actorUserId,
    e.subjectUserId,
    e.action,
    e.outcome,
    e.requestId,
    e.flow ?? null,
    e.durationSeconds ?? null,
    e.errorCode ?? null,
    e.clientKeyId ?? null,
    e.tenant ?? null,
    e.previousTenant ?? null,
    e.reason ?? null,
    e.clientRequestId ?? null,
    e.target ?? null,
    e.auditContext ?? null,
    e.traceId ?? null,
  ];
}

export interface SessionDenialRow {
  tag: string;
  shard: number;
  slot: number;
  tenant: string;
  user_id: string;
  expires_at: number;
  applied: number;
}

export const toSessionDenial = (r: SessionDenialRow): SessionDenial => ({
  tag: r.tag,
  shard: Number(r.shard),
  slot: Number(r.slot),
  tenant: r.tenant,
  userId: r.user_id,
  expiresAt: new Date(Number(r.expires_at)),
  applied: Number(r.applied) === 1,
});

export interface TenantCutoffRow {
  tenant: string;
  cutoff_at: number;
  expires_at: number;
}

export const toTenantCutoff = (r: TenantCutoffRow): TenantCutoff => ({
  tenant: r.tenant,
  cutoffAt: new Date(Number(r.cutoff_at)),
  expiresAt: new Date(Number(r.expires_at)),
});

export interface GrantRow {
  id: string;
  tenant: string;
  location: string;
  permission: AccessGrant["permission"];
  created_by: string;
  created_at: number;
}

export const toGrant = (r: GrantRow): AccessGrant => ({
  id: r.id,
  tenant: r.tenant,
  location: r.location,
  permission: r.permission,
  createdBy: r.created_by,
  createdAt: new Date(Number(r.created_at)),
});
