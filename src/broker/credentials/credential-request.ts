import { BadUserInputError } from "../../errors.js";
import type { AccessPermission, CredentialFlow } from "../../store/store.js";
import { resolveDurationSeconds } from "../duration.js";
import { parseLocation } from "../grants/location.js";
import type { Shard } from "../lifecycle/deny-lists.js";

/** What credentials are asked for, decided: flow, duration, and the scope (target within the tenant's root, permission). */
export interface CredentialRequest {
  flow: CredentialFlow;
  durationSeconds: number;
  /** Relative to the tenant's root: "" for the whole prefix, a prefix ending in "/", or one object key. */
  target: string;
  permission: AccessPermission;
}

/**
 * The one place the flow, duration and scope rules are decided, for issueCredentials and for
 * createClientKey alike (`fields` is where the caller's input sits: "" or "input."), each case
 * with one message: the duration (duration.ts); a location that stays in the tenant's root; a scope
 * only with the CLASSIC flow (the ENHANCED flow cannot carry a session policy); writes only with a
 * writer role. Whether a grant allows the scope is the grants' decision, at every issuance.
 */
export function credentialRequest(
  input: { flow: CredentialFlow; durationSeconds?: number | null | undefined; scope?: { target: string; permission: AccessPermission } | null | undefined },
  settings: { roleMaxSeconds: number; shards: ReadonlyArray<Pick<Shard, "writerRoleArn">> },
  fields = "",
): CredentialRequest {
  // "durationSeconds" for both, as before (client keys' scope fields carry "input.").
  const durationSeconds = resolveDurationSeconds(input.flow, input.durationSeconds, settings.roleMaxSeconds);
  const target = input.scope ? parseLocation(input.scope.target, `${fields}scope.target`) : "";
  const permission = input.scope?.permission ?? "READ";
  if (input.flow === "ENHANCED" && (target !== "" || permission !== "READ")) {
    throw new BadUserInputError(
      "A scope needs the CLASSIC flow: the ENHANCED flow cannot carry a session policy, so its credentials always reach the tenant's whole prefix, read-only.",
      `${fields}scope`,
    );
  }
  if (permission !== "READ" && settings.shards.some((shard) => !shard.writerRoleArn)) throw noWriterRole(`${fields}scope.permission`);
  return { flow: input.flow, durationSeconds, target, permission };
}

export const noWriterRole = (field = "scope.permission") =>
  new BadUserInputError("This broker has no writer role (CLASSIC_WRITER_ROLE_ARN): only READ scopes can be issued.", field);

/** The role a decided request is issued with: the shard's writer role for writes, its reader role otherwise. */
export function roleFor(shard: Pick<Shard, "readerRoleArn" | "writerRoleArn">, request: Pick<CredentialRequest, "permission">): string {
  if (request.permission === "READ") return shard.readerRoleArn;
  // A key made while the broker had a writer role, used after it was taken away: refused as then.
  if (!shard.writerRoleArn) throw noWriterRole();
  return shard.writerRoleArn;
}
