import type { FastifyRequest } from "fastify";

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** The client's own X-Request-Id, when it is a plain token of reasonable length; otherwise none. Recorded, never used as the request's id. */
export function clientRequestIdOf(request: FastifyRequest): string | undefined {
  const incoming = request.headers["x-request-id"];
  return typeof incoming === "string" && REQUEST_ID_PATTERN.test(incoming) ? incoming : undefined;
}
