import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { ShoalError } from "@shoal/base";
import { ImageSummary } from "@shoal/proto";
import type { Command } from "commander";
import { CliErrorCode } from "../errors.js";
import type { CommandContext } from "../io.js";
import { printRows } from "../output.js";
import { ago, nowMs, printJson, say } from "./common.js";
import { formatSize, imageRows, shortImageId } from "./image-rows.js";

/** A pull, push or import moves whole images: far longer than a control call may take. */
export const IMAGE_TRANSFER_TIMEOUT_MS = 30 * 60_000;

const summaryJson = (s: ImageSummary | undefined) => (s === undefined ? {} : ImageSummary.toJSON(s));

/**
 * `shoal image …` (docker's verbs and flags): this node's image store, through the admin socket —
 * the images its tasks run from. Registry errors keep the runtime's codes
 * (IMAGE_NOT_FOUND_IN_REGISTRY, IMAGE_REGISTRY_UNREACHABLE, IMAGE_UNAUTHORIZED, …).
 */
export function registerImage(program: Command, ctx: CommandContext): void {
  const group = program
    .command("image")
    .summary("pull, import, tag, push, list and remove images on this node")
    .description("Manage this node's images (the store its tasks' containers run from).");

  group
    .command("ls")
    .alias("list")
    .summary("list the node's images")
    .option("-q, --quiet", "print only image ids")
    .action(async (opts: { quiet?: boolean }) => {
      await ctx.withApi(async (api) => {
        const { images } = await api.admin("listImages", {});
        if (opts.quiet === true) {
          const ids = [...new Set(images.map((i) => shortImageId(i.id)))];
          return void ctx.io.stdout.write(ids.map((id) => `${id}\n`).join(""));
        }
        if (ctx.globals().format === "json") return printJson(ctx, images.map(summaryJson));
        const now = nowMs(ctx);
        printRows(ctx.io, "table", imageRows(images), [
          { header: "REPOSITORY", value: (r) => r.repository },
          { header: "TAG", value: (r) => r.tag },
          { header: "IMAGE ID", value: (r) => r.shortId },
          { header: "CREATED", value: (r) => ago(r.image.createdAtMs, now) },
          { header: "SIZE", value: (r) => formatSize(r.image.sizeBytes) },
        ]);
      });
    });

  group
    .command("pull")
    .summary("pull an image from its registry")
    .argument("<name>", "NAME[:TAG|@DIGEST]")
    .option("-q, --quiet", "print only the image's name")
    .action(async (name: string, opts: { quiet?: boolean }) => {
      await ctx.withApi(async (api) => {
        if (opts.quiet !== true) say(ctx, `Pulling ${name}`);
        const { image } = await api.admin(
          "pullImage",
          { reference: name },
          { timeoutMs: IMAGE_TRANSFER_TIMEOUT_MS },
        );
        if (ctx.globals().format === "json") return printJson(ctx, summaryJson(image));
        if (opts.quiet !== true) {
          say(ctx, `Digest: ${image?.manifestDigest ?? ""}`);
          say(ctx, `Status: image is up to date for ${image?.names[0] ?? name}`);
        }
        ctx.io.stdout.write(`${image?.names[0] ?? name}\n`);
      });
    });

  group
    .command("import")
    .summary("import an OCI layout, a `docker save` tar or a rootfs tar")
    .argument("<path>", "an OCI layout directory or tar, a docker save tar, or a rootfs tar")
    .argument("[reference]", "name for the image (required for a rootfs tar)")
    .option("-q, --quiet", "print only image ids")
    .action(async (file: string, reference: string | undefined, opts: { quiet?: boolean }) => {
      const path = resolve(ctx.io.cwd, file);
      try {
        await stat(path);
      } catch (err) {
        throw new ShoalError(CliErrorCode.NotFound, `cannot read "${path}": ${(err as Error).message}`, {
          cause: err,
          hint: "give the path of an OCI layout or an image tar on this node",
        });
      }
      await ctx.withApi(async (api) => {
        const { images } = await api.admin(
          "importImage",
          { path, reference: reference ?? "" },
          { timeoutMs: IMAGE_TRANSFER_TIMEOUT_MS },
        );
        if (ctx.globals().format === "json") return printJson(ctx, images.map(summaryJson));
        for (const i of images) {
          if (opts.quiet === true) ctx.io.stdout.write(`${i.id}\n`);
          else if (i.names.length === 0) ctx.io.stdout.write(`Loaded image ID: ${i.id}\n`);
          else for (const n of i.names) ctx.io.stdout.write(`Loaded image: ${n}\n`);
        }
      });
    });

  group
    .command("tag")
    .summary("give an image another name")
    .argument("<source>", "image name, id or id prefix")
    .argument("<target>", "NAME[:TAG]")
    .action(async (source: string, target: string) => {
      await ctx.withApi(async (api) => {
        const { image } = await api.admin("tagImage", { source, target });
        if (ctx.globals().format === "json") printJson(ctx, summaryJson(image));
      });
    });

  group
    .command("push")
    .summary("push an image to the registry its name points at")
    .argument("<name>", "NAME[:TAG] of an image on this node")
    .option("-q, --quiet", "print only the pushed name")
    .action(async (name: string, opts: { quiet?: boolean }) => {
      await ctx.withApi(async (api) => {
        if (opts.quiet !== true) say(ctx, `The push refers to ${name}`);
        const pushed = await api.admin(
          "pushImage",
          { reference: name },
          { timeoutMs: IMAGE_TRANSFER_TIMEOUT_MS },
        );
        if (ctx.globals().format === "json") return printJson(ctx, pushed);
        if (opts.quiet === true) ctx.io.stdout.write(`${pushed.reference}\n`);
        else say(ctx, `${pushed.reference}: digest: ${pushed.digest}`);
      });
    });

  group
    .command("rm")
    .alias("remove")
    .summary("remove images (by name: that name only; by id: the image)")
    .argument("<image...>", "names, ids or id prefixes")
    .option("-f, --force", "remove even when containers use it (it goes once they stop)")
    .action(async (refs: string[], opts: { force?: boolean }) => {
      await ctx.withApi(async (api) => {
        const removed = await api.admin("removeImage", { references: refs, force: opts.force === true });
        if (ctx.globals().format === "json") return printJson(ctx, removed);
        for (const u of removed.untagged) ctx.io.stdout.write(`Untagged: ${u}\n`);
        for (const d of removed.deleted) ctx.io.stdout.write(`Deleted: ${d}\n`);
      });
    });
}
