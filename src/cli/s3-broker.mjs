#!/usr/bin/env node
// The broker's client-side helper. `s3-broker credential-process` is meant for the AWS CLI's and
// SDKs' `credential_process` setting: it fetches credentials from the broker's credential endpoint
// with a client key and prints them in the Version 1 format. It has no dependencies beyond Node 20,
// so it can be copied onto a customer's machine on its own.
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** botocore refreshes 15 minutes before expiry: cached credentials are reused only with more left. */
const CACHE_MIN_REMAINING_MS = 15 * 60 * 1000;
const REQUEST_TIMEOUT_MS = 15_000;
const USAGE = `Usage: s3-broker credential-process --endpoint URL [--key-file PATH] [--cache-dir DIR] [--no-cache]

Prints AWS credentials for the AWS CLI and SDKs (credential_process, Version 1).
The client key comes from --key-file or the S3_BROKER_CLIENT_KEY environment variable.`;

class HelperError extends Error {
  /** @param {string} message @param {number} exitCode */
  constructor(message, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** @param {string[]} argv */
function parseArguments(argv) {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h") {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (command !== "credential-process") throw new HelperError(USAGE, 2);
  /** @type {{ endpoint?: string, keyFile?: string, cacheDir?: string, cache: boolean }} */
  const options = { cache: true };
  for (let i = 0; i < rest.length; i += 1) {
    const flag = rest[i];
    const value = () => {
      const next = rest[++i];
      if (next === undefined) throw new HelperError(`${flag} needs a value\n${USAGE}`, 2);
      return next;
    };
    if (flag === "--endpoint") options.endpoint = value();
    else if (flag === "--key-file") options.keyFile = value();
    else if (flag === "--cache-dir") options.cacheDir = value();
    else if (flag === "--no-cache") options.cache = false;
    else throw new HelperError(`unknown option ${flag}\n${USAGE}`, 2);
  }
  if (!options.endpoint) throw new HelperError(`--endpoint is required\n${USAGE}`, 2);
  return options;
}

/** credential_process commands run without a shell, so `~` is expanded here. @param {string} path */
function expandHome(path) {
  return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}

/** @param {string | undefined} keyFile */
function readClientKey(keyFile) {
  let key = process.env.S3_BROKER_CLIENT_KEY;
  if (keyFile) {
    try {
      key = readFileSync(expandHome(keyFile), "utf8");
    } catch (error) {
      throw new HelperError(`cannot read the client key file ${keyFile}: ${/** @type {NodeJS.ErrnoException} */ (error).code ?? error}`);
    }
  }
  key = key?.trim();
  if (!key) throw new HelperError("no client key: pass --key-file PATH or set S3_BROKER_CLIENT_KEY", 2);
  return key;
}

/** The SDKs accept plain http only on loopback; so does this helper, so a key never crosses a network in clear. @param {string} endpoint */
function checkEndpoint(endpoint) {
  let url;
  try {
    url = new URL(endpoint);
  } catch {
    throw new HelperError(`--endpoint is not a URL: ${endpoint}`, 2);
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname) || url.hostname.startsWith("127.");
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new HelperError("--endpoint must use https (plain http is accepted only on loopback)", 2);
  }
}

/** @param {{ cacheDir?: string }} options @param {string} endpoint @param {string} key */
function cachePath(options, endpoint, key) {
  const base = options.cacheDir ? expandHome(options.cacheDir) : join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "s3-broker");
  const name = createHash("sha256").update(`${endpoint}\u0000${key}`).digest("hex").slice(0, 32);
  return { dir: base, file: join(base, `${name}.json`) };
}

/** @param {string} file */
function readCache(file) {
  try {
    const cached = JSON.parse(readFileSync(file, "utf8"));
    if (cached?.Version === 1 && Date.parse(cached.Expiration) - Date.now() > CACHE_MIN_REMAINING_MS) return cached;
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

/** @param {string} endpoint @param {string} key */
async function fetchCredentials(endpoint, key) {
  let response;
  try {
    response = await fetch(endpoint, { headers: { authorization: key, accept: "application/json" }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    const cause = /** @type {{ cause?: { code?: string } }} */ (error).cause?.code ?? /** @type {Error} */ (error).name;
    throw new HelperError(`cannot reach the broker at ${endpoint} (${cause})`);
  }
  const text = await response.text();
  /** @type {any} */
  let body = {};
  try {
    body = JSON.parse(text);
  } catch {
    // described below by status
  }
  if (!response.ok) {
    const detail = typeof body.Message === "string" ? `${body.Code ?? "Error"}: ${body.Message}` : `HTTP ${response.status}`;
    throw new HelperError(`the broker refused the request (HTTP ${response.status}) - ${detail}`);
  }
  if (!body.AccessKeyId || !body.SecretAccessKey || !body.Token || !body.Expiration) {
    throw new HelperError("the broker's answer is missing credential fields");
  }
  return { Version: 1, AccessKeyId: body.AccessKeyId, SecretAccessKey: body.SecretAccessKey, SessionToken: body.Token, Expiration: body.Expiration };
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const endpoint = /** @type {string} */ (options.endpoint);
  checkEndpoint(endpoint);
  const key = readClientKey(options.keyFile);
  const path = cachePath(options, endpoint, key);
  const credentials = (options.cache && readCache(path.file)) || (await fetchCredentials(endpoint, key));
  if (options.cache) writeCache(path, credentials);
  process.stdout.write(`${JSON.stringify(credentials)}\n`);
}

main().catch((error) => {
  process.stderr.write(`s3-broker: ${error instanceof HelperError ? error.message : error}\n`);
  process.exit(error instanceof HelperError ? error.exitCode : 1);
});
