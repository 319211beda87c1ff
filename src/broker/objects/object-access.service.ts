import type { Principal } from "../../auth/principal.js";
import type { UserS3 } from "../../cognito/user-s3.js";
import { BadUserInputError } from "../../errors.js";
import type { IssuanceService } from "../credentials/issuance.service.js";
import type { RequestMeta } from "../request-meta.js";
import type { ListingCursors } from "./listing-cursors.js";
import { upstream } from "../upstream-errors.js";
import { parseLocation } from "../grants/location.js";

/** Credentials behind presigned URLs last an hour, so that cached ones (reused with 20+ minutes left) still cover any URL. */
const BACKING_SECONDS = 3600;
const MAX_URL_SECONDS = 3600;
const DEFAULT_URL_SECONDS = 900;
/** A URL never outlives its credentials: AWS refuses it once they expire, whatever it says. */
const EXPIRY_SLACK_MS = 60_000;
const MAX_UPLOAD_BYTES = 5 * 1024 ** 3;
const MAX_PAGE = 1000;

export interface PresignedDownloadView {
  key: string;
  url: string;
  expiresAt: Date;
}

export interface PresignedUploadView {
  key: string;
  url: string;
  fields: Record<string, string>;
  maxBytes: number;
  expiresAt: Date;
}

export interface ObjectPageView {
  objects: Array<{ key: string; size: number; lastModified: Date }>;
  hasNextPage: boolean;
  endCursor: string | null;
}

/**
 * For browsers and clients without an SDK: presigned downloads and uploads and a paged listing,
 * each made with the user's own credentials scoped to exactly that object or prefix (issued, and
 * decided against the grants, like any other issuance). The broker holds no S3 permission.
 */
export class ObjectAccessService {
  constructor(private readonly deps: { issuance: IssuanceService; s3: UserS3; cursors: ListingCursors; now: () => number }) {}

  async download(principal: Principal, args: { key: string; expiresInSeconds?: number | null; userId?: string | null }, meta: RequestMeta): Promise<PresignedDownloadView> {
    const key = objectKey(args.key);
    const seconds = urlSeconds(args.expiresInSeconds);
    const credentials = await this.credentials(principal, key, "READ", args.userId, meta);
    const expiresIn = this.boundedBy(credentials.expiration, seconds);
    const url = await this.deps.s3.presignDownload(credentials, credentials.scope.reach, expiresIn);
    return { key, url, expiresAt: new Date(this.deps.now() + expiresIn * 1000) };
  }

  async upload(
    principal: Principal,
    args: { key: string; maxBytes: number; contentType?: string | null; expiresInSeconds?: number | null; userId?: string | null },
    meta: RequestMeta,
  ): Promise<PresignedUploadView> {
    const key = objectKey(args.key);
    if (!Number.isInteger(args.maxBytes) || args.maxBytes < 1 || args.maxBytes > MAX_UPLOAD_BYTES) {
      throw new BadUserInputError(`maxBytes must be a whole number from 1 to ${MAX_UPLOAD_BYTES} (5 GiB, S3's limit for one upload).`, "maxBytes");
    }
    if (args.contentType !== null && args.contentType !== undefined && !/^[\w.+-]+\/[\w.+-]+$/.test(args.contentType)) {
      throw new BadUserInputError("contentType must be a MIME type such as text/csv.", "contentType");
    }
    const seconds = urlSeconds(args.expiresInSeconds);
    const credentials = await this.credentials(principal, key, "WRITE", args.userId, meta);
    const expiresIn = this.boundedBy(credentials.expiration, seconds);
    const post = await this.deps.s3.presignUpload(credentials, credentials.scope.reach, { maxBytes: args.maxBytes, contentType: args.contentType ?? undefined, expiresInSeconds: expiresIn });
    return { key, url: post.url, fields: post.fields, maxBytes: args.maxBytes, expiresAt: new Date(this.deps.now() + expiresIn * 1000) };
  }

  async list(principal: Principal, args: { prefix: string; first: number; after?: string | null; userId?: string | null }, meta: RequestMeta): Promise<ObjectPageView> {
    const prefix = parseLocation(args.prefix, "prefix");
    if (prefix !== "" && !prefix.endsWith("/")) throw new BadUserInputError('prefix must be "" or end with "/".', "prefix");
    if (!Number.isInteger(args.first) || args.first < 1 || args.first > MAX_PAGE) throw new BadUserInputError(`first must be a whole number from 1 to ${MAX_PAGE}.`, "first");
    const credentials = await this.credentials(principal, prefix, "READ", args.userId, meta);
    const root = credentials.scope.reach.slice(0, credentials.scope.reach.length - prefix.length);
    const reach = credentials.scope.reach;
    const after = args.after ? this.deps.cursors.open(args.after, reach) : null;
    const page = await upstream(() => this.deps.s3.list(credentials, reach, { first: args.first, after }));
    return {
      // Keys relative to the tenant's root, as every location is.
      objects: page.objects.map((o) => ({ ...o, key: o.key.slice(root.length) })),
      hasNextPage: page.nextToken !== null,
      endCursor: page.nextToken === null ? null : this.deps.cursors.seal(reach, page.nextToken),
    };
  }

  private credentials(principal: Principal, target: string, permission: "READ" | "WRITE", userId: string | null | undefined, meta: RequestMeta) {
    return this.deps.issuance.issue(principal, { flow: "CLASSIC", durationSeconds: BACKING_SECONDS, scope: { target, permission }, userId }, meta);
  }

  private boundedBy(expiration: Date, seconds: number): number {
    return Math.max(1, Math.min(seconds, Math.floor((expiration.getTime() - this.deps.now() - EXPIRY_SLACK_MS) / 1000)));
  }
}

function objectKey(raw: string): string {
  const key = parseLocation(raw, "key");
  if (key === "" || key.endsWith("/")) throw new BadUserInputError("key must name one object (not a prefix).", "key");
  return key;
}

function urlSeconds(requested: number | null | undefined): number {
  const seconds = requested ?? DEFAULT_URL_SECONDS;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_URL_SECONDS) {
    throw new BadUserInputError(`expiresInSeconds must be a whole number from 1 to ${MAX_URL_SECONDS}.`, "expiresInSeconds");
  }
  return seconds;
}
