import { openAsBlob } from "node:fs";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { type Logger, ShoalError, silentLogger } from "@shoal/base";
import { sha256Digest } from "./digest.js";
import { ImageErrorCode } from "./errors.js";
import { MANIFEST_ACCEPT } from "./media-types.js";
import { apiHost, formatReference, type ImageReference } from "./reference.js";
import { basicAuthHeader, parseWwwAuthenticate } from "./registry-auth.js";
import type { RegistryHostConfig } from "./types.js";

// A client for the OCI distribution API (the protocol of `docker pull/push`): manifests and blobs
// by digest, anonymous/basic/bearer auth driven by the registry's WWW-Authenticate challenge,
// monolithic blob uploads. Credentials are never logged.

export type Access = "pull" | "push";

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface RegistryClientOptions {
  /** Per registry host (as written in references, e.g. "127.0.0.1:5000"). */
  hosts?: Record<string, RegistryHostConfig> | undefined;
  logger?: Logger | undefined;
  /** Wall clock for token expiry; injected so tests can move it. */
  nowMs?: (() => number) | undefined;
}

interface CachedAuth {
  header: string;
  expiresAtMs: number;
}

interface RequestInitLite {
  method: string;
  headers?: Record<string, string>;
  /** A factory, so a body can be sent again after an auth challenge. */
  body?: (() => Blob | Uint8Array) | undefined;
  signal?: AbortSignal | undefined;
}

interface RegistryErrorBody {
  errors?: { code?: string; message?: string }[];
}

const TOKEN_DEFAULT_TTL_MS = 60_000;
const TOKEN_EXPIRY_MARGIN_MS = 5_000;

export class RegistryClient {
  private readonly hosts: Record<string, RegistryHostConfig>;
  private readonly logger: Logger;
  private readonly nowMs: () => number;
  /** "host scope" → Authorization header value. */
  private readonly auth = new Map<string, CachedAuth>();

  constructor(options: RegistryClientOptions = {}) {
    this.hosts = options.hosts ?? {};
    this.logger = (options.logger ?? silentLogger()).child({ module: "runtime/registry" });
    this.nowMs = options.nowMs ?? Date.now;
  }

  hostConfig(domain: string): RegistryHostConfig {
    return this.hosts[domain] ?? {};
  }

  private baseUrl(ref: ImageReference): string {
    const config = this.hostConfig(ref.domain);
    return `${config.insecure === true ? "http" : "https"}://${apiHost(ref.domain)}/v2/${ref.path}`;
  }

  private scopeFor(ref: ImageReference, access: Access): string {
    return `repository:${ref.path}:${access === "push" ? "pull,push" : "pull"}`;
  }

  private async send(
    url: string,
    init: RequestInitLite,
    authHeader: string | undefined,
    ref: ImageReference,
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (authHeader !== undefined) headers.authorization = authHeader;
    const config = this.hostConfig(ref.domain);
    try {
      return await fetch(url, {
        method: init.method,
        headers,
        ...(init.body === undefined ? {} : { body: init.body(), duplex: "half" }),
        ...(init.signal === undefined ? {} : { signal: init.signal }),
        redirect: "follow",
      } as RequestInit);
    } catch (err) {
      if (init.signal?.aborted === true) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? String(err);
      throw new ShoalError(
        ImageErrorCode.RegistryUnreachable,
        `registry "${ref.domain}" is unreachable: ${detail}`,
        {
          cause: err,
          hint:
            config.insecure === true
              ? "check that the registry is running and listening on that address"
              : "check that the registry is running; if it speaks plain HTTP, mark it insecure in the node's registry config",
        },
      );
    }
  }

  /** One API request with the challenge → credentials/token → retry dance. */
  async request(
    ref: ImageReference,
    access: Access,
    pathAndQuery: string,
    init: RequestInitLite,
  ): Promise<Response> {
    const url = pathAndQuery.startsWith("http") ? pathAndQuery : `${this.baseUrl(ref)}${pathAndQuery}`;
    const scope = this.scopeFor(ref, access);
    const key = `${ref.domain} ${scope}`;
    const cached = this.auth.get(key);
    const valid = cached !== undefined && cached.expiresAtMs > this.nowMs() ? cached.header : undefined;
    const first = await this.send(url, init, valid ?? this.presetHeader(ref), ref);
    if (first.status !== 401) return first;
    const challengeHeader = first.headers.get("www-authenticate") ?? "";
    await first.body?.cancel();
    const header = await this.authorize(ref, scope, challengeHeader, init.signal);
    this.auth.set(key, header);
    const second = await this.send(url, init, header.header, ref);
    if (second.status === 401 || second.status === 403) {
      throw await this.unauthorized(ref, second, access);
    }
    return second;
  }

  private presetHeader(ref: ImageReference): string | undefined {
    const credentials = this.hostConfig(ref.domain).credentials;
    return credentials?.kind === "token" ? `Bearer ${credentials.token}` : undefined;
  }

  private async authorize(
    ref: ImageReference,
    scope: string,
    challengeHeader: string,
    signal: AbortSignal | undefined,
  ): Promise<CachedAuth> {
    const credentials = this.hostConfig(ref.domain).credentials ?? { kind: "anonymous" };
    const challenges = parseWwwAuthenticate(challengeHeader);
    const bearer = challenges.find((c) => c.scheme === "bearer");
    const basic = challenges.find((c) => c.scheme === "basic");
    if (bearer !== undefined && bearer.params.realm !== undefined) {
      const realm = new URL(bearer.params.realm);
      if (bearer.params.service !== undefined) realm.searchParams.set("service", bearer.params.service);
      realm.searchParams.append("scope", scope);
      const challengeScope = bearer.params.scope;
      if (challengeScope !== undefined && challengeScope !== scope)
        realm.searchParams.append("scope", challengeScope);
      const headers: Record<string, string> = { accept: "application/json" };
      if (credentials.kind === "basic")
        headers.authorization = basicAuthHeader(credentials.username, credentials.password);
      let response: Response;
      try {
        response = await fetch(realm, { headers, ...(signal === undefined ? {} : { signal }) });
      } catch (err) {
        throw new ShoalError(
          ImageErrorCode.RegistryUnreachable,
          `token server "${realm.origin}" is unreachable`,
          { cause: err },
        );
      }
      if (!response.ok) {
        const text = (await response.text()).slice(0, 300);
        throw new ShoalError(
          ImageErrorCode.Unauthorized,
          `unauthorized: token server "${realm.origin}" refused a token for "${scope}" (HTTP ${response.status}${text === "" ? "" : `: ${text.trim()}`})`,
          {
            hint:
              credentials.kind === "basic"
                ? "check the registry username and password"
                : "this registry needs credentials",
          },
        );
      }
      const body = (await response.json()) as { token?: string; access_token?: string; expires_in?: number };
      const token = body.token ?? body.access_token;
      if (typeof token !== "string" || token === "") {
        throw new ShoalError(
          ImageErrorCode.RegistryProtocol,
          `token server "${realm.origin}" answered without a token`,
        );
      }
      const ttlMs =
        typeof body.expires_in === "number" && body.expires_in > 0
          ? body.expires_in * 1000
          : TOKEN_DEFAULT_TTL_MS;
      this.logger.debug({ registry: ref.domain, scope }, "registry token obtained");
      return { header: `Bearer ${token}`, expiresAtMs: this.nowMs() + ttlMs - TOKEN_EXPIRY_MARGIN_MS };
    }
    if (basic !== undefined) {
      if (credentials.kind !== "basic") {
        throw new ShoalError(
          ImageErrorCode.Unauthorized,
          `unauthorized: registry "${ref.domain}" requires a username and password for "${ref.path}"`,
          { hint: "configure credentials for this registry" },
        );
      }
      return {
        header: basicAuthHeader(credentials.username, credentials.password),
        expiresAtMs: Number.POSITIVE_INFINITY,
      };
    }
    throw new ShoalError(
      ImageErrorCode.Unauthorized,
      `unauthorized: registry "${ref.domain}" answered 401 without a usable challenge ("${challengeHeader}")`,
    );
  }

  private async registryMessage(response: Response): Promise<string> {
    try {
      const body = (await response.json()) as RegistryErrorBody;
      const first = body.errors?.[0];
      if (first !== undefined) return `${first.code ?? "ERROR"}: ${first.message ?? ""}`.trim();
    } catch {
      // not JSON: the status is all we have
    }
    return `HTTP ${response.status}`;
  }

  private async unauthorized(ref: ImageReference, response: Response, access: Access): Promise<ShoalError> {
    const message = await this.registryMessage(response);
    return new ShoalError(
      ImageErrorCode.Unauthorized,
      `unauthorized: registry "${ref.domain}" refused to let us ${access} "${ref.path}" (${message})`,
      { hint: "check the credentials configured for this registry" },
    );
  }

  private async unexpected(ref: ImageReference, what: string, response: Response): Promise<ShoalError> {
    const message = await this.registryMessage(response);
    return new ShoalError(
      ImageErrorCode.RegistryProtocol,
      `registry "${ref.domain}" failed to ${what}: ${message}`,
      {
        details: { status: response.status },
      },
    );
  }

  /** Fetches a manifest or index by tag or digest; verifies the digest it is addressed by. */
  async getManifest(ref: ImageReference, signal?: AbortSignal): Promise<FetchedManifest> {
    const reference = ref.digest ?? ref.tag ?? "latest";
    const response = await this.request(ref, "pull", `/manifests/${reference}`, {
      method: "GET",
      headers: { accept: MANIFEST_ACCEPT },
      signal,
    });
    if (response.status === 404) {
      await response.body?.cancel();
      throw new ShoalError(
        ImageErrorCode.NotFoundInRegistry,
        `image "${formatReference(ref)}" not found in registry "${ref.domain}"`,
        { hint: "check the repository name and tag" },
      );
    }
    if (!response.ok) throw await this.unexpected(ref, `serve manifest "${reference}"`, response);
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = sha256Digest(bytes);
    const expected = ref.digest ?? response.headers.get("docker-content-digest") ?? undefined;
    if (expected !== undefined && expected !== digest) {
      throw new ShoalError(
        ImageErrorCode.DigestMismatch,
        `manifest of "${formatReference(ref)}" has digest "${digest}", the registry promised "${expected}"`,
      );
    }
    const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
    return { bytes, mediaType, digest };
  }

  /** A blob's bytes as a stream (unverified: the caller hashes while storing). */
  async getBlob(
    ref: ImageReference,
    digest: string,
    signal?: AbortSignal,
  ): Promise<{ stream: Readable; sizeBytes: number | undefined }> {
    const response = await this.request(ref, "pull", `/blobs/${digest}`, { method: "GET", signal });
    if (response.status === 404) {
      await response.body?.cancel();
      throw new ShoalError(
        ImageErrorCode.NotFoundInRegistry,
        `blob "${digest}" of "${ref.path}" not found in registry "${ref.domain}"`,
      );
    }
    if (!response.ok || response.body === null)
      throw await this.unexpected(ref, `serve blob "${digest}"`, response);
    const length = response.headers.get("content-length");
    return {
      stream: Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      sizeBytes: length === null ? undefined : Number(length),
    };
  }

  async hasBlob(ref: ImageReference, digest: string, signal?: AbortSignal): Promise<boolean> {
    const response = await this.request(ref, "push", `/blobs/${digest}`, { method: "HEAD", signal });
    if (response.status === 404) return false;
    if (response.ok) return true;
    throw await this.unexpected(ref, `check blob "${digest}"`, response);
  }

  /** Monolithic upload: POST for a session, then one PUT with the whole file and its digest. */
  async uploadBlob(
    ref: ImageReference,
    digest: string,
    filePath: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const start = await this.request(ref, "push", "/blobs/uploads/", { method: "POST", signal });
    await start.body?.cancel();
    if (start.status !== 202) throw await this.unexpected(ref, "start a blob upload", start);
    const location = start.headers.get("location");
    if (location === null)
      throw new ShoalError(
        ImageErrorCode.RegistryProtocol,
        `registry "${ref.domain}" started an upload without a Location`,
      );
    const url = new URL(location, this.baseUrl(ref));
    url.searchParams.set("digest", digest);
    const blob = await openAsBlob(filePath);
    const put = await this.request(ref, "push", url.toString(), {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: () => blob,
      signal,
    });
    await put.body?.cancel();
    if (put.status !== 201) throw await this.unexpected(ref, `accept blob "${digest}"`, put);
  }

  /** PUT of the exact manifest bytes (so the digest stays), under `ref`'s tag or digest. */
  async putManifest(
    ref: ImageReference,
    mediaType: string,
    bytes: Buffer,
    signal?: AbortSignal,
  ): Promise<string> {
    const reference = ref.tag ?? ref.digest ?? "latest";
    const response = await this.request(ref, "push", `/manifests/${reference}`, {
      method: "PUT",
      headers: { "content-type": mediaType },
      body: () => new Uint8Array(bytes),
      signal,
    });
    await response.body?.cancel();
    if (response.status !== 201) throw await this.unexpected(ref, `accept manifest "${reference}"`, response);
    const digest = sha256Digest(bytes);
    const echoed = response.headers.get("docker-content-digest");
    if (echoed !== null && echoed !== digest) {
      throw new ShoalError(
        ImageErrorCode.DigestMismatch,
        `registry "${ref.domain}" stored manifest as "${echoed}", expected "${digest}"`,
      );
    }
    return digest;
  }
}
