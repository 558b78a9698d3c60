/**
 * docs/cookbook.md only links what runs: every section of the five guides it answers has a row,
 * every row links something, every example it names exists and is exercised by a test (named by
 * a test file, or mounted on the tour, which test/tour.test.ts drives), and every test it names
 * exists.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { ROOT } from "./support/process.js";

const cookbook = readFileSync(`${ROOT}/docs/cookbook.md`, "utf8");
const linksIn = (text: string): string[] => [...text.matchAll(/\]\(\.\.\/([^)]+)\)/g)].map((match) => match[1]!);
const links = linksIn(cookbook);

/** The sections of each guide (the files of ../shared/seeds, by their headings), under the cookbook heading that answers them. */
const GUIDES: Readonly<Record<string, readonly string[]>> = {
  "## Litestar — WebSockets reference": [
    "WebSocket Handler (Low-level)", "WebSocket Listener (High-level)", "Basic Listener", "JSON Data", "Binary Data",
    "Accessing WebSocket Instance", "Dependency Injection", "Yield Dependencies", "WebSocket Streams", "Basic Stream",
    "Stream with Serialization", "Stream with Direct Socket Access", "Class-Based WebSocket Listeners", "Custom Connection Handling",
    "Connection Acceptance", "Rejecting Connections", "Broadcasting", "In-Memory Broadcasting", "Redis Broadcasting",
    "WebSocket with HTTP Together", "Error Handling", "Testing WebSockets",
  ],
  "## Litestar — WebSockets guide": [
    "Receiving data", "Sending data", "Transport modes", "Setting the receive mode", "Setting the send mode", "Dependency injection",
    "Interacting with the WebSocket directly", "Customising connection acceptance", "Class based WebSocket handling", "Custom WebSocket",
  ],
  "## Velithon — WebSocket support": [
    "Features", "Quick Start", "Function-based WebSocket Handler", "Class-based WebSocket Endpoint", "WebSocket Class",
    "Connection Management", "Sending Messages", "Receiving Messages", "Properties", "WebSocketEndpoint Class", "Lifecycle Methods",
    "Error Handling", "WebSocketDisconnect Exception", "Connection States", "Advanced Usage", "WebSocket with Path Parameters",
    "WebSocket with Query Parameters", "Broadcasting to Multiple Clients", "Example Application", "Running the Example",
    "WebSocket Status Codes", "Integration with Middleware", "Best Practices", "Limitations",
  ],
  "## Nexios — WebSocket": [
    "WebSocket Class", "Class Definition", "Connection Management", "accept()", "close()", "Message Handling", "Receiving Messages",
    "receive_text()", "receive_bytes()", "receive_json()", "Sending Messages", "send_text()", "send_bytes()", "send_json()",
    "WebSocket Properties", "client: Optional[Address]", "headers: Headers", "query_params: QueryParams", "path_params: Dict[str, Any]",
    "state: State", "Advanced WebSocket Patterns", "Authentication and Authorization", "Room-based Chat System", "Real-time Data Streaming",
    "WebSocket Middleware", "Error Handling", "WebSocket Exceptions", "Connection State Management", "Testing WebSockets",
    "WebSocket Test Client", "Testing WebSocket JSON Communication", "Performance Considerations", "Connection Pooling", "Message Queuing",
    "Best Practices",
  ],
  "## Responder — WebSockets": [
    "How WebSockets Work", "Echo Server", "Chat Room", "Data Formats", "HTML Client", "Before-Request Hooks for WebSockets",
    "Connection Lifecycle", "Testing WebSockets",
  ],
};

/** The text under `heading`, up to the next `## `. */
function section(heading: string): string {
  const start = cookbook.indexOf(`${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const end = cookbook.indexOf("\n## ", start + heading.length);
  return cookbook.slice(start, end === -1 ? undefined : end);
}

/** Table rows (not the header or its rule): first cell → the row. */
function rows(text: string): Map<string, string> {
  const found = new Map<string, string>();
  const lines = text.split("\n").filter((line) => line.startsWith("| ") && !line.startsWith("|---"));
  for (const line of lines.slice(1)) found.set(line.split(" | ")[0]!.slice(2).trim(), line);
  return found;
}

/** Every test source, to find which examples a test exercises. */
function testSources(): string {
  const files = [
    ...readdirSync(`${ROOT}/test`).filter((name) => name.endsWith(".ts")).map((name) => `test/${name}`),
    ...readdirSync(`${ROOT}/test/support`).map((name) => `test/support/${name}`),
  ];
  return files.map((file) => readFileSync(`${ROOT}/${file}`, "utf8")).join("\n");
}

describe("the cookbook", () => {
  test("every section of every guide has a row that links a tested example", () => {
    for (const [heading, sections] of Object.entries(GUIDES)) {
      const table = rows(section(heading));
      for (const title of sections) {
        const row = table.get(title);
        expect(row, `${heading}: no row for "${title}"`).toBeDefined();
        expect(linksIn(row!).length, `${heading}: "${title}" links nothing`).toBeGreaterThan(0);
      }
    }
  });

  test("every row anywhere links something", () => {
    const sections = cookbook.split("\n## ").slice(1);
    expect(sections.length).toBeGreaterThanOrEqual(6);
    for (const text of sections) {
      for (const [title, row] of rows(text)) expect(linksIn(row).length, `"${title}" links nothing`).toBeGreaterThan(0);
    }
  });

  test("every link is an existing example exercised by a test, or an existing test", () => {
    expect(links.length).toBeGreaterThan(100);
    const examples = new Set(readdirSync(`${ROOT}/examples`));
    const tests = testSources();
    const tour = readFileSync(`${ROOT}/examples/tour.ts`, "utf8");
    for (const link of links) {
      expect(existsSync(`${ROOT}/${link}`), link).toBe(true);
      if (link.endsWith(".test.ts")) continue; // a test is its own exercise
      expect(link, "a cookbook link is an example or a test").toMatch(/^examples\/[\w-]+\.ts$/);
      const name = link.slice("examples/".length);
      expect(examples.has(name), link).toBe(true);
      const stem = name.replace(/\.ts$/, "");
      const exercised = tests.includes(`examples/${stem}`) || tour.includes(`"./${stem}.js"`);
      expect(exercised, `${link} is neither named by a test nor mounted on the tour`).toBe(true);
    }
  });

  test("the differences on purpose are explained", () => {
    const differences = section("## Where statewire differs on purpose");
    for (const topic of ["One class instance per connection", "A close before accept completes the handshake", "HTTP 503 rather than 1008"]) {
      expect(differences).toContain(topic);
    }
  });
});
