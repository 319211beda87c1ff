// Administrators' part of the console (members of POOL_A_ADMIN_GROUP; the broker checks every call
// again): every connection, people found by name, e-mail or id, each named in full before anything
// is done to them (revoke, reinstate, move: the browser's own confirmation, with a sentence that
// names them), and a tenant's grants (list, add, delete).
import { formatDate, t } from "./i18n.js";
import { $, attempt, button, element, fillTable, onSubmit, showNotice, valueOf } from "./page.js";
import { call } from "./session.js";

/**
 * A person as the page names them: Pool A username and e-mail where the broker learnt them (at
 * provisioning; no Pool A search is spent), with the id that is unique.
 * @param {{ userId: string, username?: string | null, email?: string | null }} c
 */
const personOf = (c) => [c.username, c.email ? `<${c.email}>` : null, c.username || c.email ? `(${c.userId})` : c.userId].filter(Boolean).join(" ");

/** The actions on one person, each after a confirmation that names them. @param {any} c @param {string} who */
function actionsFor(c, who) {
  /** @type {HTMLElement[]} */
  const actions = [];
  if (c.state === "ACTIVE") {
    actions.push(
      button(t("admin.revokeShort"), async () => {
        if (!window.confirm(t("admin.revokeConfirm", { who }))) return;
        await call("RevokeDataPlatformUser", { userId: c.userId });
        showNotice(t("admin.revoked", { who }));
        await renderConnections();
      }, t("admin.revoke", { who })),
      button(t("admin.moveShort"), async () => {
        const to = window.prompt(t("admin.movePrompt", { who, tenant: c.tenant ?? "–" }))?.trim();
        if (!to || !window.confirm(t("admin.moveConfirm", { who, from: c.tenant ?? "–", to }))) return;
        await call("MoveDataPlatformUser", { userId: c.userId, tenant: to });
        showNotice(t("admin.moved", { who, tenant: to }));
        await renderConnections();
      }, t("admin.move", { who })),
    );
  }
  if (c.state === "REVOKED") {
    actions.push(
      button(t("admin.reinstateShort"), async () => {
        if (!window.confirm(t("admin.reinstateConfirm", { who }))) return;
        await call("ProvisionDataPlatformUser", { userId: c.userId });
        showNotice(t("admin.reinstated", { who }));
        await renderConnections();
      }, t("admin.reinstate", { who })),
    );
  }
  return actions;
}

export async function renderConnections() {
  const search = valueOf("connections-search");
  const { connections } = await call("Connections", { first: 50, ...(search ? { search } : {}) });
  const rows = connections.nodes.map((/** @type {any} */ c) => {
    const who = personOf(c);
    const last = c.lastCredentialExpiresAt ? t("connection.lastValue", { flow: c.lastCredentialFlow, date: formatDate(c.lastCredentialExpiresAt) }) : "–";
    return element(
      "tr",
      {},
      element("td", { class: "name" }, who),
      element("td", {}, c.tenant ?? "–"),
      element("td", {}, t(`state.${c.state}`)),
      element("td", {}, last),
      element("td", {}, element("div", { class: "actions" }, ...actionsFor(c, who))),
    );
  });
  fillTable("connections", rows);
}

/** The tenant whose grants are shown (kept for re-rendering after a change). */
let grantsTenant = "";

export async function renderGrants() {
  grantsTenant = valueOf("grants-tenant");
  const { accessGrants } = await call("AccessGrants", { tenant: grantsTenant });
  const tenant = grantsTenant;
  const rows = accessGrants.map((/** @type {any} */ g) => {
    const location = g.location === "" ? t("admin.wholePrefix") : g.location;
    const permission = t(`permission.${g.permission}`);
    const remove =
      g.id === "default"
        ? []
        : [
            button(t("admin.deleteShort"), async () => {
              if (!window.confirm(t("admin.deleteGrantConfirm", { tenant, location, permission }))) return;
              await call("DeleteAccessGrant", { id: g.id });
              showNotice(t("admin.grantDeleted", { location }));
              await renderGrants();
            }, t("admin.deleteGrant", { location })),
          ];
    return element("tr", {}, element("td", {}, location), element("td", {}, permission), element("td", {}, g.id === "default" ? t("admin.default") : formatDate(g.createdAt)), element("td", {}, ...remove));
  });
  /** @type {HTMLElement} */ ($("grants").querySelector("caption")).textContent = t("admin.grantsCaption", { tenant });
  fillTable("grants", rows);
  $("grants").hidden = false;
  $("grants-empty").textContent = t("admin.noGrants", { tenant });
  $("grants-empty").hidden = rows.length > 0;
  $("grant-form").hidden = false;
}

async function addGrant() {
  const input = { tenant: grantsTenant, location: valueOf("grant-location"), permission: valueOf("grant-permission") };
  await call("CreateAccessGrant", { input });
  showNotice(t("admin.grantAdded", { tenant: input.tenant, location: input.location === "" ? t("admin.wholePrefix") : input.location, permission: t(`permission.${input.permission}`) }));
  /** @type {HTMLFormElement} */ ($("grant-form")).reset();
  await renderGrants();
}

/** Forgets what the administrator looked at (at sign-out). */
export function clearAdmin() {
  for (const table of ["connections", "grants"]) /** @type {HTMLElement} */ ($(table).querySelector("tbody")).replaceChildren();
  $("grants").hidden = true;
  $("grants-empty").hidden = true;
  $("grant-form").hidden = true;
  grantsTenant = "";
}

/** Re-renders what is on screen (after a switch of language). */
export async function refreshAdmin() {
  await renderConnections();
  if (grantsTenant) await renderGrants();
}

export function wireAdmin() {
  $("connections-refresh").addEventListener("click", () => void attempt(renderConnections));
  onSubmit("connections-search-form", renderConnections);
  onSubmit("grants-form", renderGrants);
  onSubmit("grant-form", addGrant);
}
