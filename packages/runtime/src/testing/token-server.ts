import { execFile } from "node:child_process";
import { createPrivateKey, type KeyObject, randomBytes, sign } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

// A tiny Docker token server (the "realm" of `auth: token`), enough for tests of bearer auth:
// it checks HTTP basic credentials, grants the requested repository scopes, and signs an ES256
// JWT whose x5c header carries a self-signed test certificate the registry trusts via its
// `rootcertbundle`. Listens on 127.0.0.1 only.

const run = promisify(execFile);

export interface TokenServerOptions {
  /** Directory for the key and certificate (the caller cleans it up). */
  dir: string;
  username: string;
  password: string;
  /** Must equal the registry's `auth.token.service`. */
  service: string;
  /** Must equal the registry's `auth.token.issuer`. */
  issuer: string;
  /** Grant pull without credentials (Docker Hub's behaviour for public images). Default false. */
  allowAnonymousPull?: boolean;
  tokenTtlSeconds?: number;
  /** Address to listen on (default 127.0.0.1; a test host's address when run inside it). */
  listenAddress?: string;
  /** Port (default: any free one). */
  port?: number;
}

export interface TokenServer {
  /** "http://127.0.0.1:<port>/token" */
  realm: string;
  /** PEM certificate for the registry's rootcertbundle. */
  certPath: string;
  /** Tokens issued so far (tests assert the bearer path was taken). */
  issued: () => number;
  stop: () => Promise<void>;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

function parseScopes(url: URL): { type: string; name: string; actions: string[] }[] {
  return url.searchParams.getAll("scope").flatMap((scope) => {
    // repository:<name>:<actions>; the name itself may contain a ":" only for a port, which
    // repository names never carry, so the last colon splits.
    const first = scope.indexOf(":");
    const last = scope.lastIndexOf(":");
    if (first < 0 || last <= first) return [];
    return [
      {
        type: scope.slice(0, first),
        name: scope.slice(first + 1, last),
        actions: scope.slice(last + 1).split(","),
      },
    ];
  });
}

function checkBasic(req: IncomingMessage, username: string, password: string): "ok" | "missing" | "wrong" {
  const header = req.headers.authorization;
  if (header === undefined || !header.startsWith("Basic ")) return "missing";
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  return decoded === `${username}:${password}` ? "ok" : "wrong";
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const keyPath = join(options.dir, "token.key");
  const certPath = join(options.dir, "token.crt");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyPath,
    "-out",
    certPath,
    "-days",
    "2",
    "-subj",
    "/CN=shoal-test-token-issuer",
  ]);
  const key: KeyObject = createPrivateKey(await readFile(keyPath));
  const certDer = Buffer.from(
    (await readFile(certPath, "utf8")).replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, ""),
    "base64",
  );
  const ttl = options.tokenTtlSeconds ?? 300;
  let issued = 0;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/token") {
      res.writeHead(404).end();
      return;
    }
    const auth = checkBasic(req, options.username, options.password);
    const scopes = parseScopes(url);
    const pullOnly = scopes.every((s) => s.actions.every((a) => a === "pull"));
    if (auth === "wrong" || (auth === "missing" && !(options.allowAnonymousPull === true && pullOnly))) {
      res.writeHead(401, {
        "content-type": "application/json",
        "www-authenticate": 'Basic realm="shoal-test-token"',
      });
      res.end(
        JSON.stringify({
          details: auth === "wrong" ? "incorrect username or password" : "credentials required",
        }),
      );
      return;
    }
    const nowS = Math.floor(Date.now() / 1000);
    const header = { alg: "ES256", typ: "JWT", x5c: [certDer.toString("base64")] };
    const claims = {
      iss: options.issuer,
      sub: auth === "ok" ? options.username : "",
      aud: url.searchParams.get("service") ?? options.service,
      exp: nowS + ttl,
      nbf: nowS - 10,
      iat: nowS,
      jti: randomBytes(12).toString("hex"),
      access: scopes.map((s) => ({
        ...s,
        actions: auth === "ok" ? s.actions : s.actions.filter((a) => a === "pull"),
      })),
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    // JOSE wants the raw r||s signature, not DER.
    const signature = sign("sha256", Buffer.from(signingInput), { key, dsaEncoding: "ieee-p1363" });
    const token = `${signingInput}.${base64url(signature)}`;
    issued++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: ttl,
        issued_at: new Date(nowS * 1000).toISOString(),
      }),
    );
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.listenAddress ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://${options.listenAddress ?? "127.0.0.1"}:${port}/token`,
    certPath,
    issued: () => issued,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
