// `s3-broker serve`: a local credentials endpoint for tools that look only at the instance metadata
// service (IMDSv2) or at the container credentials provider. Loopback only; every request must be
// addressed to loopback (no DNS rebinding) and come from no browser.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { checkEndpoint, expandHome, fetchCredentials, isLoopbackHost, readClientKey, renewalTime } from "./broker-client.mjs";
import { BrokerRefusal, EXIT, HelperError, logLine } from "./errors.mjs";
import { BROKER_OPTIONS, endpointOption, integerOption, parseModeOptions } from "./options.mjs";
import { canKnowPeers, peerUid } from "./peer-uid.mjs";

export const CONTAINER_PATH = "/credentials";
const IMDS_TOKEN_PATH = "/latest/api/token";
const IMDS_CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials";
const IMDS_MAX_TTL_SECONDS = 21_600; // as EC2's
const IMDS_MAX_TOKENS = 10_000;
const REFUSAL_MEMORY_MS = 30_000; // a refused key is not asked about on every request
const TRANSIENT_RETRY_MS = 5_000;

export const SERVE_USAGE = `Usage: s3-broker serve --endpoint URL [--key-file PATH] [--port N] [--host ADDR] [--token-file PATH] [--role-name NAME] [--check-every SECONDS] [--imds-without-peer-check]

Serves the broker's credentials on loopback, for tools that read only the EC2 instance metadata
service (IMDSv2) or the container credentials provider:

  IMDSv2:     export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9911/
  container:  export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9911${CONTAINER_PATH}
              export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=<the token file>
              (or AWS_CONTAINER_AUTHORIZATION_TOKEN="$(cat <the token file>)" for older SDKs)

  --endpoint URL     the broker's credential endpoint (or S3_BROKER_ENDPOINT)
  --key-file PATH    file holding the client key (or S3_BROKER_CLIENT_KEY)
  --port N           default 9911; 0 picks a free port (printed at start)
  --host ADDR        default 127.0.0.1; only loopback addresses are accepted
  --token-file PATH  where the container provider's authorization token is written (mode 0600),
                     a new one at every start; default $XDG_RUNTIME_DIR/s3-broker/serve-PORT.token
                     (else ~/.cache/s3-broker/)
  --role-name NAME   the role name IMDS lists (default s3-broker)
  --check-every S    also ask the broker this often whether the key still stands (default 60;
                     answered from the broker's cache while more than 20 minutes remain)
  --imds-without-peer-check
                     serve IMDS even where the system cannot tell which user connects (not
                     Linux): then any local user can read the credentials; the default keeps IMDS off

Only the user who started it is served, on both endpoints: on Linux each connection's owner is
looked up in the kernel's socket tables (/proc/net/tcp, tcp6) and any other user gets 403.

IMDS answers only with a session token (PUT ${IMDS_TOKEN_PATH}, as EC2 with HttpTokens=required) and
refuses a token request carrying X-Forwarded-For; both endpoints refuse requests whose Host is not a
loopback name or that carry an Origin header (browsers). Credentials are renewed from the broker 19
minutes before they expire (half the lifetime for short ones). When the broker refuses the key,
it stops handing out credentials at once (within --check-every of a revocation) and clients get
that refusal (HTTP 401/403) at their next refresh.
Exit codes: 0 stopped by SIGTERM/SIGINT; 2 usage; 3 the key was refused at start.`;

/** The broker's credentials as the local endpoints hand them out: renewed on schedule, once however many clients ask. */
class CredentialSource {
  /** @param {string} endpoint @param {string} key */
  constructor(endpoint, key) {
    this.endpoint = endpoint;
    this.key = key;
    /** @type {import("./broker-client.mjs").Credentials | undefined} */
    this.credentials = undefined;
    /** @type {Promise<import("./broker-client.mjs").Credentials> | undefined} */
    this.pending = undefined;
    /** @type {BrokerRefusal | undefined} */
    this.refusal = undefined;
    this.notBefore = 0;
  }

  /** @returns {Promise<import("./broker-client.mjs").Credentials>} */
  async current() {
    const now = Date.now();
    const held = this.credentials;
    if (held && now < renewalTime(held).getTime()) return held;
    if (now < this.notBefore) {
      if (this.refusal) throw this.refusal;
      if (held && held.expiration.getTime() > now) return held;
    }
    return this.ask();
  }

  /** Asks the broker now (once, however many callers), whether or not renewal is due. */
  ask() {
    this.pending ??= this.renew().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  async renew() {
    try {
      const credentials = await fetchCredentials(this.endpoint, this.key);
      this.refusal = undefined;
      const held = this.credentials;
      // The same credentials again (a check, not a renewal) keep their first LastUpdated.
      if (held && held.sessionToken === credentials.sessionToken && held.expiration.getTime() === credentials.expiration.getTime()) return held;
      this.credentials = credentials;
      logLine(`credentials renewed (expire ${credentials.expiration.toISOString()})`);
      return credentials;
    } catch (error) {
      if (error instanceof BrokerRefusal && error.final) {
        // A refused key's credentials are not handed out any more, even those that have not expired.
        this.credentials = undefined;
        this.refusal = error;
        this.notBefore = Date.now() + REFUSAL_MEMORY_MS;
        logLine(`${error.message}; answering clients with the refusal`);
        throw error;
      }
      this.notBefore = Date.now() + (error instanceof BrokerRefusal && error.retryAfterSeconds ? error.retryAfterSeconds * 1000 : TRANSIENT_RETRY_MS);
      const held = this.credentials;
      if (held && held.expiration.getTime() > Date.now()) {
        logLine(`${/** @type {Error} */ (error).message}; handing out the current credentials until they expire`);
        return held;
      }
      throw error;
    }
  }
}

/** @param {string | undefined} host */
function addressedToLoopback(host) {
  if (!host) return false;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0];
  return isLoopbackHost(name ?? "");
}

/** @param {string | undefined} presented @param {string} expected */
function sameSecret(presented, expected) {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * @param {import("node:http").ServerResponse} res @param {number} status @param {unknown} body
 * @param {Record<string, string>} [headers]
 */
function send(res, status, body, headers = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": typeof body === "string" ? "text/plain" : "application/json",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** @param {import("node:http").ServerResponse} res @param {unknown} error */
function sendFailure(res, error) {
  if (error instanceof BrokerRefusal) {
    const status = error.final ? error.status : 503;
    return send(res, status, { Code: error.code, Message: error.message }, error.final ? {} : { "retry-after": String(error.retryAfterSeconds ?? 5) });
  }
  return send(res, 503, { Code: "BrokerUnavailable", Message: /** @type {Error} */ (error).message }, { "retry-after": "5" });
}

/** Bounded store of IMDSv2 session tokens and their expiry. */
class ImdsSessions {
  constructor() {
    /** @type {Map<string, number>} */
    this.tokens = new Map();
  }

  /** @param {number} ttlSeconds */
  issue(ttlSeconds) {
    const now = Date.now();
    for (const [token, expires] of this.tokens) if (expires <= now) this.tokens.delete(token);
    while (this.tokens.size >= IMDS_MAX_TOKENS) this.tokens.delete(/** @type {string} */ (this.tokens.keys().next().value));
    const token = randomBytes(32).toString("base64url");
    this.tokens.set(token, now + ttlSeconds * 1000);
    return token;
  }

  /** @param {string | string[] | undefined} token */
  valid(token) {
    if (typeof token !== "string") return false;
    const expires = this.tokens.get(token);
    return expires !== undefined && expires > Date.now();
  }
}

/**
 * The request handler: IMDSv2 and the container provider, over one credential source.
 * `owner`: the uid served (the helper's own); `peers`: whether the system can tell who connects
 * (`imdsWithoutPeerCheck` opens IMDS anyway where it cannot).
 * @param {{ source: CredentialSource, containerToken: string, roleName: string, owner?: number, peers?: boolean, imdsWithoutPeerCheck?: boolean, uidOf?: (socket: import("node:net").Socket) => number | undefined }} deps
 * @returns {import("node:http").RequestListener}
 */
export function localCredentialsHandler({ source, containerToken, roleName, owner = process.getuid?.() ?? -1, peers = canKnowPeers(), imdsWithoutPeerCheck = false, uidOf = peerUid }) {
  const sessions = new ImdsSessions();
  return (req, res) => {
    if (!addressedToLoopback(req.headers.host)) return send(res, 403, "Requests must be addressed to a loopback name.\n");
    if (req.headers.origin !== undefined) return send(res, 403, "Browsers are not served.\n");
    const path = new URL(req.url ?? "/", "http://loopback").pathname;
    const imds = path === IMDS_TOKEN_PATH || path === IMDS_CREDENTIALS_PATH || path.startsWith(`${IMDS_CREDENTIALS_PATH}/`);
    if (peers) {
      // Another local user (a shared jump box, a CI runner) gets nothing, on either endpoint.
      const uid = uidOf(req.socket);
      if (uid !== owner) {
        logLine(`refused a request from ${uid === undefined ? "an unknown local user" : `uid ${uid}`}: only uid ${owner} is served`);
        return path === CONTAINER_PATH
          ? send(res, 403, { Code: "Forbidden", Message: "This endpoint serves only the user who started s3-broker serve." })
          : send(res, 403, "This endpoint serves only the user who started s3-broker serve.\n");
      }
    } else if (imds && !imdsWithoutPeerCheck) {
      return send(res, 403, "IMDS is off: this system cannot tell which local user connects (start with --imds-without-peer-check to serve any local user).\n");
    }

    if (path === IMDS_TOKEN_PATH) {
      if (req.method !== "PUT") return send(res, 405, "Use PUT.\n", { allow: "PUT" });
      if (req.headers["x-forwarded-for"] !== undefined) return send(res, 403, "Forwarded requests are refused.\n");
      const ttl = Number(req.headers["x-aws-ec2-metadata-token-ttl-seconds"]);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > IMDS_MAX_TTL_SECONDS) return send(res, 400, `x-aws-ec2-metadata-token-ttl-seconds must be 1 to ${IMDS_MAX_TTL_SECONDS}.\n`);
      return send(res, 200, sessions.issue(ttl), { "x-aws-ec2-metadata-token-ttl-seconds": String(ttl) });
    }

    if (path === IMDS_CREDENTIALS_PATH || path.startsWith(`${IMDS_CREDENTIALS_PATH}/`)) {
      if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "Use GET.\n", { allow: "GET" });
      if (!sessions.valid(req.headers["x-aws-ec2-metadata-token"])) return send(res, 401, "An IMDSv2 session token is required (PUT /latest/api/token).\n");
      const rest = path.slice(IMDS_CREDENTIALS_PATH.length).replace(/^\/|\/$/g, "");
      if (rest === "") return send(res, 200, roleName);
      if (rest !== roleName) return send(res, 404, "Not found.\n");
      return void source.current().then(
        (c) =>
          send(res, 200, {
            Code: "Success",
            LastUpdated: c.obtainedAt.toISOString(),
            Type: "AWS-HMAC",
            AccessKeyId: c.accessKeyId,
            SecretAccessKey: c.secretAccessKey,
            Token: c.sessionToken,
            Expiration: c.expiration.toISOString(),
          }),
        (error) => sendFailure(res, error),
      );
    }

    if (path === CONTAINER_PATH) {
      if (req.method !== "GET") return send(res, 405, "Use GET.\n", { allow: "GET" });
      if (!sameSecret(req.headers.authorization, containerToken)) return send(res, 401, { Code: "Unauthorized", Message: "The authorization token is missing or wrong." });
      return void source.current().then(
        (c) =>
          send(res, 200, {
            AccessKeyId: c.accessKeyId,
            SecretAccessKey: c.secretAccessKey,
            Token: c.sessionToken,
            Expiration: c.expiration.toISOString(),
            ...(c.accountId ? { AccountId: c.accountId } : {}),
          }),
        (error) => sendFailure(res, error),
      );
    }
    return send(res, 404, "Not found.\n");
  };
}

/** @param {string[]} args */
export async function serve(args) {
  const options = parseModeOptions(
    args,
    {
      ...BROKER_OPTIONS,
      port: { type: "string" },
      host: { type: "string" },
      "token-file": { type: "string" },
      "role-name": { type: "string" },
      "check-every": { type: "string" },
      "imds-without-peer-check": { type: "boolean" },
    },
    SERVE_USAGE,
  );
  const checkEveryMs = integerOption("--check-every", options["check-every"], 10, 86_400, 60) * 1000;
  const endpoint = checkEndpoint(endpointOption(options));
  const key = readClientKey(options["key-file"]);
  const port = integerOption("--port", options.port, 0, 65535, 9911);
  const host = options.host ?? "127.0.0.1";
  if (!isLoopbackHost(host)) throw new HelperError("--host must be a loopback address: the endpoint hands out credentials to whoever reaches it", EXIT.USAGE);
  const roleName = options["role-name"] ?? "s3-broker";
  if (!/^[\w+=,.@-]{1,64}$/.test(roleName)) throw new HelperError("--role-name must be a valid IAM role name", EXIT.USAGE);

  const source = new CredentialSource(endpoint, key);
  try {
    await source.current();
  } catch (error) {
    if (error instanceof BrokerRefusal && error.final) throw error;
    logLine(`${/** @type {Error} */ (error).message}; serving anyway, clients get 503 until the broker answers`);
  }

  const containerToken = randomBytes(32).toString("base64url");
  const peers = canKnowPeers();
  const imdsWithoutPeerCheck = options["imds-without-peer-check"] === true;
  if (!peers) {
    logLine(
      imdsWithoutPeerCheck
        ? "warning: this system cannot tell which local user connects; IMDS serves ANY local user (--imds-without-peer-check); the container endpoint still needs the token file"
        : "this system cannot tell which local user connects: IMDS is off (the container endpoint, guarded by its token file, is on); --imds-without-peer-check turns IMDS on for any local user",
    );
  }
  const server = createServer(localCredentialsHandler({ source, containerToken, roleName, peers, imdsWithoutPeerCheck }));
  await new Promise((resolve, reject) => {
    server.once("error", (error) => reject(new HelperError(`cannot listen on ${host}:${port}: ${/** @type {NodeJS.ErrnoException} */ (error).code}`, EXIT.USAGE)));
    server.listen(port, host.replace(/^\[|\]$/g, ""), () => resolve(undefined));
  });
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  const base = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  const tokenFile = expandHome(options["token-file"] ?? join(process.env.XDG_RUNTIME_DIR || join(homedir(), ".cache"), "s3-broker", `serve-${address.port}.token`));
  mkdirSync(dirname(tokenFile), { recursive: true, mode: 0o700 });
  rmSync(tokenFile, { force: true });
  writeFileSync(tokenFile, containerToken, { mode: 0o600, flag: "wx" });

  logLine(`serving credentials from ${endpoint} on ${base}`);
  process.stdout.write(
    [
      `export AWS_EC2_METADATA_SERVICE_ENDPOINT=${base}/`,
      `export AWS_CONTAINER_CREDENTIALS_FULL_URI=${base}${CONTAINER_PATH}`,
      `export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=${tokenFile}`,
      "",
    ].join("\n"),
  );

  const checker = setInterval(() => source.ask().catch(() => undefined), checkEveryMs);
  await new Promise((resolve) => {
    const stop = () => {
      clearInterval(checker);
      server.close(() => resolve(undefined));
      server.closeAllConnections();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  rmSync(tokenFile, { force: true });
  logLine("stopped");
}
