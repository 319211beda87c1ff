import { UpstreamError } from "../cognito/aws-errors.js";
import { BrokerError, UpstreamRejectedError, UpstreamUnavailableError } from "../errors.js";

/** The one place where upstream failures become the broker's errors; the message is always ours. */
export function toBrokerError(error: unknown): unknown {
  if (!(error instanceof UpstreamError)) return error;
  return brokerErrorFor(error).causedBy(error);
}

function brokerErrorFor(error: UpstreamError): BrokerError {
  switch (error.reason) {
    case "UNAVAILABLE":
      return new UpstreamUnavailableError();
    case "USER_DISABLED":
      return new UpstreamRejectedError("The data platform user is disabled.");
    case "DURATION_TOO_LONG":
      return new UpstreamRejectedError("AWS refused the requested duration: it exceeds the role's maximum session duration.");
    case "NOT_AUTHORIZED":
      return new UpstreamRejectedError("Cognito refused to authenticate the data platform user.");
    case "USER_NOT_FOUND":
      return new UpstreamRejectedError("The data platform user does not exist in Cognito.");
    default:
      return new UpstreamRejectedError(`AWS refused the ${error.operation} request.`);
  }
}

/** Runs one service-layer call and turns its upstream failure into the broker's error. */
export async function upstream<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toBrokerError(error);
  }
}
