import { UpstreamError } from "../cognito/aws-errors.js";
import type { IamDocuments } from "../cognito/role-policies.js";
import { INLINE_POLICIES_MAX_CHARS, MANAGED_POLICY_MAX_CHARS, type PolicyDocument } from "../policy/policies.js";

/** IAM's quotas as the in-memory IAM enforces them (AWS's defaults). */
export interface IamQuotas {
  managedPolicyChars: number;
  managedPolicyVersions: number;
  inlineCharsPerRole: number;
  attachedPerRole: number;
}

export const DEFAULT_IAM_QUOTAS: IamQuotas = {
  managedPolicyChars: MANAGED_POLICY_MAX_CHARS,
  managedPolicyVersions: 5,
  inlineCharsPerRole: INLINE_POLICIES_MAX_CHARS,
  attachedPerRole: 10,
};

/** IAM counts a policy's characters without white space: as JSON.stringify writes it. */
const sizeOf = (document: PolicyDocument) => JSON.stringify(document).length;

const overQuota = (operation: string) => new UpstreamError(operation, "QUOTA_EXCEEDED", "LimitExceededException", 409);

/**
 * An IAM that keeps the broker's documents in memory and enforces the quotas that bound revocation
 * (a managed policy's characters and versions, a role's inline characters and attachments), counts
 * every write with the time it was made (an injectable clock) and records the peaks, so that the
 * benchmark's simulated day and the domain tests run the real deny-list writer at any scale in
 * seconds. It answers an over-quota write as AWS does (LimitExceeded), and can be told to fail.
 */
export class InMemoryIam implements IamDocuments {
  private readonly managed = new Map<string, { versions: PolicyDocument[] }>();
  private readonly inline = new Map<string, Map<string, PolicyDocument>>();
  private readonly attached = new Map<string, string[]>();
  /** When each write was made (by the clock given), for writes-per-second figures. */
  readonly writes: number[] = [];
  readonly peaks = { managedPolicyChars: 0, inlineCharsPerRole: 0 };
  /** The next writes throw this (then it is cleared): an outage or a throttle, for tests. */
  failNext: { count: number; error: () => Error } | undefined;

  constructor(
    private readonly now: () => number,
    readonly quotas: IamQuotas = DEFAULT_IAM_QUOTAS,
  ) {}

  /** What an operator's stack does: a policy with its first (placeholder) version, attached to roles. */
  createPolicy(policyArn: string, document: PolicyDocument, roleArns: readonly string[]): void {
    this.managed.set(policyArn, { versions: [document] });
    for (const roleArn of roleArns) {
      const list = this.attached.get(roleArn) ?? [];
      if (list.length >= this.quotas.attachedPerRole) throw overQuota("AttachRolePolicy");
      list.push(policyArn);
      this.attached.set(roleArn, list);
    }
  }

  async putManagedPolicy(policyArn: string, document: PolicyDocument): Promise<void> {
    this.failIfTold("CreatePolicyVersion");
    const policy = this.managed.get(policyArn);
    if (!policy) throw new UpstreamError("CreatePolicyVersion", "REJECTED", "NoSuchEntityException", 404);
    if (sizeOf(document) > this.quotas.managedPolicyChars || policy.versions.length >= this.quotas.managedPolicyVersions) throw overQuota("CreatePolicyVersion");
    // As AwsIamDocuments does it: a new default version (a write), then the previous one deleted (a write).
    policy.versions.push(document);
    this.writes.push(this.now());
    policy.versions.splice(0, policy.versions.length - 1);
    this.writes.push(this.now());
    this.peaks.managedPolicyChars = Math.max(this.peaks.managedPolicyChars, sizeOf(document));
  }

  async putRolePolicy(roleArn: string, policyName: string, document: PolicyDocument): Promise<void> {
    this.failIfTold("PutRolePolicy");
    const policies = new Map(this.inline.get(roleArn) ?? []);
    policies.set(policyName, document);
    const total = [...policies.values()].reduce((sum, d) => sum + sizeOf(d), 0);
    if (total > this.quotas.inlineCharsPerRole) throw overQuota("PutRolePolicy");
    this.inline.set(roleArn, policies);
    this.writes.push(this.now());
    this.peaks.inlineCharsPerRole = Math.max(this.peaks.inlineCharsPerRole, total);
  }

  async deleteRolePolicy(roleArn: string, policyName: string): Promise<void> {
    this.failIfTold("DeleteRolePolicy");
    this.inline.get(roleArn)?.delete(policyName);
    this.writes.push(this.now());
  }

  /** Sets a role's own (permissions) inline policy, as the stack does: it counts against the inline budget. */
  setRolePermissions(roleArn: string, policyName: string, document: PolicyDocument): void {
    const policies = this.inline.get(roleArn) ?? new Map<string, PolicyDocument>();
    policies.set(policyName, document);
    this.inline.set(roleArn, policies);
  }

  /** Every document in force on a role (inline and the default version of each attached policy): what IAM evaluates. */
  documentsOf(roleArn: string): Array<{ name: string; policy: PolicyDocument }> {
    return [
      ...[...(this.inline.get(roleArn) ?? new Map<string, PolicyDocument>()).entries()].map(([name, policy]) => ({ name, policy })),
      ...(this.attached.get(roleArn) ?? []).map((arn) => ({ name: arn, policy: this.managed.get(arn)!.versions.at(-1)! })),
    ];
  }

  /** The default version of a managed policy. */
  managedDocument(policyArn: string): PolicyDocument | undefined {
    return this.managed.get(policyArn)?.versions.at(-1);
  }

  /** The most writes made within any `windowMs` (sliding). */
  peakWrites(windowMs = 1000): number {
    const times = [...this.writes].sort((a, b) => a - b);
    let peak = 0;
    for (let start = 0, end = 0; end < times.length; end += 1) {
      while (times[end]! - times[start]! >= windowMs) start += 1;
      peak = Math.max(peak, end - start + 1);
    }
    return peak;
  }

  private failIfTold(operation: string): void {
    if (!this.failNext) return;
    const error = this.failNext.error();
    if (--this.failNext.count <= 0) this.failNext = undefined;
    if (error instanceof UpstreamError) throw new UpstreamError(operation, error.reason, error.awsErrorName, error.httpStatus);
    throw error;
  }
}
