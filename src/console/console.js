// The broker's reference console: what a front end needs, in plain modules (no build step). This one
// wires the page: sign-in and sign-out, the user's connection, credentials with their countdown,
// client keys and the audit trail, and the switch of language; files.js is the storage browser,
// admin.js the administrators' part, session.js the sign-in and the calls to the broker.
// Every value from the broker or Pool A is put in the page as text, never as HTML.
import { clearAdmin, refreshAdmin, wireAdmin } from "./admin.js";
import { clearFiles, renderLocations, wireFiles } from "./files.js";
import { chooseLanguage, formatDate, language, setLanguage, t } from "./i18n.js";
import { LANGUAGES } from "./messages.js";
import { $, attempt, button, element, fillTable, onSubmit, setup, showError, showNotice, valueOf } from "./page.js";
import { call, endSession, finishManagedSignIn, isAdmin, loadSettings, redirectUri, session, settings, signIn, startManagedSignIn } from "./session.js";

/** @type {ReturnType<typeof setInterval> | undefined} */
let countdownTimer;
/** What is on screen and must be said again after a switch of language (in memory only, gone at sign-out). */
/** @type {any} */
let shownCredentials = null;
/** @type {any} */
let shownKey = null;

async function renderConnection() {
  const { connectionStatus: status } = await call("ConnectionStatus");
  const list = $("connection");
  list.replaceChildren();
  const last = status.lastCredentialExpiresAt ? t("connection.lastValue", { flow: status.lastCredentialFlow, date: formatDate(status.lastCredentialExpiresAt) }) : t("connection.none");
  list.append(
    element("dt", {}, t("connection.state")),
    // The state's code beside its words, for scripts and tests that read the page.
    element("dd", { "data-state": status.state }, t(`state.${status.state}`)),
    element("dt", {}, t("connection.tenant")),
    element("dd", {}, status.tenant ?? "–"),
    element("dt", {}, t("connection.prefix")),
    element("dd", {}, status.bucket && status.prefix ? `s3://${status.bucket}/${status.prefix}` : "–"),
    element("dt", {}, t("connection.last")),
    element("dd", {}, last),
  );
  $("provision").hidden = status.provisioned;
  // Files, credentials, keys and the trail only once there is access to use.
  for (const section of document.querySelectorAll(".needs-access")) /** @type {HTMLElement} */ (section).hidden = !status.provisioned;
  return status;
}

/** @param {string} expiration */
function startCountdown(expiration) {
  clearInterval(countdownTimer);
  const end = Date.parse(expiration);
  const tick = () => {
    const left = Math.max(0, Math.round((end - Date.now()) / 1000));
    $("countdown").textContent = left === 0 ? t("credentials.expired") : t("credentials.left", { minutes: Math.floor(left / 60), seconds: String(left % 60).padStart(2, "0") });
    if (left === 0) clearInterval(countdownTimer);
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
}

function showCredentials() {
  const credentials = shownCredentials;
  if (!credentials) return;
  $("access-key-id").textContent = credentials.accessKeyId;
  $("s3-uri").textContent = credentials.s3Uri;
  $("expires-at").textContent = formatDate(credentials.expiration);
  $("expires-at").setAttribute("datetime", credentials.expiration);
  const config = credentials.clientConfiguration;
  $("setups").replaceChildren(
    setup("shellExports", config.shellExports),
    setup("credentialsFile", config.credentialsFileProfile),
    setup("credentialProcess", JSON.stringify(config.credentialProcessJson)),
  );
  $("credentials").hidden = false;
  startCountdown(credentials.expiration);
}

async function issue() {
  const flow = valueOf("flow");
  const duration = Number(valueOf("duration"));
  const { issueCredentials } = await call("IssueCredentials", { flow, ...(flow === "CLASSIC" ? { durationSeconds: duration } : {}) });
  shownCredentials = issueCredentials;
  showCredentials();
  await Promise.all([renderConnection(), renderAudit()]);
}

async function renderKeys() {
  const { clientKeys } = await call("ClientKeys");
  const rows = clientKeys.map((/** @type {any} */ key) => {
    const state = key.revoked ? "revoked" : key.expired ? "expired" : "active";
    const revoke =
      state === "active"
        ? [
            button(t("keys.revoke", { name: key.name }), async () => {
              await call("RevokeClientKey", { id: key.id });
              showNotice(t("keys.revokedNotice", { name: key.name }));
              await Promise.all([renderKeys(), renderAudit()]);
            }),
          ]
        : [];
    const reaches = t("keys.reachValue", { target: key.scopeTarget === "" ? t("keys.everything") : key.scopeTarget, permission: t(`permission.${key.scopePermission}`) });
    return element(
      "tr",
      {},
      element("td", { class: "name" }, key.name),
      element("td", {}, key.flow),
      element("td", { class: "name" }, reaches),
      element("td", {}, formatDate(key.createdAt)),
      element("td", {}, formatDate(key.expiresAt)),
      element("td", {}, formatDate(key.lastUsedAt)),
      element("td", {}, t(`keys.${state}`)),
      element("td", {}, ...revoke),
    );
  });
  fillTable("keys", rows);
}

function showNewKey() {
  const created = shownKey;
  if (!created) return;
  const s = created.setup;
  $("key-setups").replaceChildren(
    setup("keySecret", created.secret),
    setup("installHelper", s.installHelper),
    setup("cliProfile", s.credentialProcessProfile),
    setup("containerEnvironment", s.containerEnvironment),
    setup("credentialsFileUpdate", s.credentialsFileUpdate),
  );
  $("new-key").hidden = false;
}

async function createKey() {
  /** @type {Record<string, unknown>} */
  const input = { name: valueOf("key-name"), flow: valueOf("key-flow") };
  // What is left empty is the API's default; what is set goes as it is, and the broker says what it refuses.
  if (valueOf("key-expires")) input.expiresAt = new Date(`${valueOf("key-expires")}T23:59:59`).toISOString();
  if (valueOf("key-duration")) input.durationSeconds = Number(valueOf("key-duration"));
  if (valueOf("key-target") || valueOf("key-permission") !== "READ") input.scope = { target: valueOf("key-target"), permission: valueOf("key-permission") };
  const { createClientKey } = await call("CreateClientKey", { input });
  shownKey = createClientKey;
  showNewKey();
  /** @type {HTMLFormElement} */ ($("key-form")).reset();
  await Promise.all([renderKeys(), renderAudit()]);
}

function forgetNewKey() {
  shownKey = null;
  $("key-setups").replaceChildren();
  $("new-key").hidden = true;
}

async function renderAudit() {
  const { auditEvents } = await call("AuditEvents", { first: 20 });
  const rows = auditEvents.nodes.map((/** @type {any} */ e) => {
    const details = [e.flow, e.durationSeconds ? t("audit.seconds", { seconds: e.durationSeconds }) : null, e.tenant, e.reason, e.errorCode].filter(Boolean).join(", ");
    return element(
      "tr",
      {},
      element("td", {}, formatDate(e.at)),
      element("td", { "data-action": e.action }, t(`audit.${e.action}`)),
      element("td", {}, t(`audit.${e.outcome}`)),
      element("td", {}, e.actorUserId === e.subjectUserId ? t("audit.you") : e.actorUserId),
      element("td", { class: "name" }, details),
    );
  });
  fillTable("audit", rows);
}

/** Renders everything of the signed-in user (again after a switch of language). */
async function renderSignedIn() {
  if (!session) return;
  $("who-name").textContent = t("signedInAs", { name: session.username });
  $("admin").hidden = !isAdmin();
  const status = await renderConnection();
  if (status.provisioned) await Promise.all([renderKeys(), renderAudit(), renderLocations()]);
  if (isAdmin()) await refreshAdmin();
}

async function showSignedIn() {
  $("who").hidden = false;
  $("sign-in").hidden = true;
  $("signed-in").hidden = false;
  await renderSignedIn();
  $("connection-title").focus();
}

/** Forgets everything of the session: tokens, secrets and credentials on the page, and Pool A's sign-in. */
async function signOut() {
  clearInterval(countdownTimer);
  shownCredentials = null;
  shownKey = null;
  for (const id of ["connection", "setups", "key-setups", "access-key-id", "s3-uri", "expires-at", "countdown", "who-name"]) $(id).replaceChildren();
  for (const table of ["keys", "audit"]) /** @type {HTMLElement} */ ($(table).querySelector("tbody")).replaceChildren();
  clearFiles();
  clearAdmin();
  for (const id of ["credentials", "new-key", "signed-in", "who", "admin"]) $(id).hidden = true;
  for (const section of document.querySelectorAll(".needs-access")) /** @type {HTMLElement} */ (section).hidden = true;
  $("sign-in").hidden = false;
  /** @type {HTMLFormElement} */ ($("sign-in-form")).reset();
  sessionStorage.clear();
  localStorage.clear();
  await endSession();
  if (settings.signIn === "managed-login") {
    // The managed login keeps its own session cookie on Pool A's domain: its logout endpoint ends it and sends the user back.
    const url = new URL("/logout", /** @type {string} */ (settings.oauthDomain));
    url.search = new URLSearchParams({ client_id: settings.clientId, logout_uri: redirectUri() }).toString();
    location.assign(url.href);
    return;
  }
  showNotice(t("signedOut"));
  $("username").focus();
}

/** The switch of language: every string of the page again, and what is on screen rendered anew. */
function wireLanguage() {
  const select = /** @type {HTMLSelectElement} */ ($("language"));
  select.replaceChildren(...Object.entries(LANGUAGES).map(([tag, name]) => element("option", { value: tag, lang: tag }, name)));
  select.value = language();
  select.addEventListener("change", () =>
    attempt(async () => {
      setLanguage(/** @type {keyof typeof LANGUAGES} */ (select.value));
      showCredentials();
      showNewKey();
      await renderSignedIn();
    }),
  );
}

async function start() {
  setLanguage(chooseLanguage(navigator.languages));
  wireLanguage();
  await loadSettings();
  $("connection-title").tabIndex = -1;
  const managed = settings.signIn === "managed-login";
  $("managed-sign-in").hidden = !managed;
  $("sign-in-form").hidden = managed;
  $("managed-sign-in").addEventListener("click", () => void attempt(startManagedSignIn));
  onSubmit("sign-in-form", async () => {
    await signIn(valueOf("username"), /** @type {HTMLInputElement} */ ($("password")).value);
    /** @type {HTMLInputElement} */ ($("password")).value = "";
    await showSignedIn();
  });
  $("sign-out").addEventListener("click", () => void attempt(signOut));
  $("provision").addEventListener("click", () =>
    attempt(async () => {
      await call("ProvisionDataPlatformUser");
      showNotice(t("connection.provisioned"));
      await showSignedIn();
    }),
  );
  $("flow").addEventListener("change", () => {
    /** @type {HTMLInputElement} */ ($("duration")).disabled = valueOf("flow") === "ENHANCED";
  });
  onSubmit("issue-form", issue);
  onSubmit("key-form", createKey);
  $("forget-key").addEventListener("click", forgetNewKey);
  $("audit-refresh").addEventListener("click", () => attempt(renderAudit));
  wireFiles();
  wireAdmin();
  if (managed) await attempt(async () => void ((await finishManagedSignIn()) && (await showSignedIn())));
}

void start().catch(showError);
