/**
 * Exit codes, the same in every mode, so a cron job or a systemd unit can tell "try again later"
 * from "a person must act":
 * 0 done; 1 the broker could not be reached or was busy (transient: retry); 2 bad usage or local
 * configuration; 3 the broker refused the client key (revoked, expired, unknown, or its owner no
 * longer stands): retrying will not help.
 */
export const EXIT = Object.freeze({ OK: 0, TRANSIENT: 1, USAGE: 2, REFUSED: 3 });

/**
 * Codes of failures the helper finds itself, before or without an answer from the broker (the
 * broker's own codes, such as FORBIDDEN, come through as they are).
 */
/** @type {Readonly<Record<number, string>>} */
export const LOCAL_CODE = Object.freeze({
  [EXIT.USAGE]: "USAGE",
  [EXIT.TRANSIENT]: "BROKER_UNREACHABLE",
  [EXIT.REFUSED]: "REFUSED",
});

export class HelperError extends Error {
  /** @param {string} message @param {number} [exitCode] @param {string} [code] */
  constructor(message, exitCode = EXIT.TRANSIENT, code = LOCAL_CODE[exitCode] ?? "FAILED") {
    super(message);
    this.exitCode = exitCode;
    this.code = code;
  }

  /** What a script reads on stdout. @returns {Record<string, unknown>} */
  toJSON() {
    return { code: this.code, message: this.message };
  }
}

/** An answer from the broker that is not credentials: final (401/403) or transient (429, 5xx). */
export class BrokerRefusal extends HelperError {
  /**
   * @param {string} message
   * @param {{ status: number, code: string, retryAfterSeconds?: number }} details
   */
  constructor(message, details) {
    const final = details.status === 401 || details.status === 403;
    super(message, final ? EXIT.REFUSED : EXIT.TRANSIENT, details.code);
    this.status = details.status;
    this.final = final;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }

  /** @override */
  toJSON() {
    return { code: this.code, message: this.message, status: this.status, ...(this.retryAfterSeconds !== undefined ? { retryAfterSeconds: this.retryAfterSeconds } : {}) };
  }
}

/**
 * How every mode fails, whatever failed: a JSON `{"error": {code, message, …}}` on stdout for
 * scripts, one line on stderr for people and journald, and the exit code. (Credential-process
 * readers take stdout only on exit 0, so the JSON never passes for credentials.)
 * @param {unknown} error
 */
export function reportFailure(error) {
  const known = error instanceof HelperError;
  const detail = known ? error.toJSON() : { code: "FAILED", message: error instanceof Error ? error.message : String(error) };
  process.stdout.write(`${JSON.stringify({ error: detail })}\n`);
  const line = known ? error.message : `unexpected failure: ${detail.message}`;
  process.stderr.write(`s3-broker: ${line.replace(/\s*\n\s*/g, " ")}\n`);
  return known ? error.exitCode : EXIT.TRANSIENT;
}

/** One line on stderr, prefixed, for people and for journald. @param {string} message */
export function logLine(message) {
  process.stderr.write(`s3-broker: ${message}\n`);
}
