// The console's language: chosen from the browser's languages, switched on the page (kept in memory
// only, like everything else of the page), every string from messages.js, and dates and sizes in
// the browser's formats for that language (Intl: en-GB dates for en-GB, Japanese ones for ja).
import { LANGUAGES, MESSAGES } from "./messages.js";

/** @typedef {keyof typeof LANGUAGES} Language */

/** @type {Language} */
let current = "en";

/** The first of the browser's languages the console speaks (ja-JP is ja), else English. @param {readonly string[]} preferred @returns {Language} */
export function chooseLanguage(preferred) {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split("-")[0] ?? "";
    if (Object.hasOwn(LANGUAGES, base)) return /** @type {Language} */ (base);
  }
  return "en";
}

export const language = () => current;

/** The locale for dates and numbers: the browser's own tag of the current language (en-GB, not en), else the language. */
const formatLocale = () => navigator.languages.find((tag) => tag.toLowerCase().split("-")[0] === current) ?? current;

/** @param {Language} next */
export function setLanguage(next) {
  current = next;
  document.documentElement.lang = next;
  document.title = t("page.title");
  translatePage();
}

/**
 * The string of `key` in the current language with its {placeholders} filled. A key missing from
 * the catalogue shows as itself (and fails test/unit/console-messages.test.ts).
 * @param {string} key @param {Record<string, string | number>} values
 */
export function t(key, values = {}) {
  const template = MESSAGES[current][key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(values, name) ? String(values[name]) : whole));
}

/** Whether the catalogue has `key` (for values from the broker that may be new to the page). @param {string} key */
export const known = (key) => Object.hasOwn(MESSAGES[current], key);

/**
 * The page's own text, from the catalogue: data-i18n sets an element's text, data-i18n-label its
 * aria-label. Run at start and on every switch of language.
 */
function translatePage() {
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(/** @type {string} */ (node.getAttribute("data-i18n")));
  for (const node of document.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(/** @type {string} */ (node.getAttribute("data-i18n-label"))));
}

/** A date and time in the language's format; "–" for none. @param {string | null | undefined} iso */
export const formatDate = (iso) => (iso ? new Intl.DateTimeFormat(formatLocale(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso)) : "–");

/** A size for people, in the language's format ("12 kB", "12 KB"). @param {number} bytes */
export function formatSize(bytes) {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"];
  const i = bytes < 1024 ? 0 : Math.min(3, Math.floor(Math.log(bytes) / Math.log(1024)));
  return new Intl.NumberFormat(formatLocale(), { style: "unit", unit: units[i], unitDisplay: "short", maximumFractionDigits: 1 }).format(bytes / 1024 ** i);
}
