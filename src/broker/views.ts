import type { ClientConfiguration } from "./client-config.js";
import type { CredentialFlow } from "../store/store.js";

/** What the domain hands to the GraphQL layer; no Pool B token appears in any of these. */

export type ConnectionStateView = "NOT_PROVISIONED" | "PROVISIONING" | "ACTIVE" | "DISABLED";

export interface ConnectionStatusView {
  userId: string;
  provisioned: boolean;
  state: ConnectionStateView;
  identityId: string | null;
  tenant: string | null;
  bucket: string;
  prefix: string | null;
  idTokenExpiresAt: Date | null;
  refreshTokenExpiresAt: Date | null;
  lastCredentialFlow: CredentialFlow | null;
  lastCredentialExpiresAt: Date | null;
}

export interface CredentialExpiryView {
  expiresAt: Date;
  secondsRemaining: number;
  expired: boolean;
  flow: CredentialFlow;
}

export interface TemporaryCredentialsView {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  durationSeconds: number;
  flow: CredentialFlow;
  region: string;
  bucket: string;
  prefix: string;
  s3Uri: string;
  identityId: string;
  clientConfiguration: ClientConfiguration;
}
