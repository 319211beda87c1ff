// `s3-broker credential-process`: for the AWS CLI's and SDKs' `credential_process` setting. The CLI
// runs it before every command, so it keeps a private cache of what the broker handed out.
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { checkEndpoint, checkKey, expandHome, fetchCredentials, readClientKey } from "./broker-client.mjs";
import { BrokerRefusal, logLine } from "./errors.mjs";
import { BROKER_OPTIONS, endpointOption, integerOption, parseModeOptions } from "./options.mjs";

/** botocore refreshes 15 minutes before expiry: cached credentials are reused only with more left. */
const CACHE_MIN_REMAINING_MS = 15 * 60 * 1000;

export const CREDENTIAL_PROCESS_USAGE = `Usage: s3-broker credential-process --endpoint URL [--key-file PATH] [--cache-dir DIR] [--no-cache] [--check-every SECONDS]

Prints AWS credentials in the credential_process format (Version 1), for a profile in ~/.aws/config:

  [profile tenant]
  credential_process = s3-broker credential-process --endpoint https://broker.example.com/v1/credentials --key-file ~/.config/s3-broker/tenant.key

  --endpoint URL     the broker's credential endpoint (or S3_BROKER_ENDPOINT); https, or http on loopback
  --key-file PATH    file holding the client key (or S3_BROKER_CLIENT_KEY); keep it chmod 600
  --cache-dir DIR    where answers are cached (default ~/.cache/s3-broker), files of mode 0600
  --no-cache         ask the broker every time
  --check-every S    while answering from the cache, ask the broker at most this often whether the
                     key still stands (default 60; a cheap check, no AWS call)

Credentials are cached until 15 minutes before they expire (botocore's refresh window). While they
are, the broker is asked every --check-every seconds whether the key still stands: a refused key
clears the cache and exits 3 (a revoked key stops within a minute); an unreachable broker does not
stop the cached credentials. Programs that keep credentials in memory (boto3, the JS SDK) use them
until their own refresh, whatever the helper does.
Exit codes: 0 printed; 1 broker unreachable or busy; 2 usage; 3 the broker refused the key (reason on stderr).`;

/** @param {string | undefined} cacheDir @param {string} endpoint @param {string} key */
function cachePath(cacheDir, endpoint, key) {
  const base = cacheDir ? expandHome(cacheDir) : join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "s3-broker");
  const name = createHash("sha256").update(`${endpoint}\u0000${key}`).digest("hex").slice(0, 32);
  return { dir: base, file: join(base, `${name}.json`) };
}

/** The cached answer and when the broker last said the key stands. @param {string} file */
function readCache(file) {
  try {
    const { CheckedAt, ...cached } = JSON.parse(readFileSync(file, "utf8"));
    if (cached?.Version === 1 && Date.parse(cached.Expiration) - Date.now() > CACHE_MIN_REMAINING_MS) return { output: cached, checkedAt: Number(CheckedAt) || 0 };
  } catch {
    // no cache, or an unreadable one: fetch afresh
  }
  return null;
}

/** Written to a private temporary file, then renamed, so a concurrent reader never sees half a file. @param {{dir: string, file: string}} path @param {object} value */
function writeCache(path, value) {
  try {
    mkdirSync(path.dir, { recursive: true, mode: 0o700 });
    const temporary = `${path.file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(value), { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, path.file);
  } catch {
    // A cache that cannot be written only costs a request next time.
  }
}

/** @param {string[]} args */
export async function credentialProcess(args) {
  const options = parseModeOptions(
    args,
    { ...BROKER_OPTIONS, "cache-dir": { type: "string" }, "no-cache": { type: "boolean" }, "check-every": { type: "string" } },
    CREDENTIAL_PROCESS_USAGE,
  );
  const endpoint = checkEndpoint(endpointOption(options));
  const key = readClientKey(options["key-file"]);
  const cache = !options["no-cache"];
  const checkEveryMs = integerOption("--check-every", options["check-every"], 1, 3600, 60) * 1000;
  const path = cachePath(options["cache-dir"], endpoint, key);
  const cached = cache ? readCache(path.file) : null;
  let output = cached?.output ?? null;
  if (cached && Date.now() - cached.checkedAt >= checkEveryMs) {
    try {
      await checkKey(endpoint, key);
      writeCache(path, { ...cached.output, CheckedAt: Date.now() });
    } catch (error) {
      if (error instanceof BrokerRefusal && error.final) {
        // A refused key's credentials are not handed out again, even those not yet expired.
        rmSync(path.file, { force: true });
        throw error;
      }
      logLine(`${/** @type {Error} */ (error).message}; answering from the cache`);
    }
  }
  if (!output) {
    const credentials = await fetchCredentials(endpoint, key);
    output = {
      Version: 1,
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      SessionToken: credentials.sessionToken,
      Expiration: credentials.expiration.toISOString(),
      ...(credentials.accountId ? { AccountId: credentials.accountId } : {}),
    };
    if (cache) writeCache(path, { ...output, CheckedAt: Date.now() });
  }
  process.stdout.write(`${JSON.stringify(output)}\n`);
}
