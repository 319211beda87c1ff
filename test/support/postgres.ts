import { freshSchema as freshSchemaIn, type Schema } from "../../src/dev/ensure-database.js";

/** The test database; created when missing (see global-setup.ts). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/broker_test";

export type TestSchema = Schema;

/** A fresh schema per test, so tests can run side by side in one database and leave nothing behind. */
export function freshSchema(): Promise<TestSchema> {
  return freshSchemaIn(TEST_DATABASE_URL);
}
