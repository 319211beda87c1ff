import type { RolePolicies } from "../../cognito/role-policies.js";
import { type CutoffWidth, LONGEST_SESSION_MS, sessionCutoffPolicy } from "../../policy/policies.js";
import type { Store } from "../../store/store.js";
import type { RequestMeta } from "../request-meta.js";
import { upstream } from "../upstream-errors.js";
import type { UserLocks } from "../user-lock.js";

/**
 * One lock for the whole policy: every writer renders it from all stored entries, so the last write
 * holds everything. Plain text (PostgreSQL's lock key is a text parameter); no Pool A sub looks like it.
 */
const POLICY_LOCK = "broker/session-cutoffs";

/**
 * Cutting off credentials already issued. STS cannot recall them; IAM can deny them: each cut-off
 * is a deny on the tenant role for sessions carrying the user's principal tag (`user`, the Pool B
 * username, in both flows) issued before the cut-off (aws:TokenIssueTime). Entries are kept for
 * the longest session (12 h), after which nothing they match can be alive, and pruned then.
 */
export class SessionCutoffs {
  constructor(
    /** `roles`: every role that sessions of data platform users can have (the reader, and the writer when there is one). */
    private readonly deps: { store: Store; roles: RolePolicies[]; locks: UserLocks; policyName: string; maxChars: number; now: () => number },
  ) {}

  /** Records the cut-off and rewrites the policy; if AWS fails, the entry stays and the next write (or a retried revocation) applies it. */
  async cutOff(principalTag: string, at: Date, meta: RequestMeta): Promise<CutoffWidth | "NONE"> {
    const { store } = this.deps;
    await store.putSessionCutoff({ principalTag, cutoffAt: at, expiresAt: new Date(at.getTime() + LONGEST_SESSION_MS) });
    const width = await this.apply();
    if (width !== "PER_USER") meta.log.warn({ event: "session_cutoff_widened", width }, "the session cut-off policy is over its budget; it now denies more than the revoked users' sessions");
    return width;
  }

  /** Writes the policy from every entry still in force (or removes it when none is). */
  private async apply(): Promise<CutoffWidth | "NONE"> {
    const { store, roles, locks, policyName, maxChars } = this.deps;
    return locks.run(POLICY_LOCK, async () => {
      const rendered = sessionCutoffPolicy(await store.sessionCutoffs(new Date(this.deps.now())), maxChars);
      for (const role of roles) {
        if (rendered) await upstream(() => role.put(policyName, rendered.document));
        else await upstream(() => role.remove(policyName));
      }
      return rendered ? rendered.width : "NONE";
    });
  }
}
