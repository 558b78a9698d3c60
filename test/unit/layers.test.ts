/**
 * Imports run downward (docs/architecture.md §1): every relative import in src/ and machines/
 * is read, each file gets its folder's layer, and an import to a higher layer fails unless the
 * short allow-list in test/support/layers.ts names it with its reason. No import circles.
 */
import { describe, expect, test } from "vitest";
import { ALLOWED_UPWARD, circles, importGraph, layerOf, upwardImports } from "../support/layers.js";

describe("the import graph", () => {
  const edges = importGraph();

  test("reads the imports of every file (a parse that found nothing would pass everything)", () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ from: "src/connection/connection.ts", to: "src/connection/lifecycle.ts", typeOnly: false });
    expect(edges).toContainEqual({ from: "machines/connection.ts", to: "src/wire/close-codes.ts", typeOnly: false });
  });

  test("every file has a layer", () => {
    for (const { from, to } of edges) {
      expect(() => layerOf(from)).not.toThrow();
      expect(() => layerOf(to)).not.toThrow();
    }
  });

  test("no import runs up a layer except the allowed ones", () => {
    const unexpected = upwardImports(edges)
      .map((edge) => `${edge.from} -> ${edge.to}`)
      .filter((edge) => !(edge in ALLOWED_UPWARD));
    expect(unexpected).toStrictEqual([]);
  });

  test("every allowed upward import still exists (the list stays short and true)", () => {
    const present = new Set(upwardImports(edges).map((edge) => `${edge.from} -> ${edge.to}`));
    expect(Object.keys(ALLOWED_UPWARD).filter((edge) => !present.has(edge))).toStrictEqual([]);
  });

  test("no import circles", () => {
    expect(circles(edges)).toStrictEqual([]);
  });

  test("the checker sees an upward import and a circle when there is one", () => {
    const planted = [
      { from: "src/wire/close-codes.ts", to: "src/app/app.ts", typeOnly: true },
      { from: "src/app/app.ts", to: "src/wire/close-codes.ts", typeOnly: false },
    ];
    expect(upwardImports(planted)).toHaveLength(1);
    expect(circles(planted)).toStrictEqual([["src/app/app.ts", "src/wire/close-codes.ts"]]);
  });

  test("the layers of the vocabulary, the connection and the handler contract", () => {
    expect(layerOf("src/wire/close-codes.ts")).toBe(0);
    expect(layerOf("machines/connection.ts")).toBe(0);
    expect(layerOf("src/connection/handler.ts")).toBe(2);
    expect(layerOf("src/handlers/listener.ts")).toBe(3);
    expect(layerOf("src/inspector/hub.ts")).toBeGreaterThan(layerOf("src/app/app.ts"));
  });
});
