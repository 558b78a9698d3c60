/**
 * Query parameters as a plain record: the first value of each name, in an object without a
 * prototype, so that `?constructor=x` is a parameter like any other and a parameter that was not
 * sent reads `undefined` — never a property every object inherits (`query.toString`).
 */
function queryRecord(params: URLSearchParams): Record<string, string> {
  const query = Object.create(null) as Record<string, string>;
  for (const [name, value] of params) if (!Object.hasOwn(query, name)) query[name] = value;
  return query;
}

/**
 * The query of a request target (`/path?a=1&b=2`, as the edge normalised it), as `queryRecord`
 * makes it: the one query parser of sockets, guards, providers and HTTP routes.
 */
export function queryOf(target: string): Record<string, string> {
  const at = target.indexOf("?");
  return queryRecord(new URLSearchParams(at < 0 ? "" : target.slice(at + 1)));
}
