/**
 * Redis for the tests that need a real one: `REDIS_URL` when set, else `REDIS_TEST_URL` (a Redis
 * for these tests alone, while the rest of the suite counts quotas in memory), otherwise a
 * `redis-server` this test run starts on a free loopback port (and stops when the run ends).
 *
 * `RedisProxy` sits between an app and that Redis so a test can take Redis away and give it back
 * without disturbing anything else using it: `stop()` drops every connection and closes the port
 * (what a crashed Redis looks like to a client), `start()` listens on the same port again, and
 * `stall()` keeps connections open but forwards nothing (a Redis that has stopped answering).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net, { type AddressInfo, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { sleep } from './api-process.js';

let spawned: { url: string; child: ChildProcess } | undefined;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** The URL of a Redis the tests may use (namespacing their keys). */
export async function testRedisUrl(): Promise<string> {
  const configured = process.env.REDIS_URL || process.env.REDIS_TEST_URL;
  if (configured) return configured;
  if (spawned) return spawned.url;
  const port = await freePort();
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const failed = new Promise<Error>((resolve) => child.once('error', resolve));
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const outcome = await Promise.race([answers(url), failed, sleep(100).then(() => false)]);
    if (outcome instanceof Error) {
      throw new Error(`these tests need Redis: set REDIS_URL or REDIS_TEST_URL, or install redis-server (apt-get install redis-server): ${outcome.message}`);
    }
    if (outcome === true) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer within 10 s`);
    }
  }
  child.unref();
  process.once('exit', () => child.kill('SIGKILL'));
  spawned = { url, child };
  return url;
}

export class RedisProxy {
  private server?: net.Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  private constructor(private readonly target: URL) {}

  static async start(targetUrl: string): Promise<RedisProxy> {
    const proxy = new RedisProxy(new URL(targetUrl));
    await proxy.start();
    return proxy;
  }

  /** The URL to give the app: Redis, through this proxy. */
  get url(): string {
    const url = new URL(this.target);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  /** Listens (again, on the same port once it has one) and forwards to Redis. */
  async start(): Promise<void> {    const server = net.createServer((client) => this.forward(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the port and drops every connection through it. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Keeps connections open but stops reading from them, in either direction: bytes wait in the
   * socket buffers, as they do when Redis or the network stops answering, and flow on `resume()`.
   */
  stall(): void {
    for (const socket of this.sockets) socket.pause();
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const socket of this.sockets) socket.resume();
  }

  private paused = false;

  private forward(client: Socket): void {
    const upstream = net.connect(Number(this.target.port || 6379), this.target.hostname);
    this.sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    if (this.paused) {
      client.pause();
      upstream.pause();
    }
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }
}

/** What `/ready` reports for Redis: nothing when the app counts quotas in memory. */
export function redisCheck(app: { redis?: unknown }): { redis?: 'up' } {
  return app.redis ? { redis: 'up' } : {};
}
