/**
 * One connection's dependencies: resolved once each, before the handler runs, and released
 * exactly once, in reverse order of acquisition, after the connection closed — whatever ended
 * it. Nothing is released that was never acquired.
 */
import type { Effect as EffectValue, Scope as ScopeService } from "effect";
import { isEffectValue, loadEffect } from "../codec/effect.js";
import type { Interleaving } from "../connection/interleaving.js";
import type { Dependencies, Provider, ProviderContext } from "./provide.js";

/** What a provider's result needs to be undone. */
type Release = () => Promise<void>;

const NOTHING_TO_RELEASE: Release = () => Promise.resolve();

/** Reports what a scope did, for counters and the inspector. */
export interface DependencyEvents {
  acquired(name: string): void;
  released(name: string, error?: unknown): void;
}

function isAsyncGenerator(value: unknown): value is AsyncGenerator<unknown, unknown, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as AsyncGenerator).next === "function" &&
    typeof (value as AsyncGenerator)[Symbol.asyncIterator] === "function"
  );
}

export class DependencyScope {
  readonly #providers: Dependencies;
  readonly #base: Omit<ProviderContext, "use">;
  readonly #events: DependencyEvents;
  readonly #values = new Map<string, Promise<unknown>>();
  readonly #releases: { readonly name: string; readonly release: Release }[] = [];
  #released: Promise<void> | undefined;
  readonly #waitsFor = new Map<string, Set<string>>();

  readonly #interleaving: Interleaving | undefined;

  constructor(providers: Dependencies, base: Omit<ProviderContext, "use">, events: DependencyEvents, interleaving?: Interleaving) {
    this.#interleaving = interleaving;
    this.#providers = providers;
    this.#base = base;
    this.#events = events;
  }

  /** Resolve every declared dependency, in declaration order; rejects with the first provider error. */
  async resolveAll(): Promise<Readonly<Record<string, unknown>>> {
    const resolved: Record<string, unknown> = {};
    for (const name of Object.keys(this.#providers)) resolved[name] = await this.use(name);
    return resolved;
  }

  use(name: string): Promise<unknown> {
    return this.#use(name, []);
  }

  /**
   * `chain`: the providers that led here, the last one asking. Every wait of one provider on
   * another is recorded until the asker is acquired, so that a cycle is named instead of
   * deadlocking, also when two providers entered it at once.
   */
  #use(name: string, chain: readonly string[]): Promise<unknown> {
    const asker = chain.at(-1);
    if (chain.includes(name) || (asker !== undefined && this.#reaches(name, asker))) {
      return Promise.reject(new Error(`Dependency cycle: ${[...chain, name].join(" → ")}`));
    }
    // Edges out of a provider vanish once it is acquired, so only live waits are ever followed.
    if (asker !== undefined) {
      const waits = this.#waitsFor.get(asker) ?? new Set<string>();
      waits.add(name);
      this.#waitsFor.set(asker, waits);
    }
    let value = this.#values.get(name);
    if (value === undefined) {
      const provider = this.#providers[name];
      if (provider === undefined) {
        return Promise.reject(new Error(`Unknown dependency "${name}": declared are ${Object.keys(this.#providers).map((n) => `"${n}"`).join(", ") || "none"}`));
      }
      value = this.#acquire(name, provider, [...chain, name]);
      this.#values.set(name, value);
    }
    return value;
  }

  async #acquire(name: string, provider: Provider<unknown>, chain: readonly string[]): Promise<unknown> {
    if (this.#released !== undefined) throw new Error(`Dependency "${name}" requested after its connection released its dependencies`);
    const context: ProviderContext = { ...this.#base, use: (other) => this.#use(other, chain) as Promise<never> };
    const gate = this.#interleaving?.pass(`dependency:${name}`);
    if (gate !== undefined) await gate;
    try {
      const { value, release } = await this.#settle(name, provider.create(context));
      this.#releases.push({ name, release });
      this.#events.acquired(name);
      return value;
    } finally {
      this.#waitsFor.delete(name);
    }
  }

  /** Whether `from`, still being acquired, waits (through others) on `to`. */
  #reaches(from: string, to: string): boolean {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length > 0) {
      const current = stack.pop()!;
      if (current === to) return true;
      if (seen.has(current)) continue;
      seen.add(current);
      for (const next of this.#waitsFor.get(current) ?? []) stack.push(next);
    }
    return false;
  }

  async #settle(name: string, result: unknown): Promise<{ value: unknown; release: Release }> {
    if (isAsyncGenerator(result)) {
      const first = await result.next();
      if (first.done === true) throw new Error(`Dependency "${name}": its generator returned without yielding a value`);
      const release = async (): Promise<void> => {
        // Resume after the `yield`: the provider's own cleanup code runs now.
        const after = await result.next();
        if (after.done !== true) {
          await result.return(undefined);
          throw new Error(`Dependency "${name}": its generator yielded more than once`);
        }
      };
      return { value: first.value, release };
    }
    if (isEffectValue(result)) {
      // effect is imported here, only by apps whose providers return an Effect.
      const { Effect, Exit, Scope } = await loadEffect();
      const scope = Scope.makeUnsafe();
      try {
        const value = await Effect.runPromise(Scope.provide(scope)(result as EffectValue.Effect<unknown, unknown, ScopeService.Scope>));
        return { value, release: () => Effect.runPromise(Scope.close(scope, Exit.void)) };
      } catch (error) {
        await Effect.runPromise(Scope.close(scope, Exit.void));
        throw error;
      }
    }
    return { value: await result, release: NOTHING_TO_RELEASE };
  }

  /** Release what was acquired, newest first, once; later calls return the same promise. Never rejects. */
  release(): Promise<void> {
    return (this.#released ??= this.#releaseAll());
  }

  async #releaseAll(): Promise<void> {
    // Wait for acquisitions still in flight, so that a late one is released too.
    await Promise.allSettled([...this.#values.values()]);
    for (const { name, release } of this.#releases.splice(0).reverse()) {
      try {
        await release();
        this.#events.released(name);
      } catch (error) {
        this.#events.released(name, error);
      }
    }
  }
}
