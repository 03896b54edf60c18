/**
 * Many idle connections, from kernel sockets: run inside the clients' namespace with a
 * raised `ulimit -n` by `bench/connections.ts`.
 *
 *   1. opens --count TCP connections to --address:--port (echo), at most --window
 *      connecting at once, within --seconds; prints {"phase":"connected",...}
 *   2. waits for a line "go" on stdin (the harness measures the server's memory now)
 *   3. sends one byte on each connection, waits for it to come back, closes; prints
 *      {"phase":"echoed",...} and exits. Bounded by --seconds again.
 */

interface Client {
  socket: Bun.Socket<Client> | undefined;
  echoed: boolean;
  closed: boolean;
}

function argument(name: string, fallback: number | string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? String(fallback)) : String(fallback);
}

const address = argument("--address", "10.0.0.2");
const port = Number(argument("--port", 7));
const count = Number(argument("--count", 10_000));
const window = Number(argument("--window", 128));
const phaseMs = Number(argument("--seconds", 30)) * 1000;

const clients: Client[] = [];
let settled = 0;
let echoedCount = 0;

function connectOne(): Promise<void> {
  const client: Client = { socket: undefined, echoed: false, closed: false };
  return Bun.connect<Client>({
    hostname: address,
    port,
    data: client,
    socket: {
      data(socket, bytes) {
        if (bytes.length > 0 && !socket.data.echoed) {
          socket.data.echoed = true;
          echoedCount++;
          socket.end();
        }
      },
      close(socket) {
        socket.data.closed = true;
      },
      error() {},
    },
  }).then(
    (socket) => {
      client.socket = socket;
      clients.push(client);
    },
    () => {},
  );
}

async function connectAll(): Promise<number> {
  const started = performance.now();
  const deadline = started + phaseMs;
  let launched = 0;
  const inFlight = new Set<Promise<void>>();
  while (launched < count && performance.now() < deadline) {
    const attempt = connectOne().finally(() => {
      inFlight.delete(attempt);
      settled++;
    });
    inFlight.add(attempt);
    launched++;
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.race([Promise.all(inFlight), Bun.sleep(Math.max(0, deadline - performance.now()))]);
  return (performance.now() - started) / 1000;
}

const stdinReader = Bun.stdin.stream().getReader();
const decoder = new TextDecoder();
let stdinText = "";

/** Waits for the next "go" line from the benchmark (it reads the server's memory between). */
async function waitForGo(): Promise<void> {
  for (;;) {
    const at = stdinText.indexOf("go");
    if (at >= 0) {
      stdinText = stdinText.slice(at + 2);
      return;
    }
    const { value, done } = await stdinReader.read();
    if (done) return;
    stdinText += decoder.decode(value);
  }
}

async function echoAll(): Promise<number> {
  const started = performance.now();
  const deadline = started + phaseMs;
  const open = clients.filter((c) => !c.closed);
  // One byte each, in bursts of `window`, so the far end's queues are not the test; a
  // burst waits at most 2 s for its echoes before the next one goes.
  for (let i = 0; i < open.length && performance.now() < deadline; i += window) {
    for (const client of open.slice(i, i + window)) client.socket?.write("x");
    const burstDeadline = Math.min(deadline, performance.now() + 2000);
    while (echoedCount < Math.min(open.length, i + window) && performance.now() < burstDeadline) {
      await Bun.sleep(1);
    }
  }
  while (echoedCount < open.length && performance.now() < deadline) await Bun.sleep(10);
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const connectSeconds = await connectAll();
  const connected = clients.filter((c) => !c.closed).length;
  const report = { phase: "connected", requested: count, connected, settled, connectSeconds };
  console.log(JSON.stringify(report));
  await waitForGo();
  const idleClosed = clients.filter((c) => c.closed).length;
  const echoSeconds = await echoAll();
  const echoed = clients.filter((c) => c.echoed).length;
  console.log(
    JSON.stringify({
      phase: "echoed",
      echoed,
      lost: clients.length - echoed,
      closedWhileIdle: idleClosed,
      echoSeconds,
    }),
  );
  // Still connected: the benchmark reads the server's memory once more, as an operator
  // would see it after every connection has carried a byte, then says go.
  await waitForGo();
  for (const client of clients) client.socket?.terminate();
  process.exit(0);
}

void main();
