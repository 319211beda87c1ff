import { ensureDatabase } from "../../src/dev/ensure-database.js";
import { TEST_DATABASE_URL } from "./postgres.js";

/** `npm test` on a fresh machine: the PostgreSQL test database is created when missing. */
export default async function setup(): Promise<void> {
  await ensureDatabase(TEST_DATABASE_URL);
}
