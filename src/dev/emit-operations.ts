/**
 * Writes src/cli/s3-broker/operations.json: each typed operation of src/client/graphql.ts as the
 * text the helper sends (the operation with the fragments it uses, printed by graphql-js), so the
 * helper, which has no dependencies, needs no GraphQL parser. `--check` fails when it is stale
 * (part of `npm run codegen:check`).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Kind, print, type DocumentNode } from "graphql";
import * as operations from "../client/graphql.js";

const OUTPUT = fileURLToPath(new URL("../cli/s3-broker/operations.json", import.meta.url));

export function operationsJson(): string {
  const byName: Record<string, string> = {};
  for (const value of Object.values(operations) as unknown[]) {
    const document = value as DocumentNode;
    if (document?.kind !== Kind.DOCUMENT) continue;
    const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    if (operation?.name) byName[operation.name.value] = print(document);
  }
  const sorted = Object.fromEntries(Object.entries(byName).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(OUTPUT, "utf8");
  } catch {
    // missing counts as stale
  }
  if (current !== operationsJson()) {
    console.error(`${OUTPUT} is stale: run npm run codegen`);
    process.exit(1);
  }
} else {
  writeFileSync(OUTPUT, operationsJson());
  console.log(`wrote ${OUTPUT}`);
}
