import { BadUserInputError } from "../errors.js";

/** Characters that reorder what a reader sees (so "txt.exe" can show as "exe.txt"), and other invisible controls. */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const CONTROLS = /\p{Cc}/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Free text that the broker stores and shows to other people (a client key's name, which an
 * administrator or partner may set and the user reads; an audit context): Unicode-normalised (NFC)
 * and trimmed, with control characters, bidirectional overrides and lone surrogates refused, so
 * what one party writes is what the other reads.
 */
export function displayText(raw: string, field: string, maxLength: number): string {
  const refuse = (why: string) => new BadUserInputError(`${field} must be 1 to ${maxLength} characters of plain text: ${why}.`, field);
  if (LONE_SURROGATE.test(raw)) throw refuse("it holds a broken (lone surrogate) character");
  const text = raw.normalize("NFC").trim();
  if (CONTROLS.test(text)) throw refuse("no control characters");
  if (BIDI_CONTROLS.test(text)) throw refuse("no bidirectional-override characters, which change the order a reader sees");
  if (text.length < 1 || text.length > maxLength) throw refuse(`it has ${text.length}`);
  return text;
}
