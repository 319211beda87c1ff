/**
 * What Apollo Sandbox opens with (development only): one example of each thing an end user does,
 * in order. Validated against the schema by test/unit/sandbox-examples.test.ts, so it cannot drift.
 */
export const SANDBOX_EXAMPLES = `# Example operations: pick one in the Operation panel, then Run.
# The Authorization header (Headers, below) must hold "Bearer <Pool A ID token>";
# on the local stack: npm run -s token -- alice

query Status {
  connectionStatus { state tenant prefix lastCredentialExpiresAt }
}

mutation Provision {
  provisionDataPlatformUser { state tenant prefix }
}

query MyAccess {
  myAccess { tenant prefix grants { id location permission } }
}

mutation IssueCredentials {
  issueCredentials(flow: CLASSIC, durationSeconds: 900, auditContext: "trying the broker in Sandbox") {
    expiration
    s3Uri
    scope { target permission }
    clientConfiguration { shellExports }
  }
}

mutation CreateClientKey {
  createClientKey(input: { name: "sandbox try-out", flow: ENHANCED }) {
    secret
    key { id expiresAt }
    setup { installHelper credentialsFileUpdate }
  }
}

query MyAuditTrail {
  auditEvents(first: 10) { nodes { at action outcome reason } }
}
`;
