/** Writes schema.graphql from the type-graphql schema. A unit test fails when the committed file is stale. */
import { writeFileSync } from "node:fs";
import { renderSchema, SCHEMA_FILE } from "./render-schema.js";

writeFileSync(SCHEMA_FILE, await renderSchema());
console.log(`wrote ${SCHEMA_FILE}`);
