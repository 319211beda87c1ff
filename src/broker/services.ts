import type { AuditEventsService } from "./audit/audit-events.service.js";
import type { ClientKeyService } from "./client-keys/client-keys.service.js";
import type { ConnectionsService } from "./connections/connections.service.js";
import type { IssuanceService } from "./credentials/issuance.service.js";
import type { GrantsService } from "./grants/grants.service.js";
import type { LifecycleService } from "./lifecycle/lifecycle.service.js";
import type { ObjectAccessService } from "./objects/object-access.service.js";

/**
 * The domain as its callers (the GraphQL resolvers, the credential endpoint) reach it: one service
 * per concern, each deciding who may act (access/) before it works, wired in src/app.ts. There is
 * no facade in front of them: a resolver calls the one service its field belongs to.
 */
export interface BrokerServices {
  /** Status, credential expiry, the administrators' list, token refresh. */
  connections: ConnectionsService;
  /** Provisioning and reinstatement, revocation (one or many), moves between tenants. */
  lifecycle: LifecycleService;
  /** Temporary credentials for a caller. */
  issuance: IssuanceService;
  /** What a tenant may reach (myAccess) and the administrators' grants. */
  grants: GrantsService;
  /** Presigned URLs and listings under the caller's grants. */
  objects: ObjectAccessService;
  clientKeys: ClientKeyService;
  auditEvents: AuditEventsService;
}
