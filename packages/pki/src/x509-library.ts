// The one module that imports @peculiar/x509, reached only through `loadX509` (x509.ts), so that
// a bundle keeps the library in a chunk of its own, loaded on first use.
// The library resolves its ASN.1 serializers through tsyringe, which needs the Reflect metadata
// polyfill loaded before the library is evaluated; ES modules evaluate imports in order.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

// The library types its provider with the DOM's `Crypto`, which this Node-only build does not
// declare; Node's webcrypto is that same interface.
x509.cryptoProvider.set(webcrypto as never);

export { x509 };
