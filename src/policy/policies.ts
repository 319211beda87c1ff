/**
 * The IAM documents the broker depends on, in one place: the local bootstrap, the deployable
 * infrastructure and the broker's session policy all take them from here, so they cannot drift.
 */

export const TENANT_TAG_KEY = "tenant";
export const TENANT_ATTRIBUTE = "custom:tenant";

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

/** The role's permissions: read and list only under the prefix named by the session's tenant tag. */
export function tenantReadRolePolicy(bucket: string, prefixTemplate: string): PolicyDocument {
  const prefix = prefixTemplate.replaceAll("{tenant}", `\${aws:PrincipalTag/${TENANT_TAG_KEY}}`);
  // A session without the tag must match nothing, whatever a missing policy variable expands to.
  const requireTag = { Null: { [`aws:PrincipalTag/${TENANT_TAG_KEY}`]: "false" } };
  return { Version: "2012-10-17", Statement: readPrefixStatements(bucket, prefix, requireTag) };
}

/** Inline session policy for the classic flow: the tenant's concrete prefix, a second fence around the role policy. */
export function tenantSessionPolicy(bucket: string, prefix: string): PolicyDocument {
  return { Version: "2012-10-17", Statement: readPrefixStatements(bucket, prefix, {}) };
}

export interface BrokerResources {
  poolAArn: string;
  poolBArn: string;
  identityPoolArn: string;
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
  poolA: ["cognito-idp:ListUsers"],
  identityPool: ["cognito-identity:GetId", "cognito-identity:GetCredentialsForIdentity", "cognito-identity:GetOpenIdToken"],
} as const;

export function brokerPolicy(resources: BrokerResources): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "AdministerDataPlatformUsers", Effect: "Allow", Action: [...BROKER_ACTIONS.poolB], Resource: resources.poolBArn },
      { Sid: "LookUpApplicationUsers", Effect: "Allow", Action: [...BROKER_ACTIONS.poolA], Resource: resources.poolAArn },
      { Sid: "ExchangeTokens", Effect: "Allow", Action: [...BROKER_ACTIONS.identityPool], Resource: resources.identityPoolArn },
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
