// WWW-Authenticate challenges (RFC 7235) as registries send them, e.g.
//   Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"
//   Basic realm="Registry Realm"

export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses one or more challenges; parameter names are lowercased, the scheme too. */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let pos = 0;
  const skipSpaces = () => {
    while (pos < header.length && (header[pos] === " " || header[pos] === "\t")) pos++;
  };
  while (pos < header.length) {
    skipSpaces();
    const schemeMatch = /^[A-Za-z][A-Za-z0-9._~+/-]*/.exec(header.slice(pos));
    if (schemeMatch === null) break;
    const challenge: AuthChallenge = { scheme: schemeMatch[0].toLowerCase(), params: {} };
    challenges.push(challenge);
    pos += schemeMatch[0].length;
    for (;;) {
      skipSpaces();
      const nameMatch = /^([A-Za-z0-9_.-]+)\s*=\s*/.exec(header.slice(pos));
      if (nameMatch === null) break;
      pos += nameMatch[0].length;
      let value = "";
      if (header[pos] === '"') {
        pos++;
        while (pos < header.length && header[pos] !== '"') {
          if (header[pos] === "\\" && pos + 1 < header.length) pos++;
          value += header[pos];
          pos++;
        }
        pos++;
      } else {
        const token = /^[^,\s]*/.exec(header.slice(pos))?.[0] ?? "";
        value = token;
        pos += token.length;
      }
      challenge.params[(nameMatch[1] as string).toLowerCase()] = value;
      skipSpaces();
      if (header[pos] !== ",") break;
      pos++;
      // A comma may also separate challenges: stop if what follows is "Scheme " and not "name=".
      skipSpaces();
      if (
        /^[A-Za-z][A-Za-z0-9._~+/-]*\s+[A-Za-z0-9_.-]+\s*=/.test(header.slice(pos)) ||
        /^[A-Za-z][A-Za-z0-9._~+/-]*\s*$/.test(header.slice(pos))
      )
        break;
    }
  }
  return challenges;
}

export function basicAuthHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}
