import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const REPO = resolve(import.meta.dirname, "../..");

/**
 * The packages the code reachable from `entryPoints` imports, as esbuild's bundler resolves them
 * (static and dynamic imports; packages left external), without node: built-ins.
 */
async function packagesReachedFrom(entryPoints: string[]): Promise<string[]> {
  const result = await build({ entryPoints, bundle: true, write: false, metafile: true, platform: "node", format: "esm", packages: "external", logLevel: "silent", outdir: "unused" });
  const paths = Object.values(result.metafile.inputs).flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path));
  const names = paths.filter((p) => !p.startsWith("node:") && !builtinModules.includes(p)).map((p) => (p.startsWith("@") ? p.split("/").slice(0, 2).join("/") : p.split("/")[0]!));
  return [...new Set(names)].sort();
}

describe("what ships", () => {
  it("dist/ holds the server, the store commands and the helper, and the runtime dependencies are exactly what they import", { timeout: 120_000 }, async () => {
    // Inside the repository (git-ignored .local/), so the compiled modules find node_modules as dist/ does.
    mkdirSync(join(REPO, ".local"), { recursive: true });
    const out = mkdtempSync(join(REPO, ".local", "dist-"));
    try {
      // npm run build's two steps, into a folder of the test's own.
      execFileSync(process.execPath, [resolve(REPO, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", out], { cwd: REPO, stdio: "pipe" });
      execFileSync(process.execPath, ["--import", "tsx", resolve(REPO, "src/dev/build-assets.ts"), out], { cwd: REPO, stdio: "pipe" });
      const files = (readdirSync(out, { recursive: true }) as string[]).filter((f) => /\.m?js$/.test(f)).map((f) => f.split("\\").join("/"));
      expect(files).toEqual(expect.arrayContaining(["main.js", "admin/main.js", "cli/s3-broker/main.mjs"]));
      expect(files.filter((f) => f.startsWith("dev/") || f.startsWith("infra/"))).toEqual([]);

      // The helper is installed on customers' machines from its own package: it imports nothing.
      expect(await packagesReachedFrom([join(out, "cli/s3-broker/main.mjs")])).toEqual([]);
      // npm start and the store commands: every runtime dependency is used, and nothing else is needed
      // (SQLite's driver is optional: the container image leaves it out, and it is loaded only when used).
      const manifest = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { dependencies: Record<string, string>; optionalDependencies: Record<string, string> };
      expect(Object.keys(manifest.optionalDependencies)).toEqual(["better-sqlite3"]);
      expect(await packagesReachedFrom([join(out, "main.js"), join(out, "admin/main.js")])).toEqual([...Object.keys(manifest.dependencies), ...Object.keys(manifest.optionalDependencies)].sort());

      // dist/ runs on its own: nothing in it reaches back into src/, and the console and the helper's package come from it.
      const compiled = files.map((f) => readFileSync(join(out, f), "utf8")).join("\n");
      expect(compiled).not.toMatch(/\.\.\/src\//);
      const { helperPackage } = (await import(pathToFileURL(join(out, "http/helper-download.js")).href)) as { helperPackage(): Promise<Buffer> };
      const listing = execFileSync("tar", ["-tzf", "-"], { input: await helperPackage() }).toString().split("\n");
      expect(listing).toEqual(expect.arrayContaining(["package/package.json", "package/operations.json", "package/main.mjs", "package/operations/credentials.graphql"]));
      // The console's page, style and every module it imports.
      for (const file of ["index.html", "console.css", "console.js", "session.js", "page.js", "i18n.js", "messages.js", "files.js", "admin.js"]) {
        expect(readFileSync(join(out, "console", file), "utf8").length, file).toBeGreaterThan(100);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
