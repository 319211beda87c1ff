import type { AccessPermission, Connection, CredentialFlow } from "../../store/store.js";

/**
 * What a set of credentials was issued for. Issued credentials are handed out again only for a
 * request with the very same value: same user (the cache key), tenant, prefix, scope target, flow,
 * duration, connection epoch (bumped by revocation and tenant moves) and session tag. Only ACTIVE connections use caches.
 */
export function issuedFor(
  connection: Pick<Connection, "tenant" | "epoch" | "sessionTag">,
  prefix: string,
  flow: CredentialFlow,
  durationSeconds: number,
  target = "",
  permission: AccessPermission = "READ",
): string {
  // READ on the whole prefix ("") keeps the shape entries had before scopes existed.
  const scope = target === "" && permission === "READ" ? [] : [target, permission];
  return JSON.stringify([connection.tenant, prefix, flow, durationSeconds, connection.epoch, ...scope, ...(connection.sessionTag ? [`sid:${connection.sessionTag}`] : [])]);
}
