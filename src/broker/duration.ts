import { BadUserInputError } from "../errors.js";
import type { CredentialFlow } from "../store/store.js";

export const ENHANCED_FLOW_SECONDS = 3600;
export const CLASSIC_DEFAULT_SECONDS = 3600;
export const CLASSIC_MIN_SECONDS = 900;
export const CLASSIC_MAX_SECONDS = 43200;

/**
 * The session length to ask AWS for. The enhanced flow has no knob (AWS fixes it at one hour);
 * the classic flow takes 900 s up to the role's MaxSessionDuration, which STS would enforce anyway,
 * but refusing here gives the caller a clear BAD_USER_INPUT instead of an AWS refusal.
 */
export function resolveDurationSeconds(flow: CredentialFlow, requested: number | null | undefined, roleMaxSeconds: number): number {
  if (flow === "ENHANCED") {
    if (requested !== null && requested !== undefined) {
      throw new BadUserInputError("durationSeconds cannot be set for the ENHANCED flow: AWS fixes it at 3600 seconds. Use the CLASSIC flow to choose a duration.", "durationSeconds");
    }
    return ENHANCED_FLOW_SECONDS;
  }
  const duration = requested ?? CLASSIC_DEFAULT_SECONDS;
  const max = Math.min(CLASSIC_MAX_SECONDS, roleMaxSeconds);
  if (!Number.isInteger(duration) || duration < CLASSIC_MIN_SECONDS || duration > max) {
    throw new BadUserInputError(`durationSeconds must be a whole number from ${CLASSIC_MIN_SECONDS} to ${max} for the CLASSIC flow.`, "durationSeconds");
  }
  return duration;
}
