import { parseArgs } from "node:util";
import { ConfigError, loadStoreEnvironment } from "../config/environment.js";
import { EncryptionKeyMismatchError } from "../store/encryption-canary.js";
import { rotateEncryptionKey, RotationRefused, type RotationReport } from "../store/key-rotation.js";
import { MoveRefused, moveToPostgres } from "../store/move-to-postgres.js";
import { cipherFor, openStore } from "../store/open-store.js";
import { PostgresStore } from "../store/postgres-store.js";

/**
 * Store commands for operators, on the broker's own environment (the store's variables only):
 *   rotate-encryption-key            re-seal every stored secret under TOKEN_ENCRYPTION_KEY
 *   move-to-postgres --to <url>      copy the SQLite store at DATABASE_PATH into an empty PostgreSQL database
 * Exit codes: 0 done, 1 refused or failed (the reason on stderr, never a secret), 2 bad usage.
 */
const USAGE = `Usage: npm run admin -- <command>   (node dist/admin/main.js <command>)

Commands (they read the broker's store variables: DATABASE_PATH or DATABASE_URL, TOKEN_ENCRYPTION_*):
  rotate-encryption-key [--batch-size N]
      Re-seals every stored secret with TOKEN_ENCRYPTION_KEY (the active key). Set the new key active
      and the old one in TOKEN_ENCRYPTION_PREVIOUS_KEYS on every broker first; when this reports
      nothing remaining, drop the old key. On PostgreSQL it can run beside the brokers; a SQLite
      file needs its broker stopped.
  move-to-postgres --to postgres://…
      Copies the SQLite store at DATABASE_PATH (its broker stopped) into an empty PostgreSQL
      database, in one transaction, and verifies row counts and every sealed value there. Then set
      DATABASE_URL to the same address and start the brokers.
`;

class UsageError extends Error {}

/** A database address without its password, for messages. */
function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

function printRotation(report: RotationReport): string[] {
  const lines = [
    `Active key: ${report.activeKeyId}`,
    `Sealed values before: ${Object.entries(report.before).map(([id, n]) => `${id}=${n}`).join(", ") || "none"}`,
    `Re-sealed: ${report.resealed}${report.changedMeanwhile ? `; rewritten by a running broker meanwhile: ${report.changedMeanwhile}` : ""}`,
  ];
  for (const value of report.unreadable) lines.push(`Does not open: ${value.userId} ${value.column}`);
  const remaining = Object.entries(report.remaining);
  lines.push(
    remaining.length === 0
      ? `Every sealed value is now under ${report.activeKeyId}: retired keys can be dropped from TOKEN_ENCRYPTION_PREVIOUS_KEYS.`
      : `Still under other keys: ${remaining.map(([id, n]) => `${id}=${n}`).join(", ")} (a broker still sealing with an old key, or values that do not open): keep those keys listed.`,
  );
  return lines;
}

async function run(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { to: { type: "string" }, "batch-size": { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  const [command, ...extra] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(" ")}`);
  const config = loadStoreEnvironment();
  const cipher = cipherFor(config);

  if (command === "rotate-encryption-key") {
    const batchSize = values["batch-size"] === undefined ? undefined : Number(values["batch-size"]);
    if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 10_000)) throw new UsageError("--batch-size must be an integer from 1 to 10000");
    const store = await openStore(config, cipher);
    try {
      const report = await rotateEncryptionKey(store, cipher, { batchSize });
      for (const line of printRotation(report)) console.log(line);
      return report.unreadable.length === 0 && Object.keys(report.remaining).length === 0 ? 0 : 1;
    } finally {
      await store.close();
    }
  }

  if (command === "move-to-postgres") {
    const to = values.to;
    if (!to || !/^postgres(ql)?:\/\//.test(to)) throw new UsageError("--to must be the PostgreSQL database's postgres:// URL");
    if (config.database.url) throw new UsageError("DATABASE_URL is set: the move reads the SQLite file at DATABASE_PATH; unset DATABASE_URL for it");
    // SQLite's driver is optional (the container image has none): loaded only for the move.
    const { SqliteStore } = await import("../store/sqlite-store.js");
    const source = new SqliteStore(config.database.path, cipher);
    try {
      const target = await PostgresStore.open(to, cipher);
      try {
        console.log(`Moving ${config.database.path} to ${redacted(to)} ...`);
        const report = await moveToPostgres(source, target, cipher);
        for (const [table, count] of Object.entries(report.rows)) console.log(`  ${table.padEnd(17)} ${count} rows copied, ${count} found`);
        console.log(`  sealed values     ${report.sealedValuesOpened} open with the configured keys`);
        console.log(`Done. Set DATABASE_URL=${redacted(to)} (with its password) for every broker; keep ${config.database.path} as a backup.`);
        return 0;
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
    }
  }
  throw new UsageError(`unknown command ${command}`);
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      console.error(`${(error as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    const known = error instanceof ConfigError || error instanceof RotationRefused || error instanceof MoveRefused || error instanceof EncryptionKeyMismatchError || (error as Error).name === "DatabaseInUseError";
    // Anything else (a database that does not answer, say) is named by its message only: no stack, no values.
    console.error(known ? (error as Error).message : `failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
