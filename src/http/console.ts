import { browserS3Origin } from "../cognito/user-s3.js";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { BrokerConfig } from "../config/environment.js";

export const CONSOLE_PATH = "/console/";

// The console's files and the operations it sends, from src/http/ and from dist/http/ alike.
// Beside this module's folder, in src/ and in dist/ alike (npm run build copies them: src/dev/build-assets.ts).
const CONSOLE_DIR = fileURLToPath(new URL("../console/", import.meta.url));
const OPERATIONS_FILE = fileURLToPath(new URL("../cli/s3-broker/operations.json", import.meta.url));

const SCRIPT = "text/javascript; charset=utf-8";
/** The page and its modules (console.js imports the others; no build step). */
const FILES = {
  "": { file: "index.html", type: "text/html; charset=utf-8" },
  "console.css": { file: "console.css", type: "text/css; charset=utf-8" },
  ...Object.fromEntries(["console.js", "session.js", "page.js", "i18n.js", "messages.js", "files.js", "admin.js"].map((file) => [file, { file, type: SCRIPT }])),
} as Record<string, { file: string; type: string }>;

/**
 * The reference console: a static page and script that sign an end user in to Pool A in the
 * browser and use the typed operations against /graphql with the user's token. The broker serves
 * it only when CONSOLE_ENABLED (default: not in production); it holds no secret, and the policy
 * below lets the page talk to the broker and to Pool A only, with no inline script.
 */
export function registerConsole(app: FastifyInstance, config: BrokerConfig): void {
  if (!config.console.enabled) return;
  const cognitoOrigin = new URL(config.console.cognitoEndpoint).origin;
  // Managed login: the page calls Pool A's token endpoint (code exchange, refresh) on its domain.
  const oauthOrigin = config.console.oauthDomain ?? "";
  // Downloads and uploads go from the page to S3 with URLs the broker presigned.
  const s3Origin = browserS3Origin({ region: config.aws.region, endpoint: config.aws.endpoint, bucket: config.s3.bucket });
  const policy = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src ${[...new Set(["'self'", cognitoOrigin, s3Origin, oauthOrigin].filter(Boolean))].join(" ")}`,
    // Previews show images straight from S3, through URLs the broker signed.
    `img-src 'self' data: ${s3Origin}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  const bodies = Object.fromEntries(Object.entries(FILES).map(([name, { file }]) => [name, readFileSync(`${CONSOLE_DIR}${file}`, "utf8")]));
  const operations = readFileSync(OPERATIONS_FILE, "utf8");
  // Public, like the page itself: where to sign in, never a secret (the app client has none).
  const settings = JSON.stringify({
    region: config.aws.region,
    cognitoEndpoint: config.console.cognitoEndpoint,
    clientId: config.poolA.clientId,
    signIn: config.console.signIn,
    oauthDomain: config.console.oauthDomain ?? null,
    tokenUse: config.poolA.tokenUse,
    adminGroup: config.poolA.adminGroup,
  });

  const secure = { "content-security-policy": policy, "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "cache-control": "no-store" };
  app.get("/console", async (_request, reply) => reply.redirect(CONSOLE_PATH));
  for (const [name, { type }] of Object.entries(FILES)) {
    app.get(`${CONSOLE_PATH}${name}`, async (_request, reply) => reply.headers(secure).type(type).send(bodies[name]));
  }
  app.get(`${CONSOLE_PATH}settings.json`, async (_request, reply) => reply.headers(secure).type("application/json").send(settings));
  app.get(`${CONSOLE_PATH}operations.json`, async (_request, reply) => reply.headers(secure).type("application/json").send(operations));
}
