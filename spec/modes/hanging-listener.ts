/**
 * A loopback port whose TCP handshakes never complete, for specs of
 * connect timeouts: what a firewall that drops packets looks like.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import net from "node:net";

/**
 * A listener with a backlog of 0 that never accepts (Python, since Node
 * always accepts), its queue filled first so the kernel drops further SYNs
 * instead of refusing them.
 */
export class HangingListener {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly fillers: net.Socket[],
  ) {}

  static async start(): Promise<HangingListener> {
    const script =
      "import socket,sys\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()";
    const child = spawn("python3", ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
    const port = Number(
      await new Promise<string>((resolve, reject) => {
        child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
        child.once("error", reject);
      }),
    );
    const fillers: net.Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.on("error", () => undefined);
      fillers.push(socket);
    }
    // The first connections take the queue; wait until they have been answered.
    await Promise.race([Promise.all(fillers.slice(0, 1).map((socket) => once(socket, "connect"))), new Promise((r) => setTimeout(r, 200))]);
    return new HangingListener(child, port, fillers);
  }

  close(): void {
    for (const socket of this.fillers) socket.destroy();
    this.child.stdin!.end();
    this.child.kill();
  }
}

/** A loopback port where nothing listens (one just closed): a connect to it is refused. */
export async function closedPort(host = "127.0.0.1"): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, host, resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
