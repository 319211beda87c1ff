import type { ClientConfiguration } from "./client-config.js";
import type { AccessGrant, AccessPermission, Connection, CredentialFlow } from "../store/store.js";
import { prefixForTenant } from "../policy/tenant.js";

/** What the domain hands to the GraphQL layer; no Pool B token appears in any of these. */

export type ConnectionStateView = "NOT_PROVISIONED" | "PROVISIONING" | "ACTIVE" | "DISABLED" | "REVOKED";

export interface ConnectionStatusView {
  userId: string;
  /** The Pool A username the broker learnt at provisioning (administrators tell people apart by it). */
  username: string | null;
  /** Its e-mail address, if Pool A had verified it then. */
  email: string | null;
  provisioned: boolean;
  state: ConnectionStateView;
  identityId: string | null;
  tenant: string | null;
  bucket: string;
  prefix: string | null;
  idTokenExpiresAt: Date | null;
  refreshTokenExpiresAt: Date | null;
}

export interface CredentialExpiryView {
  expiresAt: Date;
  secondsRemaining: number;
  expired: boolean;
  flow: CredentialFlow;
}

export interface TemporaryCredentialsView {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  durationSeconds: number;
  flow: CredentialFlow;
  region: string;
  bucket: string;
  prefix: string;
  s3Uri: string;
  identityId: string;
  scope: CredentialScopeView;
  clientConfiguration: ClientConfiguration;
}

/** What a set of credentials may reach, and the grant that allowed it. */
export interface CredentialScopeView {
  /** Relative to the tenant's root ("" = all of it). */
  target: string;
  /** The full key or prefix in the bucket. */
  reach: string;
  permission: AccessPermission;
  grant: AccessGrant;
}

export interface ClientKeyView {
  id: string;
  userId: string;
  name: string;
  flow: CredentialFlow;
  durationSeconds: number;
  scopeTarget: string;
  scopePermission: AccessPermission;
  createdAt: Date;
  expiresAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  revoked: boolean;
  expired: boolean;
}

/** A client key as callers may see it: never the secret or its hash. */
export function clientKeyView(key: Omit<ClientKeyView, "revoked" | "expired">, now: number): ClientKeyView {
  return {
    id: key.id,
    userId: key.userId,
    name: key.name,
    flow: key.flow,
    durationSeconds: key.durationSeconds,
    scopeTarget: key.scopeTarget,
    scopePermission: key.scopePermission,
    createdAt: key.createdAt,
    expiresAt: key.expiresAt,
    lastUsedAt: key.lastUsedAt,
    revokedAt: key.revokedAt,
    revoked: key.revokedAt !== null,
    expired: key.expiresAt.getTime() <= now,
  };
}

export interface ConnectionPageView {
  nodes: ConnectionStatusView[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface AuditEventView {
  id: string;
  at: Date;
  actorUserId: string;
  subjectUserId: string;
  action: string;
  outcome: string;
  requestId: string;
  clientRequestId: string | null;
  flow: CredentialFlow | null;
  durationSeconds: number | null;
  errorCode: string | null;
  reason: string | null;
  tenant: string | null;
  previousTenant: string | null;
  clientKeyId: string | null;
  target: string | null;
  auditContext: string | null;
  traceId: string | null;
}

export interface AuditEventPageView {
  nodes: AuditEventView[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** A connection as a front end sees it; `tenantHint` shows the caller's tenant before anything is provisioned. */
export function connectionStatusView(
  s3: { bucket: string; prefixTemplate: string },
  userId: string,
  connection: Connection | null,
  tenantHint: string | null,
): ConnectionStatusView {
  const tenant = connection?.tenant ?? tenantHint;
  const state = connection?.state ?? "NOT_PROVISIONED";
  return {
    userId,
    username: connection?.poolAUsername ?? null,
    email: connection?.poolAEmail ?? null,
    provisioned: state === "ACTIVE" || state === "DISABLED" || state === "REVOKED",
    state,
    identityId: connection?.identityId ?? null,
    tenant,
    bucket: s3.bucket,
    prefix: tenant ? prefixForTenant(s3.prefixTemplate, tenant) : null,
    idTokenExpiresAt: connection?.tokenExpiry?.idTokenExpiresAt ?? null,
    refreshTokenExpiresAt: connection?.tokenExpiry?.refreshTokenExpiresAt ?? null,
  };
}
