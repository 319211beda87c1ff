// What every part of the console does with the page: find and make elements (text only, never
// HTML), fill tables, show errors and notices, confirm, and offer set-ups to copy.
import { known, language, t } from "./i18n.js";

export const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
/** @param {string} id */
export const valueOf = (id) => /** @type {HTMLInputElement | HTMLSelectElement} */ ($(id)).value.trim();

/** A refusal from the broker: its code and reason, and its message (in English, the API's language). */
export class ApiError extends Error {
  /** @param {string} message @param {string} code @param {string | undefined} reason @param {string} [field] the input the broker refused */
  constructor(message, code, reason, field) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.field = field;
  }

  /** What the page says: the broker's own words in English, the catalogue's for its code otherwise. */
  text() {
    if (language() === "en" || !known(`error.${this.code}`)) return this.message;
    return t(`error.${this.code}`, { detail: this.message });
  }
}

/** A failure the console itself words: a catalogue key, so it is said in the page's language. */
export class PageError extends ApiError {
  /** @param {string} key @param {Record<string, string | number>} values @param {string} code @param {string | undefined} reason */
  constructor(key, values, code, reason) {
    super(key, code, reason);
    this.key = key;
    this.values = values;
  }

  /** @override */
  text() {
    return t(this.key, this.values);
  }
}

/** @param {unknown} error */
export function showError(error) {
  const message = $("message");
  if (error instanceof ApiError) message.textContent = `${error.text()} (${error.code}${error.reason ? `, ${error.reason}` : ""})`;
  // Not the broker's (the network, say): what the browser said, after the page's own words.
  else message.textContent = `${t("error.other")} (${error instanceof Error ? error.message : String(error)})`;
  message.className = "error";
  message.hidden = false;
}

/** How long a notice (not an error) stays: long enough to read, then it goes. */
const NOTICE_MS = 5_000;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let noticeTimer;

/** @param {string} text */
export function showNotice(text) {
  const message = $("message");
  message.textContent = text;
  message.className = "notice";
  message.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    if (message.className === "notice" && message.textContent === text) message.hidden = true;
  }, NOTICE_MS);
}

/** Runs an action of the page; its failure is shown, never thrown away. @param {() => Promise<void>} action */
export async function attempt(action) {
  $("message").hidden = true;
  try {
    await action();
  } catch (error) {
    showError(error);
  }
}

/** Runs `action` from a submitted form, without the browser's own submission. @param {string} formId @param {() => Promise<void>} action */
export function onSubmit(formId, action) {
  $(formId).addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(action);
  });
}

/** @param {string} tag @param {Record<string, string>} attributes @param {(Node | string)[]} children */
export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/**
 * A button that runs `action` as `attempt` does. `name`, when given, is what a screen reader says
 * ("Revoke alice <…>"): it must contain the visible label ("Revoke"), so speech users can say it.
 * @param {string} label @param {() => Promise<void>} action @param {string} [name]
 */
export function button(label, action, name) {
  const node = element("button", { type: "button", ...(name ? { "aria-label": name } : {}) }, label);
  node.addEventListener("click", () => void attempt(action));
  return node;
}

/**
 * Replaces a table's rows, each cell labelled with its column's heading (data-label): on a phone
 * the stylesheet shows every row as a card of "heading: value" lines instead of squeezed columns.
 * @param {string} tableId @param {HTMLElement[]} rows @param {{ append?: boolean }} options
 */
export function fillTable(tableId, rows, options = {}) {
  const table = $(tableId);
  const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent?.trim() ?? "");
  for (const row of rows) [...row.children].forEach((cell, i) => headings[i] && cell.setAttribute("data-label", headings[i]));
  const body = /** @type {HTMLElement} */ (table.querySelector("tbody"));
  if (options.append) body.append(...rows);
  else body.replaceChildren(...rows);
}

/** A set-up to copy (catalogue key `setup.<name>` for its title, `.copy` for its button): its text and a button that copies it. @param {string} name @param {string} text */
export function setup(name, text) {
  const id = `setup-${name}`;
  const title = t(`setup.${name}`);
  const copy = element("button", { type: "button", "aria-describedby": id }, t(`setup.${name}.copy`));
  copy.addEventListener("click", () =>
    attempt(async () => {
      await navigator.clipboard.writeText(text);
      showNotice(t("setup.copied", { title }));
    }),
  );
  return element("div", { class: "setup" }, element("h3", { id }, title), element("pre", {}, text), copy);
}
