import { ListObjectsV2Command, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { awsCall } from "./aws-errors.js";

export interface UserCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

export interface S3Settings {
  region: string;
  endpoint?: string | undefined;
  bucket: string;
  requestTimeoutMs: number;
}

/**
 * Where a browser sends the presigned requests this module makes: the emulator's origin (path-style
 * URLs) or the bucket's own virtual-hosted origin on AWS. The console's content security policy
 * allows it, and the bucket's CORS rule allows the console.
 */
export function browserS3Origin(settings: Pick<S3Settings, "region" | "endpoint" | "bucket">): string {
  return settings.endpoint ? new URL(settings.endpoint).origin : `https://${settings.bucket}.s3.${settings.region}.amazonaws.com`;
}

/**
 * S3 as the end user: everything here is signed with the user's own scoped temporary credentials
 * (the broker holds no S3 permission). Presigning is local; listing is one S3 call.
 */
export class UserS3 {
  constructor(
    private readonly settings: S3Settings,
    /** Puts each client's calls in the upstream budgets (listing is an S3 request every tenant's users share). */
    private readonly budgeted: (client: S3Client) => void = () => undefined,
  ) {}

  private client(credentials: UserCredentials): S3Client {
    const { region, endpoint, requestTimeoutMs } = this.settings;
    const client = new S3Client({
      region,
      credentials,
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
      requestHandler: { requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true },
    });
    this.budgeted(client);
    return client;
  }

  /**
   * GET URLs for objects, all signed with one client of the same credentials (presigning is local:
   * no request). `contentDisposition`: what S3 answers each GET with instead of the object's own
   * (signed into the URL).
   */
  async presignDownloads(credentials: UserCredentials, objects: Array<{ key: string; contentDisposition?: string | undefined }>, expiresInSeconds: number): Promise<string[]> {
    const s3 = this.client(credentials);
    try {
      return await Promise.all(
        objects.map(({ key, contentDisposition }) =>
          getSignedUrl(s3, new GetObjectCommand({ Bucket: this.settings.bucket, Key: key, ...(contentDisposition ? { ResponseContentDisposition: contentDisposition } : {}) }), {
            expiresIn: expiresInSeconds,
          }),
        ),
      );
    } finally {
      s3.destroy();
    }
  }

  /** Browser form uploads, each of exactly its `key`, at most its `maxBytes`, with an optional fixed content type; one client for all. */
  async presignUploads(credentials: UserCredentials, uploads: Array<{ key: string; maxBytes: number; contentType?: string | undefined }>, expiresInSeconds: number) {
    const s3 = this.client(credentials);
    try {
      return await Promise.all(
        uploads.map(({ key, maxBytes, contentType }) =>
          createPresignedPost(s3, {
            Bucket: this.settings.bucket,
            Key: key,
            Conditions: [["content-length-range", 0, maxBytes], ["eq", "$key", key], ...(contentType ? [["eq", "$Content-Type", contentType] as ["eq", string, string]] : [])],
            Fields: contentType ? { "Content-Type": contentType } : {},
            Expires: expiresInSeconds,
          }),
        ),
      );
    } finally {
      s3.destroy();
    }
  }

  /** A page of keys under `prefix`; with `byFolder`, one level only: its objects, and its subfolders (S3's common prefixes). */
  async list(credentials: UserCredentials, prefix: string, page: { first: number; after?: string | null | undefined; byFolder?: boolean }) {
    const s3 = this.client(credentials);
    try {
      const response = await awsCall("ListObjectsV2", () =>
        s3.send(
          new ListObjectsV2Command({
            Bucket: this.settings.bucket,
            Prefix: prefix,
            MaxKeys: page.first,
            ...(page.byFolder ? { Delimiter: "/" } : {}),
            ...(page.after ? { ContinuationToken: page.after } : {}),
          }),
        ),
      );
      return {
        objects: (response.Contents ?? []).map((o) => ({ key: o.Key ?? "", size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) })),
        folders: (response.CommonPrefixes ?? []).map((p) => p.Prefix ?? "").filter(Boolean),
        nextToken: response.IsTruncated ? (response.NextContinuationToken ?? null) : null,
      };
    } finally {
      s3.destroy();
    }
  }
}
