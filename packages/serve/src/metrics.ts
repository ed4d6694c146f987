/** Latency buckets in seconds, from a tiny fixture model's milliseconds to a 28B model's minutes. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

class Histogram {
  private readonly counts = new Map<string, { buckets: number[]; sum: number; count: number }>();

  observe(label: string, seconds: number): void {
    let h = this.counts.get(label);
    if (!h) {
      h = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.counts.set(label, h);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.buckets[i]!++;
    h.sum += seconds;
    h.count++;
  }

  lines(name: string, labelName: string): string[] {
    const out: string[] = [];
    for (const [label, h] of this.counts) {
      const l = `${labelName}="${escapeLabel(label)}"`;
      BUCKETS.forEach((b, i) => {
        out.push(`${name}_bucket{${l},le="${b}"} ${h.buckets[i]}`);
      });
      out.push(`${name}_bucket{${l},le="+Inf"} ${h.count}`);
      out.push(`${name}_sum{${l}} ${h.sum}`);
      out.push(`${name}_count{${l}} ${h.count}`);
    }
    return out;
  }
}

/**
 * The server's Prometheus metrics, written as text exposition format 0.0.4. Hand-rolled (a few
 * counters, gauges and histograms) instead of prom-client, to keep the server's dependencies to
 * the HTTP framework.
 */
export class ServerMetrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Histogram();
  private readonly queueWait = new Histogram();
  private tokens = 0;
  private generationSeconds = 0;
  /** (time, tokens) of recent generations, for a tokens/s gauge over the last window. */
  private recent: [number, number][] = [];

  constructor(
    private readonly gauges: () => { queued: number; running: number },
    private readonly windowMs = 10_000,
  ) {}

  request(route: string, status: number, seconds: number): void {
    const key = `${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    this.latency.observe(route, seconds);
  }

  waited(route: string, seconds: number): void {
    this.queueWait.observe(route, seconds);
  }

  generated(tokens: number, seconds: number): void {
    this.tokens += tokens;
    this.generationSeconds += seconds;
    const now = Date.now();
    this.recent.push([now, tokens]);
    this.recent = this.recent.filter(([t]) => now - t <= this.windowMs);
  }

  tokensPerSecond(): number {
    const now = Date.now();
    this.recent = this.recent.filter(([t]) => now - t <= this.windowMs);
    return this.recent.reduce((s, [, n]) => s + n, 0) / (this.windowMs / 1000);
  }

  text(): string {
    const { queued, running } = this.gauges();
    const lines = [
      '# HELP pali_requests_total HTTP requests by route and status.',
      '# TYPE pali_requests_total counter',
    ];
    for (const [key, n] of this.requests) {
      const [route, status] = key.split('\u0000');
      lines.push(`pali_requests_total{route="${escapeLabel(route!)}",status="${status}"} ${n}`);
    }
    lines.push(
      '# HELP pali_queue_depth Requests waiting for a generation slot.',
      '# TYPE pali_queue_depth gauge',
      `pali_queue_depth ${queued}`,
      '# HELP pali_inflight_generations Generations running now.',
      '# TYPE pali_inflight_generations gauge',
      `pali_inflight_generations ${running}`,
      '# HELP pali_generated_tokens_total Tokens generated since start.',
      '# TYPE pali_generated_tokens_total counter',
      `pali_generated_tokens_total ${this.tokens}`,
      '# HELP pali_generation_seconds_total Seconds spent generating since start.',
      '# TYPE pali_generation_seconds_total counter',
      `pali_generation_seconds_total ${this.generationSeconds}`,
      `# HELP pali_tokens_per_second Tokens generated per second over the last ${this.windowMs / 1000} s.`,
      '# TYPE pali_tokens_per_second gauge',
      `pali_tokens_per_second ${this.tokensPerSecond()}`,
      '# HELP pali_request_duration_seconds Request latency by route.',
      '# TYPE pali_request_duration_seconds histogram',
      ...this.latency.lines('pali_request_duration_seconds', 'route'),
      '# HELP pali_queue_wait_seconds Time a request waited for a generation slot.',
      '# TYPE pali_queue_wait_seconds histogram',
      ...this.queueWait.lines('pali_queue_wait_seconds', 'route'),
    );
    return `${lines.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
