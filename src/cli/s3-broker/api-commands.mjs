// `s3-broker provision|status|issue|keys|audit`: the broker's API for scripts and partners' jobs.
// JSON on stdout; on failure a JSON {"error": …} on stdout too, one line on stderr, and the exit code.
import { integerOption, parseModeOptions } from "./options.mjs";
import { EXIT, HelperError } from "./errors.mjs";
import { graphqlUrl, readToken, runOperation } from "./graphql-client.mjs";

const COMMON = /** @type {const} */ ({
  broker: { type: "string" },
  "token-file": { type: "string" },
  user: { type: "string" },
  help: { type: "boolean", short: "h" },
});

const ISSUE_OPTIONS = /** @type {const} */ ({ flow: { type: "string" }, duration: { type: "string" } });
const AUDIT_OPTIONS = /** @type {const} */ ({ first: { type: "string" }, after: { type: "string" } });
const KEY_CREATE_OPTIONS = /** @type {const} */ ({ name: { type: "string" }, flow: { type: "string" }, duration: { type: "string" }, "expires-at": { type: "string" } });
const KEY_REVOKE_OPTIONS = /** @type {const} */ ({ id: { type: "string" } });

const COMMON_HELP = `  --broker URL        the broker's base URL (or S3_BROKER_URL); https, or http on loopback
  --token-file PATH   file holding the bearer token (or S3_BROKER_TOKEN): a user's Pool A token,
                      or a partner's client-credentials access token
  --user ID           act for this Pool A user (their sub): partners must, administrators may`;

const EXIT_HELP = `Exit codes: 0 done; 1 broker unreachable or busy (retry); 2 usage or bad input;
3 refused (UNAUTHENTICATED, FORBIDDEN, NOT_PROVISIONED, UPSTREAM_REJECTED): a person must act.`;

export const API_USAGE = {
  status: `Usage: s3-broker status [--user ID] [--broker URL] [--token-file PATH]

Prints the user's connection: provisioned, state, tenant, bucket, prefix, token and credential expiries.

${COMMON_HELP}

${EXIT_HELP}`,
  provision: `Usage: s3-broker provision [--user ID] [--broker URL] [--token-file PATH]

Creates (or finds) the user's data platform user; safe to repeat. Prints the connection.

${COMMON_HELP}

${EXIT_HELP}`,
  issue: `Usage: s3-broker issue [--flow CLASSIC|ENHANCED] [--duration SECONDS] [--user ID] [--broker URL] [--token-file PATH]

Prints temporary AWS credentials for the user's tenant prefix, with ready set-ups (shell exports,
profile, credential_process JSON). The output holds secrets: do not log it.

  --flow FLOW         CLASSIC (default; 900 s up to the role's maximum) or ENHANCED (fixed 3600 s)
  --duration SECONDS  CLASSIC only (default 3600)
${COMMON_HELP}

${EXIT_HELP}`,
  keys: `Usage: s3-broker keys list   [--user ID] [--broker URL] [--token-file PATH]
       s3-broker keys create --name NAME [--flow CLASSIC|ENHANCED] [--duration SECONDS] [--expires-at ISO] [--user ID] …
       s3-broker keys revoke --id KEY_ID [--broker URL] [--token-file PATH]

Client keys for unattended clients. create prints the secret once (and the set-ups that use it).

${COMMON_HELP}

${EXIT_HELP}`,
  audit: `Usage: s3-broker audit [--first N] [--after CURSOR] [--user ID] [--broker URL] [--token-file PATH]

Prints the user's audit trail, newest first, a page at a time (pageInfo.endCursor continues).

  --first N           1 to 100 (default 20)
  --after CURSOR      the endCursor of the previous page
${COMMON_HELP}

${EXIT_HELP}`,
};

/** @param {string | undefined} value */
function flowOption(value) {
  if (value === undefined) return undefined;
  if (value !== "CLASSIC" && value !== "ENHANCED") throw new HelperError("--flow must be CLASSIC or ENHANCED", EXIT.USAGE);
  return value;
}

/** @param {{ broker?: string, "token-file"?: string }} options */
function connectionOf(options) {
  return { url: graphqlUrl(options.broker), token: readToken(options["token-file"]) };
}

/** @param {unknown} value */
function print(value) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** @param {"status" | "provision" | "issue" | "audit"} command @param {string[]} args */
export async function userCommand(command, args) {
  const extra = command === "issue" ? ISSUE_OPTIONS : command === "audit" ? AUDIT_OPTIONS : {};
  const options = /** @type {Record<string, string | undefined>} */ (parseModeOptions(args, { ...COMMON, ...extra }, API_USAGE[command]));
  const { url, token } = connectionOf(options);
  const userId = options.user;
  if (command === "status") print((await runOperation(url, token, "ConnectionStatus", { userId })).connectionStatus);
  if (command === "provision") print((await runOperation(url, token, "ProvisionDataPlatformUser", { userId })).provisionDataPlatformUser);
  if (command === "issue") {
    const flow = flowOption(options.flow) ?? "CLASSIC";
    const durationSeconds = options.duration === undefined ? undefined : integerOption("--duration", options.duration, 900, 43_200, 3600);
    print((await runOperation(url, token, "IssueCredentials", { flow, durationSeconds, userId })).issueCredentials);
  }
  if (command === "audit") {
    const first = integerOption("--first", options.first, 1, 100, 20);
    print((await runOperation(url, token, "AuditEvents", { userId, first, after: options.after })).auditEvents);
  }
}

/** @param {string[]} args */
export async function keysCommand(args) {
  const [action, ...rest] = args;
  if (action === "--help" || action === "-h") return void process.stdout.write(`${API_USAGE.keys}\n`);
  if (action === undefined) throw new HelperError("keys needs an action: list, create or revoke (s3-broker keys --help)", EXIT.USAGE);
  const extra = action === "create" ? KEY_CREATE_OPTIONS : action === "revoke" ? KEY_REVOKE_OPTIONS : {};
  if (!["list", "create", "revoke"].includes(action)) throw new HelperError(`unknown keys action ${JSON.stringify(action)}: list, create or revoke`, EXIT.USAGE);
  const options = /** @type {Record<string, string | undefined>} */ (parseModeOptions(rest, { ...COMMON, ...extra }, API_USAGE.keys));
  const { url, token } = connectionOf(options);
  if (action === "list") return print((await runOperation(url, token, "ClientKeys", { userId: options.user })).clientKeys);
  if (action === "revoke") {
    if (!options.id) throw new HelperError("keys revoke needs --id KEY_ID", EXIT.USAGE);
    return print((await runOperation(url, token, "RevokeClientKey", { id: options.id })).revokeClientKey);
  }
  if (!options.name) throw new HelperError("keys create needs --name NAME", EXIT.USAGE);
  const expiresAt = options["expires-at"];
  if (expiresAt !== undefined && Number.isNaN(Date.parse(expiresAt))) throw new HelperError("--expires-at must be an ISO date-time, e.g. 2027-03-01T00:00:00Z", EXIT.USAGE);
  const input = {
    name: options.name,
    flow: flowOption(options.flow) ?? "ENHANCED",
    ...(options.duration !== undefined ? { durationSeconds: integerOption("--duration", options.duration, 900, 43_200, 3600) } : {}),
    ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
  };
  print((await runOperation(url, token, "CreateClientKey", { input, userId: options.user })).createClientKey);
}
