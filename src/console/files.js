// "Your files": a storage browser over what the user's grants reach. Each grant is a location;
// folders open one level at a time (objects(byFolder: true)); files download and upload through
// URLs and forms the broker presigns, several in one request (presignDownloads, presignUploads),
// straight between the browser and S3. Nothing is offered that the grants do not allow: no listing
// without READ, no upload without WRITE on a folder.
import { formatDate, formatSize, t } from "./i18n.js";
import { $, ApiError, PageError, attempt, button, element, fillTable, onSubmit, showNotice, valueOf } from "./page.js";
import { call } from "./session.js";

/** What a listing shows at once; "Show more" asks for the next page. */
const PAGE = 50;
/** S3's limit for one upload (a presigned POST). */
const MAX_UPLOAD_BYTES = 5 * 1024 ** 3;
/** How long a download URL lasts: long enough for the browser to start each download. */
const DOWNLOAD_URL_SECONDS = 300;
/** What a text preview reads of a file (an HTTP range): enough to recognise it, never a whole large file. */
const PREVIEW_BYTES = 64 * 1024;
/** Files the page can show: images in an <img> (SVG included: an image never runs its scripts), text as text. */
const PREVIEW_KINDS = /** @type {const} */ ({ image: /\.(png|jpe?g|gif|webp|svg|avif)$/i, text: /\.(txt|csv|tsv|json|md|log|xml|ya?ml)$/i });

/** What each of the tenant's grants allows, by location ("" is the whole prefix). @type {Map<string, string>} */
let permissionAt = new Map();
/** Where the user is: a grant's location, and the folder open under it (a location of one object has none). */
let place = { location: "", folder: "" };
/** @type {string | null} */
let cursor = null;

const isFolder = (/** @type {string} */ location) => location === "" || location.endsWith("/");
const permission = () => permissionAt.get(place.location) ?? "READ";
const canRead = () => permission() !== "WRITE";
const canWrite = () => permission() !== "READ" && isFolder(place.location);
/** A folder's name for people: "Everything" for the whole prefix. @param {string} folder */
const folderName = (folder) => (folder === "" ? t("files.everything") : folder);

/** The locations the user's grants reach, as places to browse; opens the first. */
export async function renderLocations() {
  const { myAccess } = await call("MyAccess");
  permissionAt = new Map(myAccess.grants.map((/** @type {any} */ g) => [g.location, g.permission]));
  const select = /** @type {HTMLSelectElement} */ ($("location"));
  const chosen = permissionAt.has(select.value) ? select.value : (myAccess.grants[0]?.location ?? "");
  select.replaceChildren(
    ...myAccess.grants.map((/** @type {any} */ g) =>
      element("option", { value: g.location }, t("files.locationOption", { location: folderName(g.location), permission: t(`permission.${g.permission}`) })),
    ),
  );
  select.value = chosen;
  // Rendered again (a switch of language): the folder that was open stays open.
  await openLocation(place.location === chosen ? place.folder : undefined);
}

/** Opens the chosen location at its root, or at `folder` within it. @param {string} [folder] */
async function openLocation(folder) {
  const location = valueOf("location");
  // A grant of one object has no folder to open; a folder grant opens at its root unless `folder` lies within it.
  const inside = isFolder(location) && folder !== undefined && folder.startsWith(location);
  place = { location, folder: !isFolder(location) ? "" : inside ? folder : location };
  await renderFolder(false);
}

/** @param {string} folder */
async function openFolder(folder) {
  place.folder = folder;
  await renderFolder(false);
  /** @type {HTMLElement} */ ($("files").querySelector("caption")).focus();
}

/** The path from the location to the open folder: each level a button back to it, the open one marked current. */
function renderPath() {
  const levels = [place.location];
  if (isFolder(place.location)) for (const segment of place.folder.slice(place.location.length).split("/").filter(Boolean)) levels.push(`${levels.at(-1)}${segment}/`);
  const items = levels.map((folder, i) => {
    const name = i === 0 ? folderName(folder) : folder.slice(levels[i - 1]?.length).replace(/\/$/, "");
    if (i === levels.length - 1) return element("li", { "aria-current": "location" }, name);
    return element("li", {}, linkButton(button(name, () => openFolder(folder))));
  });
  $("path").replaceChildren(...items);
}

/** A button that looks like a link (folders and path levels open like links; they act, they do not navigate). @param {HTMLElement} node */
function linkButton(node) {
  node.classList.add("link");
  return node;
}

/** A row for a folder: its name opens it. @param {string} folder */
function folderRow(folder) {
  const name = folder.slice(place.folder.length);
  const open = linkButton(button(name, () => openFolder(folder), t("files.openFolder", { name })));
  return element("tr", { class: "folder" }, element("td"), element("td", { class: "name" }, open), element("td", {}, t("files.folder")), element("td", {}, "–"), element("td"));
}

/** A row for a file: a box to select it, and its own download. @param {{ key: string, size?: number, lastModified?: string }} file */
function fileRow(file) {
  const name = file.key.slice(place.folder.length) || file.key;
  const select = element("input", { type: "checkbox", class: "select-file", value: file.key, "aria-label": t("files.select", { name }) });
  select.addEventListener("change", countSelected);
  const actions = element("div", { class: "actions" }, button(t("files.downloadShort"), () => downloadKeys([file.key]), t("files.download", { name })));
  if (previewKind(name)) actions.append(button(t("files.preview"), () => showPreview(file.key, name, file.size), t("files.previewOf", { name })));
  return element(
    "tr",
    {},
    element("td", {}, select),
    element("td", { class: "name" }, name),
    element("td", {}, file.size === undefined ? "–" : formatSize(file.size)),
    element("td", {}, formatDate(file.lastModified)),
    element("td", {}, actions),
  );
}

/** @param {string} name */
const previewKind = (name) => (PREVIEW_KINDS.image.test(name) ? "image" : PREVIEW_KINDS.text.test(name) ? "text" : null);

/**
 * Shows a file in the page, through a URL signed for it alone: an image as an image, text as text
 * (its first PREVIEW_BYTES, put in the page as text, never as HTML).
 * @param {string} key @param {string} name @param {number | undefined} size
 */
async function showPreview(key, name, size) {
  const { presignDownloads } = await call("PresignDownloads", { keys: [key], expiresInSeconds: DOWNLOAD_URL_SECONDS });
  const { url } = presignDownloads[0];
  const body = $("preview-body");
  $("preview-note").hidden = true;
  if (previewKind(name) === "image") {
    body.replaceChildren(element("img", { src: url, alt: name }));
  } else {
    const response = await fetch(url, { headers: { range: `bytes=0-${PREVIEW_BYTES - 1}` } });
    if (!response.ok) throw new PageError("files.previewFailed", { name, status: response.status }, "PREVIEW_FAILED", undefined);
    body.replaceChildren(element("pre", {}, new TextDecoder().decode(await response.arrayBuffer())));
    if (size !== undefined && size > PREVIEW_BYTES) {
      $("preview-note").textContent = t("files.previewTruncated", { shown: formatSize(PREVIEW_BYTES), total: formatSize(size) });
      $("preview-note").hidden = false;
    }
  }
  $("preview-title").textContent = t("files.previewTitle", { name });
  $("preview").hidden = false;
  $("preview-title").focus();
}

function closePreview() {
  $("preview-body").replaceChildren();
  $("preview").hidden = true;
}

/** The open folder's subfolders and files, a page at a time (appended with `more`). @param {boolean} more */
async function renderFolder(more) {
  if (!more) closePreview();
  renderPath();
  /** @type {HTMLElement} */ ($("files").querySelector("caption")).textContent = t("files.caption", { folder: folderName(place.folder || place.location) });
  /** @type {HTMLElement[]} */
  let rows = [];
  let hasNextPage = false;
  if (!isFolder(place.location)) {
    // A grant of one object: that object is all there is to show (its folder cannot be listed).
    rows = [fileRow({ key: place.location })];
  } else if (canRead()) {
    const { objects } = await call("Folder", { prefix: place.folder, first: PAGE, ...(more && cursor ? { after: cursor } : {}) });
    rows = [...objects.folders.map(folderRow), ...objects.objects.map(fileRow)];
    cursor = objects.pageInfo.endCursor;
    hasNextPage = objects.pageInfo.hasNextPage;
  }
  fillTable("files", rows, { append: more });
  const shown = /** @type {HTMLElement} */ ($("files").querySelector("tbody")).children.length;
  $("files").hidden = !canRead();
  $("files-write-only").hidden = canRead();
  $("files-empty").hidden = !canRead() || shown > 0;
  $("files-more").hidden = !hasNextPage;
  $("upload-form").hidden = !canWrite();
  $("upload-hint").textContent = t("files.uploadHint", { folder: folderName(place.folder) });
  /** @type {HTMLInputElement} */ ($("select-all")).checked = false;
  countSelected();
}

function selectedKeys() {
  return [.../** @type {NodeListOf<HTMLInputElement>} */ (document.querySelectorAll("#files .select-file:checked"))].map((box) => box.value);
}

function countSelected() {
  const count = selectedKeys().length;
  const download = /** @type {HTMLButtonElement} */ ($("download-selected"));
  download.textContent = t("files.downloadSelected", { count });
  download.disabled = count === 0;
}

/**
 * Downloads files through URLs the broker signs in one request, each for its one object, as
 * attachments: the browser saves each instead of leaving the page (and its in-memory session).
 * @param {string[]} keys
 */
async function downloadKeys(keys) {
  const { presignDownloads } = await call("PresignDownloads", { keys, expiresInSeconds: DOWNLOAD_URL_SECONDS, attachment: true });
  for (const { url, key } of presignDownloads) {
    const link = element("a", { href: url, download: key.slice(key.lastIndexOf("/") + 1), hidden: "" });
    document.body.append(link);
    link.click();
    link.remove();
  }
  if (keys.length > 1) showNotice(t("files.downloading", { count: keys.length }));
}

/**
 * Sends a file to S3 with the form the broker presigned for exactly its key and size; reports
 * progress (fetch cannot). @param {any} post @param {File} file @param {(loaded: number) => void} progress
 */
function postToS3(post, file, progress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields)) form.append(name, /** @type {string} */ (value));
    form.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", post.url);
    request.upload.addEventListener("progress", (event) => progress(event.loaded));
    request.addEventListener("load", () => (request.status < 300 ? resolve(undefined) : reject(new PageError("files.uploadRefused", { name: file.name, status: request.status }, "UPLOAD_FAILED", undefined))));
    request.addEventListener("error", () => reject(new PageError("files.uploadLost", { name: file.name }, "UPLOAD_FAILED", undefined)));
    request.send(form);
  });
}

/** Uploads the chosen files into the open folder: one request presigns them all, then each goes to S3 with its progress. */
async function upload() {
  const files = [.../** @type {FileList} */ (/** @type {HTMLInputElement} */ ($("upload-file")).files)];
  const tooLarge = files.find((file) => file.size > MAX_UPLOAD_BYTES);
  if (tooLarge) throw new PageError("files.tooLarge", { name: tooLarge.name }, "BAD_USER_INPUT", "maxBytes");
  const { presignUploads } = await call("PresignUploads", {
    files: files.map((file) => ({ key: `${place.folder}${file.name}`, maxBytes: Math.max(1, file.size), ...(file.type ? { contentType: file.type } : {}) })),
  }).catch((error) => {
    // The broker names a refused file by its place ("files[2].key"): the page names it by its name.
    const refused = error instanceof ApiError ? /^files\[(\d+)\]/.exec(error.field ?? "") : null;
    throw refused ? new PageError("files.nameRefused", { name: files[Number(refused[1])]?.name ?? "", detail: error.message }, error.code, error.field) : error;
  });
  const bars = files.map((file) => element("progress", { max: String(Math.max(1, file.size)), value: "0", "aria-label": file.name }));
  $("uploads").replaceChildren(...files.map((file, i) => element("li", {}, `${file.name} (${formatSize(file.size)}) `, /** @type {HTMLElement} */ (bars[i]))));
  for (const [i, file] of files.entries()) {
    const bar = /** @type {HTMLElement} */ (bars[i]);
    await postToS3(presignUploads[i], file, (loaded) => bar.setAttribute("value", String(loaded)));
    bar.setAttribute("value", String(Math.max(1, file.size)));
  }
  /** @type {HTMLFormElement} */ ($("upload-form")).reset();
  showNotice(t("files.uploaded", { count: files.length }));
  await renderFolder(false);
}

/** Forgets everything of the user's files (at sign-out). */
export function clearFiles() {
  /** @type {HTMLElement} */ ($("files").querySelector("tbody")).replaceChildren();
  for (const id of ["location", "uploads", "path"]) $(id).replaceChildren();
  $("upload-form").hidden = true;
  closePreview();
  permissionAt = new Map();
  place = { location: "", folder: "" };
  cursor = null;
}

export function wireFiles() {
  onSubmit("files-form", () => openLocation());
  $("files-more").addEventListener("click", () => attempt(() => renderFolder(true)));
  $("select-all").addEventListener("change", () => {
    const all = /** @type {HTMLInputElement} */ ($("select-all")).checked;
    for (const box of /** @type {NodeListOf<HTMLInputElement>} */ (document.querySelectorAll("#files .select-file"))) box.checked = all;
    countSelected();
  });
  $("download-selected").addEventListener("click", () => attempt(() => downloadKeys(selectedKeys())));
  $("preview-close").addEventListener("click", closePreview);
  onSubmit("upload-form", upload);
}
