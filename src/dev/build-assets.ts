/**
 * The second step of `npm run build`: copies what the compiled server reads at run time and tsc does
 * not emit (the console's page, style and script; the helper's package.json, operations.json and
 * typed operations) into the output folder, so `dist/` runs on its own, without `src/`.
 * Usage: tsx src/dev/build-assets.ts [outDir]   (default dist)
 */
import { cpSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const out = resolve(ROOT, process.argv[2] ?? "dist");

const copies: Array<[from: string, to: string]> = [
  // The console's page, style and modules (its tsconfig.json is copied too, and never served).
  ["src/console", "console"],
  ["src/cli/s3-broker/package.json", "cli/s3-broker/package.json"],
  ["src/cli/s3-broker/operations.json", "cli/s3-broker/operations.json"],
  // A link to src/client/operations/ in the repository: copied as the files it points to.
  ["src/cli/s3-broker/operations", "cli/s3-broker/operations"],
];
for (const [from, to] of copies) {
  mkdirSync(join(out, to, ".."), { recursive: true });
  cpSync(join(ROOT, from), join(out, to), { recursive: true, dereference: true });
}
console.log(`copied ${copies.length} assets into ${out}`);
