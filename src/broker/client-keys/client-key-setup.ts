import { CREDENTIAL_ENDPOINT_PATH, HELPER_PACKAGE_PATH } from "./public-paths.js";

/** Ready-to-paste configuration for every way an unchanged AWS client can use a client key. */
export function clientKeySetup(publicUrl: string, secret: string, region: string, keyName: string) {
  const endpoint = `${publicUrl}${CREDENTIAL_ENDPOINT_PATH}`;
  const profile = `s3-broker-${keyName.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "client"}`;
  const keyFile = `~/.config/s3-broker/${profile}.key`;
  const installHelper = `npm install -g ${publicUrl}${HELPER_PACKAGE_PATH}`;
  const firstSteps = [
    `# 1. Put the helper on PATH (needs only Node 20+; add --prefix ~/.local without root): ${installHelper}`,
    `# 2. Save the secret in ${keyFile} (chmod 600).`,
  ];
  return {
    endpoint,
    installHelper,
    containerEnvironment: [
      `export AWS_CONTAINER_CREDENTIALS_FULL_URI='${endpoint}'`,
      `export AWS_CONTAINER_AUTHORIZATION_TOKEN='${secret}'`,
      `export AWS_REGION='${region}'`,
    ].join("\n"),
    credentialProcessProfile: [
      ...firstSteps,
      `# 3. Add this to ~/.aws/config:`,
      `[profile ${profile}]`,
      `region = ${region}`,
      `credential_process = s3-broker credential-process --endpoint ${endpoint} --key-file ${keyFile}`,
    ].join("\n"),
    credentialsFileUpdate: [
      ...firstSteps,
      `# 3. Keep profile ${profile} of ~/.aws/credentials fresh (stays running; or --once from cron every 5 minutes):`,
      `s3-broker update --endpoint ${endpoint} --key-file ${keyFile} --profile ${profile}`,
    ].join("\n"),
    localEndpoint: [
      ...firstSteps,
      `# 3. Serve IMDSv2 and container credentials on loopback (stays running):`,
      `s3-broker serve --endpoint ${endpoint} --key-file ${keyFile}`,
      `# 4. In the tools' environment:`,
      `export AWS_EC2_METADATA_SERVICE_ENDPOINT='http://127.0.0.1:9911/'`,
      `export AWS_REGION='${region}'`,
    ].join("\n"),
  };
}
