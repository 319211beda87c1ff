import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toolEnv } from "../support/aws-tools.js";
import { launchBrowser, seriousAccessibilityViolations, type TestBrowser } from "../support/browser.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf } from "../support/credential-endpoint.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser, type TestPoolAUser } from "../support/pool-a-users.js";
import { freshTenant } from "../support/tenants.js";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

const execFileAsync = promisify(execFile);

/**
 * The reference console, used as an end user and an administrator use it: headless Chromium signs
 * in to Pool A (moto) from the page, provisions, issues credentials, copies a set-up from the
 * clipboard and runs the AWS CLI with it against moto, manages client keys, reads the audit trail
 * and signs out leaving nothing behind. Screenshots of each state go to SCREENSHOTS.
 */
const SCREENSHOTS = resolve(process.env.CONSOLE_SCREENSHOTS ?? join(tmpdir(), "s3-broker-console-screenshots"));
let aws: LocalAws;
let broker: BrokerUnderTest;
let browser: TestBrowser;
let consoleUrl: string;
let workDir: string;

beforeAll(async () => {
  aws = await startLocalAws();
  broker = await startBroker(aws.stack);
  browser = await launchBrowser();
  consoleUrl = `${baseUrlOf(broker.url)}/console/`;
  await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(consoleUrl).origin });
  workDir = mkdtempSync(join(tmpdir(), "console-"));
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await broker?.close();
  await aws?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const shots = new Map<string, Buffer>();
async function screenshot(page: Page, name: string): Promise<void> {
  const image = await page.screenshot({ fullPage: true });
  writeFileSync(join(SCREENSHOTS, `${name}.png`), image);
  shots.set(name, image);
}

async function signedIn(user: TestPoolAUser, options: { width?: number } = {}): Promise<Page> {
  const page = await browser.context.newPage();
  if (options.width) await page.setViewportSize({ width: options.width, height: 844 });
  await page.clock.install();
  await page.goto(consoleUrl);
  await page.getByLabel("Username").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  // Keyboard only: Enter in the password field submits.
  await page.getByLabel("Password").press("Enter");
  await expect.poll(() => page.getByText(`Signed in as ${user.username}`).isVisible()).toBe(true);
  return page;
}

/** What the page's `export` lines set, as a shell would. */
function exportsOf(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/^export (\w+)=("?)(.*)\2$/gm)].map((m) => [m[1]!, m[3]!]));
}

describe("the reference console", () => {
  it("is served with a policy that allows only the broker and Pool A, and refuses a wrong password clearly", async () => {
    const response = await fetch(consoleUrl);
    expect(response.status).toBe(200);
    const policy = response.headers.get("content-security-policy")!;
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain(`connect-src 'self' ${new URL(aws.moto.endpoint).origin}`);
    expect(policy).not.toContain("unsafe-inline");

    const user = await freshPoolAUser(aws.stack, { tenant: "acme" });
    const page = await browser.context.newPage();
    await page.goto(consoleUrl);
    await screenshot(page, "01-sign-in");
    // Every field has a label a screen reader announces.
    expect(await page.evaluate('[...document.querySelectorAll("input, select")].every((e) => e.labels.length > 0)')).toBe(true);
    await page.getByLabel("Username").fill(user.username);
    await page.getByLabel("Password").fill("wrong-Password-1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("Incorrect username or password.");
    await screenshot(page, "02-wrong-password");
    await page.close();
  });

  it("signs in, provisions, issues, counts down, copies a set-up that works with the AWS CLI, manages keys, and signs out leaving nothing", async () => {
    const user = await freshPoolAUser(aws.stack, { tenant: "acme" });
    const page = await signedIn(user);
    await expect.poll(() => page.locator("#connection").textContent()).toContain("NOT_PROVISIONED");
    await page.getByRole("button", { name: "Provision access" }).click();
    await expect.poll(() => page.locator("#connection").textContent()).toContain("ACTIVE");
    expect(await page.locator("#connection").textContent()).toContain(`s3://${aws.stack.bucket}/tenants/acme/`);

    await page.getByLabel("Credential flow").selectOption("CLASSIC");
    await page.getByLabel("Lifetime in seconds").fill("900");
    await page.getByRole("button", { name: "Issue credentials" }).click();
    await expect.poll(() => page.getByRole("timer").textContent()).toMatch(/^1[45] min \d\d s left$/);
    const before = await page.getByRole("timer").textContent();
    await page.clock.runFor(60_000);
    const after = await page.getByRole("timer").textContent();
    expect(Number(after!.split(" ")[0])).toBe(Number(before!.split(" ")[0]) - 1);
    await screenshot(page, "03-credentials");
    expect(await seriousAccessibilityViolations(page)).toEqual([]);

    await page.getByRole("button", { name: "Copy shell exports" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("Shell exports copied.");
    const copied = String(await page.evaluate("navigator.clipboard.readText()"));
    const env = exportsOf(copied);
    expect(Object.keys(env)).toEqual(expect.arrayContaining(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]));
    // The set-up as the user pastes it: the AWS CLI, nothing else in its environment.
    const { stdout } = await execFileAsync("aws", ["--endpoint-url", aws.moto.endpoint, "s3", "ls", `s3://${aws.stack.bucket}/tenants/acme/`], { env: toolEnv(workDir, env), timeout: 60_000 });
    expect(stdout).toContain("README.txt");

    // A client key: the secret once, copied, then hidden; revoked from its row.
    await page.getByLabel("Name (what the key is for)").fill("laptop-sync");
    await page.getByRole("button", { name: "Create client key" }).click();
    await expect.poll(() => page.locator("#new-key").isVisible()).toBe(true);
    expect(await page.getByRole("button", { name: "Copy container provider environment" }).isVisible()).toBe(true);
    await page.getByRole("button", { name: "Copy client key secret" }).click();
    const secret = String(await page.evaluate("navigator.clipboard.readText()"));
    expect(secret).toMatch(/^s3bk_/);
    await screenshot(page, "04-client-key");
    await page.getByRole("button", { name: "I have stored it: hide the secret" }).click();
    expect(await page.content()).not.toContain(secret);
    await page.getByRole("button", { name: "Revoke laptop-sync" }).click();
    await expect.poll(() => page.locator("#keys tbody").textContent()).toContain("revoked");

    const trail = await page.locator("#audit tbody").textContent();
    for (const action of ["PROVISION", "ISSUE", "CLIENT_KEY_CREATE", "CLIENT_KEY_REVOKE"]) expect(trail).toContain(action);
    await screenshot(page, "05-audit");

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("Signed out.");
    const left = await page.evaluate("({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie })");
    expect(left).toEqual({ local: 0, session: 0, cookie: "" });
    expect(await browser.context.cookies()).toEqual([]);
    const html = await page.content();
    for (const value of [env.AWS_ACCESS_KEY_ID!, env.AWS_SECRET_ACCESS_KEY!, env.AWS_SESSION_TOKEN!]) expect(html).not.toContain(value);
    expect(await page.getByLabel("Username").inputValue()).toBe("");
    await screenshot(page, "06-signed-out");
    await page.close();

    // Each state looked different from the others (a blank or frozen page would not).
    expect(new Set([...shots.values()].map((b) => b.toString("base64"))).size).toBe(shots.size);
    for (const image of shots.values()) expect(image.length).toBeGreaterThan(5_000);
  });

  it("lets an administrator find a user by name and revoke her, after a confirmation that names her", async () => {
    const target = await freshPoolAUser(aws.stack, { tenant: "globex" });
    const page0 = await signedIn(target);
    await page0.getByRole("button", { name: "Provision access" }).click();
    await expect.poll(() => page0.locator("#connection").textContent()).toContain("ACTIVE");
    await page0.close();

    const admin = await freshPoolAUser(aws.stack, { tenant: "acme", admin: true });
    const page = await signedIn(admin);
    const who = `${target.username} (${target.sub})`;
    // The start of her username, in another case: only she is listed.
    await page.getByLabel("Find a user by the start of their name or id").fill(target.username.slice(0, 10).toUpperCase());
    await page.getByRole("button", { name: "Find", exact: true }).click();
    await expect.poll(() => page.locator("#connections tbody tr").allTextContents()).toEqual([expect.stringContaining(who)]);
    let confirmation = "";
    page.once("dialog", (dialog) => {
      confirmation = dialog.message();
      void dialog.accept();
    });
    await page.getByRole("button", { name: `Revoke ${who}` }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe(`${who} revoked.`);
    expect(confirmation).toContain(target.username);
    expect((await broker.broker.store.getConnection(target.sub))!.state).toBe("REVOKED");
    await screenshot(page, "07-admin");
    await page.close();
  });

  it("fits a 390 px phone without sideways scrolling (an administrator's page, the widest), names every control once, declares its icon, and lets notices go", async () => {
    const user = await freshPoolAUser(aws.stack, { tenant: "acme", admin: true });
    const page = await signedIn(user, { width: 390 });
    const overflow = async () => Number(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"));
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.getByRole("button", { name: "Provision access" }).click();
    await expect.poll(() => page.locator("#connection").textContent()).toContain("ACTIVE");
    await page.getByLabel("Credential flow").selectOption("CLASSIC");
    await page.getByLabel("Lifetime in seconds").fill("900");
    await page.getByRole("button", { name: "Issue credentials" }).click();
    await expect.poll(() => page.getByRole("timer").isVisible()).toBe(true);
    await page.getByLabel("Name (what the key is for)").fill("phone-sync");
    await page.getByRole("button", { name: "Create client key" }).click();
    await expect.poll(() => page.locator("#new-key").isVisible()).toBe(true);
    expect(await overflow()).toBeLessThanOrEqual(0);
    // The flow select shows its whole option text, and it and the lifetime field lie inside the screen.
    // (the chosen option's text, measured in the select's font, against the room inside it beside the arrow)
    const flowTextOverflow = `(() => { const s = document.getElementById('flow'); const cs = getComputedStyle(s); const c = document.createElement('canvas').getContext('2d'); c.font = cs.font;
      return c.measureText(s.options[s.selectedIndex].text).width - (s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 24); })()`;
    expect(Number(await page.evaluate(flowTextOverflow))).toBeLessThanOrEqual(0);
    for (const label of ["Credential flow", "Lifetime in seconds"]) {
      const box = (await page.getByLabel(label).boundingBox())!;
      expect(box.x + box.width, label).toBeLessThanOrEqual(390);
    }
    await screenshot(page, "08-phone-390");
    expect(await seriousAccessibilityViolations(page)).toEqual([]);

    // Acronyms stay as written; no two buttons share a name.
    expect(await page.getByRole("button", { name: "Copy AWS CLI profile (credential_process)" }).count()).toBe(1);
    const names = (await page.getByRole("button").filter({ visible: true }).allTextContents()).map((name) => name.trim());
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(["Refresh the audit trail", "Refresh the connections"]));
    // An icon declared in the page: browsers do not ask for /favicon.ico (a 404 on every visit).
    expect(await page.locator('link[rel="icon"]').count()).toBe(1);

    // A notice goes after a few seconds; an error stays until the next action.
    await page.getByRole("button", { name: "Copy client key secret" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("Client key secret copied.");
    await page.clock.runFor(6_000);
    await expect.poll(() => page.locator("#message").isHidden()).toBe(true);
    await page.close();
  });

  it("creates a client key with its own expiry, credential lifetime and scope, and shows the broker's refusal of a scope on ENHANCED", async () => {
    const user = await freshPoolAUser(aws.stack, { tenant: "acme" });
    const page = await signedIn(user);
    await page.getByRole("button", { name: "Provision access" }).click();
    await expect.poll(() => page.locator("#connection").textContent()).toContain("ACTIVE");
    const expires = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel("Name (what the key is for)").fill("reports-sync");
    await page.getByLabel("Key flow").selectOption("CLASSIC");
    await page.getByLabel("Key expires on").fill(expires);
    await page.getByLabel("Seconds each credential lasts (CLASSIC)").fill("900");
    await page.getByLabel("What it reaches (CLASSIC)").fill("reports/");
    await page.getByRole("button", { name: "Create client key" }).click();
    await expect.poll(() => page.locator("#keys tbody").textContent()).toContain("reports/ (read)");
    const [key] = await broker.broker.store.listClientKeys(user.sub);
    expect(key).toMatchObject({ name: "reports-sync", flow: "CLASSIC", durationSeconds: 900, scopeTarget: "reports/", scopePermission: "READ" });
    expect(key!.expiresAt.toISOString().slice(0, 10)).toBe(expires);
    await screenshot(page, "09-key-scope");

    await page.getByRole("button", { name: "I have stored it: hide the secret" }).click();
    await page.getByLabel("Name (what the key is for)").fill("wrong");
    await page.getByLabel("Key flow").selectOption("ENHANCED");
    await page.getByLabel("What it reaches (CLASSIC)").fill("reports/");
    await page.getByRole("button", { name: "Create client key" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/A scope needs the CLASSIC flow/);
    expect(await broker.broker.store.listClientKeys(user.sub)).toHaveLength(1);
    await page.close();
  });

  it("shows a user the files their grants reach, a page at a time, and downloads one with a URL signed for it alone", async () => {
    const { tenant, user } = await freshTenant(broker.url, aws.stack);
    const s3 = new S3Client({ region: aws.stack.region, endpoint: aws.moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
    const prefix = `tenants/${tenant}/`;
    await s3.send(new PutObjectCommand({ Bucket: aws.stack.bucket, Key: `${prefix}report.csv`, Body: "day,total\n1,42\n" }));
    for (let i = 0; i < 55; i++) await s3.send(new PutObjectCommand({ Bucket: aws.stack.bucket, Key: `${prefix}logs/${String(i).padStart(2, "0")}.log`, Body: "x" }));
    s3.destroy();

    const page = await signedIn(user);
    await expect.poll(() => page.locator("#files tbody tr").count()).toBe(50);
    expect(await page.getByLabel("Location").locator("option").allTextContents()).toEqual(["Everything (read)"]);
    await page.getByRole("button", { name: "Show more files" }).click();
    await expect.poll(() => page.locator("#files tbody tr").count()).toBe(56);
    expect(await page.getByRole("button", { name: "Show more files" }).isHidden()).toBe(true);
    const row = page.locator("#files tbody tr", { hasText: "report.csv" });
    expect(await row.textContent()).toMatch(/15\s*byte/);
    await screenshot(page, "10-files");

    const navigated = page.waitForRequest((request) => request.url().startsWith(aws.moto.endpoint) && request.url().includes("report.csv"));
    await page.getByRole("button", { name: "Download report.csv" }).click();
    const url = new URL((await navigated).url());
    expect(url.pathname).toBe(`/${aws.stack.bucket}/${prefix}report.csv`);
    expect(Number(url.searchParams.get("X-Amz-Expires"))).toBeLessThanOrEqual(300);
    expect(await (await fetch(url)).text()).toBe("day,total\n1,42\n");
    await page.close();
  });

  it("uploads files into a location a WRITE grant allows, with their progress, and offers no upload where only reading is allowed", async () => {
    const admin = await freshPoolAUser(aws.stack, { tenant: "acme", admin: true });
    const { idToken: adminToken } = await admin.signIn();
    const { tenant, user } = await freshTenant(broker.url, aws.stack, { adminToken, grants: [{ location: "", permission: "READ" }, { location: "uploads/", permission: "READWRITE" }] });
    const page = await signedIn(user);
    await expect.poll(() => page.getByLabel("Location").locator("option").allTextContents()).toEqual(["Everything (read)", "uploads/ (readwrite)"]);
    expect(await page.locator("#upload-form").isHidden()).toBe(true);
    await page.getByLabel("Location").selectOption("uploads/");
    await page.getByRole("button", { name: "Show files" }).click();
    await expect.poll(() => page.locator("#upload-form").isVisible()).toBe(true);
    await page.getByLabel("Files to upload").setInputFiles([
      { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("uploaded from the console\n") },
      { name: "data.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(200_000, 7) },
    ]);
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("2 files uploaded.");
    expect(await page.locator("#uploads progress").evaluateAll((bars) => bars.map((b) => [b.getAttribute("value"), b.getAttribute("max")]))).toEqual([
      ["26", "26"],
      ["200000", "200000"],
    ]);
    await expect.poll(() => page.locator("#files tbody").textContent()).toContain("notes.txt");
    await screenshot(page, "11-upload");
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    const s3 = new S3Client({ region: aws.stack.region, endpoint: aws.moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
    const stored = await s3.send(new GetObjectCommand({ Bucket: aws.stack.bucket, Key: `tenants/${tenant}/uploads/notes.txt` }));
    expect(await stored.Body!.transformToString()).toBe("uploaded from the console\n");
    s3.destroy();
    // Reading only: no upload offered.
    await page.getByLabel("Location").selectOption("");
    expect(await page.locator("#upload-form").isHidden()).toBe(true);
    await page.close();
  });

  it("is not served when CONSOLE_ENABLED is false (production's default)", async () => {
    const off = await startBroker(aws.stack, { CONSOLE_ENABLED: "false" });
    try {
      expect((await fetch(`${baseUrlOf(off.url)}/console/`)).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
