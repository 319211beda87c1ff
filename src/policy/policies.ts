/**
 * The IAM documents the broker depends on, in one place: the local bootstrap, the deployable
 * infrastructure and the broker's session policy all take them from here, so they cannot drift.
 */

export const TENANT_TAG_KEY = "tenant";
export const TENANT_ATTRIBUTE = "custom:tenant";
/** Every session also carries its data platform user, so that one user's sessions can be cut off. */
export const USER_TAG_KEY = "user";
/** The Pool B ID token claim the user tag comes from: the data platform user's username (`dp-…`). */
export const POOL_B_USER_CLAIM = "cognito:username";

/** The identity pool's principal-tag map (tag key ← Pool B ID token claim), for both flows. */
export const PRINCIPAL_TAG_MAP: Readonly<Record<string, string>> = { [TENANT_TAG_KEY]: TENANT_ATTRIBUTE, [USER_TAG_KEY]: POOL_B_USER_CLAIM };

/** The longest session any flow can hand out (the classic flow's 12 hours): a cut-off older than this denies nothing alive. */
export const LONGEST_SESSION_MS = 43_200_000;

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Array<Record<string, unknown>>;
}

const s3Arn = (bucket: string, key?: string) => (key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`);

/** Trust policy for the identity pool's authenticated role (aws-facts.md: TagSession is required once a tag is mapped). */
export function identityPoolRoleTrustPolicy(identityPoolId: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: "cognito-identity.amazonaws.com" },
        Action: ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
        Condition: {
          StringEquals: { "cognito-identity.amazonaws.com:aud": identityPoolId },
          "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" },
        },
      },
    ],
  };
}

function readPrefixStatements(bucket: string, prefix: string, tagCondition: Record<string, unknown>): Array<Record<string, unknown>> {
  return [
    {
      Sid: "ListOwnPrefixOnly",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: s3Arn(bucket),
      Condition: { ...tagCondition, StringLike: { "s3:prefix": [prefix, `${prefix}*`] } },
    },
    {
      Sid: "ReadOwnPrefix",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion"],
      Resource: s3Arn(bucket, `${prefix}*`),
      ...(Object.keys(tagCondition).length > 0 ? { Condition: tagCondition } : {}),
    },
  ];
}

/** What a write allows: putting objects (and finishing or abandoning multipart uploads). Never delete: no permission level includes it. */
export const WRITE_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"] as const;

function writeStatements(bucket: string, target: string, tagCondition: Record<string, unknown>): Array<Record<string, unknown>> {
  return [
    {
      Sid: "WriteOwnTarget",
      Effect: "Allow",
      Action: [...WRITE_ACTIONS],
      Resource: s3Arn(bucket, target.endsWith("/") ? `${target}*` : target),
      ...(Object.keys(tagCondition).length > 0 ? { Condition: tagCondition } : {}),
    },
  ];
}

/** The role's permissions: read and list only under the prefix named by the session's tenant tag. */
export function tenantReadRolePolicy(bucket: string, prefixTemplate: string): PolicyDocument {
  const prefix = prefixTemplate.replaceAll("{tenant}", `\${aws:PrincipalTag/${TENANT_TAG_KEY}}`);
  // A session without the tag must match nothing, whatever a missing policy variable expands to.
  const requireTag = { Null: { [`aws:PrincipalTag/${TENANT_TAG_KEY}`]: "false" } };
  return { Version: "2012-10-17", Statement: readPrefixStatements(bucket, prefix, requireTag) };
}

/**
 * The writer role's permissions (classic flow only, never the identity pool's role): read, list and
 * write under the prefix named by the session's tenant tag. Its sessions always carry a session
 * policy that narrows them to one granted target and permission.
 */
export function tenantWriterRolePolicy(bucket: string, prefixTemplate: string): PolicyDocument {
  const prefix = prefixTemplate.replaceAll("{tenant}", `\${aws:PrincipalTag/${TENANT_TAG_KEY}}`);
  const requireTag = { Null: { [`aws:PrincipalTag/${TENANT_TAG_KEY}`]: "false" } };
  return { Version: "2012-10-17", Statement: [...readPrefixStatements(bucket, prefix, requireTag), ...writeStatements(bucket, prefix, requireTag)] };
}

export type ScopePermission = "READ" | "WRITE" | "READWRITE";

/**
 * The classic flow's session policy for a scope, the one the broker sends: exactly the target (the
 * tenant's prefix plus a granted location) and the permission, a second fence around the role's
 * tag-scoped policy (the intersection is never wider). READ: a
 * prefix lists and reads under itself, an object is read alone (no listing). WRITE: puts under the
 * prefix, or to the one key, and lists only the prefix (a client must see where it writes). No delete.
 */
export function scopeSessionPolicy(bucket: string, target: string, permission: ScopePermission): PolicyDocument {
  const statements: Array<Record<string, unknown>> = [];
  if (permission !== "WRITE" || target.endsWith("/")) {
    statements.push(
      ...(target.endsWith("/")
        ? readPrefixStatements(bucket, target, {}).filter((st) => permission !== "WRITE" || st.Sid === "ListOwnPrefixOnly")
        : [{ Sid: "ReadOneObject", Effect: "Allow", Action: ["s3:GetObject", "s3:GetObjectVersion"], Resource: s3Arn(bucket, target) }]),
    );
  }
  if (permission !== "READ") statements.push(...writeStatements(bucket, target, {}));
  return { Version: "2012-10-17", Statement: statements };
}

export interface SessionCutoffEntry {
  principalTag: string;
  cutoffAt: Date;
}

/** How wide the cut-off policy had to become to fit its character budget. */
export type CutoffWidth = "PER_USER" | "MERGED_USERS" | "WHOLE_ROLE";

const cutoffTime = (at: Date) => at.toISOString().replace(/\.\d{3}Z$/, "Z");

function cutoffStatement(tags: string[] | null, before: Date): Record<string, unknown> {
  return {
    Effect: "Deny",
    Action: "*",
    Resource: "*",
    Condition: {
      ...(tags ? { StringEquals: { [`aws:PrincipalTag/${USER_TAG_KEY}`]: tags.length === 1 ? tags[0] : tags } } : {}),
      DateLessThan: { "aws:TokenIssueTime": cutoffTime(before) },
    },
  };
}

const latest = (entries: SessionCutoffEntry[]) => new Date(Math.max(...entries.map((e) => e.cutoffAt.getTime())));

/**
 * The broker-managed deny on sessions issued before each user's cut-off (aws:TokenIssueTime,
 * per-user principal tag). IAM counts a policy's characters without white space, as JSON.stringify
 * writes it. When one statement per user does not fit `maxChars`, the oldest users are merged
 * into one statement with the latest of their times, as few as needed; when even that does not
 * fit, every session of the role issued before the latest cut-off is denied. Each step only
 * denies more (it fails closed), never less. Times are rounded up to the second, never down.
 */
export function sessionCutoffPolicy(entries: SessionCutoffEntry[], maxChars: number): { document: PolicyDocument; width: CutoffWidth } | null {
  if (entries.length === 0) return null;
  const rounded = entries
    .map((e) => ({ principalTag: e.principalTag, cutoffAt: new Date(Math.ceil(e.cutoffAt.getTime() / 1000) * 1000) }))
    .sort((a, b) => a.cutoffAt.getTime() - b.cutoffAt.getTime());
  const fits = (document: PolicyDocument) => JSON.stringify(document).length <= maxChars;
  for (let merged = 0; merged <= rounded.length; merged += merged === 0 ? 2 : 1) {
    const head = rounded.slice(0, merged);
    const statements = [
      ...(head.length > 0 ? [cutoffStatement(head.map((e) => e.principalTag), latest(head))] : []),
      ...rounded.slice(merged).map((e) => cutoffStatement([e.principalTag], e.cutoffAt)),
    ];
    const document: PolicyDocument = { Version: "2012-10-17", Statement: statements };
    if (fits(document)) return { document, width: merged === 0 ? "PER_USER" : "MERGED_USERS" };
  }
  return { document: { Version: "2012-10-17", Statement: [cutoffStatement(null, latest(rounded))] }, width: "WHOLE_ROLE" };
}

export interface BrokerResources {
  poolAArn: string;
  poolBArn: string;
  identityPoolArn: string;
  /** The tenant roles (reader, and writer when there is one), on which the broker keeps its session cut-off policy. */
  tenantRoleArns: string[];
}

/**
 * The broker's own permissions: exactly the AWS calls its service layer makes, each on the one
 * resource it needs. STS AssumeRoleWithWebIdentity needs none (the OpenID token authorises it).
 * A test checks this list against the commands the code sends.
 */
export const BROKER_ACTIONS = {
  poolB: [
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminUpdateUserAttributes",
    "cognito-idp:AdminSetUserPassword",
    "cognito-idp:AdminInitiateAuth",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminUserGlobalSignOut",
  ],
  poolA: ["cognito-idp:ListUsers", "cognito-idp:AdminGetUser", "cognito-idp:AdminListGroupsForUser", "cognito-idp:DescribeUserPoolClient"],
  identityPool: ["cognito-identity:GetId", "cognito-identity:GetCredentialsForIdentity", "cognito-identity:GetOpenIdToken"],
  tenantRoles: ["iam:PutRolePolicy", "iam:DeleteRolePolicy"],
} as const;

export function brokerPolicy(resources: BrokerResources): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "AdministerDataPlatformUsers", Effect: "Allow", Action: [...BROKER_ACTIONS.poolB], Resource: resources.poolBArn },
      { Sid: "LookUpApplicationUsers", Effect: "Allow", Action: [...BROKER_ACTIONS.poolA], Resource: resources.poolAArn },
      { Sid: "ExchangeTokens", Effect: "Allow", Action: [...BROKER_ACTIONS.identityPool], Resource: resources.identityPoolArn },
      { Sid: "CutOffIssuedSessions", Effect: "Allow", Action: [...BROKER_ACTIONS.tenantRoles], Resource: resources.tenantRoleArns },
    ],
  };
}

/** Bucket policy: TLS only (the role policy does the tenant scoping). */
export function tlsOnlyBucketPolicy(bucket: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [s3Arn(bucket), s3Arn(bucket, "*")],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}
