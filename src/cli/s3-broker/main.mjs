#!/usr/bin/env node
// The broker's client-side helper, for customers' machines: AWS credentials from the broker with a
// client key, in the three ways unchanged tools read them; and the broker's API for scripts. Needs
// nothing but Node (20 or later).
import { API_USAGE, keysCommand, userCommand } from "./api-commands.mjs";
import { CREDENTIAL_PROCESS_USAGE, credentialProcess } from "./credential-process.mjs";
import { EXIT, HelperError, reportFailure } from "./errors.mjs";
import { SERVE_USAGE, serve } from "./serve.mjs";
import { UPDATE_USAGE, update } from "./update.mjs";

const MODES = {
  "credential-process": { run: credentialProcess, usage: CREDENTIAL_PROCESS_USAGE },
  update: { run: update, usage: UPDATE_USAGE },
  serve: { run: serve, usage: SERVE_USAGE },
  status: { run: (/** @type {string[]} */ args) => userCommand("status", args), usage: API_USAGE.status },
  provision: { run: (/** @type {string[]} */ args) => userCommand("provision", args), usage: API_USAGE.provision },
  issue: { run: (/** @type {string[]} */ args) => userCommand("issue", args), usage: API_USAGE.issue },
  keys: { run: keysCommand, usage: API_USAGE.keys },
  audit: { run: (/** @type {string[]} */ args) => userCommand("audit", args), usage: API_USAGE.audit },
};

const USAGE = `Usage: s3-broker <mode> [options]     (s3-broker <mode> --help for each)

Temporary AWS credentials from the S3 access broker, authenticated by a client key, for tools
that cannot be changed:

  credential-process   print credentials for credential_process (AWS CLI, botocore, JS and Go SDKs)
  update               keep a profile of a shared credentials file fresh (rclone, s3cmd, cron jobs)
  serve                a loopback IMDSv2 and container credentials endpoint (any SDK, rclone)

The broker's API for scripts, with a bearer token (a user's, or a partner's client-credentials
token); JSON on stdout:

  status               the user's connection
  provision            create (or find) the user's data platform user
  issue                temporary AWS credentials, with ready set-ups
  keys list|create|revoke   client keys
  audit                the user's audit trail

Exit codes, in every mode: 0 done; 1 broker unreachable or busy (retry); 2 usage, local
configuration or bad input; 3 the broker refused (the key or token, or the request): a person must act.`;

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === undefined || mode === "--help" || mode === "-h" || mode === "help") {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const chosen = MODES[/** @type {keyof typeof MODES} */ (mode)];
  if (!chosen) throw new HelperError(`unknown mode ${JSON.stringify(mode)}; s3-broker --help lists the modes`, EXIT.USAGE);
  await chosen.run(args);
}

main().then(
  () => process.exit(EXIT.OK),
  (error) => process.exit(reportFailure(error)),
);
