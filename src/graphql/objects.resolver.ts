import { Arg, Authorized, Ctx, Float, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { MAX_BATCH } from "../broker/objects/object-access.service.js";
import type { Principal } from "../auth/principal.js";
import type { PresignedDownloadView, PresignedUploadView } from "../broker/objects/object-access.service.js";
import { userIdArg } from "./user-id-arg.js";
import type { PartnerScope } from "../auth/partners.js";
import type { GraphQLContext } from "./context.type.js";
import { CurrentUser } from "./current-user.decorator.js";
import { ObjectPage, PresignedDownload, PresignedUpload, UploadFileInput } from "./objects.type.js";
import { RateLimited } from "./rate-limit.middleware.js";

const attachmentArg = {
  defaultValue: false,
  description: "true: S3 answers with Content-Disposition: attachment and the object's name, so a browser saves the file instead of opening it in place of the page.",
} as const;
const expiresArg = { nullable: true, description: "1 to 3600 seconds; default 900. Never later than the signing credentials." } as const;

@Authorized()
@Resolver()
export class ObjectsResolver {
  @Authorized<PartnerScope>(["issue"])
  @Query(() => ObjectPage, { description: "Objects under a prefix within a READ grant, a page at a time (keys relative to the tenant's root)." })
  async objects(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("prefix", () => String, { defaultValue: "", description: '"" or a prefix ending in "/".' }) prefix: string,
    @Arg("first", () => Int, { defaultValue: 100, description: "1 to 1000." }) first: number,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
    @Arg("byFolder", () => Boolean, { defaultValue: false, description: 'true: one level, as a file browser shows it: the objects directly under the prefix, and its subfolders in `folders`. false: every object under the prefix, at any depth.' })
    byFolder?: boolean,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ) {
    const page = await context.services.objects.list(principal, { prefix, first, after, byFolder, userId }, context);
    return { objects: page.objects, folders: page.folders, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  }

  @Authorized<PartnerScope>(["issue"])
  @Mutation(() => PresignedDownload, { description: "A download URL for one object within a READ grant." })
  @RateLimited()
  presignDownload(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("key", () => String, { description: "Relative to the tenant's root." }) key: string,
    @Arg("expiresInSeconds", () => Int, expiresArg) expiresInSeconds?: number | null,
    @Arg("attachment", () => Boolean, attachmentArg) attachment?: boolean,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<PresignedDownloadView> {
    return context.services.objects.download(principal, { key, expiresInSeconds, attachment, userId }, context);
  }

  @Authorized<PartnerScope>(["issue"])
  @Mutation(() => PresignedUpload, { description: "A presigned POST for exactly one key within a WRITE grant, at most maxBytes." })
  @RateLimited()
  presignUpload(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("key", () => String, { description: "Relative to the tenant's root." }) key: string,
    @Arg("maxBytes", () => Float, { description: "The largest body S3 accepts for this upload (1 byte to 5 GiB)." }) maxBytes: number,
    @Arg("contentType", () => String, { nullable: true, description: "When set, the upload must carry exactly this Content-Type." }) contentType?: string | null,
    @Arg("expiresInSeconds", () => Int, expiresArg) expiresInSeconds?: number | null,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<PresignedUploadView> {
    return context.services.objects.upload(principal, { key, maxBytes, contentType, expiresInSeconds, userId }, context);
  }

  @Authorized<PartnerScope>(["issue"])
  @Mutation(() => [PresignedDownload], {
    description: `Download URLs for 1 to ${MAX_BATCH} objects in one request (one mutation against the rate limit), each signing its one object. One key is scoped as presignDownload; several need one READ grant that covers the deepest folder holding them all (NO_GRANT otherwise: presign them per folder).`,
  })
  @RateLimited()
  presignDownloads(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("keys", () => [String], { description: "Relative to the tenant's root; distinct." }) keys: string[],
    @Arg("expiresInSeconds", () => Int, expiresArg) expiresInSeconds?: number | null,
    @Arg("attachment", () => Boolean, attachmentArg) attachment?: boolean,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<PresignedDownloadView[]> {
    return context.services.objects.downloads(principal, { keys, expiresInSeconds, attachment, userId }, context);
  }

  @Authorized<PartnerScope>(["issue"])
  @Mutation(() => [PresignedUpload], {
    description: `Presigned POSTs for 1 to ${MAX_BATCH} files in one request, each admitting exactly its key and size. Several need one WRITE grant that covers the deepest folder holding them all (NO_GRANT otherwise).`,
  })
  @RateLimited()
  presignUploads(
    @CurrentUser() principal: Principal,
    @Ctx() context: GraphQLContext,
    @Arg("files", () => [UploadFileInput], { description: "Distinct keys." }) files: UploadFileInput[],
    @Arg("expiresInSeconds", () => Int, expiresArg) expiresInSeconds?: number | null,
    @Arg("userId", () => ID, userIdArg) userId?: string | null,
  ): Promise<PresignedUploadView[]> {
    return context.services.objects.uploads(principal, { files, expiresInSeconds, userId }, context);
  }
}
