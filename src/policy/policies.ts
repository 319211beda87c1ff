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

/**
 * Every session also carries its user's session tag: a short value the broker owns (the Pool B
 * attribute `custom:sid`, which no app client may write), rotated whenever the user is reinstated or
 * moved. Revocation denies the tag (pure membership, no time condition), so a deny list never
 * touches anyone else and a credential issued after a rotation is never born dead. See
 * docs/revocation.md for the arithmetic.
 */
export const SESSION_TAG_KEY = "sid";
export const SESSION_TAG_ATTRIBUTE = "custom:sid";
/**
 * Tag characters: lower-case base32. The first character names the user's shard (a pair of roles
 * with their own deny lists, src/broker/lifecycle/deny-lists.ts); the other five are random, and the
 * store keeps tags unique. Six characters cost 9 in a deny list (quotes and comma).
 */
export const SESSION_TAG_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
export const SESSION_TAG_LENGTH = 6;
/** An identity pool provider takes at most 25 role-mapping rules: one per shard for the enhanced flow. */
export const MAX_SHARDS = 25;

export function isSessionTag(value: unknown): value is string {
  return typeof value === "string" && value.length === SESSION_TAG_LENGTH && [...value].every((c) => SESSION_TAG_ALPHABET.includes(c));
}

/** The shard a tag belongs to (its first character). */
export function shardOfTag(tag: string): number {
  return SESSION_TAG_ALPHABET.indexOf(tag[0]!);
}

/** What every tag of a shard starts with: the role-mapping rules and the roles' Allow statements use it. */
export function shardTagPrefix(shard: number): string {
  if (!Number.isInteger(shard) || shard < 0 || shard >= MAX_SHARDS) throw new Error(`shard must be 0 to ${MAX_SHARDS - 1}`);
  return SESSION_TAG_ALPHABET[shard]!;
}

/** The identity pool's principal-tag map (tag key ← Pool B ID token claim), for both flows. */
export const PRINCIPAL_TAG_MAP: Readonly<Record<string, string>> = {
  [TENANT_TAG_KEY]: TENANT_ATTRIBUTE,
  [USER_TAG_KEY]: POOL_B_USER_CLAIM,
  [SESSION_TAG_KEY]: SESSION_TAG_ATTRIBUTE,
};

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

type Conditions = Record<string, Record<string, unknown>>;

/** Merges condition blocks operator by operator (two StringLike blocks become one with both keys). */
function mergeConditions(...blocks: Conditions[]): Conditions {
  const merged: Conditions = {};
  for (const block of blocks) for (const [operator, keys] of Object.entries(block)) merged[operator] = { ...merged[operator], ...keys };
  return merged;
}

const withCondition = (condition: Conditions) => (Object.keys(condition).length > 0 ? { Condition: condition } : {});

/**
 * The identity pool's role mapping for Pool B (the enhanced flow, where the identity pool picks the
 * role): a rule per shard on the session tag's first character, and no role for a token without
 * one (AmbiguousRoleResolution Deny). At most 25 rules per provider, hence MAX_SHARDS.
 */
export function identityPoolRoleMapping(readerRoleArns: readonly string[]) {
  return {
    Type: "Rules" as const,
    AmbiguousRoleResolution: "Deny" as const,
    RulesConfiguration: {
      Rules: readerRoleArns.map((roleArn, shard) => ({ Claim: SESSION_TAG_ATTRIBUTE, MatchType: "StartsWith" as const, Value: shardTagPrefix(shard), RoleARN: roleArn })),
    },
  };
}

function readPrefixStatements(bucket: string, prefix: string, tagCondition: Conditions): Array<Record<string, unknown>> {
  return [
    {
      Sid: "ListOwnPrefixOnly",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: s3Arn(bucket),
      Condition: mergeConditions(tagCondition, { StringLike: { "s3:prefix": [prefix, `${prefix}*`] } }),
    },
    {
      Sid: "ReadOwnPrefix",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion"],
      Resource: s3Arn(bucket, `${prefix}*`),
      ...withCondition(tagCondition),
    },
  ];
}

/** What a write allows: putting objects (and finishing or abandoning multipart uploads). Never delete: no permission level includes it. */
export const WRITE_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"] as const;

function writeStatements(bucket: string, target: string, tagCondition: Conditions): Array<Record<string, unknown>> {
  return [
    {
      Sid: "WriteOwnTarget",
      Effect: "Allow",
      Action: [...WRITE_ACTIONS],
      Resource: s3Arn(bucket, target.endsWith("/") ? `${target}*` : target),
      ...withCondition(tagCondition),
    },
  ];
}

/**
 * What every Allow of a shard's roles requires: a tenant tag (a session without it must match
 * nothing, whatever a missing policy variable expands to) and a session tag of this shard. Without
 * the session-tag condition a session that lacks the tag could never be denied by the deny lists
 * (fail open); with it, an untagged or other shard's session is allowed nothing.
 */
function sessionRequirements(shard: number): Conditions {
  return {
    Null: { [`aws:PrincipalTag/${TENANT_TAG_KEY}`]: "false" },
    StringLike: { [`aws:PrincipalTag/${SESSION_TAG_KEY}`]: `${shardTagPrefix(shard)}*` },
  };
}

const tenantPrefixVariable = (prefixTemplate: string) => prefixTemplate.replaceAll("{tenant}", `\${aws:PrincipalTag/${TENANT_TAG_KEY}}`);

/** A shard's reader role: read and list only under the prefix named by the session's tenant tag. */
export function tenantReadRolePolicy(bucket: string, prefixTemplate: string, shard: number): PolicyDocument {
  return { Version: "2012-10-17", Statement: readPrefixStatements(bucket, tenantPrefixVariable(prefixTemplate), sessionRequirements(shard)) };
}

/**
 * A shard's writer role (classic flow only, never the identity pool's role): read, list and write
 * under the prefix named by the session's tenant tag. Its sessions always carry a session policy
 * that narrows them to one granted target and permission.
 */
export function tenantWriterRolePolicy(bucket: string, prefixTemplate: string, shard: number): PolicyDocument {
  const prefix = tenantPrefixVariable(prefixTemplate);
  const requirements = sessionRequirements(shard);
  return { Version: "2012-10-17", Statement: [...readPrefixStatements(bucket, prefix, requirements), ...writeStatements(bucket, prefix, requirements)] };
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

/** STS's limit on a session policy's plain text (AssumeRoleWithWebIdentity's Policy). */
export const SESSION_POLICY_MAX_CHARS = 2048;
/**
 * What the broker lets a scope's session policy use of it: STS packs the policy and the session
 * tags (tenant up to 64 characters, user 43, sid 6, and their keys: about 130) into one packed-size
 * limit as well, so about twice the tags' size is left free.
 */
export const SESSION_POLICY_BUDGET_CHARS = SESSION_POLICY_MAX_CHARS - 248;

/**
 * The size of the session policy a scope renders (as sent: JSON without white space), in UTF-8
 * bytes: for ASCII its characters; a character of another script counts 2 to 4, which keeps
 * room in STS's packed size (multi-byte text packs less well).
 */
export function scopeSessionPolicySize(bucket: string, target: string, permission: ScopePermission): number {
  return Buffer.byteLength(JSON.stringify(scopeSessionPolicy(bucket, target, permission)), "utf8");
}

/** A managed policy's size quota (IAM counts characters without white space, as JSON.stringify writes them). */
export const MANAGED_POLICY_MAX_CHARS = 6144;
/** A role's inline policies together. */
export const INLINE_POLICIES_MAX_CHARS = 10_240;
/** IAM wants a statement in every policy: an empty deny list denies this value, which no tag can have. */
export const DENY_LIST_PLACEHOLDER = "-";

/**
 * One deny-list document (a customer-managed policy attached to both roles of a shard): every
 * session whose session tag is listed is denied everything. Membership only: no time condition, so
 * nothing issued under a newer tag is touched.
 */
export function denyListDocument(tags: readonly string[]): PolicyDocument {
  const values = tags.length === 0 ? [DENY_LIST_PLACEHOLDER] : [...tags];
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Deny", Action: "*", Resource: "*", Condition: { StringEquals: { [`aws:PrincipalTag/${SESSION_TAG_KEY}`]: values } } }],
  };
}

/** How many tags one deny-list document holds within `maxChars` (checked against the renderer by a test). */
export function denyListCapacity(maxChars = MANAGED_POLICY_MAX_CHARS): number {
  const empty = JSON.stringify(denyListDocument([])).length - DENY_LIST_PLACEHOLDER.length - 2;
  // The first tag costs its quotes; each further one its quotes and a comma.
  return Math.max(0, Math.floor((maxChars - empty + 1) / (SESSION_TAG_LENGTH + 3)));
}

export interface TenantCutoffEntry {
  tenant: string;
  cutoffAt: Date;
}

const cutoffTime = (at: Date) => at.toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * The last resort, only when every deny list of a shard is full: sessions of one tenant issued
 * before a time are denied (an inline policy on every tenant role). It stays inside the tenant that
 * overflowed (never another tenant's session) and is audited and alarmed; the fill gauges exist so
 * that it never comes to this. Times are rounded up to the second, never down. Null when nothing is
 * in force; `fits` false when the statements do not fit `maxChars` (the caller refuses and alarms:
 * it never widens to other tenants).
 */
export function tenantCutoffPolicy(entries: readonly TenantCutoffEntry[], maxChars: number): { document: PolicyDocument; fits: boolean } | null {
  if (entries.length === 0) return null;
  const document: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [...entries]
      .sort((a, b) => a.tenant.localeCompare(b.tenant))
      .map((e) => ({
        Effect: "Deny",
        Action: "*",
        Resource: "*",
        Condition: {
          StringEquals: { [`aws:PrincipalTag/${TENANT_TAG_KEY}`]: e.tenant },
          DateLessThan: { "aws:TokenIssueTime": cutoffTime(new Date(Math.ceil(e.cutoffAt.getTime() / 1000) * 1000)) },
        },
      })),
  };
  return { document, fits: JSON.stringify(document).length <= maxChars };
}

export interface BrokerResources {
  poolAArn: string;
  poolBArn: string;
  identityPoolArn: string;
  /** Every shard's tenant roles (reader, and writer when there is one), on which the broker keeps the last-resort tenant cut-off. */
  tenantRoleArns: string[];
  /** Every shard's deny-list policies (customer-managed), whose versions the broker writes. */
  denyListPolicyArns: string[];
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
    // Start-up: that POOL_B_CLIENT_SECRET fits the app client.
    "cognito-idp:DescribeUserPoolClient",
  ],
  poolA: ["cognito-idp:ListUsers", "cognito-idp:AdminGetUser", "cognito-idp:AdminListGroupsForUser", "cognito-idp:DescribeUserPoolClient"],
  identityPool: ["cognito-identity:GetId", "cognito-identity:GetCredentialsForIdentity", "cognito-identity:GetOpenIdToken"],
  tenantRoles: ["iam:PutRolePolicy", "iam:DeleteRolePolicy"],
  denyLists: ["iam:ListPolicyVersions", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion"],
} as const;

export function brokerPolicy(resources: BrokerResources): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "AdministerDataPlatformUsers", Effect: "Allow", Action: [...BROKER_ACTIONS.poolB], Resource: resources.poolBArn },
      { Sid: "LookUpApplicationUsers", Effect: "Allow", Action: [...BROKER_ACTIONS.poolA], Resource: resources.poolAArn },
      { Sid: "ExchangeTokens", Effect: "Allow", Action: [...BROKER_ACTIONS.identityPool], Resource: resources.identityPoolArn },
      { Sid: "CutOffTenantOnOverflow", Effect: "Allow", Action: [...BROKER_ACTIONS.tenantRoles], Resource: resources.tenantRoleArns },
      { Sid: "WriteDenyLists", Effect: "Allow", Action: [...BROKER_ACTIONS.denyLists], Resource: resources.denyListPolicyArns },
    ],
  };
}

/**
 * The bucket's CORS rule: a browser page of these origins (the console) may download with a
 * presigned GET and upload with a presigned POST; the signature, not CORS, decides what is allowed.
 */
export function bucketCorsRule(origins: readonly string[]) {
  return { AllowedOrigins: [...origins], AllowedMethods: ["GET", "POST"] as Array<"GET" | "POST">, AllowedHeaders: ["*"], ExposeHeaders: ["ETag"], MaxAgeSeconds: 600 };
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
