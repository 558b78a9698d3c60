/**
 * A Prometheus histogram by route whose observation is a few number operations. prom-client's
 * `observe()` hashes a labels object on every call (about 300 ns here), too much once per
 * message; this one keeps a plain series per route (looked up once per connection) and hands
 * prom-client the finished buckets at scrape time, through the registry's metric interface.
 */
import { Histogram, type MetricType, type Registry } from "prom-client";

/** One route's observations: counts per bucket (not cumulative; the last one is `+Inf`), sum and count. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly route: string, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** `times` observations of `value` (a batch of messages that share their timing). */
  observe(value: number, times: number): void {
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
    this.counts[bucket]! += times;
    this.sum += value * times;
    this.count += times;
  }
}

/** prom-client's `MetricType.Histogram` (a declared enum its JavaScript does not export). */
const HISTOGRAM = "histogram" as unknown as MetricType;

type Value = { value: number; labels: Partial<Record<"route" | "le", string | number>>; metricName?: string };

export class RouteHistogram extends Histogram<"route"> {
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, HistogramSeries>();
  readonly #metricName: string;
  readonly #help: string;

  constructor(options: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    super({ name: options.name, help: options.help, labelNames: ["route"], buckets: [...options.buckets], registers: options.registers });
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
    this.#metricName = options.name;
    this.#help = options.help;
  }

  /** The series of `route`, made on first use; keep it for the connection's life. */
  series(route: string): HistogramSeries {
    let series = this.#series.get(route);
    if (series === undefined) {
      series = new HistogramSeries(route, this.#bounds);
      this.#series.set(route, series);
    }
    return series;
  }

  /** Every route's series summed: what a test or a dashboard without labels wants. */
  total(): { count: number; sum: number } {
    let count = 0;
    let sum = 0;
    for (const series of this.#series.values()) {
      count += series.count;
      sum += series.sum;
    }
    return { count, sum };
  }

  /** The registry's metric interface: the exposition text and the cluster aggregator both read this. */
  override async get(): ReturnType<Histogram<"route">["get"]> {
    return { name: this.#metricName, help: this.#help, type: HISTOGRAM, aggregator: "sum", collect: () => {}, values: this.#values() };
  }

  /** prom-client's registry prefers this to `get()` for the text; its own would read the unused base histogram. */
  async getForPromString(): ReturnType<Histogram<"route">["get"]> {
    return this.get();
  }

  #values(): Value[] {
    const name = this.#metricName;
    const values: Value[] = [];
    for (const series of this.#series.values()) {
      const route = series.route;
      let cumulative = 0;
      for (let bucket = 0; bucket < this.#bounds.length; bucket++) {
        cumulative += series.counts[bucket]!;
        values.push({ value: cumulative, labels: { route, le: this.#bounds[bucket]! }, metricName: `${name}_bucket` });
      }
      values.push({ value: series.count, labels: { route, le: "+Inf" }, metricName: `${name}_bucket` });
      values.push({ value: series.sum, labels: { route }, metricName: `${name}_sum` });
      values.push({ value: series.count, labels: { route }, metricName: `${name}_count` });
    }
    return values;
  }
}
