import {
  AdminGetUserCommand,
  AdminListGroupsForUserCommand,
  DescribeUserPoolClientCommand,
  ListUsersCommand,
  type CognitoIdentityProviderClient,
} from "@aws-sdk/client-cognito-identity-provider";
import { awsCall, UpstreamError } from "./aws-errors.js";

export interface ApplicationUser {
  sub: string;
  username: string;
  enabled: boolean;
  attributes: Record<string, string>;
}

/**
 * Read-only look-ups in Pool A, the application's user pool: who a user is (present, enabled,
 * attributes), which groups they belong to, and what the application's client may write.
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
    if (!user?.Username) return null;
    return { sub, username: user.Username, enabled: user.Enabled !== false, attributes: attributesOf(user.Attributes) };
  }

  /** AdminGetUser: the cheaper look-up (a higher Cognito quota) when the username is known. */
  async findByUsername(username: string): Promise<ApplicationUser | null> {
    try {
      const user = await awsCall("AdminGetUser", () => this.client.send(new AdminGetUserCommand({ UserPoolId: this.userPoolId, Username: username })));
      const attributes = attributesOf(user.UserAttributes);
      return { sub: attributes.sub ?? "", username, enabled: user.Enabled !== false, attributes };
    } catch (error) {
      if (error instanceof UpstreamError && error.reason === "USER_NOT_FOUND") return null;
      throw error;
    }
  }

  async groupsOf(username: string): Promise<string[]> {
    const groups: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await awsCall("AdminListGroupsForUser", () =>
        this.client.send(new AdminListGroupsForUserCommand({ UserPoolId: this.userPoolId, Username: username, Limit: 60, NextToken: nextToken })),
      );
      groups.push(...(page.Groups ?? []).map((g) => g.GroupName ?? "").filter(Boolean));
      nextToken = page.NextToken;
    } while (nextToken);
    return groups;
  }

  /** The attributes the app client lets a signed-in user write; null when the client leaves the list unset. */
  async clientWriteAttributes(clientId: string): Promise<string[] | null> {
    const response = await awsCall("DescribeUserPoolClient", () =>
      this.client.send(new DescribeUserPoolClientCommand({ UserPoolId: this.userPoolId, ClientId: clientId })),
    );
    return response.UserPoolClient?.WriteAttributes ?? null;
  }
}

function attributesOf(list: Array<{ Name?: string | undefined; Value?: string | undefined }> | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((a) => [a.Name ?? "", a.Value ?? ""]));
}
