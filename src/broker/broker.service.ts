import { createHash } from "node:crypto";
import type { Principal } from "../auth/principal.js";
import type { BrokerConfig } from "../config/environment.js";
import type { ApplicationDirectory } from "../cognito/application-directory.js";
import { UpstreamError } from "../cognito/aws-errors.js";
import type { DataPlatformPool } from "../cognito/data-platform-pool.js";
import type { IdentityExchange } from "../cognito/identity-exchange.js";
import {
  BadUserInputError,
  BrokerError,
  ForbiddenError,
  InternalError,
  NotProvisionedError,
  UpstreamRejectedError,
  UpstreamUnavailableError,
} from "../errors.js";
import { tenantSessionPolicy } from "../policy/policies.js";
import type { AuditAction, Connection, CredentialFlow, PoolBTokens, Store } from "../store/store.js";
import { type ClientConfiguration, clientConfiguration, type IssuedCredentials } from "./client-config.js";
import { CredentialCache, reusable } from "./credential-cache.js";
import { resolveDurationSeconds } from "./duration.js";
import { KeyedMutex } from "./keyed-mutex.js";
import type { RequestMeta } from "./request-meta.js";
import { isValidTenant, prefixForTenant } from "./tenant.js";
import type { RequestLoaders } from "./request-loaders.js";
import type { AuditEventPageView, ConnectionPageView, ConnectionStatusView, CredentialExpiryView, TemporaryCredentialsView } from "./views.js";

const MAX_PAGE_SIZE = 100;

function pageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`first must be a whole number from 1 to ${MAX_PAGE_SIZE}.`, "first");
  }
  return first;
}

export interface BrokerDependencies {
  config: BrokerConfig;
  store: Store;
  pool: DataPlatformPool;
  exchange: IdentityExchange;
  directory: ApplicationDirectory;
  now?: () => number;
}

/** The end user a request acts on: the caller, or (administrators only) the user named by `userId`. */
export interface Subject {
  userId: string;
  /** The caller's own tenant claim, when acting on themselves; looked up in Pool A otherwise. */
  tenantFromToken: string | null;
}

/**
 * The broker's domain: provisioning, issuance, refresh and status. Resolvers call it; it calls
 * the Cognito service layer and the store, and turns upstream failures into the broker's errors.
 */
export class BrokerService {
  private readonly userLocks = new KeyedMutex();
  private readonly now: () => number;
  private readonly cache: CredentialCache;

  constructor(private readonly deps: BrokerDependencies) {
    this.now = deps.now ?? Date.now;
    this.cache = new CredentialCache(this.now);
  }

  // ---- queries --------------------------------------------------------------------------------

  async connectionStatus(principal: Principal, userId: string | null | undefined, loaders: RequestLoaders): Promise<ConnectionStatusView> {
    const subject = this.subjectFor(principal, userId);
    return this.statusView(subject, await loaders.connection.load(subject.userId));
  }

  async credentialExpiry(principal: Principal, userId: string | null | undefined, loaders: RequestLoaders): Promise<CredentialExpiryView | null> {
    const subject = this.subjectFor(principal, userId);
    const last = await loaders.lastIssuance.load(subject.userId);
    if (!last) return null;
    const secondsRemaining = Math.max(0, Math.floor((last.expiresAt.getTime() - this.now()) / 1000));
    return { expiresAt: last.expiresAt, secondsRemaining, expired: secondsRemaining === 0, flow: last.flow };
  }

  /** Administrators: every connection, a page at a time (cursor: the last user id seen). */
  async connections(principal: Principal, args: { first: number; after?: string | null; tenant?: string | null }): Promise<ConnectionPageView> {
    if (!principal.isAdmin) throw new ForbiddenError("Only administrators may list connections.");
    const first = pageSize(args.first);
    const page = await this.deps.store.listConnections({ first, after: args.after ?? null, tenant: args.tenant ?? null });
    const nodes = page.items.map((c) => this.statusView({ userId: c.userId, tenantFromToken: null }, c));
    return { nodes, hasNextPage: page.hasNextPage, endCursor: nodes.at(-1)?.userId ?? null };
  }

  /** A user's audit trail, newest first: administrators for anyone, users for themselves. */
  async auditEvents(principal: Principal, args: { userId?: string | null; first: number; after?: string | null }): Promise<AuditEventPageView> {
    const subject = this.subjectFor(principal, args.userId);
    const after = args.after === null || args.after === undefined ? null : Number(args.after);
    if (after !== null && !Number.isSafeInteger(after)) throw new BadUserInputError("after must be a cursor returned by auditEvents.", "after");
    const page = await this.deps.store.auditEventsPage(subject.userId, { first: pageSize(args.first), after });
    const nodes = page.items.map((e) => ({
      id: String(e.id),
      at: e.at,
      actorUserId: e.actorUserId,
      subjectUserId: e.subjectUserId,
      action: e.action,
      outcome: e.outcome,
      requestId: e.requestId,
      flow: e.flow ?? null,
      durationSeconds: e.durationSeconds ?? null,
      errorCode: e.errorCode ?? null,
      clientKeyId: e.clientKeyId ?? null,
    }));
    return { nodes, hasNextPage: page.hasNextPage, endCursor: nodes.at(-1)?.id ?? null };
  }

  // ---- mutations ------------------------------------------------------------------------------

  /**
   * Idempotent and crash-safe: every step either finds what an earlier (possibly interrupted)
   * run made or makes it, so running it again converges to one data platform user and one row.
   */
  async provision(principal: Principal, userId: string | null | undefined, meta: RequestMeta): Promise<ConnectionStatusView> {
    const subject = this.subjectFor(principal, userId);
    return this.audited("PROVISION", principal, subject, meta, {}, () =>
      this.withUserLock(subject.userId, async () => {
        const tenant = await this.tenantOf(subject);
        const existing = await this.deps.store.getConnection(subject.userId);
        if (existing?.state === "ACTIVE" && existing.identityId && existing.tenant === tenant) {
          return this.statusView(subject, existing);
        }
        if (existing?.state === "REVOKED") {
          // Reinstating undoes a security decision: administrators only.
          if (!principal.isAdmin) throw new ForbiddenError("This user's data platform access was revoked; an administrator can reinstate it.");
          await this.upstream(() => this.deps.pool.enableUser(existing.poolBUsername));
        }
        const username = existing?.poolBUsername ?? this.poolBUsernameFor(subject.userId);
        const connection = await this.deps.store.createConnection({ userId: subject.userId, tenant, poolBUsername: username });
        const created = await this.upstream(() => this.deps.pool.createUser(username, tenant));
        if (!created) await this.upstream(() => this.deps.pool.setTenant(username, tenant));
        const tokens = await this.signIn(connection);
        const identityId = connection.identityId ?? (await this.upstream(() => this.deps.exchange.getIdentityId(tokens.idToken)));
        await this.deps.store.updateConnection(subject.userId, { tenant, identityId, tokens, state: "ACTIVE" });
        meta.log.info({ event: "provisioned", subjectUserId: subject.userId, newPoolBUser: created }, "data platform user provisioned");
        return this.statusView(subject, await this.deps.store.getConnection(subject.userId));
      }),
    );
  }

  async issueCredentials(
    principal: Principal,
    args: { flow: CredentialFlow; durationSeconds?: number | null; userId?: string | null },
    meta: RequestMeta,
  ): Promise<TemporaryCredentialsView> {
    const subject = this.subjectFor(principal, args.userId);
    const durationSeconds = resolveDurationSeconds(args.flow, args.durationSeconds, this.deps.config.classicRole.maxSessionSeconds);
    return this.audited("ISSUE", principal, subject, meta, { flow: args.flow, durationSeconds }, () =>
      this.credentialsFor(subject.userId, args.flow, durationSeconds, meta),
    );
  }

  /**
   * Credentials for a provisioned user: reused from the cache while they have comfortably more
   * than the SDKs' refresh window left, otherwise issued (once, however many requests wait).
   * `onIssued` runs only when AWS was really called. Shared by the GraphQL API and client keys.
   */
  async credentialsFor(
    userId: string,
    flow: CredentialFlow,
    durationSeconds: number,
    meta: RequestMeta,
    onIssued: () => Promise<void> = async () => undefined,
  ): Promise<TemporaryCredentialsView> {
    const connection = await this.requireProvisioned(userId);
    const prefix = prefixForTenant(this.deps.config.s3.prefixTemplate, connection.tenant);
    const issue = () =>
      this.withUserLock(userId, async () => {
        // Another replica may have issued while this one waited for the lock: reuse what it stored.
        const shared = connection.state === "ACTIVE" ? await this.deps.store.getCachedCredentials(userId, flow, durationSeconds) : null;
        if (shared && reusable(shared, this.now())) return shared;
        const issued = await this.issueUpstream(connection, flow, durationSeconds, prefix, meta);
        await onIssued();
        if (connection.state === "ACTIVE") await this.deps.store.putCachedCredentials(userId, flow, durationSeconds, issued);
        return issued;
      });
    // A DISABLED connection must ask Cognito again every time, so it never takes from a cache.
    const credentials =
      connection.state === "ACTIVE"
        ? (await this.cache.getOrIssue(CredentialCache.keyFor(userId, flow, durationSeconds), issue)).credentials
        : await issue();
    return this.credentialsView(credentials, flow, durationSeconds, connection.identityId!, prefix);
  }

  private async issueUpstream(
    connection: Connection,
    flow: CredentialFlow,
    durationSeconds: number,
    prefix: string,
    meta: RequestMeta,
  ): Promise<IssuedCredentials> {
    const { config } = this.deps;
    const identityId = connection.identityId!;
    const idToken = await this.freshIdToken(connection.userId);
    const credentials = await this.upstream(() =>
        flow === "ENHANCED"
          ? this.deps.exchange.enhancedCredentials(identityId, idToken)
          : this.deps.exchange.classicCredentials({
              identityId,
              idToken,
              roleArn: config.classicRole.arn,
              durationSeconds,
              sessionName: connection.poolBUsername,
              sessionPolicy: JSON.stringify(tenantSessionPolicy(config.s3.bucket, prefix)),
            }),
    );
    await this.deps.store.recordIssuance({
      userId: connection.userId,
      flow,
      durationSeconds,
      issuedAt: new Date(this.now()),
      expiresAt: credentials.expiration,
      requestId: meta.requestId,
    });
    return credentials;
  }

  /**
   * Revocation: disables the Pool B user, signs it out everywhere, revokes every client key,
   * forgets cached credentials and marks the connection REVOKED. Credentials already issued stay
   * valid until they expire: STS cannot recall them.
   */
  async revokeDataPlatformUser(principal: Principal, userId: string | null | undefined, meta: RequestMeta): Promise<ConnectionStatusView> {
    const subject = this.subjectFor(principal, userId);
    return this.audited("REVOKE_DATA_PLATFORM_USER", principal, subject, meta, {}, () =>
      this.withUserLock(subject.userId, async () => {
        const connection = await this.deps.store.getConnection(subject.userId);
        if (!connection) throw new NotProvisionedError();
        try {
          await this.deps.pool.disableUser(connection.poolBUsername);
          await this.deps.pool.globalSignOut(connection.poolBUsername);
        } catch (error) {
          // Already gone from Pool B is as revoked as it gets.
          if (!(error instanceof UpstreamError && error.reason === "USER_NOT_FOUND")) throw this.toBrokerError(error);
        }
        const at = new Date(this.now());
        const keys = await this.deps.store.revokeClientKeysOf(subject.userId, at);
        await this.deps.store.updateConnection(subject.userId, { state: "REVOKED", tokens: null });
        await this.deps.store.forgetCachedCredentials(subject.userId);
        this.cache.forgetUser(subject.userId);
        meta.log.info({ event: "data_platform_user_revoked", subjectUserId: subject.userId, clientKeysRevoked: keys }, "data platform user revoked");
        return this.statusView(subject, await this.deps.store.getConnection(subject.userId));
      }),
    );
  }

  async refreshTokens(principal: Principal, userId: string | null | undefined, meta: RequestMeta): Promise<ConnectionStatusView> {
    const subject = this.subjectFor(principal, userId);
    return this.audited("REFRESH", principal, subject, meta, {}, async () => {
      await this.requireProvisioned(subject.userId);
      await this.withUserLock(subject.userId, () => this.freshIdToken(subject.userId, { force: true }));
      return this.statusView(subject, await this.deps.store.getConnection(subject.userId));
    });
  }

  /**
   * Serialises work on one user: within this process (KeyedMutex) and across processes sharing
   * the store (its lock; an advisory lock on PostgreSQL), so that a storm neither multiplies
   * upstream calls nor writes conflicting token rows.
   */
  private withUserLock<T>(userId: string, task: () => Promise<T>): Promise<T> {
    return this.userLocks.run(userId, () => this.deps.store.withUserLock(userId, task));
  }

  // ---- tokens ---------------------------------------------------------------------------------

  /**
   * A Pool B ID token valid for at least the safety margin: the stored one, else a refresh, else
   * (refresh token expired, revoked or refused) a fresh administrator sign-in. Call under the user lock.
   */
  private async freshIdToken(userId: string, options: { force?: boolean } = {}): Promise<string> {
    const connection = (await this.deps.store.getConnection(userId))!;
    const marginMs = this.deps.config.tokenSafetyMarginSeconds * 1000;
    const stored = await this.deps.store.getPoolBTokens(userId);
    // A DISABLED connection never uses its stored token: Cognito must say the user is enabled again.
    if (!options.force && connection.state === "ACTIVE" && stored && stored.idTokenExpiresAt.getTime() - this.now() > marginMs) {
      return stored.idToken;
    }
    let tokens: PoolBTokens | null = null;
    if (stored && stored.refreshTokenExpiresAt.getTime() > this.now()) {
      try {
        const fresh = await this.deps.pool.refresh(connection.poolBUsername, stored.refreshToken);
        tokens = { ...stored, ...fresh };
      } catch (error) {
        if (!(error instanceof UpstreamError) || error.retryable) throw this.toBrokerError(error);
        // Refused (revoked by a global sign-out, expired early, user changed): sign in afresh below.
      }
    }
    tokens ??= await this.signIn(connection);
    await this.deps.store.updateConnection(userId, { tokens, state: "ACTIVE" });
    return tokens.idToken;
  }

  /** Administrator sign-in with a new random password; a disabled user marks the connection DISABLED. */
  private async signIn(connection: Connection): Promise<PoolBTokens> {
    try {
      return await this.deps.pool.signInWithNewPassword(connection.poolBUsername);
    } catch (error) {
      if (error instanceof UpstreamError && error.reason === "USER_DISABLED") {
        await this.deps.store.updateConnection(connection.userId, { state: "DISABLED" });
      }
      if (error instanceof UpstreamError && error.reason === "USER_NOT_FOUND" && connection.state !== "PROVISIONING") {
        // Deleted from Pool B behind the broker's back: provisioning again recreates it.
        await this.deps.store.updateConnection(connection.userId, { state: "PROVISIONING", tokens: null });
        throw new NotProvisionedError("The data platform user no longer exists; call provisionDataPlatformUser to create it again.");
      }
      throw this.toBrokerError(error);
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** Object-level authorisation: only administrators may name another user. */
  subjectFor(principal: Principal, userId: string | null | undefined): Subject {
    if (userId === null || userId === undefined || userId === principal.userId) {
      return { userId: principal.userId, tenantFromToken: principal.tenant };
    }
    if (!principal.isAdmin) throw new ForbiddenError();
    if (userId.length === 0 || userId.length > 128) throw new BadUserInputError("userId must be a Pool A user's sub.", "userId");
    return { userId, tenantFromToken: null };
  }

  private async tenantOf(subject: Subject): Promise<string> {
    let tenant = subject.tenantFromToken;
    if (tenant === null) {
      const user = await this.upstream(() => this.deps.directory.findBySub(subject.userId));
      if (!user) throw new BadUserInputError("No user with that userId exists in the application's user pool.", "userId");
      tenant = user.attributes[this.deps.config.poolA.tenantClaim] || user.sub;
    }
    if (!isValidTenant(tenant)) {
      throw new ForbiddenError("This user's tenant value cannot name an S3 prefix safely (letters, digits, '-' and '_' only, at most 64); ask an administrator to correct it.");
    }
    return tenant;
  }

  /** Deterministic, so a retried or concurrent provisioning finds the same Pool B user. */
  private poolBUsernameFor(userId: string): string {
    const digest = createHash("sha256").update(`${this.deps.config.poolA.userPoolId}|${userId}`).digest("hex");
    return `dp-${digest.slice(0, 40)}`;
  }

  /** A connection that may obtain credentials: provisioned and not revoked. */
  async requireProvisioned(userId: string): Promise<Connection> {
    const connection = await this.deps.store.getConnection(userId);
    if (!connection || connection.state === "PROVISIONING" || !connection.identityId) throw new NotProvisionedError();
    if (connection.state === "REVOKED") throw new ForbiddenError("This user's data platform access was revoked.");
    return connection;
  }

  private async upstream<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.toBrokerError(error);
    }
  }

  /** The one place where upstream failures become the broker's errors; the message is always ours. */
  private toBrokerError(error: unknown): unknown {
    if (!(error instanceof UpstreamError)) return error;
    return this.brokerErrorFor(error).causedBy(error);
  }

  private brokerErrorFor(error: UpstreamError): BrokerError {
    switch (error.reason) {
      case "UNAVAILABLE":
        return new UpstreamUnavailableError();
      case "USER_DISABLED":
        return new UpstreamRejectedError("The data platform user is disabled.");
      case "DURATION_TOO_LONG":
        return new UpstreamRejectedError("AWS refused the requested duration: it exceeds the role's maximum session duration.");
      case "NOT_AUTHORIZED":
        return new UpstreamRejectedError("Cognito refused to authenticate the data platform user.");
      case "USER_NOT_FOUND":
        return new UpstreamRejectedError("The data platform user does not exist in Cognito.");
      default:
        return new UpstreamRejectedError(`AWS refused the ${error.operation} request.`);
    }
  }

  /** Runs a mutation and writes one audit event for it, success or failure (never secrets). */
  async audited<T>(
    action: AuditAction,
    principal: Principal,
    subject: Subject,
    meta: RequestMeta,
    details: { flow?: CredentialFlow; durationSeconds?: number; clientKeyId?: string },
    run: () => Promise<T>,
  ): Promise<T> {
    const base = { actorUserId: principal.userId, subjectUserId: subject.userId, action, requestId: meta.requestId, ...details };
    try {
      const result = await run();
      await this.deps.store.appendAudit({ ...base, at: new Date(this.now()), outcome: "SUCCESS" });
      return result;
    } catch (error) {
      const brokerError = this.toBrokerError(error);
      const code = brokerError instanceof BrokerError ? brokerError.code : "INTERNAL_SERVER_ERROR";
      const upstream = error instanceof UpstreamError ? error : brokerError instanceof BrokerError ? brokerError.cause : undefined;
      if (upstream instanceof UpstreamError) {
        // The AWS error name and status only: AWS's message can carry identifiers.
        meta.log.warn({ event: "upstream_error", operation: upstream.operation, awsError: upstream.awsErrorName, httpStatus: upstream.httpStatus, code }, "AWS call failed");
      }
      await this.deps.store
        .appendAudit({ ...base, at: new Date(this.now()), outcome: "FAILURE", errorCode: code })
        .catch((auditError: unknown) => meta.log.error({ event: "audit_write_failed", err: auditError }, "could not write audit event"));
      throw brokerError instanceof BrokerError ? brokerError : error instanceof Error ? error : new InternalError();
    }
  }

  /** The last credentials' flow and expiry are field resolvers (batched), not part of this view. */
  private statusView(subject: Subject, connection: Connection | null): ConnectionStatusView {
    const { config } = this.deps;
    const tenant = connection?.tenant ?? (subject.tenantFromToken && isValidTenant(subject.tenantFromToken) ? subject.tenantFromToken : null);
    const state = connection?.state ?? "NOT_PROVISIONED";
    return {
      userId: subject.userId,
      provisioned: state === "ACTIVE" || state === "DISABLED" || state === "REVOKED",
      state,
      identityId: connection?.identityId ?? null,
      tenant,
      bucket: config.s3.bucket,
      prefix: tenant ? prefixForTenant(config.s3.prefixTemplate, tenant) : null,
      idTokenExpiresAt: connection?.tokenExpiry?.idTokenExpiresAt ?? null,
      refreshTokenExpiresAt: connection?.tokenExpiry?.refreshTokenExpiresAt ?? null,
    };
  }

  private credentialsView(
    credentials: IssuedCredentials,
    flow: CredentialFlow,
    durationSeconds: number,
    identityId: string,
    prefix: string,
  ): TemporaryCredentialsView {
    const { config } = this.deps;
    let snippets: ClientConfiguration | undefined;
    return {
      ...credentials,
      durationSeconds,
      flow,
      region: config.aws.region,
      bucket: config.s3.bucket,
      prefix,
      s3Uri: `s3://${config.s3.bucket}/${prefix}`,
      identityId,
      // Built only when a client asks for it: most callers select the keys alone.
      get clientConfiguration() {
        return (snippets ??= clientConfiguration(credentials, config.aws.region));
      },
    };
  }
}
