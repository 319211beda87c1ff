// `s3-broker update`: keeps one profile of a shared credentials file fresh, for tools that read only
// that file (rclone, s3cmd, older SDKs, anything started by cron). Once (for cron or a systemd timer)
// or staying up and renewing on schedule.
import { homedir } from "node:os";
import { join } from "node:path";
import { checkEndpoint, expandHome, fetchCredentials, readClientKey, renewalTime } from "./broker-client.mjs";
import { checkProfileName, updateFile, withProfile } from "./credentials-file.mjs";
import { BrokerRefusal, EXIT, HelperError, logLine } from "./errors.mjs";
import { BROKER_OPTIONS, endpointOption, integerOption, parseModeOptions } from "./options.mjs";

const WAKE_EVERY_MS = 60_000; // a suspended machine renews within a minute of waking
const RETRY_FIRST_MS = 5_000;
const RETRY_MAX_MS = 5 * 60_000;

export const UPDATE_USAGE = `Usage: s3-broker update --endpoint URL [--key-file PATH] --profile NAME [--credentials-file PATH] [--once] [--check-every SECONDS]

Keeps one profile of a shared credentials file fresh with temporary credentials from the broker,
for tools that read only that file. Other profiles, comments and blank lines are never touched;
each write is atomic (temporary file, then rename) and leaves the file mode 0600.

  --endpoint URL          the broker's credential endpoint (or S3_BROKER_ENDPOINT)
  --key-file PATH         file holding the client key (or S3_BROKER_CLIENT_KEY)
  --profile NAME          the profile to write (created if missing)
  --credentials-file P    default: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials
  --once                  ask the broker once, write if the credentials changed, then exit (for
                          cron or a systemd timer); without it the helper stays running and renews
                          on schedule
  --check-every SECONDS   while running, also ask the broker this often whether the key still
                          stands (default 60; answered from the broker's cache while more
                          than 20 minutes remain)

Renewal: 19 minutes before expiry (a minute after the broker stops handing out the current
credentials), or at half the lifetime for credentials shorter than 38 minutes. With --once, run it
every 5 to 10 minutes: the broker hands out the same credentials until 20 minutes remain (no AWS
call), so most runs write nothing, and a revoked key is found at the next run.
When the broker refuses the key (revoked, expired, owner gone), the profile's credentials are
removed at once, so tools stop instead of using them until they expire (at the next --once run;
while running, within --check-every of the revocation); the helper exits 3.
Exit codes: 0 fresh; 1 broker unreachable or busy (the file keeps its credentials); 2 usage;
3 the key was refused (credentials removed).`;

/** @param {import("./broker-client.mjs").Credentials} credentials */
function profileValues(credentials) {
  return {
    aws_access_key_id: credentials.accessKeyId,
    aws_secret_access_key: credentials.secretAccessKey,
    aws_session_token: credentials.sessionToken,
    x_security_token_expires: credentials.expiration.toISOString(),
  };
}

/** @param {string} file @param {string} profile @param {BrokerRefusal} refusal */
function removeCredentials(file, profile, refusal) {
  const removed = updateFile(file, (text) => withProfile(text, profile, null));
  logLine(`${refusal.message}${removed ? `; removed the credentials of profile ${profile} from ${file}` : ""}`);
}

/** @param {number} target epoch milliseconds @param {{ stopped: boolean, wake?: () => void }} state */
async function sleepUntil(target, state) {
  while (!state.stopped && Date.now() < target) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.min(WAKE_EVERY_MS, target - Date.now()));
      state.wake = () => {
        clearTimeout(timer);
        resolve(undefined);
      };
    });
  }
}

/** @param {string[]} args */
export async function update(args) {
  const options = parseModeOptions(
    args,
    { ...BROKER_OPTIONS, profile: { type: "string" }, "credentials-file": { type: "string" }, once: { type: "boolean" }, "check-every": { type: "string" } },
    UPDATE_USAGE,
  );
  const checkEveryMs = integerOption("--check-every", options["check-every"], 10, 86_400, 60) * 1000;
  const endpoint = checkEndpoint(endpointOption(options));
  if (!options.profile) throw new HelperError("--profile is required (s3-broker update --help lists the options)", EXIT.USAGE);
  const profile = checkProfileName(options.profile);
  const key = readClientKey(options["key-file"]);
  const file = expandHome(options["credentials-file"] ?? process.env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), ".aws", "credentials"));

  /** One renewal: fetch, write. A refused key takes the profile's credentials with it. */
  const renew = async () => {
    let credentials;
    try {
      credentials = await fetchCredentials(endpoint, key);
    } catch (error) {
      if (error instanceof BrokerRefusal && error.final) removeCredentials(file, profile, error);
      throw error;
    }
    const changed = updateFile(file, (text) => withProfile(text, profile, profileValues(credentials)));
    return { credentials, changed };
  };

  if (options.once) {
    // Asked every run, so that a revoked key is found at the next run, not at the next renewal; the
    // broker answers from its cache while its credentials have more than 20 minutes left.
    const { credentials, changed } = await renew();
    logLine(changed ? `wrote profile ${profile} in ${file} (expires ${credentials.expiration.toISOString()})` : `profile ${profile} in ${file} is current (expires ${credentials.expiration.toISOString()})`);
    return;
  }

  /** @type {{ stopped: boolean, wake?: () => void }} */
  const state = { stopped: false };
  const stop = () => {
    state.stopped = true;
    state.wake?.();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  let failures = 0;
  while (!state.stopped) {
    let next;
    try {
      const { credentials, changed } = await renew();
      failures = 0;
      let renewal = renewalTime(credentials).getTime();
      // The broker answered with credentials already due (the same ones again): look again shortly, not in a loop.
      if (renewal <= Date.now() + 1000) renewal = Date.now() + Math.min(WAKE_EVERY_MS, Math.max(RETRY_FIRST_MS, (credentials.expiration.getTime() - Date.now()) / 4));
      next = Math.min(renewal, Date.now() + checkEveryMs);
      if (changed) logLine(`wrote profile ${profile} in ${file} (expires ${credentials.expiration.toISOString()}; renewal ${new Date(renewal).toISOString()})`);
    } catch (error) {
      if (error instanceof BrokerRefusal && error.final) throw error;
      if (!(error instanceof HelperError)) throw error;
      failures += 1;
      const backoff = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (failures - 1));
      const delay = error instanceof BrokerRefusal && error.retryAfterSeconds ? Math.max(error.retryAfterSeconds * 1000, backoff) : backoff;
      next = Date.now() + delay;
      logLine(`${error.message}; the file keeps its credentials; retrying in ${Math.round(delay / 1000)} s`);
    }
    await sleepUntil(next, state);
  }
  logLine("stopped");
}
