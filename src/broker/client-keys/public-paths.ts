/** The broker's addresses that client keys' set-ups name; the HTTP layer serves them (src/http/). */
export const CREDENTIAL_ENDPOINT_PATH = "/v1/credentials";
/** Whether a key still stands, without credentials: 204, or the refusal the endpoint would give. */
export const KEY_STATUS_PATH = `${CREDENTIAL_ENDPOINT_PATH}/status`;
/** The helper, as an npm package built from src/cli/s3-broker/. */
export const HELPER_PACKAGE_PATH = "/helper/s3-broker.tgz";
