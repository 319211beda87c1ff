// The broker's reference console: what a front end needs, in one plain module. It signs the user in
// to Pool A from the browser, keeps the tokens in memory only (nothing in localStorage, sessionStorage
// or cookies, so nothing outlives the tab or a sign-out), and sends the typed operations
// (operations.json, generated from src/client/operations/) to /graphql with the user's token.
// Every value from the broker or Pool A is put in the page as text, never as HTML.

/** @type {{ region: string, cognitoEndpoint: string, clientId: string, signIn: "password" | "managed-login", oauthDomain: string | null, tokenUse: "id" | "access", adminGroup: string }} */
let settings;
/** @type {Record<string, string>} */
let operations;
/** @type {{ idToken: string, accessToken: string, refreshToken?: string, expiresAt: number, username: string, groups: string[] } | null} */
let session = null;
/** @type {ReturnType<typeof setInterval> | undefined} */
let countdownTimer;

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

class ApiError extends Error {
  /** @param {string} message @param {string} code @param {string | undefined} reason */
  constructor(message, code, reason) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

// ---- Pool A ---------------------------------------------------------------------------------

/** One call of Cognito's user pool API; these calls are unsigned, as from any browser app. @param {string} action @param {object} body */
async function cognito(action, body) {
  const response = await fetch(settings.cognitoEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `AWSCognitoIdentityProviderService.${action}` },
    body: JSON.stringify(body),
  });
  /** @type {any} */
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    const type = String(json.__type ?? "Error").split("#").pop();
    throw new ApiError(type === "NotAuthorizedException" || type === "UserNotFoundException" ? "Incorrect username or password." : `Sign-in failed (${type}).`, "UNAUTHENTICATED", type);
  }
  return json;
}

/** The claims of a JWT, for display and timing only: the broker verifies every token itself. @param {string} token */
function claimsOf(token) {
  const part = token.split(".")[1] ?? "";
  return JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
}

/** @param {{ IdToken: string, AccessToken: string, RefreshToken?: string }} result @param {string | undefined} refreshToken */
function startSession(result, refreshToken) {
  const claims = claimsOf(result.IdToken);
  session = {
    idToken: result.IdToken,
    accessToken: result.AccessToken,
    refreshToken: result.RefreshToken ?? refreshToken,
    expiresAt: claims.exp * 1000,
    username: claims["cognito:username"] ?? claims.sub,
    groups: Array.isArray(claims["cognito:groups"]) ? claims["cognito:groups"] : [],
  };
}

/** @param {string} username @param {string} password */
async function signIn(username, password) {
  const answer = await cognito("InitiateAuth", { AuthFlow: "USER_PASSWORD_AUTH", ClientId: settings.clientId, AuthParameters: { USERNAME: username, PASSWORD: password } });
  if (!answer.AuthenticationResult) throw new ApiError(`Pool A asks for another step (${answer.ChallengeName ?? "unknown"}), which this console does not do.`, "UNAUTHENTICATED", undefined);
  startSession(answer.AuthenticationResult, undefined);
}

// ---- Pool A's managed login: OAuth 2.0 authorization code with PKCE (RFC 7636) ----------------

// Only what must survive the redirect to the managed login and back (the verifier and the state),
// in sessionStorage, removed as soon as the code is exchanged.
const PENDING_SIGN_IN = "s3-broker-console-pending-sign-in";
/** The managed login's refusals (RFC 6749's codes), in the console's words; anything else is "other". */
const OAUTH_ERRORS = /** @type {Record<string, string>} */ ({
  access_denied: "Sign-in was not completed: it was cancelled or refused.",
  temporarily_unavailable: "Sign-in was not completed: the sign-in service is busy; try again shortly.",
  server_error: "Sign-in was not completed: the sign-in service failed; try again shortly.",
  other: "Sign-in was not completed: start again.",
});
/** The console's own address, the redirect URI registered on the app client (callback and sign-out URL). */
const redirectUri = () => new URL(".", location.href).href;

/** @param {Uint8Array | ArrayBuffer} bytes */
function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function startManagedSignIn() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PENDING_SIGN_IN, JSON.stringify({ verifier, state }));
  const url = new URL("/oauth2/authorize", /** @type {string} */ (settings.oauthDomain));
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: settings.clientId,
    redirect_uri: redirectUri(),
    scope: "openid",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.href);
}

/** @param {Record<string, string>} form */
async function tokenEndpoint(form) {
  const response = await fetch(new URL("/oauth2/token", /** @type {string} */ (settings.oauthDomain)).href, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: settings.clientId, ...form }),
  });
  /** @type {any} */
  const json = await response.json().catch(() => ({}));
  if (!response.ok || !json.id_token) throw new ApiError(`Sign-in failed (${json.error ?? response.status}).`, "UNAUTHENTICATED", json.error);
  return { IdToken: json.id_token, AccessToken: json.access_token, RefreshToken: json.refresh_token };
}

/** Back from the managed login with ?code&state: the code for tokens, once, and the address cleaned. */
async function finishManagedSignIn() {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const error = params.get("error");
  if (!code && !error) return false;
  const pending = sessionStorage.getItem(PENDING_SIGN_IN);
  sessionStorage.removeItem(PENDING_SIGN_IN);
  history.replaceState(null, "", redirectUri());
  const { verifier, state } = pending ? JSON.parse(pending) : {};
  if (error) {
    // Only for a sign-in this tab started, and only in the console's own words: an ?error= link from
    // anywhere else must not put its sentence on the page.
    if (!verifier || params.get("state") !== state) return false;
    const known = Object.hasOwn(OAUTH_ERRORS, error) && error !== "other";
    throw new ApiError(known ? String(OAUTH_ERRORS[error]) : String(OAUTH_ERRORS.other), "UNAUTHENTICATED", known ? error : "OAUTH_ERROR");
  }
  // A code this tab did not ask for (no or another state) is not used: it could be an attacker's.
  if (!verifier || params.get("state") !== state) throw new ApiError("Sign-in could not be completed: start again.", "UNAUTHENTICATED", "STATE_MISMATCH");
  startSession(await tokenEndpoint({ grant_type: "authorization_code", code: /** @type {string} */ (code), redirect_uri: redirectUri(), code_verifier: verifier }), undefined);
  return true;
}

/** The token to send, refreshed when less than a minute is left. */
async function currentToken() {
  if (!session) throw new ApiError("Sign in first.", "UNAUTHENTICATED", "MISSING");
  if (session.expiresAt - Date.now() < 60_000 && session.refreshToken) {
    if (settings.signIn === "managed-login") {
      startSession(await tokenEndpoint({ grant_type: "refresh_token", refresh_token: session.refreshToken }), session.refreshToken);
    } else {
      const answer = await cognito("InitiateAuth", { AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: settings.clientId, AuthParameters: { REFRESH_TOKEN: session.refreshToken } });
      startSession(answer.AuthenticationResult, session.refreshToken);
    }
  }
  return settings.tokenUse === "access" ? session.accessToken : session.idToken;
}

// ---- the broker -----------------------------------------------------------------------------

/** Runs one typed operation; rejects with the broker's code and reason. @param {string} name @param {Record<string, unknown>} variables */
async function call(name, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${await currentToken()}` },
    body: JSON.stringify({ query: operations[name], operationName: name, variables }),
  });
  /** @type {any} */
  const body = await response.json().catch(() => ({}));
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code ?? "ERROR", error.extensions?.reason);
  return body.data;
}

// ---- the page -------------------------------------------------------------------------------

/** @param {unknown} error */
function showError(error) {
  const e = /** @type {ApiError} */ (error);
  const message = $("message");
  message.textContent = e.code ? `${e.message} (${e.code}${e.reason ? `, ${e.reason}` : ""})` : String(e.message ?? e);
  message.className = "error";
  message.hidden = false;
}

/** How long a notice (not an error) stays: long enough to read, then it goes. */
const NOTICE_MS = 5_000;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let noticeTimer;

/** @param {string} text */
function showNotice(text) {
  const message = $("message");
  message.textContent = text;
  message.className = "notice";
  message.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    if (message.className === "notice" && message.textContent === text) message.hidden = true;
  }, NOTICE_MS);
}

/** Runs an action of the page; its failure is shown, never thrown away. @param {() => Promise<void>} action */
async function attempt(action) {
  $("message").hidden = true;
  try {
    await action();
  } catch (error) {
    showError(error);
  }
}

/** @param {string} tag @param {Record<string, string>} attributes @param {(Node | string)[]} children */
function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/**
 * Replaces a table's rows, each cell labelled with its column's heading (data-label): on a phone
 * the stylesheet shows every row as a card of "heading: value" lines instead of squeezed columns.
 * @param {string} tableId @param {HTMLElement[]} rows
 */
function fillTable(tableId, rows) {
  const table = $(tableId);
  const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent?.trim() ?? "");
  for (const row of rows) [...row.children].forEach((cell, i) => headings[i] && cell.setAttribute("data-label", headings[i]));
  /** @type {HTMLElement} */ (table.querySelector("tbody")).replaceChildren(...rows);
}

/**
 * "Copy shell exports", "Copy AWS CLI profile": a title's first letter is lower-cased inside the
 * sentence unless its first word is an acronym or a name written as it is (AWS, credential_process).
 * @param {string} title
 */
const inSentence = (title) => (/^[A-Z][a-z]/.test(title) ? `${title[0]?.toLowerCase()}${title.slice(1)}` : title);

/** A set-up to copy: its text in a <pre> and a button that copies it. @param {string} title @param {string} text */
function setup(title, text) {
  const id = `setup-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  const copy = element("button", { type: "button", "aria-describedby": id }, `Copy ${inSentence(title)}`);
  copy.addEventListener("click", () =>
    attempt(async () => {
      await navigator.clipboard.writeText(text);
      showNotice(`${title} copied.`);
    }),
  );
  return element("div", { class: "setup" }, element("h3", { id }, title), element("pre", {}, text), copy);
}

/** @param {string | null | undefined} iso */
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");

async function renderConnection() {
  const { connectionStatus: status } = await call("ConnectionStatus");
  const list = $("connection");
  list.replaceChildren();
  for (const [term, value] of [
    ["State", status.state],
    ["Tenant", status.tenant ?? "–"],
    ["Bucket and prefix", status.bucket && status.prefix ? `s3://${status.bucket}/${status.prefix}` : "–"],
    ["Last credentials", status.lastCredentialExpiresAt ? `${status.lastCredentialFlow}, until ${when(status.lastCredentialExpiresAt)}` : "none yet"],
  ]) {
    list.append(element("dt", {}, term), element("dd", {}, value));
  }
  $("provision").hidden = status.provisioned;
  // Credentials, keys and the trail only once there is access to use.
  for (const section of document.querySelectorAll(".needs-access")) /** @type {HTMLElement} */ (section).hidden = !status.provisioned;
  return status;
}

/** @param {string} expiration */
function startCountdown(expiration) {
  clearInterval(countdownTimer);
  const end = Date.parse(expiration);
  const tick = () => {
    const left = Math.max(0, Math.round((end - Date.now()) / 1000));
    const minutes = Math.floor(left / 60);
    $("countdown").textContent = left === 0 ? "expired: issue new credentials" : `${minutes} min ${String(left % 60).padStart(2, "0")} s left`;
    if (left === 0) clearInterval(countdownTimer);
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
}

async function issue() {
  const flow = /** @type {HTMLSelectElement} */ ($("flow")).value;
  const duration = Number(/** @type {HTMLInputElement} */ ($("duration")).value);
  const { issueCredentials: credentials } = await call("IssueCredentials", { flow, ...(flow === "CLASSIC" ? { durationSeconds: duration } : {}) });
  $("access-key-id").textContent = credentials.accessKeyId;
  $("s3-uri").textContent = credentials.s3Uri;
  $("expires-at").textContent = when(credentials.expiration);
  $("expires-at").setAttribute("datetime", credentials.expiration);
  const config = credentials.clientConfiguration;
  $("setups").replaceChildren(
    setup("Shell exports", config.shellExports),
    setup("Credentials file profile", config.credentialsFileProfile),
    setup("credential_process JSON", JSON.stringify(config.credentialProcessJson)),
  );
  $("credentials").hidden = false;
  startCountdown(credentials.expiration);
  await Promise.all([renderConnection(), renderAudit()]);
}

async function renderKeys() {
  const { clientKeys } = await call("ClientKeys");
  const rows = clientKeys.map((/** @type {any} */ key) => {
    const state = key.revoked ? "revoked" : key.expired ? "expired" : "active";
    const action = element("td");
    if (state === "active") {
      const revoke = element("button", { type: "button" }, `Revoke ${key.name}`);
      revoke.addEventListener("click", () =>
        attempt(async () => {
          await call("RevokeClientKey", { id: key.id });
          showNotice(`Client key ${key.name} revoked.`);
          await Promise.all([renderKeys(), renderAudit()]);
        }),
      );
      action.append(revoke);
    }
    const reaches = `${key.scopeTarget === "" ? "everything" : key.scopeTarget} (${key.scopePermission.toLowerCase()})`;
    return element("tr", {}, element("td", {}, key.name), element("td", {}, key.flow), element("td", {}, reaches), element("td", {}, when(key.createdAt)), element("td", {}, when(key.expiresAt)), element("td", {}, when(key.lastUsedAt)), element("td", {}, state), action);
  });
  fillTable("keys", rows);
}

async function createKey() {
  const value = (/** @type {string} */ id) => /** @type {HTMLInputElement | HTMLSelectElement} */ ($(id)).value.trim();
  /** @type {Record<string, unknown>} */
  const input = { name: value("key-name"), flow: value("key-flow") };
  // What is left empty is the API's default; what is set goes as it is, and the broker says what it refuses.
  if (value("key-expires")) input.expiresAt = new Date(`${value("key-expires")}T23:59:59`).toISOString();
  if (value("key-duration")) input.durationSeconds = Number(value("key-duration"));
  if (value("key-target") || value("key-permission") !== "READ") input.scope = { target: value("key-target"), permission: value("key-permission") };
  const { createClientKey: created } = await call("CreateClientKey", { input });
  const s = created.setup;
  $("key-setups").replaceChildren(
    setup("Client key secret", created.secret),
    setup("Helper install command", s.installHelper),
    setup("AWS CLI profile (credential_process)", s.credentialProcessProfile),
    setup("Container provider environment", s.containerEnvironment),
    setup("Credentials file updater", s.credentialsFileUpdate),
  );
  $("new-key").hidden = false;
  /** @type {HTMLFormElement} */ ($("key-form")).reset();
  await Promise.all([renderKeys(), renderAudit()]);
}

function forgetNewKey() {
  $("key-setups").replaceChildren();
  $("new-key").hidden = true;
}

async function renderAudit() {
  const { auditEvents } = await call("AuditEvents", { first: 20 });
  const rows = auditEvents.nodes.map((/** @type {any} */ e) => {
    const details = [e.flow, e.durationSeconds ? `${e.durationSeconds} s` : null, e.tenant, e.reason, e.errorCode].filter(Boolean).join(", ");
    return element("tr", {}, element("td", {}, when(e.at)), element("td", {}, e.action), element("td", {}, e.outcome), element("td", {}, e.actorUserId === e.subjectUserId ? "you" : e.actorUserId), element("td", {}, details));
  });
  fillTable("audit", rows);
}

async function renderConnections() {
  const search = /** @type {HTMLInputElement} */ ($("connections-search")).value.trim();
  const { connections } = await call("Connections", { first: 50, ...(search ? { search } : {}) });
  const rows = connections.nodes.map((/** @type {any} */ c) => {
    const action = element("td");
    // People are named by their username where the broker knows it, with the id that is unique.
    const who = c.username ? `${c.username} (${c.userId})` : c.userId;
    if (c.state === "ACTIVE") {
      const revoke = element("button", { type: "button" }, `Revoke ${who}`);
      revoke.addEventListener("click", () =>
        attempt(async () => {
          if (!window.confirm(`Revoke ${who}'s data platform access? Their keys and sessions end at once.`)) return;
          await call("RevokeDataPlatformUser", { userId: c.userId });
          showNotice(`${who} revoked.`);
          await renderConnections();
        }),
      );
      action.append(revoke);
    }
    return element("tr", {}, element("td", {}, who), element("td", {}, c.tenant ?? "–"), element("td", {}, c.state), element("td", {}, c.lastCredentialExpiresAt ? `${c.lastCredentialFlow}, until ${when(c.lastCredentialExpiresAt)}` : "–"), action);
  });
  fillTable("connections", rows);
}

/** What a listing shows at once; "Show more files" asks for the next page. */
const FILES_PAGE = 50;
/** @type {string | null} */
let filesCursor = null;

/** A size for people, in the browser's language ("12 kB"). @param {number} bytes */
function size(bytes) {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"];
  const i = bytes < 1024 ? 0 : Math.min(3, Math.floor(Math.log(bytes) / Math.log(1024)));
  return new Intl.NumberFormat(undefined, { style: "unit", unit: units[i], unitDisplay: "short", maximumFractionDigits: 1 }).format(bytes / 1024 ** i);
}

/** The grants of the user's tenant, by location: what each location allows. @type {Map<string, string>} */
let permissionAt = new Map();

/** Uploads are offered only where a grant allows writing, into a folder (a grant of one object is read-only here). */
function showUploadWhereAllowed() {
  const location = /** @type {HTMLSelectElement} */ ($("location")).value;
  const permission = permissionAt.get(location) ?? "READ";
  $("upload-form").hidden = permission === "READ" || !(location === "" || location.endsWith("/"));
}

/** The locations the user's grants reach, as places to browse ("" is the whole prefix). */
async function renderLocations() {
  const { myAccess } = await call("MyAccess");
  permissionAt = new Map(myAccess.grants.map((/** @type {any} */ g) => [g.location, g.permission]));
  const select = /** @type {HTMLSelectElement} */ ($("location"));
  select.replaceChildren(
    ...myAccess.grants.map((/** @type {any} */ g) => element("option", { value: g.location }, `${g.location === "" ? "Everything" : g.location} (${g.permission.toLowerCase()})`)),
  );
  await renderFiles(false);
}

/** A page of the chosen location's files, each with a download that signs a URL for it alone. @param {boolean} more */
async function renderFiles(more) {
  const prefix = /** @type {HTMLSelectElement} */ ($("location")).value;
  const { objects } = await call("Objects", { prefix, first: FILES_PAGE, ...(more && filesCursor ? { after: filesCursor } : {}) });
  const rows = objects.objects.map((/** @type {any} */ o) => {
    const action = element("td");
    const name = o.key.slice(prefix.length) || o.key;
    const download = element("button", { type: "button" }, `Download ${name}`);
    download.addEventListener("click", () =>
      attempt(async () => {
        const { presignDownload } = await call("PresignDownload", { key: o.key, expiresInSeconds: 300 });
        // A link the browser follows once: the URL signs this one object for five minutes.
        const link = element("a", { href: presignDownload.url, download: name, hidden: "" });
        document.body.append(link);
        link.click();
        link.remove();
      }),
    );
    action.append(download);
    return element("tr", {}, element("td", {}, name), element("td", {}, size(o.size)), element("td", {}, when(o.lastModified)), action);
  });
  const tbody = /** @type {HTMLElement} */ ($("files").querySelector("tbody"));
  if (more) {
    const kept = [...tbody.children];
    fillTable("files", [...(/** @type {HTMLElement[]} */ (kept)), ...rows]);
  } else fillTable("files", rows);
  filesCursor = objects.pageInfo.endCursor;
  showUploadWhereAllowed();
  $("files-more").hidden = !objects.pageInfo.hasNextPage;
  $("files-empty").hidden = tbody.children.length > 0;
}

/**
 * Sends a file to S3 with the form the broker presigned for exactly its key and size; reports
 * progress (fetch cannot). @param {any} post @param {File} file @param {(loaded: number) => void} progress
 */
function postToS3(post, file, progress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields)) form.append(name, /** @type {string} */ (value));
    form.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", post.url);
    request.upload.addEventListener("progress", (event) => progress(event.loaded));
    request.addEventListener("load", () => (request.status < 300 ? resolve(undefined) : reject(new ApiError(`S3 refused the upload of ${file.name} (HTTP ${request.status}).`, "UPLOAD_FAILED", undefined))));
    request.addEventListener("error", () => reject(new ApiError(`The upload of ${file.name} did not reach S3.`, "UPLOAD_FAILED", undefined)));
    request.send(form);
  });
}

/** Uploads the chosen files into the location, one presigned form each, each with its progress. */
async function upload() {
  const location = /** @type {HTMLSelectElement} */ ($("location")).value;
  const files = [.../** @type {FileList} */ (/** @type {HTMLInputElement} */ ($("upload-file")).files)];
  const list = $("uploads");
  list.replaceChildren();
  for (const file of files) {
    const bar = element("progress", { max: String(Math.max(1, file.size)), value: "0" });
    list.append(element("li", {}, `${file.name} (${size(file.size)}) `, bar));
    const { presignUpload } = await call("PresignUpload", { key: `${location}${file.name}`, maxBytes: Math.max(1, file.size), ...(file.type ? { contentType: file.type } : {}) });
    await postToS3(presignUpload, file, (loaded) => bar.setAttribute("value", String(loaded)));
    bar.setAttribute("value", String(Math.max(1, file.size)));
  }
  /** @type {HTMLFormElement} */ ($("upload-form")).reset();
  showNotice(`${files.length} file${files.length === 1 ? "" : "s"} uploaded.`);
  await renderFiles(false);
}

async function showSignedIn() {
  if (!session) return;
  $("who-name").textContent = `Signed in as ${session.username}`;
  $("who").hidden = false;
  $("sign-in").hidden = true;
  $("signed-in").hidden = false;
  const admin = session.groups.includes(settings.adminGroup);
  $("admin").hidden = !admin;
  const status = await renderConnection();
  if (status.provisioned) await Promise.all([renderKeys(), renderAudit(), renderLocations()]);
  if (admin) await renderConnections();
  $("connection-title").focus();
}

/** Forgets everything of the session: tokens, secrets and credentials on the page, and Pool A's sign-in. */
async function signOut() {
  const ending = session;
  session = null;
  clearInterval(countdownTimer);
  for (const id of ["connection", "setups", "key-setups", "access-key-id", "s3-uri", "expires-at", "countdown", "who-name"]) $(id).replaceChildren();
  for (const table of ["keys", "audit", "connections", "files"]) /** @type {HTMLElement} */ ($(table).querySelector("tbody")).replaceChildren();
  $("location").replaceChildren();
  $("uploads").replaceChildren();
  $("upload-form").hidden = true;
  permissionAt = new Map();
  filesCursor = null;
  for (const id of ["credentials", "new-key", "signed-in", "who", "admin"]) $(id).hidden = true;
  for (const section of document.querySelectorAll(".needs-access")) /** @type {HTMLElement} */ (section).hidden = true;
  $("sign-in").hidden = false;
  /** @type {HTMLFormElement} */ ($("sign-in-form")).reset();
  sessionStorage.clear();
  localStorage.clear();
  if (settings.signIn === "managed-login") {
    // The managed login keeps its own session cookie on Pool A's domain: its logout endpoint ends it and sends the user back.
    const url = new URL("/logout", /** @type {string} */ (settings.oauthDomain));
    url.search = new URLSearchParams({ client_id: settings.clientId, logout_uri: redirectUri() }).toString();
    location.assign(url.href);
    return;
  }
  if (ending) await cognito("GlobalSignOut", { AccessToken: ending.accessToken }).catch(() => undefined);
  showNotice("Signed out.");
  $("username").focus();
}

async function start() {
  [settings, operations] = await Promise.all([fetch("settings.json").then((r) => r.json()), fetch("operations.json").then((r) => r.json())]);
  $("connection-title").tabIndex = -1;
  const managed = settings.signIn === "managed-login";
  $("managed-sign-in").hidden = !managed;
  $("sign-in-form").hidden = managed;
  $("managed-sign-in").addEventListener("click", () => void attempt(startManagedSignIn));
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(async () => {
      await signIn(/** @type {HTMLInputElement} */ ($("username")).value, /** @type {HTMLInputElement} */ ($("password")).value);
      /** @type {HTMLInputElement} */ ($("password")).value = "";
      await showSignedIn();
    });
  });
  $("sign-out").addEventListener("click", () => void attempt(signOut));
  $("provision").addEventListener("click", () =>
    attempt(async () => {
      await call("ProvisionDataPlatformUser");
      showNotice("Access provisioned.");
      await showSignedIn();
    }),
  );
  $("flow").addEventListener("change", () => {
    /** @type {HTMLInputElement} */ ($("duration")).disabled = /** @type {HTMLSelectElement} */ ($("flow")).value === "ENHANCED";
  });
  $("issue-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(issue);
  });
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(createKey);
  });
  $("forget-key").addEventListener("click", forgetNewKey);
  $("files-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(() => renderFiles(false));
  });
  $("files-more").addEventListener("click", () => attempt(() => renderFiles(true)));
  $("location").addEventListener("change", showUploadWhereAllowed);
  $("upload-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(upload);
  });
  $("audit-refresh").addEventListener("click", () => attempt(renderAudit));
  $("connections-refresh").addEventListener("click", () => attempt(renderConnections));
  $("connections-search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(renderConnections);
  });
  if (managed) await attempt(async () => void ((await finishManagedSignIn()) && (await showSignedIn())));
}

void start().catch(showError);
