import {
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  DeleteRolePolicyCommand,
  ListPolicyVersionsCommand,
  PutRolePolicyCommand,
  type IAMClient,
} from "@aws-sdk/client-iam";
import type { PolicyDocument } from "../policy/policies.js";
import { awsCall, UpstreamError } from "./aws-errors.js";

/** `arn:aws:iam::123456789012:role/path/name` → `name` (IAM calls take the name, not the ARN). */
export function roleNameOf(roleArn: string): string {
  const name = roleArn.split("/").at(-1);
  if (!name) throw new Error("not a role ARN");
  return name;
}

/**
 * The IAM writes the broker makes, all on documents it owns: the deny lists (customer-managed
 * policies attached to a shard's roles) and the last-resort tenant cut-off (an inline policy on
 * each tenant role). The in-memory IAM of the test kit and the benchmark implements the same.
 */
export interface IamDocuments {
  /** Makes `document` the managed policy's default version; older versions are deleted (a policy keeps at most 5). */
  putManagedPolicy(policyArn: string, document: PolicyDocument): Promise<void>;
  putRolePolicy(roleArn: string, policyName: string, document: PolicyDocument): Promise<void>;
  /** An IAM policy needs a statement: with nothing left to deny, the policy goes. Already gone is fine. */
  deleteRolePolicy(roleArn: string, policyName: string): Promise<void>;
}

export class AwsIamDocuments implements IamDocuments {
  constructor(private readonly iam: IAMClient) {}

  /**
   * A new default version, then the versions before it are deleted: the broker's documents keep
   * one version between writes (two while one is being written), well inside the limit of five, so
   * that an over-quota refusal can only mean size. Three calls: a read and two writes.
   */
  async putManagedPolicy(policyArn: string, document: PolicyDocument): Promise<void> {
    const listed = await awsCall("ListPolicyVersions", () => this.iam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn })));
    const older = (listed.Versions ?? []).filter((v) => !v.IsDefaultVersion && v.VersionId).map((v) => v.VersionId!);
    const previousDefault = (listed.Versions ?? []).find((v) => v.IsDefaultVersion)?.VersionId;
    // Room for the new version first, if an interrupted write left versions behind.
    if (older.length >= 4) for (const versionId of older) await this.deleteVersion(policyArn, versionId);
    await awsCall("CreatePolicyVersion", () =>
      this.iam.send(new CreatePolicyVersionCommand({ PolicyArn: policyArn, PolicyDocument: JSON.stringify(document), SetAsDefault: true })),
    );
    for (const versionId of [...(older.length >= 4 ? [] : older), ...(previousDefault ? [previousDefault] : [])]) await this.deleteVersion(policyArn, versionId);
  }

  async putRolePolicy(roleArn: string, policyName: string, document: PolicyDocument): Promise<void> {
    await awsCall("PutRolePolicy", () =>
      this.iam.send(new PutRolePolicyCommand({ RoleName: roleNameOf(roleArn), PolicyName: policyName, PolicyDocument: JSON.stringify(document) })),
    );
  }

  async deleteRolePolicy(roleArn: string, policyName: string): Promise<void> {
    try {
      await awsCall("DeleteRolePolicy", () => this.iam.send(new DeleteRolePolicyCommand({ RoleName: roleNameOf(roleArn), PolicyName: policyName })));
    } catch (error) {
      if (error instanceof UpstreamError && error.awsErrorName === "NoSuchEntityException") return;
      throw error;
    }
  }

  private async deleteVersion(policyArn: string, versionId: string): Promise<void> {
    try {
      await awsCall("DeletePolicyVersion", () => this.iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId })));
    } catch (error) {
      // Another replica removed it first.
      if (error instanceof UpstreamError && error.awsErrorName === "NoSuchEntityException") return;
      throw error;
    }
  }
}
