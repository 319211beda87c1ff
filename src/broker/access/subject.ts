/** Whom a request acts for, decided by Acting (acting.ts) and read by Tenancy (tenancy.ts). */
export interface Subject {
  userId: string;
  /** True when the caller acts for themselves. */
  self: boolean;
  /** For a partner's subject: the user's tenant per Pool A, one of the partner's; the connection must be pinned to it. */
  partnerTenant?: string;
}
