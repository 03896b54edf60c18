/**
 * The two ends of the gateway benchmark (bench/gateway.ts), on Bun's kernel sockets so
 * the load never waits on a slow client:
 *
 *   bun bench/gateway_peer.ts server ADDRESS
 *       :9100 source: sends the byte count the client asks for ("N\n"), then closes
 *       :9101 sink: reads until the client's FIN, then answers "done" and closes
 *       :9102 accepts and closes at once (connection rate)
 *   bun bench/gateway_peer.ts download HOST BYTES | upload HOST BYTES | connect HOST SECONDS CONCURRENCY
 *       prints one JSON line: {bytes, seconds} or {connections, seconds}
 */
import type { Socket } from "bun";

const [mode = "", host = "", a = "0", b = "32"] = process.argv.slice(2);
const CHUNK = new Uint8Array(256 * 1024).fill(0x61);

function serve(address: string): void {
  // source: write until `remaining` reaches 0, resuming on drain.
  const pump = (socket: Socket<{ remaining: number }>) => {
    while (socket.data.remaining > 0) {
      const n = socket.write(CHUNK.subarray(0, Math.min(CHUNK.length, socket.data.remaining)));
      socket.data.remaining -= n;
      if (n < Math.min(CHUNK.length, socket.data.remaining + n)) return; // wait for drain
    }
    socket.end();
  };
  Bun.listen<{ remaining: number }>({
    hostname: address,
    port: 9100,
    socket: {
      open: (socket) => {
        socket.data = { remaining: -1 };
      },
      data(socket, data) {
        if (socket.data.remaining >= 0) return;
        socket.data.remaining = Number(new TextDecoder().decode(data).trim());
        pump(socket);
      },
      drain: pump,
    },
  });
  Bun.listen({
    hostname: address,
    port: 9101,
    allowHalfOpen: true,
    socket: { data() {}, end: (socket) => void socket.end("done") },
  });
  Bun.listen({
    hostname: address,
    port: 9102,
    socket: { open: (socket) => void socket.end(), data() {} },
  });
  console.log("ready");
}

function download(bytes: number): Promise<object> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let received = 0;
    void Bun.connect({
      hostname: host,
      port: 9100,
      socket: {
        open: (socket) => void socket.write(`${bytes}\n`),
        data: (_socket, data) => {
          received += data.length;
        },
        close: () => resolve({ bytes: received, seconds: (performance.now() - start) / 1000 }),
        connectError: (_socket, error) => reject(error),
      },
    });
  });
}

function upload(bytes: number): Promise<object> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let left = bytes;
    const pump = (socket: Socket) => {
      while (left > 0) {
        const want = Math.min(CHUNK.length, left);
        const n = socket.write(CHUNK.subarray(0, want));
        left -= n;
        if (n < want) return;
      }
      socket.shutdown(); // FIN: the sink answers "done" once it has read everything
    };
    void Bun.connect({
      hostname: host,
      port: 9101,
      allowHalfOpen: true,
      socket: {
        open: pump,
        drain: pump,
        data: (socket) => {
          resolve({ bytes, seconds: (performance.now() - start) / 1000 });
          socket.end();
        },
        connectError: (_socket, error) => reject(error),
      },
    });
  });
}

async function connections(seconds: number, concurrency: number): Promise<object> {
  const start = performance.now();
  const end = start + seconds * 1000;
  let done = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      void Bun.connect({
        hostname: host,
        port: 9102,
        socket: {
          data() {},
          close: () => {
            done++;
            resolve();
          },
          connectError: () => {
            failed++;
            resolve();
          },
        },
      });
    });
  const worker = async () => {
    while (performance.now() < end) await one();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { connections: done, failed, seconds: (performance.now() - start) / 1000 };
}

if (mode === "server") serve(host);
else {
  const result =
    mode === "download"
      ? await download(Number(a))
      : mode === "upload"
        ? await upload(Number(a))
        : await connections(Number(a), Number(b));
  console.log(JSON.stringify(result));
  process.exit(0);
}
