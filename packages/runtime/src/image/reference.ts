import { ShoalError } from "@shoal/base";
import { ImageErrorCode } from "./errors.js";

// Docker's reference grammar (distribution/reference), normalized the way `docker pull` does:
// "busybox" is "docker.io/library/busybox:latest".
export const DEFAULT_DOMAIN = "docker.io";
const DOCKER_HUB_API_HOST = "registry-1.docker.io";

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:.]+\](?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface ImageReference {
  /** Registry host as written ("docker.io", "127.0.0.1:5000"). */
  domain: string;
  /** Repository path ("library/busybox", "team/app"). */
  path: string;
  tag?: string | undefined;
  digest?: string | undefined;
}

function invalid(ref: string, why: string): ShoalError {
  return new ShoalError(ImageErrorCode.InvalidReference, `image reference "${ref}" is invalid: ${why}`, {
    hint: 'use [host[:port]/]name[:tag][@sha256:<64 hex>], e.g. "127.0.0.1:5000/app:1.0"',
  });
}

/** Parses and normalizes; a reference without tag or digest gets the tag "latest". */
export function parseReference(ref: string): ImageReference {
  if (ref.length === 0 || ref.length > 4096) throw invalid(ref, "length must be 1 to 4096 characters");
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(ref, `digest "${digest}" is not sha256:<64 lowercase hex>`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(ref, `tag "${tag}" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const firstSlash = rest.indexOf("/");
  if (firstSlash >= 0) {
    const first = rest.slice(0, firstSlash);
    // The first component is a host when it looks like one (Docker's rule).
    if (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("[")) {
      if (!DOMAIN.test(first)) throw invalid(ref, `registry host "${first}" is not a host[:port]`);
      domain = first;
      path = rest.slice(firstSlash + 1);
    }
  }
  if (domain === "index.docker.io") domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) path = `library/${path}`;
  for (const component of path.split("/")) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        ref,
        `repository component "${component}" must be lowercase letters, digits and separators`,
      );
    }
  }
  if (tag === undefined && digest === undefined) tag = "latest";
  return { domain, path, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

export function formatReference(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}${ref.tag === undefined ? "" : `:${ref.tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

/** "domain/path" without tag or digest. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Host to send API requests to (Docker Hub's API lives on another name). */
export function apiHost(domain: string): string {
  return domain === DEFAULT_DOMAIN ? DOCKER_HUB_API_HOST : domain;
}

/** Normalized string form, or undefined when `ref` does not parse. */
export function tryNormalize(ref: string): string | undefined {
  try {
    return formatReference(parseReference(ref));
  } catch {
    return undefined;
  }
}
