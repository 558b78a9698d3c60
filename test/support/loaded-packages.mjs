/**
 * Which npm packages a Node process loads: a module loader hook (registered with `--import` on
 * this file; plain JavaScript so it also runs without tsx) that prints `loaded-package <name>` on stderr for each package resolved from
 * node_modules. ESM resolutions only; enough for effect and ioredis's entry points.
 */
import { register } from "node:module";

const hook = `
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const match = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(result.url);
  if (match !== null) process.stderr.write("loaded-package " + match[1] + "\\n");
  return result;
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
