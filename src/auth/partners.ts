/**
 * Partners: other companies' back ends that script the broker for users of their tenants, with
 * Cognito OAuth 2.0 client-credentials access tokens of a Pool A app client. What a partner may
 * do comes from the token's resource-server scopes (which Cognito grants only as the app client
 * allows); where it may do it comes from the broker's config (PARTNER_CLIENTS), never the token.
 */

/** The scopes a partner token may carry, as `<PARTNER_RESOURCE_SERVER>/<scope>`. */
export const PARTNER_SCOPES = ["provision", "issue", "keys", "audit"] as const;
export type PartnerScope = (typeof PARTNER_SCOPES)[number];

/** What each scope opens, for the README and the schema's descriptions. */
export const PARTNER_SCOPE_MEANINGS: Record<PartnerScope, string> = {
  provision: "provision users and read their connection status and access",
  issue: "issue credentials (and presigned URLs, object listings) for users, renew their tokens, read their status",
  keys: "create, list and revoke users' client keys",
  audit: "read users' audit trails",
};

export interface PartnerSettings {
  /** The resource server's identifier in Pool A: scopes arrive as `<identifier>/<scope>`. */
  resourceServer: string;
  /** Partner app client id → the tenants it may act in. */
  clients: ReadonlyMap<string, readonly string[]>;
}

/** The verified partner behind a request. */
export interface PartnerIdentity {
  clientId: string;
  tenants: readonly string[];
  scopes: readonly PartnerScope[];
}

const ACTOR_PREFIX = "partner:";

/** How a partner appears as the actor of audit events and as the creator of client keys. */
export function partnerActorId(clientId: string): string {
  return `${ACTOR_PREFIX}${clientId}`;
}

/** The partner's client id when an actor id names a partner; null for Pool A users. */
export function partnerClientIdOf(actorId: string): string | null {
  return actorId.startsWith(ACTOR_PREFIX) ? actorId.slice(ACTOR_PREFIX.length) : null;
}

/** The known scopes among a token's space-separated `scope` claim. */
export function partnerScopesOf(scopeClaim: string, resourceServer: string): PartnerScope[] {
  const granted = new Set(scopeClaim.split(" ").filter(Boolean));
  return PARTNER_SCOPES.filter((scope) => granted.has(`${resourceServer}/${scope}`));
}

/** A partner still configured, with the tenant among its tenants (a key a partner made works only while this holds). */
export function partnerMayActIn(settings: PartnerSettings, clientId: string, tenant: string): boolean {
  return settings.clients.get(clientId)?.includes(tenant) ?? false;
}
