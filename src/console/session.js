// The signed-in user's session: Pool A sign-in from the browser (password or the managed login with
// PKCE), the tokens in memory only (nothing in localStorage, sessionStorage or cookies, so nothing
// outlives the tab or a sign-out), and the typed operations (operations.json, generated from
// src/client/operations/) sent to /graphql with the user's token.
import { ApiError, PageError } from "./page.js";

/** @type {{ region: string, cognitoEndpoint: string, clientId: string, signIn: "password" | "managed-login", oauthDomain: string | null, tokenUse: "id" | "access", adminGroup: string }} */
export let settings;
/** @type {Record<string, string>} */
let operations;
/** @type {{ idToken: string, accessToken: string, refreshToken?: string, expiresAt: number, username: string, groups: string[] } | null} */
export let session = null;

/** The console's settings (where to sign in) and the operations it may send. */
export async function loadSettings() {
  [settings, operations] = await Promise.all([fetch("settings.json").then((r) => r.json()), fetch("operations.json").then((r) => r.json())]);
}

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
    if (type === "NotAuthorizedException" || type === "UserNotFoundException") throw new PageError("signIn.incorrect", {}, "UNAUTHENTICATED", type);
    throw new PageError("signIn.failed", { detail: type ?? "" }, "UNAUTHENTICATED", type);
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
export async function signIn(username, password) {
  const answer = await cognito("InitiateAuth", { AuthFlow: "USER_PASSWORD_AUTH", ClientId: settings.clientId, AuthParameters: { USERNAME: username, PASSWORD: password } });
  if (!answer.AuthenticationResult) throw new PageError("signIn.challenge", { challenge: answer.ChallengeName ?? "unknown" }, "UNAUTHENTICATED", undefined);
  startSession(answer.AuthenticationResult, undefined);
}

// ---- Pool A's managed login: OAuth 2.0 authorization code with PKCE (RFC 7636) ----------------

// Only what must survive the redirect to the managed login and back (the verifier and the state),
// in sessionStorage, removed as soon as the code is exchanged.
const PENDING_SIGN_IN = "s3-broker-console-pending-sign-in";
/** The managed login's refusals (RFC 6749's codes) the console words itself (signIn.oauth.*); anything else is "other". */
const OAUTH_ERRORS = ["access_denied", "temporarily_unavailable", "server_error"];
/** The console's own address, the redirect URI registered on the app client (callback and sign-out URL). */
export const redirectUri = () => new URL(".", location.href).href;

/** @param {Uint8Array | ArrayBuffer} bytes */
function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function startManagedSignIn() {
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
  if (!response.ok || !json.id_token) throw new PageError("signIn.failed", { detail: String(json.error ?? response.status) }, "UNAUTHENTICATED", json.error);
  return { IdToken: json.id_token, AccessToken: json.access_token, RefreshToken: json.refresh_token };
}

/** Back from the managed login with ?code&state: the code for tokens, once, and the address cleaned. */
export async function finishManagedSignIn() {
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
    const known = OAUTH_ERRORS.includes(error);
    throw new PageError(`signIn.oauth.${known ? error : "other"}`, {}, "UNAUTHENTICATED", known ? error : "OAUTH_ERROR");
  }
  // A code this tab did not ask for (no or another state) is not used: it could be an attacker's.
  if (!verifier || params.get("state") !== state) throw new PageError("signIn.restart", {}, "UNAUTHENTICATED", "STATE_MISMATCH");
  startSession(await tokenEndpoint({ grant_type: "authorization_code", code: /** @type {string} */ (code), redirect_uri: redirectUri(), code_verifier: verifier }), undefined);
  return true;
}

/** The token to send, refreshed when less than a minute is left. */
async function currentToken() {
  if (!session) throw new PageError("signIn.first", {}, "UNAUTHENTICATED", "MISSING");
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
export async function call(name, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${await currentToken()}` },
    body: JSON.stringify({ query: operations[name], operationName: name, variables }),
  });
  /** @type {any} */
  const body = await response.json().catch(() => ({}));
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code ?? "ERROR", error.extensions?.reason, error.extensions?.field);
  return body.data;
}

/** Whether the signed-in user is one of Pool A's administrators (the broker decides again on every call). */
export const isAdmin = () => Boolean(session?.groups.includes(settings.adminGroup));

/** Ends the session in this tab and, with the password flow, Pool A's refresh tokens (GlobalSignOut). */
export async function endSession() {
  const ending = session;
  session = null;
  if (settings.signIn !== "managed-login" && ending) await cognito("GlobalSignOut", { AccessToken: ending.accessToken }).catch(() => undefined);
}
