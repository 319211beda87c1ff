/** Ready-to-paste configuration for the two mechanisms an unchanged AWS client uses with a client key. */
export function clientKeySetup(endpoint: string, secret: string, region: string, keyName: string) {
  const profile = `s3-broker-${keyName.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "client"}`;
  return {
    endpoint,
    containerEnvironment: [
      `export AWS_CONTAINER_CREDENTIALS_FULL_URI='${endpoint}'`,
      `export AWS_CONTAINER_AUTHORIZATION_TOKEN='${secret}'`,
      `export AWS_REGION='${region}'`,
    ].join("\n"),
    credentialProcessProfile: [
      `# Save the secret to the key file first (chmod 600); the helper ships with the broker (src/cli/s3-broker.mjs).`,
      `[profile ${profile}]`,
      `region = ${region}`,
      `credential_process = s3-broker credential-process --endpoint ${endpoint} --key-file ~/.config/s3-broker/${profile}.key`,
    ].join("\n"),
  };
}
