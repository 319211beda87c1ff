import type { Authenticator } from "../auth/authentication.js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ClientKeyService } from "../broker/client-keys/client-keys.service.js";
import { BrokerError, ErrorCode } from "../errors.js";
import { CREDENTIAL_ENDPOINT_PATH, KEY_STATUS_PATH } from "../broker/client-keys/public-paths.js";
import { clientRequestIdOf } from "./request-ids.js";
import { methodNotAllowed, refusalOf, sendRefusal } from "./refusals.js";


/**
 * A refusal as the SDKs' container provider reads it ({Code, Message}, with Retry-After where
 * retrying helps). Anything unexpected goes on to the edge's error handler (refusals.ts), the one
 * place that logs and masks it.
 */
function refuse(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  if (!(error instanceof BrokerError)) throw error;
  const refusal = refusalOf(error);
  const retryAfter = error.code === ErrorCode.RATE_LIMITED ? 1 : error.code === ErrorCode.UPSTREAM_UNAVAILABLE ? 5 : undefined;
  return sendRefusal(request, reply, retryAfter === undefined ? refusal : { ...refusal, extensions: { retryAfterSeconds: retryAfter, ...refusal.extensions } });
}

/** What the domain needs of a request to the endpoint: ids, the logger, and the client's address (the peer, or the one behind TRUSTED_PROXY_HOPS proxies). */
const metaOf = (request: FastifyRequest) => ({ requestId: request.id, clientRequestId: clientRequestIdOf(request), log: request.log, sourceAddress: request.ip });

/** The key as sent: verbatim (AWS_CONTAINER_AUTHORIZATION_TOKEN), or after "Bearer " for hand-written clients. */
function presentedKey(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : header.trim();
}

/**
 * The endpoint of the AWS SDKs' container credentials provider
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN): a client key in the
 * Authorization header buys `{AccessKeyId, SecretAccessKey, Token, Expiration}`; errors are
 * `{Code, Message}` with a 4xx/5xx status, never a stack or an AWS message.
 */
export function registerCredentialEndpoint(
  app: FastifyInstance,
  deps: { clientKeys: ClientKeyService; authenticator: Pick<Authenticator, "clientKey">; accountIdFor: (flow: string) => string | undefined },
): void {
  app.get(CREDENTIAL_ENDPOINT_PATH, async (request, reply) => {
    try {
      const meta = metaOf(request);
      const { credentials } = await deps.clientKeys.credentialsFor(await deps.authenticator.clientKey(presentedKey(request.headers.authorization), meta), meta);
      const accountId = deps.accountIdFor(credentials.flow);
      return reply.header("cache-control", "no-store").send({
        AccessKeyId: credentials.accessKeyId,
        SecretAccessKey: credentials.secretAccessKey,
        Token: credentials.sessionToken,
        Expiration: credentials.expiration.toISOString(),
        ...(accountId ? { AccountId: accountId } : {}),
      });
    } catch (error) {
      return refuse(request, reply, error);
    }
  });

  // For helpers serving cached credentials (credential-process): cheap enough to ask every minute.
  app.get(KEY_STATUS_PATH, async (request, reply) => {
    try {
      await deps.authenticator.clientKey(presentedKey(request.headers.authorization), metaOf(request));
      return reply.code(204).header("cache-control", "no-store").send();
    } catch (error) {
      return refuse(request, reply, error);
    }
  });

  methodNotAllowed(app, CREDENTIAL_ENDPOINT_PATH, ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"], "GET, HEAD");
}
