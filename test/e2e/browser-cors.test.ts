import { createServer, type Server } from "node:http";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEnvironment } from "../../src/config/environment.js";
import { brokerEnvironment } from "../../src/dev/bootstrap.js";
import { launchBrowser, type TestBrowser } from "../support/browser.js";
import { startBroker, type BrokerUnderTest } from "../support/broker-under-test.js";
import { startLocalAws, type LocalAws } from "../support/local-aws.js";
import { tokenFor } from "../support/users.js";

// A front end on another origin, as a front-end team ships one: a page that calls the broker with
// fetch, the user's token in Authorization. Two origins serve it; only one is configured.
const PAGE = `<!doctype html><html><body><pre id="result">pending</pre><script>
  const [broker, token] = decodeURIComponent(location.hash.slice(1)).split("|");
  fetch(broker, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer " + token },
                  body: JSON.stringify({ query: "{ connectionStatus { tenant prefix } }" }) })
    .then(async (r) => { document.getElementById("result").textContent = r.status + " " + r.headers.get("x-request-id") + " " + (await r.text()); })
    .catch((e) => { document.getElementById("result").textContent = "blocked: " + e.message; });
</script></body></html>`;

async function pageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(PAGE));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, origin: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

let aws: LocalAws;
let broker: BrokerUnderTest;
let browser: TestBrowser;
let allowed: Awaited<ReturnType<typeof pageServer>>;
let other: Awaited<ReturnType<typeof pageServer>>;

beforeAll(async () => {
  allowed = await pageServer();
  other = await pageServer();
  aws = await startLocalAws();
  broker = await startBroker(aws.stack, { CORS_ALLOWED_ORIGINS: `${allowed.origin},https://app.example.com` });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await broker?.close();
  await aws?.stop();
  allowed?.server.close();
  other?.server.close();
});

async function resultOn(origin: string, token: string): Promise<string> {
  const page = await browser.context.newPage();
  try {
    await page.goto(`${origin}/#${encodeURIComponent(`${broker.url}|${token}`)}`);
    await page.waitForFunction('document.getElementById("result").textContent !== "pending"');
    return (await page.textContent("#result"))!;
  } finally {
    await page.close();
  }
}

describe("CORS for browser front ends on other origins", () => {
  it("lets a page on a configured origin call the API with a token, and reads the request id", async () => {
    const alice = await tokenFor(aws.stack, "alice");
    const result = await resultOn(allowed.origin, alice);
    expect(result).toMatch(/^200 [0-9a-f-]{36} /);
    expect(JSON.parse(result.slice(result.indexOf("{")))).toEqual({ data: { connectionStatus: { tenant: "acme", prefix: "tenants/acme/" } } });
  });

  it("blocks the same page on any other origin", async () => {
    const alice = await tokenFor(aws.stack, "alice");
    expect(await resultOn(other.origin, alice)).toBe("blocked: Failed to fetch");
  });

  it("answers preflights only for configured origins, and keeps Apollo's CSRF prevention", async () => {
    const preflight = (origin: string) =>
      fetch(broker.url, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" } });
    const ok = await preflight(allowed.origin);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(allowed.origin);
    expect(ok.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(ok.headers.get("access-control-allow-credentials")).toBeNull();
    expect((await preflight(other.origin)).headers.get("access-control-allow-origin")).toBeNull();
    // A simple cross-site form post (no preflight) is still refused by Apollo's CSRF prevention.
    const form = await fetch(broker.url, { method: "POST", headers: { origin: allowed.origin, "content-type": "text/plain" }, body: '{"query":"{ __typename }"}' });
    expect(form.status).toBeGreaterThanOrEqual(400);
  });

  it("is configured with exact origins only", () => {
    const base = brokerEnvironment(aws.stack, { TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64") });
    for (const bad of ["*", "https://app.example.com/", "https://app.example.com/path", "app.example.com", "ftp://files.example.com"]) {
      expect(() => loadEnvironment({ ...base, CORS_ALLOWED_ORIGINS: bad }), bad).toThrow(/CORS_ALLOWED_ORIGINS: must be a comma-separated list of exact origins/);
    }
    expect(loadEnvironment({ ...base, CORS_ALLOWED_ORIGINS: " https://a.example.com , http://127.0.0.1:5173 " }).corsAllowedOrigins).toEqual(["https://a.example.com", "http://127.0.0.1:5173"]);
    expect(loadEnvironment({ ...base, CORS_ALLOWED_ORIGINS: undefined }).corsAllowedOrigins).toEqual([]);
  });
});
