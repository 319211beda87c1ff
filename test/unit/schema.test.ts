import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderSchema, SCHEMA_FILE } from "../../src/dev/render-schema.js";

describe("schema.graphql", () => {
  it("matches the type-graphql schema (run `npm run schema:emit` after changing the API)", async () => {
    expect(readFileSync(SCHEMA_FILE, "utf8")).toBe(await renderSchema());
  });
});
