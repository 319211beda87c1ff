import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionStateOf, launchBrowser, type TestBrowser } from "../support/browser.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf } from "../support/credential-endpoint.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { startManagedLogin, type ManagedLogin } from "../support/managed-login.js";
import { freshPoolAUser, type TestPoolAUser } from "../support/pool-a-users.js";

/**
 * The console with CONSOLE_SIGN_IN=managed-login, as on AWS: the browser goes to the managed
 * login, comes back with a code, and exchanges it with its PKCE verifier. moto has no managed
 * login, so a real OpenID Connect server (oidc-provider, test/support/managed-login.ts) stands in
 * for Pool A's domain and signs the ID tokens the broker is configured to trust.
 */
let aws: LocalAws;
let login: ManagedLogin;
let broker: BrokerUnderTest;
let browser: TestBrowser;
let consoleUrl: string;
let user: TestPoolAUser;

beforeAll(async () => {
  aws = await startLocalAws();
  login = await startManagedLogin();
  broker = await startBroker(aws.stack, {
    POOL_A_ISSUER: login.issuer,
    POOL_A_JWKS_URI: `${login.issuer}/.well-known/jwks.json`,
    CONSOLE_SIGN_IN: "managed-login",
    CONSOLE_OAUTH_DOMAIN: login.issuer,
  });
  consoleUrl = `${baseUrlOf(broker.url)}/console/`;
  user = await freshPoolAUser(aws.stack, { tenant: "acme" });
  login.serve(aws.stack.poolA.clientId, consoleUrl, { [user.sub]: { username: user.username, tenant: "acme" } });
  browser = await launchBrowser({ locale: "en-US" });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await broker?.close();
  await login?.close();
  await aws?.stop();
});

describe("the console with Cognito's managed login", () => {
  it("signs in with the authorization code and PKCE, keeps nothing of it in storage, and signs out through the logout endpoint", async () => {
    // The page may call the token endpoint on Pool A's domain, and nothing else beside the broker and Pool A.
    expect((await fetch(consoleUrl)).headers.get("content-security-policy")).toContain(`connect-src 'self' ${new URL(aws.moto.endpoint).origin} ${login.issuer};`);
    const page = await browser.context.newPage();
    await page.goto(consoleUrl);
    expect(await page.getByLabel("Password").isVisible()).toBe(false);
    await page.getByRole("button", { name: "Sign in with your account" }).click();

    // The managed login's own pages (oidc-provider's development sign-in and consent).
    await page.waitForURL((url) => url.origin === login.issuer);
    await page.locator('input[name="login"]').fill(user.sub);
    await page.locator('input[name="password"]').fill("any");
    await page.locator('button[type="submit"]').click();
    const consent = page.locator('button[type="submit"]');
    if (await consent.isVisible().catch(() => false)) await consent.click();

    await page.waitForURL((url) => url.href === consoleUrl);
    await expect.poll(() => page.getByText(`Signed in as ${user.username}`).isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => connectionStateOf(page)).toBe("NOT_PROVISIONED");
    await page.getByRole("button", { name: "Provision access" }).click();
    await expect.poll(() => connectionStateOf(page)).toBe("ACTIVE");

    // What the console sent: an S256 challenge, its state, and the code exchanged once with the verifier.
    const authorize = login.requests.find((r) => r.pathname === "/oauth2/authorize")!;
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get("redirect_uri")).toBe(consoleUrl);
    expect(login.requests.filter((r) => r.pathname === "/oauth2/token")).toHaveLength(1);
    // The code left the address bar, the verifier left sessionStorage.
    expect(page.url()).toBe(consoleUrl);
    expect(await page.evaluate("sessionStorage.length + localStorage.length")).toBe(0);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL((url) => url.origin === login.issuer && url.pathname === "/logout");
    const logout = new URL(page.url());
    expect(Object.fromEntries(logout.searchParams)).toEqual({ client_id: aws.stack.poolA.clientId, logout_uri: consoleUrl });
    await page.close();
  });

  it("shows only messages it owns: an ?error= link from elsewhere puts no sentence of its own on the page", async () => {
    const page = await browser.context.newPage();
    const spoof = "Your account is locked. Call +1 555 0100 to unlock it";
    // A link from anywhere, with no sign-in under way in this tab: ignored, the address cleaned.
    await page.goto(`${consoleUrl}?error=${encodeURIComponent(spoof)}&error_description=${encodeURIComponent(spoof)}`);
    await expect.poll(() => page.url()).toBe(consoleUrl);
    expect(await page.locator("body").textContent()).not.toContain("Call +1");
    // A sign-in this tab started, refused by the managed login with a code of OAuth's own: the console's words for it.
    await page.evaluate(`sessionStorage.setItem("s3-broker-console-pending-sign-in", ${JSON.stringify(JSON.stringify({ verifier: "v", state: "s" }))})`);
    await page.goto(`${consoleUrl}?error=${encodeURIComponent(spoof)}&state=s`);
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("Sign-in was not completed");
    expect(await page.locator("body").textContent()).not.toContain("Call +1");
    await page.close();
  });

  it("refuses a code it did not ask for (no matching state): a login CSRF", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${consoleUrl}?code=attacker-code&state=attacker-state`);
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("Sign-in could not be completed: start again.");
    expect(page.url()).toBe(consoleUrl);
    expect(login.requests.filter((r) => r.pathname === "/oauth2/token" && r.search.includes("attacker"))).toEqual([]);
    expect(await page.getByText("Signed in as").isVisible()).toBe(false);
    await page.close();
  });
});
