import { randomBytes } from "node:crypto";
import pg from "pg";

/** The test database; `.ci/ensure-local-tools.sh` creates it on a fresh machine. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/broker_test";

export interface TestSchema {
  /** A DATABASE_URL whose search_path is a new, empty schema. */
  url: string;
  drop(): Promise<void>;
}

/** A fresh schema per test, so tests can run side by side in one database and leave nothing behind. */
export async function freshSchema(): Promise<TestSchema> {
  const schema = `t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA ${schema} CASCADE`);
      await client.end();
    },
  };
}
