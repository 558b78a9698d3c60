/** src/connection/query.ts on its own: the one query parser of sockets, guards, providers and HTTP routes. */
import { describe, expect, test } from "vitest";
import { queryOf } from "../../src/connection/query.js";

describe("queryOf", () => {
  test("the first value of each name, decoded", () => {
    expect({ ...queryOf("/chat?room=a%20b&room=c&x=1") }).toStrictEqual({ room: "a b", x: "1" });
  });

  test("no query, an empty one, a bare name", () => {
    expect({ ...queryOf("/chat") }).toStrictEqual({});
    expect({ ...queryOf("/chat?") }).toStrictEqual({});
    expect({ ...queryOf("/chat?flag") }).toStrictEqual({ flag: "" });
  });

  test("a record without a prototype: inherited names are parameters like any other, absent ones undefined", () => {
    const query = queryOf("/?constructor=x");
    expect(Object.getPrototypeOf(query)).toBe(null);
    expect(query.constructor).toBe("x");
    expect(queryOf("/").toString).toBe(undefined);
  });

  test("agrees with URLSearchParams on what a browser would send", () => {
    for (const search of ["a=1&b=2", "a=%E2%9C%93", "a+b=c+d", "=v&k=", "a=1&a=2&a=3"]) {
      const expected: Record<string, string> = {};
      for (const [name, value] of new URLSearchParams(search)) if (!(name in expected)) expected[name] = value;
      expect({ ...queryOf(`/p?${search}`) }).toStrictEqual(expected);
    }
  });
});
