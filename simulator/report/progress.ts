/**
 * Progress on stderr while a run goes on: a redrawn bar on a terminal, or one compact line a
 * second when stderr is a file or a pipe (CI logs), so it never mixes with the JSON on stdout.
 */
export class Progress {
  private timer: NodeJS.Timeout | null = null;
  private readonly tty = Boolean(process.stderr.isTTY);
  private readonly startedAt = Date.now();

  constructor(
    private readonly totalMs: number,
    private readonly status: () => string,
    private readonly enabled = true,
  ) {}

  start(): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => this.draw(), this.tty ? 200 : 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.enabled) {
      this.draw();
      if (this.tty) process.stderr.write('\n');
    }
  }

  private draw(): void {
    const elapsed = Date.now() - this.startedAt;
    const fraction = Math.min(1, elapsed / this.totalMs);
    const clock = `${(elapsed / 1000).toFixed(1)}s/${(this.totalMs / 1000).toFixed(0)}s`;
    if (this.tty) {
      const width = 24;
      const done = Math.round(fraction * width);
      process.stderr.write(`\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${clock} ${this.status()}\x1b[K`);
    } else {
      process.stderr.write(`${clock} ${this.status()}\n`);
    }
  }
}
