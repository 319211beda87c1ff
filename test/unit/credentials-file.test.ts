import { execFile } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkProfileName, readProfile, updateFile, withProfile } from "../../src/cli/s3-broker/credentials-file.mjs";

const run = promisify(execFile);
const MODULE = resolve(import.meta.dirname, "../../src/cli/s3-broker/credentials-file.mjs");

const FRESH = { aws_access_key_id: "ASIANEW", aws_secret_access_key: "secretNEW", aws_session_token: "tokenNEW", x_security_token_expires: "2026-12-01T13:00:00.000Z" };

const OTHERS = ["# the team's keys, do not edit", "[default]", "aws_access_key_id = AKIAOWN", "aws_secret_access_key = own ; inline", "", "[tenant-2]", "aws_access_key_id = AKIASIMILAR", ""].join("\n");

describe("the profile the update mode writes", () => {
  it("is appended to a file with other profiles, which stay byte for byte", () => {
    const text = withProfile(OTHERS, "tenant", FRESH);
    expect(text.startsWith(OTHERS)).toBe(true);
    expect(text.slice(OTHERS.length)).toBe(
      "\n[tenant]\naws_access_key_id = ASIANEW\naws_secret_access_key = secretNEW\naws_session_token = tokenNEW\nx_security_token_expires = 2026-12-01T13:00:00.000Z\n",
    );
    expect(readProfile(text, "tenant")).toEqual(FRESH);
    expect(readProfile(text, "tenant-2")).toEqual({ aws_access_key_id: "AKIASIMILAR" });
    expect(readProfile(text, "default")).toEqual({ aws_access_key_id: "AKIAOWN", aws_secret_access_key: "own ; inline" });
  });

  it("replaces its keys where they stand, keeping the section's other lines and the profiles around it", () => {
    const before = ["[tenant]", "# kept", "region = eu-west-1", "aws_session_token = tokenOLD", "aws_access_key_id = ASIAOLD", "", OTHERS].join("\n");
    const after = withProfile(before, "tenant", FRESH);
    expect(after).toBe(
      [
        "[tenant]",
        "# kept",
        "region = eu-west-1",
        "aws_session_token = tokenNEW",
        "aws_access_key_id = ASIANEW",
        "aws_secret_access_key = secretNEW",
        "x_security_token_expires = 2026-12-01T13:00:00.000Z",
        "",
        OTHERS,
      ].join("\n"),
    );
    expect(withProfile(after, "tenant", FRESH)).toBe(after);
  });

  it("keeps Windows line endings and a missing final newline", () => {
    const crlf = "[default]\r\naws_access_key_id = AKIAOWN\r\n";
    expect(withProfile(crlf, "tenant", FRESH)).toBe(`${crlf}\r\n[tenant]\r\naws_access_key_id = ASIANEW\r\naws_secret_access_key = secretNEW\r\naws_session_token = tokenNEW\r\nx_security_token_expires = 2026-12-01T13:00:00.000Z\r\n`);
    expect(withProfile("[tenant]\naws_access_key_id = old", "tenant", { aws_access_key_id: "new" })).toBe("[tenant]\naws_access_key_id = new");
  });

  it("keeps every byte of a file with mixed line endings: each line its own ending, added lines the file's usual one", () => {
    const mixed = "# keys\r\n[default]\naws_access_key_id = AKIAOWN\r\n[tenant]\r\naws_access_key_id = OLD\n; note\r\n\n[other]\r\nx = y";
    const written = withProfile(mixed, "tenant", FRESH);
    // The replaced key keeps its line's ending (LF); the keys added after it take CRLF, the ending of most lines; the rest is untouched.
    expect(written).toBe(
      "# keys\r\n[default]\naws_access_key_id = AKIAOWN\r\n[tenant]\r\naws_access_key_id = ASIANEW\naws_secret_access_key = secretNEW\r\naws_session_token = tokenNEW\r\nx_security_token_expires = 2026-12-01T13:00:00.000Z\r\n; note\r\n\n[other]\r\nx = y",
    );
    // Removing the credentials again gives back the other lines exactly.
    expect(withProfile(written, "tenant", null)).toBe("# keys\r\n[default]\naws_access_key_id = AKIAOWN\r\n[tenant]\r\n; note\r\n\n[other]\r\nx = y");
  });

  it("matches the header as INI readers do, and updates a repeated section once", () => {
    const text = "[ tenant ]\naws_access_key_id = one\n[default]\nx = 1\n[tenant]\naws_access_key_id = two\naws_session_token = two\n";
    expect(withProfile(text, "tenant", FRESH)).toBe(
      "[ tenant ]\naws_access_key_id = ASIANEW\naws_secret_access_key = secretNEW\naws_session_token = tokenNEW\nx_security_token_expires = 2026-12-01T13:00:00.000Z\n[default]\nx = 1\n[tenant]\n",
    );
  });

  it("removes only its own keys when the key is refused", () => {
    const text = withProfile(`${OTHERS}[tenant]\nregion = eu-west-1\n`, "tenant", FRESH);
    expect(withProfile(text, "tenant", null)).toBe(`${OTHERS}[tenant]\nregion = eu-west-1\n`);
    expect(withProfile(OTHERS, "tenant", null)).toBe(OTHERS);
  });

  it("refuses values that would start a new line (an answer cannot write other profiles)", () => {
    const hostile = { ...FRESH, aws_session_token: "tok\n[default]\naws_access_key_id = AKIAEVIL" };
    expect(() => withProfile(OTHERS, "tenant", hostile)).toThrow(/printable single-line/);
    expect(() => withProfile(OTHERS, "tenant", { ...FRESH, aws_access_key_id: "has space" })).toThrow(/printable single-line/);
  });

  it("accepts only profile names that cannot end the header", () => {
    expect(checkProfileName("s3-broker-nightly.export")).toBe("s3-broker-nightly.export");
    for (const bad of ["", "default]\n[x", "a b", "x]", "é"]) expect(() => checkProfileName(bad)).toThrow(/--profile must be/);
  });
});

describe("writing the credentials file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "credentials-file-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("creates the directory 0700 and leaves the file 0600, even when it was world-readable", () => {
    const file = join(dir, "aws", "credentials");
    expect(updateFile(file, (text) => withProfile(text, "tenant", FRESH))).toBe(true);
    expect(statSync(join(dir, "aws")).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const shared = join(dir, "shared");
    writeFileSync(shared, OTHERS, { mode: 0o644 });
    updateFile(shared, (text) => withProfile(text, "tenant", FRESH));
    expect(statSync(shared).mode & 0o777).toBe(0o600);
    expect(updateFile(shared, (text) => withProfile(text, "tenant", FRESH))).toBe(false);
  });

  it("rewrites the target of a symlinked file and keeps the link", () => {
    const target = join(dir, "dotfiles-credentials");
    writeFileSync(target, OTHERS);
    const link = join(dir, "credentials");
    symlinkSync(target, link);
    updateFile(link, (text) => withProfile(text, "tenant", FRESH));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readProfile(readFileSync(target, "utf8"), "tenant")).toEqual(FRESH);
  });

  it("loses no profile when two processes update the same file at once", async () => {
    const file = join(dir, "credentials");
    writeFileSync(file, OTHERS);
    const writer = (profile: string) =>
      run(process.execPath, [
        "--input-type=module",
        "-e",
        `import { updateFile, withProfile } from ${JSON.stringify(MODULE)};
         for (let i = 0; i < 60; i += 1) updateFile(${JSON.stringify(file)}, (t) => withProfile(t, ${JSON.stringify(profile)}, { aws_access_key_id: "K" + i }));`,
      ]);
    await Promise.all([writer("first"), writer("second"), writer("third")]);
    const text = readFileSync(file, "utf8");
    expect(text.startsWith(OTHERS)).toBe(true);
    for (const profile of ["first", "second", "third"]) expect(readProfile(text, profile)).toEqual({ aws_access_key_id: "K59" });
  });
});
