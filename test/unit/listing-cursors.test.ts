import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ListingCursors } from "../../src/broker/objects/listing-cursors.js";
import { BadUserInputError } from "../../src/errors.js";

const cursors = new ListingCursors(randomBytes(32));
const listing = { reach: "tenants/acme/readings/", byFolder: false };

describe("listing cursors", () => {
  it("carry S3's continuation token back for the same listing, and are opaque", () => {
    const cursor = cursors.seal(listing, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    expect(cursor).not.toContain("1ueGcxLPRx1Tr");
    expect(cursors.open(cursor, listing)).toBe("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  });

  it("refuse, as the caller's bad input, junk, a cursor of another prefix, tenant or kind of listing, one changed by a byte, and another key's", () => {
    const cursor = cursors.seal(listing, "token");
    const [payload, signature] = cursor.split(".") as [string, string];
    const otherTenants = cursors.seal({ ...listing, reach: "tenants/globex/readings/" }, "token");
    const forged = `${Buffer.from(JSON.stringify({ r: listing.reach, f: false, t: "other" })).toString("base64url")}.${signature}`;
    for (const bad of ["junk", "", ".", `${payload}.`, `${payload}.${signature}.x`, otherTenants, forged, new ListingCursors(randomBytes(32)).seal(listing, "token"), `${payload.slice(0, -1)}A.${signature}`]) {
      expect(() => cursors.open(bad, listing), bad).toThrow(BadUserInputError);
    }
    expect(() => cursors.open(cursor, { ...listing, reach: "tenants/acme/" })).toThrow(/not a cursor this listing gave out/);
    // S3's token of a flat listing does not continue a listing by folder, nor the other way round.
    expect(() => cursors.open(cursor, { ...listing, byFolder: true })).toThrow(BadUserInputError);
  });
});
