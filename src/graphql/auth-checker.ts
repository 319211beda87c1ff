import type { AuthChecker } from "type-graphql";
import { UnauthenticatedError } from "../errors.js";
import type { GraphQLContext } from "./context.type.js";

/** Every field is for signed-in users; who may act for whom is decided in the domain (BrokerService). */
export const authChecker: AuthChecker<GraphQLContext> = ({ context }) => {
  if (!context.principal) throw new UnauthenticatedError();
  return true;
};
