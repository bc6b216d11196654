/**
 * A TCP relay on 127.0.0.1 that counts the bytes it passes each way: what a protocol puts on the
 * wire per call, framing and headers included, measured outside both the client and the server so
 * that neither's code is touched. It adds a hop, so the benchmark measures bytes through it and
 * throughput without it. TCP payload only: IP and TCP headers are not counted.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface ByteCounts {
  /** Client to server. */
  readonly up: number;
  /** Server to client. */
  readonly down: number;
}

export class ByteCountingProxy {
  private up = 0;
  private down = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer({ noDelay: true }, (inbound) => this.relay(inbound));
  }

  private relay(inbound: Socket): void {
    const outbound = createConnection({ host: this.targetHost, port: this.targetPort, noDelay: true });
    for (const socket of [inbound, outbound]) {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      // Either side ending or failing ends the pair, as a closed connection would.
      socket.once('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.on('data', (chunk: Buffer) => (this.up += chunk.length));
    outbound.on('data', (chunk: Buffer) => (this.down += chunk.length));
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  }

  /** Listens on a free loopback port; answers the URL to give the client in place of the server's. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  counts(): ByteCounts {
    return { up: this.up, down: this.down };
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
