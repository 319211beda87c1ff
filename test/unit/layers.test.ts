import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * Layers only point down: a file imports its own layer or the ones below it, never above, and no
 * two files import each other in a circle. The order, lowest first (docs/architecture.md):
 */
const LAYERS: Array<[layer: string, paths: string[]]> = [
  ["foundation", ["src/errors.ts", "src/metrics.ts", "src/telemetry.ts", "src/policy"]],
  ["config", ["src/config"]],
  ["services", ["src/cognito", "src/store"]],
  ["domain", ["src/broker", "src/auth"]],
  ["graphql", ["src/graphql"]],
  ["http", ["src/http"]],
  ["composition", ["src/app.ts", "src/main.ts", "src/admin"]],
];
/** Tools that use the product from outside (the local stack, benchmarks, the CDK app) and stand-alone parts. */
const OUTSIDE = ["src/dev", "src/infra", "src/cli", "src/client", "src/console"];

const ROOT = resolve(import.meta.dirname, "../..");

function filesUnder(path: string): string[] {
  const full = join(ROOT, path);
  if (statSync(full).isFile()) return [path];
  return readdirSync(full).flatMap((entry) => filesUnder(join(path, entry)));
}

const layerOf = (file: string): number => LAYERS.findIndex(([, paths]) => paths.some((p) => file === p || file.startsWith(`${p}/`)));

/** Every relative import of a TypeScript file, resolved to the file it names. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => relative(ROOT, resolve(ROOT, dirname(file), name)).replace(/\.js$/, ".ts"));
}

const productFiles = LAYERS.flatMap(([, paths]) => paths.flatMap(filesUnder)).filter((f) => f.endsWith(".ts"));

describe("the import graph", () => {
  it("has every product file in a layer (tools outside them)", () => {
    const unplaced = filesUnder("src").filter((f) => f.endsWith(".ts") && layerOf(f) < 0 && !OUTSIDE.some((p) => f.startsWith(`${p}/`)));
    expect(unplaced).toEqual([]);
    expect(productFiles.length).toBeGreaterThan(60);
  });

  it("points only down: no file imports a layer above its own, nor a tool", () => {
    const upward: string[] = [];
    for (const file of productFiles) {
      for (const target of importsOf(file)) {
        const [from, to] = [layerOf(file), layerOf(target)];
        if (to < 0 || to > from) upward.push(`${file} (${LAYERS[from]![0]}) → ${target} (${to < 0 ? "a tool" : LAYERS[to]![0]})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("has no circles between files", () => {
    const graph = new Map(productFiles.map((f) => [f, importsOf(f).filter((t) => productFiles.includes(t))]));
    const circles = new Set<string>();
    const visit = (file: string, path: string[]) => {
      const at = path.indexOf(file);
      if (at >= 0) return void circles.add(path.slice(at).concat(file).join(" → "));
      if (path.length > 40) return;
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    };
    const done = new Set<string>();
    for (const file of productFiles) {
      if (done.has(file)) continue;
      visit(file, []);
      done.add(file);
    }
    expect([...circles]).toEqual([]);
  });
});
