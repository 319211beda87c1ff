import { DeleteRolePolicyCommand, PutRolePolicyCommand, type IAMClient } from "@aws-sdk/client-iam";
import type { PolicyDocument } from "../policy/policies.js";
import { awsCall, UpstreamError } from "./aws-errors.js";

/** `arn:aws:iam::123456789012:role/path/name` → `name` (IAM calls take the name, not the ARN). */
export function roleNameOf(roleArn: string): string {
  const name = roleArn.split("/").at(-1);
  if (!name) throw new Error("not a role ARN");
  return name;
}

/**
 * The one IAM write the broker makes: its own inline policy on the tenant role, which denies
 * sessions of revoked or moved users issued before their cut-off (see lifecycle/session-cutoffs.ts).
 */
export class RolePolicies {
  constructor(
    private readonly iam: IAMClient,
    private readonly roleName: string,
  ) {}

  async put(policyName: string, document: PolicyDocument): Promise<void> {
    await awsCall("PutRolePolicy", () =>
      this.iam.send(new PutRolePolicyCommand({ RoleName: this.roleName, PolicyName: policyName, PolicyDocument: JSON.stringify(document) })),
    );
  }

  /** An IAM policy needs a statement: with nothing left to deny, the policy goes. Already gone is fine. */
  async remove(policyName: string): Promise<void> {
    try {
      await awsCall("DeleteRolePolicy", () => this.iam.send(new DeleteRolePolicyCommand({ RoleName: this.roleName, PolicyName: policyName })));
    } catch (error) {
      if (error instanceof UpstreamError && error.awsErrorName === "NoSuchEntityException") return;
      throw error;
    }
  }
}
