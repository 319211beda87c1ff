/**
 * Exit codes, the same in every mode, so a cron job or a systemd unit can tell "try again later"
 * from "a person must act":
 * 0 done; 1 the broker could not be reached or was busy (transient: retry); 2 bad usage or local
 * configuration; 3 the broker refused the client key (revoked, expired, unknown, or its owner no
 * longer stands): retrying will not help.
 */
export const EXIT = Object.freeze({ OK: 0, TRANSIENT: 1, USAGE: 2, REFUSED: 3 });

export class HelperError extends Error {
  /** @param {string} message @param {number} [exitCode] */
  constructor(message, exitCode = EXIT.TRANSIENT) {
    super(message);
    this.exitCode = exitCode;
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
    super(message, final ? EXIT.REFUSED : EXIT.TRANSIENT);
    this.status = details.status;
    this.code = details.code;
    this.final = final;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

/** One line on stderr, prefixed, for people and for journald. @param {string} message */
export function logLine(message) {
  process.stderr.write(`s3-broker: ${message}\n`);
}
