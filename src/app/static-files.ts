/**
 * `staticFiles(urlPrefix, directory)`: a GET route serving the files under `directory` (the HTML
 * client of a WebSocket app, Responder's `static/`). Only regular files inside the directory are
 * served: `..` segments, encoded or not, NUL bytes and symlinks that lead out of it answer 404.
 * Files are streamed, never read whole into memory.
 */
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { extname, isAbsolute, relative, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { get, type HttpContext } from "../handlers/http-route.js";
import { group, type RouteGroup } from "./routes.js";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".htm": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".txt": "text/plain; charset=utf-8",
  ".ico": "image/x-icon",
};

const notFound = (): Response => new Response("Not Found", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });

/** Serve `directory` under `urlPrefix` (`"/static"` → `/static/chat.html`); `/static/` serves `index.html`. */
export function staticFiles(urlPrefix: string, directory: string): RouteGroup {
  if (!urlPrefix.startsWith("/")) throw new TypeError(`A static prefix starts with "/": got "${urlPrefix}"`);
  const root = resolve(directory);
  // Resolved once: the real directory, so a symlinked root still works and symlinks inside are judged against it.
  let realRoot: Promise<string> | undefined;
  const serve = async (_request: Request, { params }: HttpContext<string>): Promise<Response> => {
    const wanted = (params as Record<string, string | undefined>)["*"] ?? "";
    if (wanted.includes("\0") || wanted.split(/[\\/]/).includes("..")) return notFound();
    const path = resolve(root, `.${sep}${wanted === "" || wanted.endsWith("/") ? `${wanted}index.html` : wanted}`);
    if (!inside(root, path)) return notFound();
    let real: string;
    try {
      real = await realpath(path);
      if (!inside(await (realRoot ??= realpath(root)), real)) return notFound();
      const info = await stat(real);
      if (!info.isFile()) return notFound();
      const body = Readable.toWeb(createReadStream(real)) as ReadableStream<Uint8Array>;
      return new Response(body, {
        headers: {
          "content-type": CONTENT_TYPES[extname(real).toLowerCase()] ?? "application/octet-stream",
          "content-length": String(info.size),
          "x-content-type-options": "nosniff",
        },
      });
    } catch {
      return notFound();
    }
  };
  // The router treats `/static/` as `/static`, which `/*` alone does not match.
  return group(urlPrefix, [get("/*", serve), get("/", serve)]);
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}
