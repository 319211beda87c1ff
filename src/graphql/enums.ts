import { registerEnumType } from "type-graphql";

export enum CredentialFlow {
  ENHANCED = "ENHANCED",
  CLASSIC = "CLASSIC",
}
registerEnumType(CredentialFlow, {
  name: "CredentialFlow",
  description: "How the broker turns a data platform user's token into AWS credentials.",
  valuesConfig: {
    ENHANCED: { description: "Identity pool GetCredentialsForIdentity; always one hour." },
    CLASSIC: { description: "Identity pool OpenID token + STS AssumeRoleWithWebIdentity; 900 s to the role maximum, with an inline session policy." },
  },
});

export enum ConnectionState {
  NOT_PROVISIONED = "NOT_PROVISIONED",
  PROVISIONING = "PROVISIONING",
  ACTIVE = "ACTIVE",
  DISABLED = "DISABLED",
  REVOKED = "REVOKED",
}
registerEnumType(ConnectionState, {
  name: "ConnectionState",
  valuesConfig: {
    NOT_PROVISIONED: { description: "No data platform user yet." },
    PROVISIONING: { description: "Provisioning started but did not finish; running it again completes it." },
    ACTIVE: { description: "Ready to issue credentials." },
    DISABLED: { description: "Cognito reports the data platform user as disabled." },
    REVOKED: { description: "Access was revoked: the data platform user is disabled and every client key revoked." },
  },
});

export enum AccessPermission {
  READ = "READ",
  WRITE = "WRITE",
  READWRITE = "READWRITE",
}
registerEnumType(AccessPermission, {
  name: "AccessPermission",
  description:
    "What a grant allows. READ: list under a prefix and read its objects (or read one object). WRITE: put objects under the prefix (or the one key) and list the prefix. READWRITE: both. No level allows deleting.",
});
