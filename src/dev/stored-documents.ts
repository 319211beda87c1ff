import { GetPolicyCommand, GetPolicyVersionCommand, GetRolePolicyCommand, IAMClient } from "@aws-sdk/client-iam";
import { roleNameOf } from "../cognito/role-policies.js";
import type { PolicyDocument } from "../policy/policies.js";
import type { StackInfo } from "./bootstrap.js";

/**
 * A shard's reader role as the (emulated) AWS stores it: its own permissions policy and the default
 * version of each of its deny lists, ready for the IAM policy simulator (the emulator evaluates no
 * conditions). For the revocation tests and benchmark.
 */
export async function storedReaderDocuments(stack: StackInfo, shardIndex: number): Promise<Array<{ name: string; policy: PolicyDocument }>> {
  const shard = stack.shards[shardIndex]!;
  const iam = new IAMClient({ region: stack.region, ...(stack.endpoint ? { endpoint: stack.endpoint } : {}) });
  try {
    const own = await iam.send(new GetRolePolicyCommand({ RoleName: roleNameOf(shard.readerRoleArn), PolicyName: "tenant-prefix-read" }));
    const documents = [{ name: "tenant-prefix-read", policy: JSON.parse(decodeURIComponent(own.PolicyDocument!)) as PolicyDocument }];
    for (const policyArn of shard.denyListPolicyArns) {
      const policy = await iam.send(new GetPolicyCommand({ PolicyArn: policyArn }));
      const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: policy.Policy!.DefaultVersionId! }));
      documents.push({ name: policyArn, policy: JSON.parse(decodeURIComponent(version.PolicyVersion!.Document!)) as PolicyDocument });
    }
    return documents;
  } finally {
    iam.destroy();
  }
}
