import { CognitoIdentityClient } from "@aws-sdk/client-cognito-identity";
import { CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import { IAMClient } from "@aws-sdk/client-iam";
import { STSClient } from "@aws-sdk/client-sts";
import type { BrokerConfig } from "../config/environment.js";

export interface AwsClients {
  cognitoIdp: CognitoIdentityProviderClient;
  cognitoIdentity: CognitoIdentityClient;
  sts: STSClient;
  iam: IAMClient;
}

/**
 * One client per service for the process. The SDK's standard retry mode (exponential
 * backoff with jitter) absorbs throttling and brief outages before the broker reports
 * UPSTREAM_UNAVAILABLE; the timeouts keep a hung endpoint from holding a request for long.
 */
export function createAwsClients(config: Pick<BrokerConfig, "aws">): AwsClients {
  const common = {
    region: config.aws.region,
    ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
    maxAttempts: config.aws.maxAttempts,
    retryMode: "standard",
    requestHandler: {
      connectionTimeout: Math.min(2_000, config.aws.requestTimeoutMs),
      requestTimeout: config.aws.requestTimeoutMs,
      // Without this the handler only logs a warning and the request hangs on.
      throwOnRequestTimeout: true,
    },
  };
  return {
    cognitoIdp: new CognitoIdentityProviderClient(common),
    cognitoIdentity: new CognitoIdentityClient(common),
    sts: new STSClient(common),
    // IAM answers an over-quota write with LimitExceeded, which the SDK would retry as throttling:
    // one attempt here, and the deny-list writer retries what really is retryable itself.
    iam: new IAMClient({ ...common, maxAttempts: 1 }),
  };
}

export function destroyAwsClients(clients: AwsClients): void {
  clients.cognitoIdp.destroy();
  clients.cognitoIdentity.destroy();
  clients.sts.destroy();
  clients.iam.destroy();
}

/**
 * The broker's own AWS credentials resolve (environment, profile, container or instance role):
 * without them every Cognito call fails, and users would see INTERNAL_SERVER_ERROR one by one.
 */
export async function requireAwsCredentials(clients: AwsClients): Promise<void> {
  try {
    await clients.cognitoIdp.config.credentials();
  } catch (error) {
    throw new Error(
      `the broker has no AWS credentials (${(error as Error).name}): give it a role (ECS task role, instance profile, IRSA) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; against an emulator, any value works`,
    );
  }
}
