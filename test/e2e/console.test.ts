import { randomUUID } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toolEnv } from "../support/aws-tools.js";
import { connectionStateOf, launchBrowser, seriousAccessibilityViolations, type TestBrowser } from "../support/browser.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { baseUrlOf } from "../support/credential-endpoint.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { freshPoolAUser, type TestPoolAUser } from "../support/pool-a-users.js";
import { freshTenant } from "../support/tenants.js";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { MESSAGES } from "../../src/console/messages.js";

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
  browser = await launchBrowser({ locale: "en-US" });
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

/** The names of the operations the page sends to the broker, in order. */
function operationsSentBy(page: Page): string[] {
  const names: string[] = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/graphql")) names.push(String((request.postDataJSON() as { operationName?: string }).operationName));
  });
  return names;
}

function adminS3(): S3Client {
  return new S3Client({ region: aws.stack.region, endpoint: aws.moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
}

/** Objects put straight into the bucket (as another tool of the company would), with a content type where given. */
async function putObjects(objects: Record<string, string | { body: Uint8Array | string; type: string }>): Promise<void> {
  const s3 = adminS3();
  for (const [key, object] of Object.entries(objects)) {
    const { body, type } = typeof object === "string" ? { body: object, type: undefined } : object;
    await s3.send(new PutObjectCommand({ Bucket: aws.stack.bucket, Key: key, Body: body, ...(type ? { ContentType: type } : {}) }));
  }
  s3.destroy();
}

/** A PNG of 1 x 1 pixels. */
const TINY_PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

async function getObject(key: string): Promise<string> {
  const s3 = adminS3();
  try {
    return await (await s3.send(new GetObjectCommand({ Bucket: aws.stack.bucket, Key: key }))).Body!.transformToString();
  } finally {
    s3.destroy();
  }
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
    // Every field has a label a screen reader announces (a box in a table's heading, its aria-label).
    expect(await page.evaluate('[...document.querySelectorAll("input, select")].filter((e) => e.labels.length === 0 && !e.getAttribute("aria-label")).map((e) => e.id)')).toEqual([]);
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
    await expect.poll(() => connectionStateOf(page)).toBe("NOT_PROVISIONED");
    await page.getByRole("button", { name: "Provision access" }).click();
    await expect.poll(() => connectionStateOf(page)).toBe("ACTIVE");
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

    // The trail is rendered beside the keys, not after them: waited for on its own.
    const trail = () => page.locator("#audit [data-action]").evaluateAll((cells) => cells.map((cell) => cell.getAttribute("data-action")));
    await expect.poll(trail).toEqual(expect.arrayContaining(["PROVISION", "ISSUE", "CLIENT_KEY_CREATE", "CLIENT_KEY_REVOKE"]));
    expect(await page.locator("#audit tbody").textContent()).toContain("client key revoked");
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

  it("lets an administrator find a user by name and revoke, reinstate and move her, each after a confirmation that names her", async () => {
    const email = `${randomUUID().slice(0, 8)}@globex.example`;
    const target = await freshPoolAUser(aws.stack, { tenant: "globex", email });
    const page0 = await signedIn(target);
    await page0.getByRole("button", { name: "Provision access" }).click();
    await expect.poll(() => connectionStateOf(page0)).toBe("ACTIVE");
    await page0.close();

    const admin = await freshPoolAUser(aws.stack, { tenant: "acme", admin: true });
    const page = await signedIn(admin);
    const who = `${target.username} <${email}> (${target.sub})`;
    // The start of her e-mail address, then of her username in another case: only she is listed.
    const search = page.getByLabel("Find a user by the start of their name, e-mail or id");
    await search.fill(email.slice(0, 6));
    await page.getByRole("button", { name: "Find", exact: true }).click();
    await expect.poll(() => page.locator("#connections tbody tr").allTextContents()).toEqual([expect.stringContaining(who)]);
    await search.fill(target.username.slice(0, 10).toUpperCase());
    await page.getByRole("button", { name: "Find", exact: true }).click();
    await expect.poll(() => page.locator("#connections tbody tr").allTextContents()).toEqual([expect.stringContaining(who)]);
    const dialogs: string[] = [];
    /** Answers the page's next dialogs in turn: true accepts a confirmation, a string answers a prompt. */
    const answer = (...replies: Array<boolean | string>) =>
      page.on("dialog", function reply(dialog) {
        dialogs.push(dialog.message());
        const next = replies.shift();
        if (replies.length === 0) page.off("dialog", reply);
        void (next === false ? dialog.dismiss() : dialog.accept(typeof next === "string" ? next : undefined));
      });

    // Declined: nothing happens.
    answer(false);
    await page.getByRole("button", { name: `Revoke ${who}` }).click();
    await expect.poll(() => dialogs.length).toBe(1);
    expect((await broker.broker.store.getConnection(target.sub))!.state).toBe("ACTIVE");

    answer(true);
    await page.getByRole("button", { name: `Revoke ${who}` }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe(`${who} revoked.`);
    expect(dialogs[1]).toContain(target.username);
    expect((await broker.broker.store.getConnection(target.sub))!.state).toBe("REVOKED");
    await expect.poll(() => page.getByRole("button", { name: `Reinstate ${who}` }).isVisible()).toBe(true);
    await screenshot(page, "07-admin");

    answer(true);
    await page.getByRole("button", { name: `Reinstate ${who}` }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe(`${who} reinstated.`);
    expect(dialogs[2]).toContain(target.username);
    expect((await broker.broker.store.getConnection(target.sub))!.state).toBe("ACTIVE");

    // A move: the application sets her tenant in Pool A first; the page asks where to, then confirms naming her and both tenants.
    await target.setTenant("initech");
    answer("initech", true);
    await page.getByRole("button", { name: `Move ${who}` }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe(`${who} moved to initech.`);
    expect(dialogs[3]).toContain(target.username);
    expect(dialogs[4]).toMatch(new RegExp(`${target.username}.*globex.*initech`));
    expect((await broker.broker.store.getConnection(target.sub))!.tenant).toBe("initech");
    await page.close();
  });

  it("lets an administrator list, add and delete a tenant's grants", async () => {
    const admin = await freshPoolAUser(aws.stack, { tenant: "acme", admin: true });
    const page = await signedIn(admin);
    const tenant = `t${Date.now().toString(36)}`;
    await page.getByLabel("Tenant", { exact: true }).fill(tenant);
    await page.getByRole("button", { name: "Show grants" }).click();
    // No grant configured: the default one, which cannot be deleted.
    await expect.poll(() => page.locator("#grants tbody tr").allTextContents()).toEqual([expect.stringContaining("default (no grant configured)")]);
    await page.getByLabel("Location to grant").fill("reports/");
    await page.getByLabel("Permission to grant").selectOption("READWRITE");
    await page.getByRole("button", { name: "Add grant" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe(`reports/ granted to ${tenant} (read and write).`);
    await expect.poll(() => page.locator("#grants tbody tr").allTextContents()).toEqual([expect.stringContaining("reports/")]);
    await page.getByLabel("Location to grant").fill("../escape/");
    await page.getByRole("button", { name: "Add grant" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("BAD_USER_INPUT");
    let confirmation = "";
    page.once("dialog", (dialog) => {
      confirmation = dialog.message();
      void dialog.accept();
    });
    await page.getByRole("button", { name: "Delete the grant of reports/" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("Grant of reports/ deleted.");
    expect(confirmation).toContain(`${tenant}'s grant of reports/ (read and write)`);
    expect(await broker.broker.store.listGrants(tenant)).toEqual([]);
    // Its last grant gone, the tenant reaches nothing (not the default grant), and the page says so.
    await expect.poll(() => page.locator("#grants-empty").textContent()).toBe(`No grants: the users of ${tenant} reach nothing until one is added.`);
    await screenshot(page, "12-grants");
    await page.close();
  });

  it("fits a 390 px phone without sideways scrolling (an administrator's page, the widest), names every control once, declares its icon, and lets notices go", async () => {
    const user = await freshPoolAUser(aws.stack, { tenant: "acme", admin: true });
    const page = await signedIn(user, { width: 390 });
    const overflow = async () => Number(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"));
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.getByRole("button", { name: "Provision access" }).click();
    await expect.poll(() => connectionStateOf(page)).toBe("ACTIVE");
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
    const names = await page.evaluate(`[...document.querySelectorAll("button")].filter((b) => b.checkVisibility()).map((b) => (b.getAttribute("aria-label") ?? b.textContent).trim())`) as string[];
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

  it("fits every width from 360 to 1440 px in either language, with no sideways scrolling, and opens a folder from the keyboard", async () => {
    const admin = await freshPoolAUser(aws.stack, { tenant: "acme", admin: true });
    const { idToken: adminToken } = await admin.signIn();
    const { tenant, user } = await freshTenant(broker.url, aws.stack, { adminToken, grants: [{ location: "", permission: "READ" }, { location: "共有フォルダー/受け取り/", permission: "READWRITE" }] });
    await putObjects({ [`tenants/${tenant}/共有フォルダー/受け取り/とても長い名前の報告書_2026年度_第3四半期_最終版.csv`]: "x", [`tenants/${tenant}/a_rather_long_folder_name_without_any_place_to_break_it_2026/x.txt`]: "x" });
    const page = await signedIn(user, { width: 360 });
    await expect.poll(() => page.locator("#files tbody tr").count()).toBe(2);
    // From the keyboard: focus the folder's button, Enter opens it, and focus goes to the listing.
    await page.getByRole("button", { name: "Open folder 共有フォルダー/" }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => page.evaluate("document.activeElement.tagName")).toBe("CAPTION");
    await expect.poll(() => page.locator("#path li").allTextContents()).toEqual(["Everything", "共有フォルダー"]);
    // Back up, where the longest names are.
    await page.getByRole("button", { name: "Everything", exact: true }).click();
    await expect.poll(() => page.locator("#files tbody tr").count()).toBe(2);
    const overflow = async () => Number(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"));
    for (const language of ["en", "ja"]) {
      await page.locator("#language").selectOption(language);
      await expect.poll(() => page.evaluate("document.documentElement.lang")).toBe(language);
      for (const width of [360, 390, 768, 1024, 1440]) {
        await page.setViewportSize({ width, height: 900 });
        expect(await overflow(), `${language} at ${width} px`).toBeLessThanOrEqual(0);
      }
    }
    await page.setViewportSize({ width: 360, height: 900 });
    await screenshot(page, "16-ja-360");
    await page.close();
  });

  it("creates a client key with its own expiry, credential lifetime and scope, and shows the broker's refusal of a scope on ENHANCED", async () => {
    const user = await freshPoolAUser(aws.stack, { tenant: "acme" });
    const page = await signedIn(user);
    await page.getByRole("button", { name: "Provision access" }).click();
    await expect.poll(() => connectionStateOf(page)).toBe("ACTIVE");
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

  it("shows a user her folders and files a page at a time, opens folders, and downloads one file, or several with URLs signed in one request", async () => {
    const { tenant, user } = await freshTenant(broker.url, aws.stack);
    const prefix = `tenants/${tenant}/`;
    const notes = Array.from({ length: 2_000 }, (_, i) => `line ${String(i).padStart(4, "0")} of the notes, for the preview to cut\n`).join("");
    await putObjects({
      [`${prefix}report.csv`]: "day,total\n1,42\n",
      [`${prefix}notes.txt`]: { body: notes, type: "text/plain; charset=utf-8" },
      [`${prefix}photo.png`]: { body: TINY_PNG, type: "image/png" },
      [`${prefix}logs/2026/old.log`]: "old",
      ...Object.fromEntries(Array.from({ length: 55 }, (_, i) => [`${prefix}logs/${String(i).padStart(2, "0")}.log`, "x"])),
    });

    const page = await signedIn(user);
    const graphql = operationsSentBy(page);
    await expect.poll(() => page.locator("#files tbody tr").allTextContents()).toEqual([expect.stringContaining("logs/"), expect.stringContaining("notes.txt"), expect.stringContaining("photo.png"), expect.stringContaining("report.csv")]);
    expect(await page.getByLabel("Location", { exact: true }).locator("option").allTextContents()).toEqual(["Everything (read)"]);
    expect(await page.locator("#files tbody tr", { hasText: "report.csv" }).textContent()).toMatch(/15\s*byte/);

    // Previews in the page: text as text (its first 64 KiB, read with a range request), an image as an image.
    await page.getByRole("button", { name: "Preview notes.txt" }).click();
    await expect.poll(() => page.locator("#preview pre").textContent()).toMatch(/^line 0000 of the notes/);
    expect((await page.locator("#preview pre").textContent())!.length).toBe(64 * 1024);
    expect(await page.locator("#preview-note").textContent()).toMatch(/^The first 64 kB of 9\d(\.\d)? kB are shown\.$/);
    expect(await page.evaluate("document.activeElement.id")).toBe("preview-title");
    await page.getByRole("button", { name: "Preview photo.png" }).click();
    await expect.poll(() => page.locator("#preview img").evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(1);
    expect(await page.locator("#preview img").getAttribute("alt")).toBe("photo.png");
    expect(await page.getByRole("button", { name: "Preview report.csv" }).count()).toBe(1);
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await screenshot(page, "15-preview");
    await page.getByRole("button", { name: "Close the preview" }).click();
    expect(await page.locator("#preview").isHidden()).toBe(true);

    await page.getByRole("button", { name: "Open folder logs/" }).click();
    // A page counts folders and files together: the subfolder and 49 files, then the other 6.
    await expect.poll(() => page.locator("#files tbody tr").count()).toBe(50);
    expect(await page.locator("#path li").allTextContents()).toEqual(["Everything", "logs"]);
    await page.getByRole("button", { name: "Show more" }).click();
    await expect.poll(() => page.locator("#files tbody tr").count()).toBe(56);
    expect(await page.getByRole("button", { name: "Show more" }).isHidden()).toBe(true);
    await screenshot(page, "10-files");

    // Two files selected, downloaded with one request to the broker: each URL signs its one object, as an attachment.
    await page.getByLabel("Select 00.log").check();
    await page.getByLabel("Select 01.log").check();
    const fetched: URL[] = [];
    page.on("request", (request) => void (request.url().startsWith(aws.moto.endpoint) && fetched.push(new URL(request.url()))));
    graphql.length = 0;
    await page.getByRole("button", { name: "Download the selected files (2)" }).click();
    await expect.poll(() => fetched.length).toBe(2);
    expect(graphql).toEqual(["PresignDownloads"]);
    expect(fetched.map((url) => url.pathname)).toEqual([`/${aws.stack.bucket}/${prefix}logs/00.log`, `/${aws.stack.bucket}/${prefix}logs/01.log`]);
    expect(fetched.map((url) => url.searchParams.get("response-content-disposition"))).toEqual(["attachment; filename=00.log", "attachment; filename=01.log"]);
    expect(Number(fetched[0]!.searchParams.get("X-Amz-Expires"))).toBeLessThanOrEqual(300);

    // Back up the path, and one file on its own.
    await page.getByRole("button", { name: "Everything" }).click();
    await expect.poll(() => page.locator("#files tbody tr").count()).toBe(4);
    fetched.length = 0;
    await page.getByRole("button", { name: "Download report.csv" }).click();
    await expect.poll(() => fetched.length).toBe(1);
    expect(await (await fetch(fetched[0]!)).text()).toBe("day,total\n1,42\n");
    // The page is still there, signed in (a download never replaces it).
    expect(await page.getByText(`Signed in as ${user.username}`).isVisible()).toBe(true);
    await page.close();
  });

  it("uploads files into the open folder where a WRITE grant allows, presigned in one request, with their progress, and offers no upload where only reading is allowed", async () => {
    const admin = await freshPoolAUser(aws.stack, { tenant: "acme", admin: true });
    const { idToken: adminToken } = await admin.signIn();
    const { tenant, user } = await freshTenant(broker.url, aws.stack, {
      adminToken,
      grants: [
        { location: "", permission: "READ" },
        { location: "uploads/", permission: "READWRITE" },
        { location: "reports/q1.csv", permission: "READ" },
      ],
    });
    await putObjects({ [`tenants/${tenant}/reports/q1.csv`]: "q,total\n1,42\n" });
    const page = await signedIn(user);
    const graphql = operationsSentBy(page);
    await expect.poll(() => page.getByLabel("Location", { exact: true }).locator("option").allTextContents()).toEqual(["Everything (read)", "reports/q1.csv (read)", "uploads/ (read and write)"]);
    expect(await page.locator("#upload-form").isHidden()).toBe(true);
    await page.getByLabel("Location", { exact: true }).selectOption("uploads/");
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await expect.poll(() => page.locator("#upload-form").isVisible()).toBe(true);
    expect(await page.locator("#upload-hint").textContent()).toBe("Into uploads/ (your grant allows writing here), at most 5 GiB each.");
    await page.getByLabel("Files to upload").setInputFiles([
      { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("uploaded from the console\n") },
      { name: "data.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(200_000, 7) },
    ]);
    graphql.length = 0;
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("Files uploaded: 2.");
    expect(graphql[0]).toBe("PresignUploads");
    expect(graphql.filter((name) => name.startsWith("Presign"))).toEqual(["PresignUploads"]);
    expect(await page.locator("#uploads progress").evaluateAll((bars) => bars.map((b) => [b.getAttribute("value"), b.getAttribute("max")]))).toEqual([
      ["26", "26"],
      ["200000", "200000"],
    ]);
    await expect.poll(() => page.locator("#files tbody").textContent()).toContain("notes.txt");
    await screenshot(page, "11-upload");
    // A name the broker cannot sign safely: the page says which file, and nothing of the batch is sent.
    await page.getByLabel("Files to upload").setInputFiles([
      { name: "fine.txt", mimeType: "text/plain", buffer: Buffer.from("x") },
      { name: "report*.txt", mimeType: "text/plain", buffer: Buffer.from("x") },
    ]);
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/^report\*\.txt cannot be uploaded under this name: files\[1\]\.key must be a path/);
    await expect(getObject(`tenants/${tenant}/uploads/fine.txt`)).rejects.toThrow();
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    expect(await getObject(`tenants/${tenant}/uploads/notes.txt`)).toBe("uploaded from the console\n");
    // Reading only: no upload offered.
    await page.getByLabel("Location", { exact: true }).selectOption("");
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await expect.poll(() => page.locator("#upload-form").isHidden()).toBe(true);
    // A grant of one object: that object alone, to read (its folder is not listed), and no upload.
    await page.getByLabel("Location", { exact: true }).selectOption("reports/q1.csv");
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await expect.poll(() => page.locator("#files tbody tr").allTextContents()).toEqual([expect.stringContaining("reports/q1.csv")]);
    expect(await page.locator("#upload-form").isHidden()).toBe(true);
    await page.getByRole("button", { name: "Preview reports/q1.csv" }).click();
    await expect.poll(() => page.locator("#preview pre").textContent()).toBe("q,total\n1,42\n");
    await page.close();
  });

  // The "done when": the same tour in a Japanese phone and an English desktop browser.
  for (const tour of [
    // Names as each user would write them: Japanese ones, with spaces, for the Japanese user.
    { locale: "ja-JP", language: "ja", width: 390, shot: "13-ja-390-files", folder: "報告書/", file: "まとめ 2026.csv", upload: "議事録 第1回.txt" },
    { locale: "en-GB", language: "en", width: 1280, shot: "14-en-1280-files", folder: "reports/", file: "summary.csv", upload: "memo.txt" },
  ] as const) {
    it(`in a ${tour.locale} browser at ${tour.width} px, in its language: signs in, sees folders and files, downloads one and uploads one into a WRITE grant, nothing overflowing`, async () => {
      const catalogue = (MESSAGES as Record<string, Record<string, string>>)[tour.language]!;
      const tr = (key: string, values: Record<string, string | number> = {}) => catalogue[key]!.replace(/\{(\w+)\}/g, (_, name: string) => String(values[name]));
      const admin = await freshPoolAUser(aws.stack, { tenant: "acme", admin: true });
      const { idToken: adminToken } = await admin.signIn();
      const { tenant, user } = await freshTenant(broker.url, aws.stack, { adminToken, grants: [{ location: "", permission: "READ" }, { location: "uploads/", permission: "READWRITE" }] });
      const prefix = `tenants/${tenant}/`;
      await putObjects({ [`${prefix}${tour.folder}${tour.file}`]: "total\n42\n", [`${prefix}${tour.folder}2026/q1.csv`]: "q1\n", [`${prefix}uploads/old.txt`]: "old\n" });

      const localBrowser = await launchBrowser({ locale: tour.locale });
      try {
        const page = await localBrowser.context.newPage();
        await page.setViewportSize({ width: tour.width, height: 844 });
        await page.goto(consoleUrl);
        await expect.poll(() => page.getByRole("heading", { name: tr("signIn.title") }).isVisible()).toBe(true);
        expect(await page.evaluate("document.documentElement.lang")).toBe(tour.language);
        await page.getByLabel(tr("signIn.username")).fill(user.username);
        await page.getByLabel(tr("signIn.password")).fill(user.password);
        await page.getByLabel(tr("signIn.password")).press("Enter");
        await expect.poll(() => page.getByText(tr("signedInAs", { name: user.username })).isVisible()).toBe(true);

        // Her folders, then one opened: its subfolder and file, with size and date in the language's formats.
        const folders = [tour.folder, "uploads/"].sort();
        await expect.poll(() => page.locator("#files tbody tr").allTextContents()).toEqual(folders.map((folder) => expect.stringContaining(folder)));
        await page.getByRole("button", { name: tr("files.openFolder", { name: tour.folder }) }).click();
        await expect.poll(() => page.locator("#files tbody tr").allTextContents()).toEqual([expect.stringContaining("2026/"), expect.stringContaining(tour.file)]);
        const summary = page.locator("#files tbody tr", { hasText: tour.file });
        expect(await summary.textContent()).toMatch(tour.language === "ja" ? /9\s*byte.*\d{4}\/\d{1,2}\/\d{1,2}/ : /9\s*byte.*\d{1,2} \w{3} \d{4}/);

        const downloaded = page.waitForRequest((request) => request.url().startsWith(aws.moto.endpoint) && decodeURIComponent(request.url()).includes(tour.file));
        await page.getByRole("button", { name: tr("files.download", { name: tour.file }) }).click();
        expect(await (await fetch((await downloaded).url())).text()).toBe("total\n42\n");

        // Into the WRITE grant: its location, then a file.
        await page.getByLabel(tr("files.location"), { exact: true }).selectOption("uploads/");
        await page.getByRole("button", { name: tr("files.open"), exact: true }).click();
        await expect.poll(() => page.locator("#files tbody").textContent()).toContain("old.txt");
        await page.getByLabel(tr("files.uploadLabel")).setInputFiles([{ name: tour.upload, mimeType: "text/plain", buffer: Buffer.from("from the phone\n") }]);
        await page.getByRole("button", { name: tr("files.upload"), exact: true }).click();
        await expect.poll(() => page.getByRole("alert").textContent()).toBe(tr("files.uploaded", { count: 1 }));
        await expect.poll(() => page.locator("#files tbody").textContent()).toContain(tour.upload);
        expect(await getObject(`${prefix}uploads/${tour.upload}`)).toBe("from the phone\n");

        expect(Number(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))).toBeLessThanOrEqual(0);
        expect(await seriousAccessibilityViolations(page)).toEqual([]);
        await screenshot(page, tour.shot);

        // Nothing of the page is left in the other language.
        const text = String(await page.evaluate("document.body.innerText"));
        const english = (MESSAGES as Record<string, Record<string, string>>).en!;
        const mine = Object.values(catalogue);
        if (tour.language === "ja") {
          const englishOnly = Object.values(english).flatMap((value) => value.split(/\{\w+\}/)).map((part) => part.trim()).filter((part) => part.length >= 6 && !mine.some((own) => own.includes(part)));
          expect(englishOnly.filter((part) => text.includes(part))).toEqual([]);
          expect(text).toContain("ファイル");
        } else {
          // The switch: the same page in Japanese, at once, and back.
          await page.getByLabel(tr("language.label")).selectOption("ja");
          await expect.poll(() => page.getByRole("heading", { name: "ファイル", exact: true }).isVisible()).toBe(true);
          expect(await page.evaluate("[document.documentElement.lang, document.title]")).toEqual(["ja", "S3 アクセスブローカー – コンソール"]);
          // What came from the broker is rendered again in the language (after its queries).
          await expect.poll(() => page.locator("#files caption").textContent()).toBe("uploads/ のフォルダーとファイル");
          await page.getByLabel("言語").selectOption("en");
          await expect.poll(() => page.locator("#files caption").textContent()).toBe("Folders and files in uploads/");
        }
        await page.close();
      } finally {
        await localBrowser.close();
      }
    });
  }

  it("is not served when CONSOLE_ENABLED is false (production's default)", async () => {
    const off = await startBroker(aws.stack, { CONSOLE_ENABLED: "false" });
    try {
      expect((await fetch(`${baseUrlOf(off.url)}/console/`)).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
