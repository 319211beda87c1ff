import { readFileSync } from "node:fs";
import { buildSchema, parse, validate } from "graphql";
import { describe, expect, it } from "vitest";
import { SCHEMA_FILE } from "../../src/dev/render-schema.js";
import { SANDBOX_EXAMPLES } from "../../src/graphql/sandbox-examples.js";

describe("the example operations Apollo Sandbox opens with", () => {
  it("are valid against the schema, one named operation each", () => {
    const schema = buildSchema(readFileSync(SCHEMA_FILE, "utf8"));
    const document = parse(SANDBOX_EXAMPLES);
    expect(validate(schema, document)).toEqual([]);
    const names = document.definitions.map((d) => ("name" in d ? d.name?.value : undefined));
    expect(names).toEqual(["Status", "Provision", "MyAccess", "IssueCredentials", "CreateClientKey", "MyAuditTrail"]);
  });
});
