import type { PartnerIdentity } from "./partners.js";

/**
 * The verified caller of a request: an end user of the application, signed in to Pool A, or a
 * partner's back end (client-credentials token of a partner app client; `partner` is set).
 */
export interface Principal {
  /** Pool A `sub`; for a partner `partner:<app client id>`, which never names a user. */
  userId: string;
  /** Pool A username (`cognito:username` in ID tokens, `username` in access tokens), for look-ups. */
  username: string | null;
  tokenUse: "id" | "access";
  /**
   * The raw tenant claim: null when the token has none (access tokens never do), "" when it is
   * not a string. Never used as it is: access/tenancy.ts decides the tenant.
   */
  tenantClaim: string | null;
  groups: string[];
  /** What the token says; acts on other users re-check it in Pool A (access/standing.ts). */
  isAdmin: boolean;
  /** Set for partners only: never an administrator, never acting for itself. */
  partner?: PartnerIdentity;
}
