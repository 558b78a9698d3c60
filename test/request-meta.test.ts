/**
 * The edge's one parser of request metadata (`src/app/request-meta.ts`): whatever a client sends
 * as request target and Host, it returns either a problem (answered 400) or a target and host
 * that every later reader (`new URL`, `new Request`, the routers) takes without throwing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isProblem, normaliseTarget, parseRequestMeta } from "../src/app/request-meta.js";

const RUNS = process.env.STATEWIRE_DEEP === "1" ? 50_000 : 2_000;
const pathChars = fc.constantFrom(..."/./..%2e%2E\\?#=&ab:@[]ü%zz \t".split(""));
const target = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 40, unit: pathChars }).map((s) => `/${s}`),
  fc.array(fc.constantFrom("", ".", "..", "%2e", ".%2E", "a", "stats", "b c", "x\\y"), { maxLength: 6 }).map((segments) => `/${segments.join("/")}`),
);
const host = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ maxLength: 24, unit: fc.constantFrom(..."ab1.:[]@/ -9%_~xn".split("")) }),
  fc.constantFrom("127.0.0.1", "localhost:8080", "[::1]:3000", "x:99999", "[", "", "a b", "999.1.1.1", "EXAMPLE.com"),
);

describe("parseRequestMeta", () => {
  it("never throws; what it accepts, URL and Request accept too, as the same host and path", () => {
    fc.assert(
      fc.property(fc.option(target, { nil: undefined }), fc.option(host, { nil: undefined }), (rawTarget, rawHost) => {
        const meta = parseRequestMeta(rawTarget, rawHost);
        if (isProblem(meta)) return;
        const url = new URL(meta.target, `http://${meta.host}`);
        expect(() => new Request(`http://${meta.host}${meta.target}`)).not.toThrow();
        expect(new URL(meta.target, `ws://${meta.host}`).host).toBe(url.host);
        // The URL parser leaves a normalised path's structure alone: same segments, no dot segment resolved away.
        const path = meta.target.split(/[?#]/, 1)[0]!;
        expect(url.pathname.split("/").length).toBe(path.split("/").length);
      }),
      { numRuns: RUNS },
    );
  });

  it("a normalised target is a fixed point: single slashes, no dot segments, no backslash", () => {
    fc.assert(
      fc.property(target, (raw) => {
        const normal = normaliseTarget(raw);
        if (normal === undefined) return;
        const path = normal.split(/[?#]/, 1)[0]!;
        expect(path.startsWith("/")).toBe(true);
        expect(path.slice(1).includes("//")).toBe(false);
        expect(path.includes("\\")).toBe(false);
        expect(path.split("/").some((segment) => /^(\.|%2e){1,2}$/i.test(segment))).toBe(false);
        expect(normaliseTarget(normal)).toBe(normal);
      }),
      { numRuns: RUNS },
    );
  });

  it("refuses the cases of issue 13 and keeps ordinary requests as they are", () => {
    for (const bad of ["x:99999", "[", "", "a b", "a@b", "a/b"]) expect(isProblem(parseRequestMeta("/", bad))).toBe(true);
    for (const bad of ["*", "http://h/x", "/stats/..", "/./x", "/a/%2E%2e/b", "/a\\b", "/\t/evil", "/a b"]) expect(normaliseTarget(bad)).toBeUndefined();
    expect(normaliseTarget("//stats")).toBe("/stats");
    expect(normaliseTarget("/chat//lobby/?x=1")).toBe("/chat/lobby/?x=1");
    expect(normaliseTarget("/.well-known/x")).toBe("/.well-known/x");
    expect(parseRequestMeta("/chat?room=a", "127.0.0.1:8080")).toEqual({ target: "/chat?room=a", host: "127.0.0.1:8080" });
    expect(parseRequestMeta("/", undefined)).toEqual({ target: "/", host: "localhost" });
  });
});
