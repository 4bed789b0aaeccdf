/**
 * A log destination a test reads: give it to pino (or createLogger, or a gateway's `logTo`) and
 * find what was logged in `lines`, each JSON line parsed, in the order written; `text` is
 * everything as written, for asserting what must never appear (a key, a MAC, a password).
 */
import { Writable } from 'node:stream';

export class LogSink extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  private written = '';

  get text(): string {
    return this.written;
  }

  /** Forgets what was logged so far. */
  clear(): void {
    this.lines.length = 0;
    this.written = '';
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const text = chunk.toString('utf8');
    this.written += text;
    for (const line of text.split('\n')) if (line !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
}
