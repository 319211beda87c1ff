import { create as attachmentDisposition } from "content-disposition";
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
/** Objects presigned in one request: a page of a file list, well under the work of one listing. */
export const MAX_BATCH = 100;

export interface UploadRequest {
  key: string;
  maxBytes: number;
  contentType?: string | null | undefined;
}

/** What every presigning request may say: how long its URLs last, and for whom (administrators, partners). */
export interface SigningOptions {
  expiresInSeconds?: number | null;
  userId?: string | null;
}

export interface DownloadOptions extends SigningOptions {
  /** S3 answers with Content-Disposition: attachment and the object's name. */
  attachment?: boolean | null;
}

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
  /** Listed by folder: the subfolders directly under the prefix (keys relative to the tenant's root, ending in "/"). */
  folders: string[];
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

  async download(principal: Principal, args: DownloadOptions & { key: string }, meta: RequestMeta): Promise<PresignedDownloadView> {
    const [one] = await this.signDownloads(principal, [objectKey(args.key)], args, meta);
    return one!;
  }

  /**
   * Download URLs for several objects with one issuance (see `batchTarget`): each URL still signs
   * its one object; the credentials behind them never leave the broker.
   */
  async downloads(principal: Principal, args: DownloadOptions & { keys: string[] }, meta: RequestMeta): Promise<PresignedDownloadView[]> {
    return this.signDownloads(principal, batchOf(args.keys.map((key, i) => objectKey(key, `keys[${i}]`)), "keys"), args, meta);
  }

  async upload(principal: Principal, args: UploadRequest & SigningOptions, meta: RequestMeta): Promise<PresignedUploadView> {
    const [one] = await this.signUploads(principal, [{ ...args, key: objectKey(args.key) }], args, meta);
    return one!;
  }

  /** Upload forms for several keys with one issuance (see `batchTarget`): each form admits exactly its key and size. */
  async uploads(principal: Principal, args: { files: UploadRequest[] } & SigningOptions, meta: RequestMeta): Promise<PresignedUploadView[]> {
    const files = args.files.map((file, i) => ({ ...file, key: objectKey(file.key, `files[${i}].key`) }));
    batchOf(files.map((file) => file.key), "files");
    return this.signUploads(principal, files, args, meta);
  }

  /** `keys`: checked object keys. */
  private async signDownloads(principal: Principal, keys: string[], args: DownloadOptions, meta: RequestMeta): Promise<PresignedDownloadView[]> {
    const { credentials, root, expiresIn, expiresAt } = await this.signingFor(principal, keys, "READ", args, meta);
    // A browser saves an attachment under its name instead of opening it in place of the page.
    const disposition = (key: string) => (args.attachment ? attachmentDisposition(key.slice(key.lastIndexOf("/") + 1)) : undefined);
    const urls = await this.deps.s3.presignDownloads(credentials, keys.map((key) => ({ key: `${root}${key}`, contentDisposition: disposition(key) })), expiresIn);
    return keys.map((key, i) => ({ key, url: urls[i]!, expiresAt }));
  }

  /** `files`: with checked object keys. */
  private async signUploads(principal: Principal, files: UploadRequest[], args: SigningOptions, meta: RequestMeta): Promise<PresignedUploadView[]> {
    for (const file of files) {
      if (!Number.isInteger(file.maxBytes) || file.maxBytes < 1 || file.maxBytes > MAX_UPLOAD_BYTES) {
        throw new BadUserInputError(`maxBytes must be a whole number from 1 to ${MAX_UPLOAD_BYTES} (5 GiB, S3's limit for one upload).`, "maxBytes");
      }
      if (file.contentType !== null && file.contentType !== undefined && !/^[\w.+-]+\/[\w.+-]+$/.test(file.contentType)) {
        throw new BadUserInputError("contentType must be a MIME type such as text/csv.", "contentType");
      }
    }
    const { credentials, root, expiresIn, expiresAt } = await this.signingFor(principal, files.map((file) => file.key), "WRITE", args, meta);
    const posts = await this.deps.s3.presignUploads(credentials, files.map((file) => ({ key: `${root}${file.key}`, maxBytes: file.maxBytes, contentType: file.contentType ?? undefined })), expiresIn);
    return files.map((file, i) => ({ key: file.key, url: posts[i]!.url, fields: posts[i]!.fields, maxBytes: file.maxBytes, expiresAt }));
  }

  /** The one issuance behind a batch (scoped to `batchTarget`), the tenant's root in the bucket, and how long its URLs may last. */
  private async signingFor(principal: Principal, keys: string[], permission: "READ" | "WRITE", args: SigningOptions, meta: RequestMeta) {
    const seconds = urlSeconds(args.expiresInSeconds);
    const target = batchTarget(keys);
    const credentials = await this.credentials(principal, target, permission, args.userId, meta);
    const expiresIn = this.boundedBy(credentials.expiration, seconds);
    return { credentials, root: rootOf(credentials.scope.reach, target), expiresIn, expiresAt: new Date(this.deps.now() + expiresIn * 1000) };
  }

  async list(
    principal: Principal,
    args: { prefix: string; first: number; after?: string | null; byFolder?: boolean | null; userId?: string | null },
    meta: RequestMeta,
  ): Promise<ObjectPageView> {
    const prefix = parseLocation(args.prefix, "prefix");
    if (prefix !== "" && !prefix.endsWith("/")) throw new BadUserInputError('prefix must be "" or end with "/".', "prefix");
    if (!Number.isInteger(args.first) || args.first < 1 || args.first > MAX_PAGE) throw new BadUserInputError(`first must be a whole number from 1 to ${MAX_PAGE}.`, "first");
    const credentials = await this.credentials(principal, prefix, "READ", args.userId, meta);
    const root = rootOf(credentials.scope.reach, prefix);
    const listing = { reach: credentials.scope.reach, byFolder: args.byFolder === true };
    const after = args.after ? this.deps.cursors.open(args.after, listing) : null;
    const page = await upstream(() => this.deps.s3.list(credentials, listing.reach, { first: args.first, after, byFolder: listing.byFolder }));
    return {
      // Keys relative to the tenant's root, as every location is.
      objects: page.objects.map((o) => ({ ...o, key: o.key.slice(root.length) })),
      folders: page.folders.map((folder) => folder.slice(root.length)),
      hasNextPage: page.nextToken !== null,
      endCursor: page.nextToken === null ? null : this.deps.cursors.seal(listing, page.nextToken),
    };
  }

  private credentials(principal: Principal, target: string, permission: "READ" | "WRITE", userId: string | null | undefined, meta: RequestMeta) {
    return this.deps.issuance.issue(principal, { flow: "CLASSIC", durationSeconds: BACKING_SECONDS, scope: { target, permission }, userId }, meta);
  }

  private boundedBy(expiration: Date, seconds: number): number {
    return Math.max(1, Math.min(seconds, Math.floor((expiration.getTime() - this.deps.now() - EXPIRY_SLACK_MS) / 1000)));
  }
}

/** `field` names the key's place in a batch ("keys[2]", "files[2].key"), so a caller can tell which one is refused. */
function objectKey(raw: string, field = "key"): string {
  const key = parseLocation(raw, field);
  if (key === "" || key.endsWith("/")) throw new BadUserInputError(`${field} must name one object (not a prefix).`, field);
  return key;
}

/** 1 to MAX_BATCH distinct keys, in the order given. */
function batchOf(keys: string[], field: string): string[] {
  if (keys.length < 1 || keys.length > MAX_BATCH) throw new BadUserInputError(`${field} must name 1 to ${MAX_BATCH} objects.`, field);
  if (new Set(keys).size !== keys.length) throw new BadUserInputError(`${field} names an object twice.`, field);
  return keys;
}

/**
 * What one issuance for a batch reaches: the object itself for one key, else the deepest folder
 * holding them all (so a page of one folder costs one issuance, not one per file against the
 * identity pool's account-wide quota). The grants decide it like any scope: keys spread over
 * folders no single grant covers are refused (NO_GRANT), and are presigned in separate requests.
 */
export function batchTarget(keys: string[]): string {
  if (keys.length === 1) return keys[0]!;
  let common = keys[0]!;
  for (const key of keys) while (!key.startsWith(common)) common = common.slice(0, -1);
  return common.slice(0, common.lastIndexOf("/") + 1);
}

/** The tenant's root in the bucket, from the full key prefix a scope reaches and its target. */
const rootOf = (reach: string, target: string) => reach.slice(0, reach.length - target.length);

function urlSeconds(requested: number | null | undefined): number {
  const seconds = requested ?? DEFAULT_URL_SECONDS;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_URL_SECONDS) {
    throw new BadUserInputError(`expiresInSeconds must be a whole number from 1 to ${MAX_URL_SECONDS}.`, "expiresInSeconds");
  }
  return seconds;
}
