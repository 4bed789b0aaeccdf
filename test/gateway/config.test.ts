/** serve configuration (flags over environment over defaults, validation) and log redaction. */
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveServeConfig } from '../../src/config.js';
import { createLogger, maskedFrameHex } from '../../src/log.js';
import { encodeFrame, MessageType } from '../../protocol/index.js';
import { LogSink } from '../helpers/log-sink.js';

describe('resolveServeConfig', () => {
  it('takes the documented defaults', () => {
    const config = resolveServeConfig({}, {});
    expect(config).toMatchObject({
      port: 7000,
      host: '0.0.0.0',
      redisUrl: 'redis://127.0.0.1:6379',
      logLevel: 'info',
      demo: false,
      recoveryIntervalMs: 30_000,
      drainTimeoutMs: 10_000,
      metrics: null,
      limits: {
        maxConnections: 10_000,
        maxFrameSize: 1024,
        signInTimeoutMs: 15_000,
        heartbeatSec: 60,
        idleTimeoutMs: 180_000,
        clockWindowSec: 300,
        maxBadFrames: 5,
        connectionRatePerSec: 10,
        connectionBurst: 20,
      },
    });
    expect(config.instanceId).toMatch(new RegExp(`-${process.pid}$`));
  });

  it('prefers a flag to the environment, and the environment to the default', () => {
    const env = { AIRCHARGE_PORT: '7100', REDIS_URL: 'redis://10.0.0.1:6380', AIRCHARGE_DEMO: '1' };
    const config = resolveServeConfig({ port: '7200' }, env);
    expect(config.port).toBe(7200);
    expect(config.redisUrl).toBe('redis://10.0.0.1:6380');
    expect(config.demo).toBe(true);
    expect(resolveServeConfig({ demo: true }, {}).demo).toBe(true);
  });

  it('derives the idle timeout from the heartbeat interval, and takes decimal seconds', () => {
    const config = resolveServeConfig({ heartbeatInterval: '20', signInTimeout: '0.25' }, {});
    expect(config.limits.idleTimeoutMs).toBe(60_000);
    expect(config.limits.signInTimeoutMs).toBe(250);
  });

  it('enables the metrics endpoint only when given a port', () => {
    expect(resolveServeConfig({ metricsPort: '9101' }, {}).metrics).toEqual({ port: 9101, host: '127.0.0.1' });
  });

  it.each([
    [{ maxFrameSize: '2048' }, {}, /--max-frame-size: "2048" is not valid; expected an integer from 33 to 1024/],
    [{}, { AIRCHARGE_MAX_BAD_FRAMES: '-1' }, /AIRCHARGE_MAX_BAD_FRAMES: "-1" is not valid/],
    [{ instanceId: 'has space' }, {}, /--instance-id/],
    [{ idleTimeout: '60' }, {}, /--idle-timeout \(60 s\) must be longer than --heartbeat-interval \(60 s\)/],
    [{ redis: 'redis+cluster://127.0.0.1:7000,127.0.0.1:7001' }, {}, null],
    [{ redis: 'redis+cluster://127.0.0.1' }, {}, /--redis/],
  ])('validates %j %j', (flags, env, message) => {
    if (message === null) {
      expect(() => resolveServeConfig(flags, env)).not.toThrow();
    } else {
      expect(() => resolveServeConfig(flags, env)).toThrow(ConfigError);
      expect(() => resolveServeConfig(flags, env)).toThrow(message);
    }
  });
});

describe('logger', () => {
  it('censors keys and MACs wherever a field of that name appears', () => {
    const sink = new LogSink();
    const log = createLogger({ level: 'info' }, sink);
    const secret = Buffer.alloc(32, 0xab).toString('hex');
    log.info({ key: secret, mac: secret, session: { sessionKey: secret, terminal: 'T0000001' } }, 'hello');
    expect(sink.lines).toHaveLength(1);
    expect(sink.text).not.toContain(secret);
    expect(sink.lines[0]!.session).toMatchObject({ terminal: 'T0000001' });
  });

  it('masks the MAC bytes of a frame dump and nothing else', () => {
    const key = Buffer.alloc(32, 1);
    const frame = encodeFrame({ type: MessageType.HEARTBEAT, terminalId: 'T0000001', seq: 9, timestamp: 1 }, Buffer.alloc(0), key);
    const mac = frame.subarray(frame.length - 10, frame.length - 2).toString('hex');
    const dump = maskedFrameHex(frame);
    expect(dump).not.toContain(mac);
    expect(dump).toBe(frame.subarray(0, frame.length - 10).toString('hex') + '*'.repeat(16) + frame.subarray(frame.length - 2).toString('hex'));
  });
});
