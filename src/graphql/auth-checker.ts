import type { AuthChecker } from "type-graphql";
import { missingToken } from "../auth/authentication.js";
import type { PartnerScope } from "../auth/partners.js";
import { ForbiddenError } from "../errors.js";
import type { GraphQLContext } from "./context.type.js";

/**
 * Every field is for signed-in callers. A field's roles are the partner scopes that open it:
 * end users pass here whatever the roles (who may act for whom is decided in the domain), a
 * partner only on a field with one of its token's scopes, so a field without roles is not for
 * partners at all (administrators' fields).
 */
export const authChecker: AuthChecker<GraphQLContext, PartnerScope> = ({ context }, roles) => {
  // A presented token that failed never gets here (refused at the HTTP layer): only a missing one.
  if (!context.principal) throw missingToken();
  const principal = context.principal;
  if (principal.kind === "partner" && !roles.some((scope) => principal.partner.scopes.includes(scope))) {
    const needed = roles.length ? `one of the scopes ${roles.join(", ")}` : "a user's or an administrator's token";
    throw new ForbiddenError(`This field needs ${needed}; the partner token does not carry it.`, "PARTNER_SCOPE");
  }
  return true;
};
