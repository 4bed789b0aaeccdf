/**
 * coalesceWrites: the writes of one event-loop turn leave together, in the check phase of that
 * turn, over a real loopback socket.
 */
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { coalesceWrites } from '../../src/coalesce-writes.js';

let server: Server;
let client: Socket;
let chunks: string[];

beforeEach(async () => {
  chunks = [];
  server = createServer((socket) => socket.on('data', (chunk: Buffer) => chunks.push(chunk.toString('latin1'))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  client.setNoDelay(true);
  await once(client, 'connect');
});

afterEach(async () => {
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const received = async (text: string) => {
  while (chunks.join('') !== text) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('coalesceWrites', () => {
  it('holds the writes of one turn and sends them in one segment in its check phase', async () => {
    coalesceWrites(client);
    client.write('first ');
    coalesceWrites(client); // a second call in the same turn changes nothing
    client.write('second');
    expect(client.writableCorked).toBe(1);
    expect(client.writableLength).toBe(12); // held, not yet handed to the kernel
    await new Promise((resolve) => setImmediate(resolve));
    expect(client.writableCorked).toBe(0);
    await received('first second');
    expect(chunks).toEqual(['first second']);
  });

  it('leaves a stream its owner corked to its owner', async () => {
    client.cork();
    coalesceWrites(client);
    client.write('held');
    await new Promise((resolve) => setImmediate(resolve));
    expect(client.writableCorked).toBe(1);
    client.uncork();
    await received('held');
  });

  it('starts a new batch for writes made while the last one is released', async () => {
    coalesceWrites(client);
    client.write('one', () => {
      // The write callback runs after the batch left; this write is held for the next turn.
      coalesceWrites(client);
      client.write('two');
      expect(client.writableCorked).toBe(1);
    });
    await received('onetwo');
    expect(client.writableCorked).toBe(0);
  });
});
