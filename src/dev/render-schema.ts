import "reflect-metadata";
import { resolve } from "node:path";
import { printSchema } from "graphql";
import { brokerSchema } from "../graphql/schema.js";

export const SCHEMA_FILE = resolve(import.meta.dirname, "../../schema.graphql");

export async function renderSchema(): Promise<string> {
  const header = "# Generated from the type-graphql schema by `npm run schema:emit`. Do not edit.\n\n";
  return header + printSchema(await brokerSchema()) + "\n";
}
