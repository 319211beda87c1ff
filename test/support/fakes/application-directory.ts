import type { ApplicationDirectory, ApplicationUser } from "../../../src/cognito/application-directory.js";

/**
 * Pool A in memory, behind the service layer's interface, for domain unit tests (tenancy,
 * standing) that need no emulator. Counts the look-ups, so a test can tell a cached answer from a
 * fresh one. The end-to-end suites prove the real ApplicationDirectory against moto.
 */
export class InMemoryApplicationDirectory {
  readonly users = new Map<string, ApplicationUser & { groups: string[] }>();
  lookUps = 0;

  add(user: { sub: string; username?: string; enabled?: boolean; tenant?: string; groups?: string[]; attributes?: Record<string, string> }): void {
    this.users.set(user.sub, {
      sub: user.sub,
      username: user.username ?? `user-${user.sub}`,
      enabled: user.enabled ?? true,
      attributes: { ...(user.tenant !== undefined ? { "custom:tenant": user.tenant } : {}), ...user.attributes },
      groups: user.groups ?? [],
    });
  }

  async findBySub(sub: string): Promise<ApplicationUser | null> {
    this.lookUps += 1;
    return this.users.get(sub) ?? null;
  }

  async findByUsername(username: string): Promise<ApplicationUser | null> {
    this.lookUps += 1;
    return [...this.users.values()].find((u) => u.username === username) ?? null;
  }

  async groupsOf(username: string): Promise<string[]> {
    return [...this.users.values()].find((u) => u.username === username)?.groups ?? [];
  }

  async clientWriteAttributes(): Promise<string[] | null> {
    return ["email"];
  }

  /** As the broker's services take it. */
  asDirectory(): ApplicationDirectory {
    return this as unknown as ApplicationDirectory;
  }
}
