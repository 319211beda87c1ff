import { ListUsersCommand, type CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import { awsCall } from "./aws-errors.js";

export interface ApplicationUser {
  sub: string;
  attributes: Record<string, string>;
}

/**
 * Read-only look-ups in Pool A, for an administrator acting for a user who is not the caller:
 * the broker then needs that user's tenant attribute from the pool rather than from a token.
 */
export class ApplicationDirectory {
  constructor(
    private readonly client: CognitoIdentityProviderClient,
    private readonly userPoolId: string,
  ) {}

  async findBySub(sub: string): Promise<ApplicationUser | null> {
    // The filter value is quoted by Cognito's grammar; a sub is a UUID, anything else cannot match.
    if (!/^[A-Za-z0-9-]{1,128}$/.test(sub)) return null;
    const response = await awsCall("ListUsers", () =>
      this.client.send(new ListUsersCommand({ UserPoolId: this.userPoolId, Filter: `sub = "${sub}"`, Limit: 1 })),
    );
    const user = response.Users?.[0];
    if (!user) return null;
    const attributes = Object.fromEntries((user.Attributes ?? []).map((a) => [a.Name ?? "", a.Value ?? ""]));
    return { sub, attributes };
  }
}
