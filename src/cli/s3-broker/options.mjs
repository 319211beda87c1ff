import { parseArgs } from "node:util";
import { EXIT, HelperError } from "./errors.mjs";

/** Options every mode takes: where the broker is and where the client key is. */
export const BROKER_OPTIONS = /** @type {const} */ ({
  endpoint: { type: "string" },
  "key-file": { type: "string" },
  help: { type: "boolean", short: "h" },
});

/**
 * node:util's parseArgs, strict, with a usage error (exit 2) that shows the mode's usage.
 * @template {import("node:util").ParseArgsConfig["options"]} T
 * @param {string[]} args @param {T} options @param {string} usage
 */
export function parseModeOptions(args, options, usage) {
  try {
    const { values } = parseArgs({ args, options: /** @type {NonNullable<T>} */ (options), strict: true, allowPositionals: false });
    if ((/** @type {Record<string, unknown>} */ (values)).help) {
      process.stdout.write(`${usage}\n`);
      process.exit(EXIT.OK);
    }
    return values;
  } catch (error) {
    if (error instanceof HelperError) throw error;
    // One line: what was wrong and where the options are (the whole usage is --help's).
    const command = /^Usage: (s3-broker [a-z-]+)/.exec(usage)?.[1] ?? "s3-broker";
    throw new HelperError(`${/** @type {Error} */ (error).message} (${command} --help lists the options)`, EXIT.USAGE);
  }
}

/** The endpoint from --endpoint, else S3_BROKER_ENDPOINT (handy in unit files). @param {{ endpoint?: string | boolean }} values */
export function endpointOption(values) {
  const value = values.endpoint ?? process.env.S3_BROKER_ENDPOINT;
  return typeof value === "string" ? value : undefined;
}

/** A whole number within bounds, or a usage error naming the flag. @param {string} flag @param {unknown} value @param {number} min @param {number} max @param {number} fallback */
export function integerOption(flag, value, min, max, fallback) {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) throw new HelperError(`${flag} must be a whole number from ${min} to ${max}`, EXIT.USAGE);
  return number;
}
