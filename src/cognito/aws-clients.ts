import { CognitoIdentityClient } from "@aws-sdk/client-cognito-identity";
import { CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import { IAMClient } from "@aws-sdk/client-iam";
import { STSClient } from "@aws-sdk/client-sts";
import { SpanKind } from "@opentelemetry/api";
import type { InitializeMiddleware, MiddlewareStack } from "@smithy/types";
import type { BrokerConfig } from "../config/environment.js";
import { inSpan } from "../telemetry.js";

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
  const clients = {
    cognitoIdp: new CognitoIdentityProviderClient(common),
    cognitoIdentity: new CognitoIdentityClient(common),
    sts: new STSClient(common),
    // IAM answers an over-quota write with LimitExceeded, which the SDK would retry as throttling:
    // one attempt here, and the deny-list writer retries what really is retryable itself.
    iam: new IAMClient({ ...common, maxAttempts: 1 }),
  };
  return clients;
}

/**
 * A span per AWS call (retries and the wait for an upstream budget's turn inside it): the service
 * and operation, the region, AWS's request id and, on failure, the error's name; never a parameter.
 */
export function traceAwsCalls<Input extends object, Output extends object>(client: { middlewareStack: MiddlewareStack<Input, Output> }, region: string): void {
  const middleware: InitializeMiddleware<Input, Output> = (next, context) => (args) => {
    const service = (context.clientName ?? "AWS").replace(/Client$/, "");
    const operation = (context.commandName ?? "call").replace(/Command$/, "");
    return inSpan(`${service}.${operation}`, { kind: SpanKind.CLIENT, attributes: { "rpc.system": "aws-api", "rpc.service": service, "rpc.method": operation, "cloud.region": region } }, async (span) => {
      const result = await next(args);
      const requestId = (result.output as { $metadata?: { requestId?: string } }).$metadata?.requestId;
      if (requestId) span.setAttribute("aws.request_id", requestId);
      return result;
    });
  };
  client.middlewareStack.add(middleware, { step: "initialize", priority: "high", name: "brokerTracing", override: true });
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
