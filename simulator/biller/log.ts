/**
 * The reference biller's durable store: one append-only JSONL file. Appends made in the same turn
 * of the event loop are written and fsynced together (group commit); each append's promise
 * settles once its line is on disk, and only then does the server answer. At start the file is
 * replayed; a last line cut by a crash (kill -9 mid-write) was never answered, so it is dropped.
 */
import { closeSync, existsSync, openSync, readFileSync, ftruncateSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

interface Waiting {
  line: string;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class AppendLog<T> {
  private queue: Waiting[] = [];
  private flushing = false;

  private constructor(private readonly handle: FileHandle) {}

  /** Opens (creating) the file and returns the records it holds, in order. */
  static async open<T>(path: string): Promise<{ log: AppendLog<T>; records: T[] }> {
    const records: T[] = [];
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      let good = 0;
      for (const line of text.split('\n')) {
        if (line === '') break;
        try {
          records.push(JSON.parse(line) as T);
        } catch {
          break;
        }
        good += Buffer.byteLength(line) + 1;
      }
      if (good < Buffer.byteLength(text)) {
        const fd = openSync(path, 'r+');
        ftruncateSync(fd, good);
        closeSync(fd);
      }
    }
    const handle = await open(path, 'a');
    return { log: new AppendLog<T>(handle), records };
  }

  /** Settles once the record is written and fsynced. */
  append(record: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ line: `${JSON.stringify(record)}\n`, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.handle.write(batch.map((w) => w.line).join(''));
        await this.handle.datasync();
        for (const w of batch) w.resolve();
      } catch (error) {
        for (const w of batch) w.reject(error as Error);
      }
    }
    this.flushing = false;
  }

  async close(): Promise<void> {
    while (this.flushing) await new Promise((r) => setImmediate(r));
    await this.handle.close();
  }
}
