/**
 * A TCP relay the fault scenarios control: a fixed address in front of backends that come and go.
 * In front of the gateways it plays the load balancer (round robin over the backends in rotation,
 * like HAProxy's `balance roundrobin`); in front of Redis it is the network path a scenario cuts.
 *
 * A backend is `up` (in rotation), or cut:
 * - `reset`: its connections are destroyed both ways and new ones are refused (a firewall RST);
 * - `blackhole`: its connections stay open but nothing passes either way, and new ones are held
 *   silently (a partition: the peers find out only by their own timeouts).
 * `restore` ends a cut: connections held in a blackhole are closed (what the peers would see once
 * the network heals and TCP gives up on the lost segments) and the backend is back in rotation.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Target {
  host: string;
  port: number;
}

export type CutMode = 'reset' | 'blackhole';

interface Backend {
  target: Target;
  state: 'up' | CutMode;
}

/** One client connection and the backend side it is joined to (null while held in a blackhole). */
interface Pair {
  backend: string;
  client: Socket;
  upstream: Socket | null;
  /** Cut into a blackhole: open, but nothing passes. */
  silenced: boolean;
}

export class Relay {
  private readonly backends = new Map<string, Backend>();
  private readonly pairs = new Set<Pair>();
  private readonly watches: Array<{ backend: string; marker: Buffer; seen: () => void }> = [];
  private next = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async open(): Promise<Relay> {
    const server = createServer({ allowHalfOpen: false });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('relay has no port'));
      });
    });
    const relay = new Relay(server, port);
    server.on('connection', (client) => relay.accept(client));
    return relay;
  }

  get host(): string {
    return '127.0.0.1';
  }

  /** Adds a backend, or points an existing one at a new address (a restarted process). */
  setBackend(name: string, target: Target): void {
    const backend = this.backends.get(name);
    if (backend) backend.target = target;
    else this.backends.set(name, { target, state: 'up' });
  }

  /** In front of gateways, `reset` is HAProxy taking a backend out with shutdown-sessions. */
  cut(name: string, mode: CutMode): void {
    const backend = this.backend(name);
    backend.state = mode;
    for (const pair of this.pairsOf(name)) {
      if (mode === 'reset') this.drop(pair);
      else pair.silenced = true;
    }
  }

  /** Back in rotation; connections a blackhole held are closed. */
  restore(name: string): void {
    this.backend(name).state = 'up';
    for (const pair of this.pairsOf(name)) if (pair.silenced || pair.upstream === null) this.drop(pair);
  }

  /**
   * Resolves true right after the next chunk towards the backend that holds `marker` has been
   * passed on, before anything comes back: a scenario that cuts or kills then has a request
   * delivered and its answer lost. False when none comes within the time.
   */
  nextRequestHolding(name: string, marker: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const watch = { backend: name, marker: Buffer.from(marker), seen: () => finish(true) };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (seen: boolean) => {
        clearTimeout(timer);
        const index = this.watches.indexOf(watch);
        if (index >= 0) this.watches.splice(index, 1);
        resolve(seen);
      };
      this.watches.push(watch);
    });
  }

  /** Connections through a backend now open. */
  connections(name: string): number {
    return this.pairsOf(name).length;
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) this.drop(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.on('error', () => {});
    const names = [...this.backends.keys()];
    const up = names.filter((name) => this.backends.get(name)!.state === 'up');
    if (up.length === 0) {
      const hole = names.find((name) => this.backends.get(name)!.state === 'blackhole');
      if (hole === undefined) {
        client.destroy();
        return;
      }
      // Held: the client's bytes go nowhere and nothing comes back.
      const pair: Pair = { backend: hole, client, upstream: null, silenced: true };
      this.pairs.add(pair);
      client.on('data', () => {});
      client.once('close', () => this.pairs.delete(pair));
      return;
    }
    const name = up[this.next++ % up.length]!;
    const { target } = this.backends.get(name)!;
    const upstream = connect(target.port, target.host);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    const pair: Pair = { backend: name, client, upstream, silenced: false };
    this.pairs.add(pair);
    upstream.on('error', () => {});
    client.on('data', (chunk: Buffer) => {
      if (pair.silenced) return;
      upstream.write(chunk);
      for (const watch of [...this.watches]) if (watch.backend === name && chunk.includes(watch.marker)) watch.seen();
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.silenced) client.write(chunk);
    });
    const end = () => this.drop(pair);
    client.once('close', end);
    upstream.once('close', end);
  }

  private drop(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  }

  private pairsOf(name: string): Pair[] {
    return [...this.pairs].filter((pair) => pair.backend === name);
  }

  private backend(name: string): Backend {
    const backend = this.backends.get(name);
    if (!backend) throw new Error(`no backend ${name} on the relay`);
    return backend;
  }
}
