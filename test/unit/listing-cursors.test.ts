import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ListingCursors } from "../../src/broker/objects/listing-cursors.js";
import { BadUserInputError } from "../../src/errors.js";

const cursors = new ListingCursors(randomBytes(32));
const reach = "tenants/acme/readings/";

describe("listing cursors", () => {
  it("carry S3's continuation token back for the same listing, and are opaque", () => {
    const cursor = cursors.seal(reach, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    expect(cursor).not.toContain("1ueGcxLPRx1Tr");
    expect(cursors.open(cursor, reach)).toBe("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  });

  it("refuse, as the caller's bad input, junk, a cursor of another prefix or tenant, one changed by a byte, and another key's", () => {
    const cursor = cursors.seal(reach, "token");
    const [payload, signature] = cursor.split(".") as [string, string];
    const otherTenants = cursors.seal("tenants/globex/readings/", "token");
    const forged = `${Buffer.from(JSON.stringify({ r: reach, t: "other" })).toString("base64url")}.${signature}`;
    for (const bad of ["junk", "", ".", `${payload}.`, `${payload}.${signature}.x`, otherTenants, forged, new ListingCursors(randomBytes(32)).seal(reach, "token"), `${payload.slice(0, -1)}A.${signature}`]) {
      expect(() => cursors.open(bad, reach), bad).toThrow(BadUserInputError);
    }
    expect(() => cursors.open(cursor, "tenants/acme/")).toThrow(/not a cursor this listing gave out/);
  });
});
