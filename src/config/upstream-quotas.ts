/**
 * AWS request quotas are per account and Region, shared by every tenant (and by every other
 * application in the account): a storm of scheduled jobs at the top of the hour must not go
 * straight to them. Each AWS operation the broker calls draws on a budget named after the quota
 * it counts against (Cognito user pools group operations into categories), in requests per second.
 *
 * Defaults: the Cognito user pool categories and the identity pool operations' published default
 * quotas; STS and IAM publish no per-operation figure, so theirs are cautious choices. Set
 * UPSTREAM_BUDGETS to your account's quotas (Service Quotas console), minus what other
 * applications use.
 */
export const UPSTREAM_BUDGETS = {
  UserCreation: { perSecond: 50, operations: ["AdminCreateUser"] },
  UserAuthentication: { perSecond: 120, operations: ["AdminInitiateAuth"] },
  UserRead: { perSecond: 120, operations: ["AdminGetUser", "AdminListGroupsForUser"] },
  UserList: { perSecond: 30, operations: ["ListUsers"] },
  UserUpdate: { perSecond: 25, operations: ["AdminDisableUser", "AdminEnableUser", "AdminSetUserPassword", "AdminUpdateUserAttributes", "AdminUserGlobalSignOut"] },
  UserPoolClientRead: { perSecond: 15, operations: ["DescribeUserPoolClient"] },
  GetId: { perSecond: 25, operations: ["GetId"] },
  GetOpenIdToken: { perSecond: 200, operations: ["GetOpenIdToken"] },
  GetCredentialsForIdentity: { perSecond: 200, operations: ["GetCredentialsForIdentity"] },
  AssumeRoleWithWebIdentity: { perSecond: 600, operations: ["AssumeRoleWithWebIdentity"] },
  /** Every IAM write the broker makes (deny lists and the tenant cut-off): IAM publishes no rate and raises none. */
  RolePolicyWrite: { perSecond: 10, operations: ["PutRolePolicy", "DeleteRolePolicy", "CreatePolicyVersion", "DeletePolicyVersion"] },
  PolicyVersionRead: { perSecond: 20, operations: ["ListPolicyVersions"] },
  /** Listings, signed with each user's own credentials: S3 allows thousands a second per prefix; this keeps one tenant's burst from crowding the bucket. */
  S3List: { perSecond: 300, operations: ["ListObjectsV2"] },
} as const satisfies Record<string, { perSecond: number; operations: readonly string[] }>;

export type UpstreamBudgetName = keyof typeof UPSTREAM_BUDGETS;
export const UPSTREAM_BUDGET_NAMES = Object.keys(UPSTREAM_BUDGETS) as UpstreamBudgetName[];
