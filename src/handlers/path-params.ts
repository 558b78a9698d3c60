/**
 * Path parameters, typed from the route's path literal: `"/chat/:room/:id?"` gives
 * `{ room: string; id?: string }`. The syntax is find-my-way's: `:name`, `:name?` (optional),
 * `:name(regex)` and a trailing `*` (available as `"*"`).
 */

type Segments<Path extends string> = Path extends `${infer Head}/${infer Tail}` ? Head | Segments<Tail> : Path;

/** `name(\\d+)` → `name`; `name` → `name`. */
type StripPattern<Segment extends string> = Segment extends `${infer Name}(${string}` ? Name : Segment;

/** Param names of one segment; a segment may hold several (`:from-:to`). */
type SegmentParams<Segment extends string> = Segment extends `${string}:${infer Rest}`
  ? Rest extends `${infer Name}-${infer More}`
    ? StripPattern<Name> | SegmentParams<`:${More}`>
    : StripPattern<Rest>
  : never;

type RequiredNames<Path extends string> = Exclude<SegmentParams<Segments<Path>>, `${string}?`>;
type OptionalNames<Path extends string> = Extract<SegmentParams<Segments<Path>>, `${string}?`> extends `${infer Name}?`
  ? Name
  : never;
type Wildcard<Path extends string> = Path extends `${string}*` ? { readonly "*": string } : unknown;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type PathParams<Path extends string> = string extends Path
  ? Readonly<Record<string, string | undefined>>
  : Simplify<
      { readonly [K in RequiredNames<Path>]: string } & { readonly [K in OptionalNames<Path>]?: string } & Wildcard<Path>
    >;
