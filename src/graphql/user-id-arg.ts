/** The `userId` argument of every field that can act for someone else. */
export const userIdArg = {
  nullable: true,
  description: "Act for this Pool A user: administrators for anyone, partners for users of their tenants (who must name it).",
} as const;
