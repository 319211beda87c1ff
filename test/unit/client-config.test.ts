import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { clientConfiguration } from "../../src/broker/client-config.js";

const credentials = {
  accessKeyId: "ASIAEXAMPLE",
  // Real secrets contain '/' and '+'; this one also has characters a shell would otherwise interpret.
  secretAccessKey: "ab/c+d'e$HOME`x`\"q",
  sessionToken: "FwoGZXIvYXdzE//token+with/slashes==",
  expiration: new Date("2026-11-23T21:00:00.000Z"),
};

describe("ready-to-paste client configuration", () => {
  const config = clientConfiguration(credentials, "eu-west-1");

  it("gives export lines that a POSIX shell evaluates to exactly the credentials", () => {
    const script = `${config.shellExports}\nprintf '%s\\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_REGION"`;
    const output = execFileSync("sh", ["-c", script], { encoding: "utf8" });
    expect(output.split("\n").slice(0, 4)).toEqual([credentials.accessKeyId, credentials.secretAccessKey, credentials.sessionToken, "eu-west-1"]);
  });

  it("gives a credentials-file profile block", () => {
    expect(config.credentialsFileProfile).toContain("[s3-broker]");
    expect(config.credentialsFileProfile).toContain(`aws_access_key_id = ${credentials.accessKeyId}`);
    expect(config.credentialsFileProfile).toContain(`aws_session_token = ${credentials.sessionToken}`);
  });

  it("gives the credential_process Version 1 object with an ISO 8601 UTC expiration", () => {
    expect(config.credentialProcessJson).toEqual({
      Version: 1,
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      SessionToken: credentials.sessionToken,
      Expiration: "2026-11-23T21:00:00.000Z",
    });
  });
});
