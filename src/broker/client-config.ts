import type { IssuedCredentials } from "../cognito/identity-exchange.js";
export interface ClientConfiguration {
  shellExports: string;
  credentialsFileProfile: string;
  credentialProcessJson: Record<string, unknown>;
}

/** Single-quotes a value for POSIX shells, so any character in it survives copy and paste. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/** Ready-to-paste configuration for the usual AWS clients. */
export function clientConfiguration(credentials: IssuedCredentials, region: string, profileName = "s3-broker"): ClientConfiguration {
  const expiration = credentials.expiration.toISOString();
  return {
    shellExports: [
      `export AWS_ACCESS_KEY_ID=${shellQuote(credentials.accessKeyId)}`,
      `export AWS_SECRET_ACCESS_KEY=${shellQuote(credentials.secretAccessKey)}`,
      `export AWS_SESSION_TOKEN=${shellQuote(credentials.sessionToken)}`,
      `export AWS_REGION=${shellQuote(region)}`,
    ].join("\n"),
    credentialsFileProfile: [
      `# expires ${expiration}`,
      `[${profileName}]`,
      `aws_access_key_id = ${credentials.accessKeyId}`,
      `aws_secret_access_key = ${credentials.secretAccessKey}`,
      `aws_session_token = ${credentials.sessionToken}`,
    ].join("\n"),
    credentialProcessJson: {
      Version: 1,
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      SessionToken: credentials.sessionToken,
      Expiration: expiration,
    },
  };
}
