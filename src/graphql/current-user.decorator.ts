import { createParameterDecorator } from "type-graphql";
import type { Principal } from "../auth/principal.js";
import { UnauthenticatedError } from "../errors.js";
import type { GraphQLContext } from "./context.type.js";

/** Injects the verified caller; a request without one never reaches the resolver body. */
export function CurrentUser() {
  return createParameterDecorator<GraphQLContext>(({ context }): Principal => {
    if (!context.principal) throw new UnauthenticatedError();
    return context.principal;
  });
}
