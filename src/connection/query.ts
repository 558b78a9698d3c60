/**
 * Query parameters as a plain record: the first value of each name, in an object without a
 * prototype, so that `?constructor=x` is a parameter like any other and a parameter that was not
 * sent reads `undefined` — never a property every object inherits (`query.toString`).
 */
export function queryRecord(params: URLSearchParams): Record<string, string> {
  const query = Object.create(null) as Record<string, string>;
  for (const [name, value] of params) if (!Object.hasOwn(query, name)) query[name] = value;
  return query;
}
