/** Latencies recorded per kind of request by the benchmark's own clients, summarised as percentiles. */

export interface Percentiles {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of a list of milliseconds (zeros when the list is empty). */
export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { n: 0, p50: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { n: sorted.length, p50: at(50), p99: at(99), max: sorted[sorted.length - 1]! };
}

export class LatencyBook {
  private readonly byKind = new Map<string, number[]>();
  /** Responses per kind and status ("GET 200", "POST 303", "POST error ECONNRESET"). */
  readonly statuses = new Map<string, number>();
  /** Things worth counting that are not answers (a request sent again). */
  readonly notes = new Map<string, number>();

  note(what: string): void {
    this.notes.set(what, (this.notes.get(what) ?? 0) + 1);
  }

  add(kind: string, ms: number, status: number | string): void {
    let list = this.byKind.get(kind);
    if (!list) this.byKind.set(kind, (list = []));
    list.push(ms);
    const key = `${kind} ${status}`;
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
  }

  count(kind: string): number {
    return this.byKind.get(kind)?.length ?? 0;
  }

  summary(...kinds: string[]): Percentiles {
    return percentiles(kinds.flatMap((k) => this.byKind.get(k) ?? []));
  }

  /** Statuses other than the expected ones, e.g. "GET 500: 3, POST error: 1". */
  unexpected(expected: readonly string[]): string {
    return [...this.statuses].filter(([key]) => !expected.includes(key)).map(([key, n]) => `${key}: ${n}`).join(", ");
  }

  clear(): void {
    this.byKind.clear();
    this.statuses.clear();
    this.notes.clear();
  }
}
