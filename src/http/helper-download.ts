import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { create } from "tar";
import { HELPER_PACKAGE_PATH } from "../broker/client-keys/public-paths.js";

// The helper's folder beside this module's, in src/ and in dist/ alike (npm run build copies its package files: src/dev/build-assets.ts).
const HELPER_DIR = fileURLToPath(new URL("../cli/s3-broker/", import.meta.url));
// A fixed time in the archive, so the same helper always gives the same bytes (and ETag).
const ARCHIVE_MTIME = new Date("2026-01-01T00:00:00Z");

/**
 * The helper as an npm package tarball (`package/…`), which `npm install -g <url>` puts on PATH,
 * with the typed operations' documents in `operations/` (a link to src/client/operations/ in the
 * repository, stored as the files it points to).
 */
export async function helperPackage(): Promise<Buffer> {
  const files = readdirSync(HELPER_DIR).filter((name) => name === "package.json" || name === "operations.json" || name.endsWith(".mjs")).sort();
  const operations = readdirSync(`${HELPER_DIR}operations`).filter((name) => name.endsWith(".graphql")).sort().map((name) => `operations/${name}`);
  const chunks: Buffer[] = [];
  for await (const chunk of create({ gzip: true, cwd: HELPER_DIR, prefix: "package", portable: true, follow: true, mtime: ARCHIVE_MTIME }, [...files, ...operations])) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Public, like any client download: it holds code, never a secret. Built once, on first request. */
export function registerHelperDownload(app: FastifyInstance): void {
  let archive: Promise<{ body: Buffer; etag: string }> | undefined;
  app.get(HELPER_PACKAGE_PATH, async (request, reply) => {
    archive ??= helperPackage().then((body) => ({ body, etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"` }));
    const { body, etag } = await archive;
    void reply.header("etag", etag).header("cache-control", "public, max-age=300").header("content-disposition", 'attachment; filename="s3-broker.tgz"');
    if (request.headers["if-none-match"] === etag) return reply.code(304).send();
    return reply.type("application/gzip").send(body);
  });
}
