import type { AccessPermission, Connection, CredentialFlow } from "../../store/store.js";

/**
 * What a set of credentials was issued for. Issued credentials are handed out again only for a
 * request with the very same value: same user (the cache key), tenant, prefix, scope target, flow,
 * duration and connection epoch (bumped by revocation and tenant moves). Only ACTIVE connections use caches.
 */
export function issuedFor(
  connection: Pick<Connection, "tenant" | "epoch">,
  prefix: string,
  flow: CredentialFlow,
  durationSeconds: number,
  target = "",
  permission: AccessPermission = "READ",
): string {
  // READ on the whole prefix ("") keeps the shape entries had before scopes existed.
  const scope = target === "" && permission === "READ" ? [] : [target, permission];
  return JSON.stringify([connection.tenant, prefix, flow, durationSeconds, connection.epoch, ...scope]);
}
