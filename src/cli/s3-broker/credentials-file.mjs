// The shared credentials file (~/.aws/credentials): one profile kept fresh, every other line left
// exactly as it was (other profiles, comments, blank lines, line endings).
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { isSingleToken } from "./broker-client.mjs";
import { EXIT, HelperError } from "./errors.mjs";

/** The keys this helper owns in its profile; `x_security_token_expires` is the de-facto key other tools use for the expiry. */
export const MANAGED_KEYS = ["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "x_security_token_expires"];

const SECTION = /^\s*\[\s*([^\]]*?)\s*\]\s*(?:[#;].*)?$/;
const KEY = /^\s*([^=\s#;[]+)\s*=/;
const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 5_000;

/** Profile names are written inside `[...]`: nothing that could end the header or start a new line. @param {string} name */
export function checkProfileName(name) {
  if (!/^[A-Za-z0-9_.@+-]{1,128}$/.test(name)) {
    throw new HelperError(`--profile must be 1 to 128 letters, digits or _ . @ + - (got ${JSON.stringify(name)})`, EXIT.USAGE);
  }
  return name;
}

/**
 * The file's lines and each one's own ending ("\r\n", "\n", or "" for a last line without one), so
 * that a file with mixed endings is written back as it was; lines the helper adds take the ending
 * most of the file uses (CRLF where it is the majority).
 * @param {string} text
 */
function splitLines(text) {
  /** @type {string[]} */
  const lines = [];
  /** @type {string[]} */
  const eols = [];
  for (let i = 0; i < text.length; ) {
    const nl = text.indexOf("\n", i);
    if (nl === -1) {
      lines.push(text.slice(i));
      eols.push("");
      break;
    }
    const crlf = nl > i && text[nl - 1] === "\r";
    lines.push(text.slice(i, crlf ? nl - 1 : nl));
    eols.push(crlf ? "\r\n" : "\n");
    i = nl + 1;
  }
  const crlfLines = eols.filter((e) => e === "\r\n").length;
  const eol = crlfLines > 0 && crlfLines >= eols.filter((e) => e === "\n").length ? "\r\n" : "\n";
  return { lines, eols, eol, trailingNewline: text.length === 0 || text.endsWith("\n") };
}

/** Line ranges [header, end) of every section with this name (INI readers merge repeated sections). @param {string[]} lines @param {string} profile */
function sectionsOf(lines, profile) {
  /** @type {{ start: number, end: number }[]} */
  const found = [];
  for (let i = 0; i < lines.length; i += 1) {
    const header = SECTION.exec(/** @type {string} */ (lines[i]));
    if (!header) continue;
    const last = found[found.length - 1];
    if (last && last.end === -1) last.end = i;
    if (header[1] === profile) found.push({ start: i, end: -1 });
  }
  const last = found[found.length - 1];
  if (last && last.end === -1) last.end = lines.length;
  return found;
}

/** @param {string} line */
function keyOf(line) {
  return KEY.exec(line)?.[1]?.toLowerCase();
}

/** The profile's key = value pairs, or null when there is no such profile. @param {string} text @param {string} profile */
export function readProfile(text, profile) {
  const { lines } = splitLines(text);
  const sections = sectionsOf(lines, profile);
  if (sections.length === 0) return null;
  /** @type {Record<string, string>} */
  const values = {};
  for (const { start, end } of sections) {
    for (const line of lines.slice(start + 1, end)) {
      const key = keyOf(line);
      if (key) values[key] = line.slice(line.indexOf("=") + 1).trim();
    }
  }
  return values;
}

/**
 * The file's text with the profile holding these values (MANAGED_KEYS order): managed lines are
 * replaced where they stand, missing ones added after the section's last key, the section appended
 * when absent. Every other line is kept byte for byte. `values` null removes the managed keys.
 * @param {string} text @param {string} profile @param {Record<string, string> | null} values
 */
export function withProfile(text, profile, values) {
  if (values) {
    for (const [key, value] of Object.entries(values)) {
      if (!isSingleToken(value)) throw new HelperError(`refusing to write ${key}: not a printable single-line value`, EXIT.TRANSIENT);
    }
  }
  const { lines, eols, eol, trailingNewline } = splitLines(text);
  const sections = sectionsOf(lines, profile);
  /** Lines as [text, ending]; a line the helper writes takes the file's usual ending. @type {Array<[string, string | null]>} */
  const out = [];
  const original = (/** @type {number} */ i) => /** @type {[string, string]} */ ([/** @type {string} */ (lines[i]), /** @type {string} */ (eols[i])]);
  if (sections.length === 0) {
    if (!values) return text;
    out.push(...lines.map((_, i) => original(i)));
    if (lines.length > 0 && lines[lines.length - 1]?.trim() !== "") out.push(["", null]);
    out.push([`[${profile}]`, null], ...MANAGED_KEYS.filter((k) => values[k] !== undefined).map((k) => /** @type {[string, null]} */ ([`${k} = ${values[k]}`, null])));
    return joined(out, eol, true);
  }
  const pending = new Map(values ? MANAGED_KEYS.filter((k) => values[k] !== undefined).map((k) => [k, /** @type {string} */ (values[k])]) : []);
  let cursor = 0;
  sections.forEach(({ start, end }, index) => {
    for (let i = cursor; i <= start; i += 1) out.push(original(i));
    let lastKey = -1;
    /** @type {Array<[string, string | null]>} */
    const kept = [];
    for (let i = start + 1; i < end; i += 1) {
      const line = /** @type {string} */ (lines[i]);
      const key = keyOf(line);
      if (key && MANAGED_KEYS.includes(key)) {
        const value = pending.get(key);
        if (value === undefined) continue; // removed, or already written in an earlier section
        pending.delete(key);
        kept.push([`${key} = ${value}`, /** @type {string} */ (eols[i])]);
        lastKey = kept.length - 1;
      } else {
        kept.push(original(i));
        if (key) lastKey = kept.length - 1;
      }
    }
    // What the first section did not have goes after its last key (before trailing comments or blanks).
    if (index === 0 && pending.size > 0) {
      kept.splice(lastKey + 1, 0, ...[...pending].map(([k, v]) => /** @type {[string, null]} */ ([`${k} = ${v}`, null])));
      pending.clear();
    }
    out.push(...kept);
    cursor = end;
  });
  for (let i = cursor; i < lines.length; i += 1) out.push(original(i));
  return joined(out, eol, trailingNewline);
}

/**
 * Lines back to text: each keeps its own ending; a line the helper wrote takes `eol`; a line that had
 * none but is no longer last gets `eol`; the very last ends as the file did (`trailingNewline`).
 * @param {Array<[string, string | null]>} lines @param {string} eol @param {boolean} trailingNewline
 */
function joined(lines, eol, trailingNewline) {
  return lines
    .map(([text, ending], i) => {
      const last = i === lines.length - 1;
      if (ending === null || ending === "") return text + (last && !trailingNewline ? "" : eol);
      return text + ending;
    })
    .join("");
}

/** @param {string} file */
export function readText(file) {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === "ENOENT") return "";
    throw new HelperError(`cannot read ${file}: ${/** @type {NodeJS.ErrnoException} */ (error).code ?? error}`, EXIT.USAGE);
  }
}

/** @param {number} ms */
function pause(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Another `s3-broker update` (for another profile in the same file) must not lose this one's write,
 * nor this one its: read, change and rename happen under a lock file beside the credentials file.
 * @template T @param {string} file @param {() => T} work @returns {T}
 */
function underLock(file, work) {
  const lock = `${file}.s3-broker.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, "wx", 0o600));
      break;
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== "EEXIST") throw new HelperError(`cannot lock ${file}: ${/** @type {NodeJS.ErrnoException} */ (error).code}`, EXIT.USAGE);
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      if (age > LOCK_STALE_MS) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new HelperError(`${lock} is held by another process; remove it if none runs`, EXIT.TRANSIENT);
      else pause(50);
    }
  }
  try {
    return work();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Rewrites the file through `change` (current text → new text): under a lock, into a private temporary
 * file in the same directory, flushed, then renamed over the original, so a reader sees the old file
 * or the new one, never half of one. The file ends up mode 0600 (it holds secrets); the directory is
 * created 0700 if missing.
 * @param {string} file @param {(text: string) => string} change @returns {boolean} whether the file changed
 */
export function updateFile(file, change) {
  // A credentials file that is a symlink (dotfile managers) stays one: the target is rewritten.
  try {
    file = realpathSync(file);
  } catch {
    // not there yet
  }
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new HelperError(`cannot create the directory of ${file}: ${/** @type {NodeJS.ErrnoException} */ (error).code}`, EXIT.USAGE);
  }
  return underLock(file, () => {
    const before = readText(file);
    const after = change(before);
    if (after === before) return false;
    const temporary = `${file}.s3-broker.${process.pid}.tmp`;
    try {
      rmSync(temporary, { force: true }); // a leftover of a crash could have another mode
      const fd = openSync(temporary, "wx", 0o600);
      try {
        writeSync(fd, after);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, file);
    } catch (error) {
      try {
        unlinkSync(temporary);
      } catch {
        // never created
      }
      throw new HelperError(`cannot write ${file}: ${/** @type {NodeJS.ErrnoException} */ (error).code ?? error}`, EXIT.USAGE);
    }
    return true;
  });
}
