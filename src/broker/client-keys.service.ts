import type { Principal } from "../auth/principal.js";
import type { BrokerConfig } from "../config/environment.js";
import { BadUserInputError, ForbiddenError, UnauthenticatedError, UpstreamRejectedError } from "../errors.js";
import type { ClientKey, CredentialFlow, Store } from "../store/store.js";
import type { BrokerService } from "./broker.service.js";
import type { RateLimits } from "./rate-limits.js";
import { clientKeyIdOf, newClientKeySecret, secretMatches } from "./client-key-secret.js";
import { resolveDurationSeconds } from "./duration.js";
import type { RequestMeta } from "./request-meta.js";
import type { TemporaryCredentialsView } from "./views.js";

export const DEFAULT_KEY_LIFETIME_DAYS = 90;
export const MAX_KEY_LIFETIME_DAYS = 397;
const DAY_MS = 86_400_000;

export interface CreateClientKeyRequest {
  name: string;
  flow: CredentialFlow;
  durationSeconds?: number | null;
  expiresAt?: Date | null;
}

export interface CreatedClientKey {
  key: ClientKey;
  /** Shown once, in the answer to createClientKey; only its hash is stored. */
  secret: string;
}

/** What the credential endpoint knows of the key that authenticated a request. */
export interface ClientKeyCredentials {
  key: ClientKey;
  credentials: TemporaryCredentialsView;
}

/** Client keys: revocable credentials with which unattended clients fetch AWS credentials. */
export class ClientKeyService {
  constructor(
    private readonly deps: { config: BrokerConfig; store: Store; broker: BrokerService; rateLimits: RateLimits; now?: () => number },
  ) {}

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  async create(principal: Principal, userId: string | null | undefined, request: CreateClientKeyRequest, meta: RequestMeta): Promise<CreatedClientKey> {
    const { broker, store, config } = this.deps;
    const subject = broker.subjectFor(principal, userId);
    const name = request.name.trim();
    if (name.length < 1 || name.length > 64 || /[\u0000-\u001f\u007f]/.test(name)) {
      throw new BadUserInputError("name must be 1 to 64 printable characters.", "name");
    }
    const durationSeconds = resolveDurationSeconds(request.flow, request.durationSeconds, config.classicRole.maxSessionSeconds);
    const now = this.now();
    const expiresAt = request.expiresAt ?? new Date(now + DEFAULT_KEY_LIFETIME_DAYS * DAY_MS);
    if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= now || expiresAt.getTime() > now + MAX_KEY_LIFETIME_DAYS * DAY_MS) {
      throw new BadUserInputError(`expiresAt must be in the future and at most ${MAX_KEY_LIFETIME_DAYS} days away.`, "expiresAt");
    }
    const { id, secret, hash } = newClientKeySecret();
    return broker.audited("CLIENT_KEY_CREATE", principal, subject, meta, { flow: request.flow, durationSeconds, clientKeyId: id }, async () => {
      // The same answers as issuance: NOT_PROVISIONED, FORBIDDEN when revoked; a disabled user gets no new key.
      const connection = await broker.requireProvisioned(subject.userId);
      if (connection.state === "DISABLED") throw new UpstreamRejectedError("The data platform user is disabled.");
      const key = { id, userId: subject.userId, name, flow: request.flow, durationSeconds, secretHash: hash, createdAt: new Date(now), expiresAt };
      await store.createClientKey(key);
      return { key: { ...key, revokedAt: null, firstUsedAt: null, lastUsedAt: null }, secret };
    });
  }

  async list(principal: Principal, userId: string | null | undefined): Promise<ClientKey[]> {
    const subject = this.deps.broker.subjectFor(principal, userId);
    return this.deps.store.listClientKeys(subject.userId);
  }

  async revoke(principal: Principal, id: string, meta: RequestMeta): Promise<ClientKey> {
    const { broker, store } = this.deps;
    const key = await store.getClientKey(id);
    if (!key) throw new BadUserInputError("No client key with that id.", "id");
    const subject = broker.subjectFor(principal, key.userId);
    return broker.audited("CLIENT_KEY_REVOKE", principal, subject, meta, { clientKeyId: id }, async () => (await store.revokeClientKey(id, new Date(this.now())))!);
  }

  /** The credential endpoint's work: authenticate the key, then credentials through the shared issuance path. */
  async credentialsFor(secret: string | undefined, meta: RequestMeta): Promise<ClientKeyCredentials> {
    const key = await this.authenticate(secret);
    await this.deps.rateLimits.consume("credential-endpoint", key.id);
    const { broker, store } = this.deps;
    const actor = { userId: key.userId, tenant: "", groups: [], isAdmin: false };
    const subject = { userId: key.userId, tenantFromToken: null };
    const now = new Date(this.now());
    if (await store.recordClientKeyUse(key.id, now)) {
      await broker.audited("CLIENT_KEY_FIRST_USE", actor, subject, meta, { clientKeyId: key.id }, async () => undefined);
    }
    const details = { flow: key.flow, durationSeconds: key.durationSeconds, clientKeyId: key.id };
    const credentials = await broker.credentialsFor(key.userId, key.flow, key.durationSeconds, meta, () =>
      // Each real issuance is audited; requests served from the cache are not.
      broker.audited("ISSUE", actor, subject, meta, details, async () => undefined),
    );
    return { key, credentials };
  }

  private async authenticate(secret: string | undefined): Promise<ClientKey> {
    if (!secret) throw new UnauthenticatedError("A client key is required in the Authorization header.");
    const id = clientKeyIdOf(secret);
    const key = id ? await this.deps.store.getClientKey(id) : null;
    if (!key || !secretMatches(secret, key.secretHash)) throw new UnauthenticatedError("The client key is not valid.");
    if (key.revokedAt) throw new ForbiddenError("The client key was revoked.");
    if (key.expiresAt.getTime() <= this.now()) throw new ForbiddenError("The client key has expired.");
    return key;
  }
}
