/** The verified caller of a request: an end user of the application, signed in to Pool A. */
export interface Principal {
  /** Pool A `sub`. */
  userId: string;
  /** The raw tenant claim (`sub` when the claim is absent, "" when it is not a string); validated where it is used. */
  tenant: string;
  groups: string[];
  isAdmin: boolean;
}
