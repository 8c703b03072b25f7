import { describe, expect, it } from "vitest";
import { parseWwwAuthenticate } from "./registry-auth.js";

describe("parseWwwAuthenticate", () => {
  it("reads a bearer challenge with quoted commas", () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="http://127.0.0.1:1/token",service="reg",scope="repository:a/b:pull,push",error="insufficient_scope"',
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "http://127.0.0.1:1/token",
          service: "reg",
          scope: "repository:a/b:pull,push",
          error: "insufficient_scope",
        },
      },
    ]);
  });

  it("reads basic and several challenges", () => {
    expect(parseWwwAuthenticate('Basic realm="Registry Realm"')).toEqual([
      { scheme: "basic", params: { realm: "Registry Realm" } },
    ]);
    expect(parseWwwAuthenticate('Basic realm="a", Bearer realm="b",service=s')).toEqual([
      { scheme: "basic", params: { realm: "a" } },
      { scheme: "bearer", params: { realm: "b", service: "s" } },
    ]);
  });
});
