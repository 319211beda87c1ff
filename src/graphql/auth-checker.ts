import type { AuthChecker } from "type-graphql";
import { missingToken } from "../auth/authentication.js";
import type { GraphQLContext } from "./context.type.js";

/** Every field is for signed-in users; who may act for whom is decided in the domain (BrokerService). */
export const authChecker: AuthChecker<GraphQLContext> = ({ context }) => {
  // A presented token that failed never gets here (refused at the HTTP layer): only a missing one.
  if (!context.principal) throw missingToken();
  return true;
};
