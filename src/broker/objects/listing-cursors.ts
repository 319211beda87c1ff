import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { BadUserInputError } from "../../errors.js";

/**
 * The `objects` listing's cursors: S3's continuation token, bound to the exact listing it continues
 * (the bucket key prefix: tenant root and prefix, and whether it lists by folder) and signed, so a cursor is opaque to clients, cannot
 * be carried to another prefix or tenant, and a made-up one is the caller's error (BAD_USER_INPUT),
 * never sent to S3 to come back as an outage or "AWS refused". The key is derived from the active
 * TOKEN_ENCRYPTION_KEY, so every replica accepts every replica's cursors; a key rotation ends the
 * cursors given out before it (a listing starts again from its first page).
 */
/** What a cursor continues: the bucket key prefix listed, and whether by folder (S3's tokens differ). */
export interface Listing {
  reach: string;
  byFolder: boolean;
}

export class ListingCursors {
  private readonly key: Buffer;

  constructor(secret: Buffer) {
    this.key = Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), "s3-broker listing cursors v1", 32));
  }

  seal(listing: Listing, continuationToken: string): string {
    const payload = Buffer.from(JSON.stringify({ r: listing.reach, f: listing.byFolder, t: continuationToken })).toString("base64url");
    return `${payload}.${this.sign(payload)}`;
  }

  /** The continuation token a cursor carries for this very listing, or BAD_USER_INPUT. */
  open(cursor: string, listing: Listing): string {
    const refuse = () => new BadUserInputError("after is not a cursor this listing gave out: pass the endCursor of the previous page of the same prefix.", "after");
    const [payload, signature, extra] = cursor.split(".");
    if (!payload || !signature || extra !== undefined) throw refuse();
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw refuse();
    const parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { r?: unknown; f?: unknown; t?: unknown };
    if (parsed.r !== listing.reach || parsed.f !== listing.byFolder || typeof parsed.t !== "string" || parsed.t === "") throw refuse();
    return parsed.t;
  }

  private sign(payload: string): string {
    return createHmac("sha256", this.key).update(payload).digest("base64url");
  }
}
