import { createParameterDecorator } from "type-graphql";
import type { Principal } from "../auth/principal.js";
import { missingToken } from "../auth/authentication.js";
import type { GraphQLContext } from "./context.type.js";

/** Injects the verified caller; a request without one never reaches the resolver body. */
export function CurrentUser() {
  return createParameterDecorator<GraphQLContext>(({ context }): Principal => {
    if (!context.principal) throw missingToken();
    return context.principal;
  });
}
