// Talking to the broker's credential endpoint with a client key: the one network call every mode makes.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { BrokerRefusal, EXIT, HelperError } from "./errors.mjs";

const REQUEST_TIMEOUT_MS = 15_000;

/**
 * The broker hands out the credentials it issued while more than 20 minutes remain (README,
 * "Caches"), so asking a minute after that gets the next ones. Short-lived credentials (under 38
 * minutes) are renewed at half their lifetime instead, when the broker stops reusing them too.
 */
export const RENEW_BEFORE_MS = 19 * 60_000;

/**
 * @typedef {{ accessKeyId: string, secretAccessKey: string, sessionToken: string, expiration: Date, accountId?: string, obtainedAt: Date }} Credentials
 */

/** When the helper asks the broker for the next credentials. @param {Credentials} credentials */
export function renewalTime(credentials) {
  const expires = credentials.expiration.getTime();
  const lifetime = expires - credentials.obtainedAt.getTime();
  return new Date(expires - Math.min(RENEW_BEFORE_MS, Math.max(0, lifetime) / 2));
}

/** Processes started without a shell (credential_process, systemd) do not expand `~`. @param {string} path */
export function expandHome(path) {
  return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}

/** @param {string} hostname */
export function isLoopbackHost(hostname) {
  return hostname === "localhost" || hostname === "[::1]" || hostname === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** The SDKs accept plain http only on loopback; so does this helper, so a key never crosses a network in clear. @param {string | undefined} endpoint */
export function checkEndpoint(endpoint) {
  if (!endpoint) throw new HelperError("--endpoint is required (or set S3_BROKER_ENDPOINT)", EXIT.USAGE);
  let url;
  try {
    url = new URL(endpoint);
  } catch {
    throw new HelperError(`--endpoint is not a URL: ${endpoint}`, EXIT.USAGE);
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
    throw new HelperError("--endpoint must use https (plain http is accepted only on loopback)", EXIT.USAGE);
  }
  return url.toString();
}

/**
 * A secret from a file option, else from an environment variable; never from the command line,
 * where `ps` would show it.
 * @param {string | undefined} file @param {string} variable @param {{ what: string, missing: string }} words
 */
export function readSecret(file, variable, words) {
  let secret = process.env[variable];
  if (file) {
    try {
      secret = readFileSync(expandHome(file), "utf8");
    } catch (error) {
      throw new HelperError(`cannot read the ${words.what} file ${file}: ${/** @type {NodeJS.ErrnoException} */ (error).code ?? error}`, EXIT.USAGE);
    }
  }
  secret = secret?.trim();
  if (!secret) throw new HelperError(words.missing, EXIT.USAGE);
  return secret;
}

/** The key from --key-file, else S3_BROKER_CLIENT_KEY. @param {string | undefined} keyFile */
export function readClientKey(keyFile) {
  return readSecret(keyFile, "S3_BROKER_CLIENT_KEY", { what: "client key", missing: "no client key: pass --key-file PATH or set S3_BROKER_CLIENT_KEY" });
}

/** Values end up in INI files and HTTP answers: anything but printable ASCII without spaces could inject lines. @param {unknown} value @returns {value is string} */
export function isSingleToken(value) {
  return typeof value === "string" && /^[\x21-\x7e]+$/.test(value);
}

/** @param {unknown} value */
function credentialField(value) {
  return isSingleToken(value) ? value : null;
}

/**
 * GET `url` with the key. Resolves to the answer's status, headers and JSON body (empty when not
 * JSON) when the broker answered 2xx; rejects with a BrokerRefusal (an error answer) or a
 * HelperError (the broker could not be reached). `endpoint` names the broker in messages.
 * @param {string | URL} url @param {string} endpoint @param {string} key
 */
async function askBroker(url, endpoint, key) {
  let response;
  try {
    response = await fetch(url, { headers: { authorization: key, accept: "application/json" }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    const cause = /** @type {{ cause?: { code?: string } }} */ (error).cause?.code ?? /** @type {Error} */ (error).name;
    throw new HelperError(`cannot reach the broker at ${endpoint} (${cause})`, EXIT.TRANSIENT);
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
    const code = typeof body.Code === "string" ? body.Code : `HTTP${response.status}`;
    const detail = typeof body.Message === "string" ? `${code}: ${body.Message}` : `HTTP ${response.status}`;
    const retryAfter = Number(response.headers.get("retry-after"));
    throw new BrokerRefusal(`the broker refused the request (HTTP ${response.status}) - ${detail}`, {
      // A broker without the status route (older) answers 404: not a refusal of the key.
      status: response.status === 404 ? 503 : response.status,
      code,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
    });
  }
  return body;
}

/**
 * Asks the broker whether the key still stands (`<endpoint>/status`: no credentials, no AWS call).
 * Resolves when it does; rejects as askBroker does (a final BrokerRefusal when the key is refused).
 * @param {string} endpoint @param {string} key
 */
export async function checkKey(endpoint, key) {
  const url = new URL(endpoint);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/status`;
  await askBroker(url, endpoint, key);
}

/**
 * GET the credential endpoint with the key. Resolves to credentials; rejects with a BrokerRefusal
 * (the broker answered with an error) or a HelperError (the broker could not be reached).
 * @param {string} endpoint @param {string} key @param {() => number} [now]
 * @returns {Promise<Credentials>}
 */
export async function fetchCredentials(endpoint, key, now = Date.now) {
  const body = await askBroker(endpoint, endpoint, key);
  const accessKeyId = credentialField(body.AccessKeyId);
  const secretAccessKey = credentialField(body.SecretAccessKey);
  const sessionToken = credentialField(body.Token);
  const expiration = typeof body.Expiration === "string" ? new Date(body.Expiration) : new Date(Number.NaN);
  if (!accessKeyId || !secretAccessKey || !sessionToken || Number.isNaN(expiration.getTime())) {
    throw new HelperError("the broker's answer is missing credential fields or holds malformed ones", EXIT.TRANSIENT);
  }
  const accountId = credentialField(body.AccountId);
  return { accessKeyId, secretAccessKey, sessionToken, expiration, obtainedAt: new Date(now()), ...(accountId ? { accountId } : {}) };
}
