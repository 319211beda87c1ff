import type { ClientKey } from "../store/store.js";
import type { PartnerIdentity } from "./partners.js";

/** What every caller of the GraphQL API has, whatever its kind. */
interface PrincipalFields {
  /** Pool A `sub`; for a partner `partner:<app client id>`, which never names a user. */
  userId: string;
  /** Pool A username (`cognito:username` in ID tokens, `username` in access tokens), for look-ups. */
  username: string | null;
  /**
   * The Pool A e-mail address, only when Pool A verified it (an ID token's email with
   * email_verified): users may change their own e-mail, so an unverified one is never shown as theirs.
   * For display to administrators only; never decides access.
   */
  email: string | null;
  tokenUse: "id" | "access";
  /**
   * The raw tenant claim: null when the token has none (access tokens never do), "" when it is
   * not a string. Never used as it is: access/tenancy.ts decides the tenant.
   */
  tenantClaim: string | null;
  groups: string[];
  /** What the token says; acts on other users re-check it in Pool A (access/standing.ts). */
  isAdmin: boolean;
}

/** An end user of the application, signed in to Pool A (an ID or access token). */
export interface UserPrincipal extends PrincipalFields {
  kind: "user";
}

/** A partner's back end: a client-credentials access token of a partner app client. Never an administrator, never acting for itself. */
export interface PartnerPrincipal extends PrincipalFields {
  kind: "partner";
  username: null;
  email: null;
  tokenUse: "access";
  tenantClaim: null;
  isAdmin: false;
  partner: PartnerIdentity;
}

/** The verified caller of a GraphQL request (src/auth/authentication.ts decides which, once per request). */
export type Principal = UserPrincipal | PartnerPrincipal;

/** An unattended client presenting a client key, at the credential endpoint: it acts for the key's owner alone. */
export interface ClientKeyPrincipal {
  kind: "client-key";
  key: ClientKey;
}

/** Every kind of caller the broker authenticates (src/auth/): users, partners, client keys. */
export type Caller = Principal | ClientKeyPrincipal;

/** An e-mail address Pool A verified (a claim or an attribute: email_verified is true or "true"), else null. */
export function verifiedEmail(email: unknown, verified: unknown): string | null {
  return typeof email === "string" && email.length > 0 && (verified === true || verified === "true") ? email : null;
}
