/**
 * `--trace` on a whole stack: a client on host a talks to the echo sample on host b,
 * whose trace is captured. The lines must tell the story of RFC 9293 §3.5 in order:
 * the three-way handshake, the data, the client's FIN, the echo, and the server's FIN.
 * Each state change cites the rule that made it (stack/tcp/transitions.ts).
 */
import { expect, test } from "bun:test";
import { TextTrace } from "../../device/text_trace.ts";
import { startEchoServer } from "../../examples/echo_server.ts";
import { talk } from "../../examples/tcp_client.ts";
import { twoHosts } from "../examples/two_hosts.ts";

function expectInOrder(lines: string[], patterns: RegExp[]): void {
  let at = 0;
  for (const pattern of patterns) {
    const found = lines.findIndex((line, i) => i >= at && pattern.test(line));
    if (found < 0) throw new Error(`${pattern} not found from line ${at}:\n${lines.join("\n")}`);
    at = found + 1;
  }
}

test("a connection's life as the trace prints it", async () => {
  const lines: string[] = [];
  const trace = new TextTrace({ sink: (line) => lines.push(line), wallClock: undefined });
  const { a, b, run, pass } = twoHosts({ traceB: trace });
  const server = startEchoServer(b.api, 7);
  const answer = await run(talk(a.api, b.address, 7, new TextEncoder().encode("hello")));
  expect(new TextDecoder().decode(answer)).toBe("hello");
  await pass(100);
  const client = String.raw`10\.0\.0\.1\.\d+`;
  expectInOrder(lines, [
    new RegExp(
      String.raw`^in  ${client} > 10\.0\.0\.2\.7: Flags \[S\], seq \d+, win \d+, options \[mss 1460`,
    ),
    /LISTEN -> SYN-RECEIVED \(RFC 9293 §3\.10\.7\.2 third: a SYN in LISTEN\)$/,
    new RegExp(String.raw`^out 10\.0\.0\.2\.7 > ${client}: Flags \[S\.\], seq \d+, ack \d+`),
    /SYN-RECEIVED -> ESTABLISHED \(RFC 9293 §3\.10\.7\.4 fifth: .*\)$/,
    new RegExp(
      String.raw`^in  ${client} > 10\.0\.0\.2\.7: Flags \[[FP]*\.\], seq \d+:\d+, ack \d+, .*length 5$`,
    ),
    // The client sent its FIN right behind the data, so it arrives before the echo leaves.
    new RegExp(String.raw`^in  ${client} > 10\.0\.0\.2\.7: Flags \[F\.\]`),
    /ESTABLISHED -> CLOSE-WAIT \(RFC 9293 §3\.10\.7\.4 eighth: .*\)$/,
    new RegExp(
      String.raw`^out 10\.0\.0\.2\.7 > ${client}: Flags \[[FP]*\.\], seq \d+:\d+, ack \d+, .*length 5$`,
    ),
    /CLOSE-WAIT -> LAST-ACK \(RFC 9293 §3\.10\.4 CLOSE .*\)$/,
    /^out .*Flags \[F\.\]/,
    /LAST-ACK -> CLOSED \(RFC 9293 §3\.10\.7\.4 fifth: .*\)$/,
  ]);
  server.stop();
});

test("a segment to a closed port is answered with a RST and counted", async () => {
  const lines: string[] = [];
  const trace = new TextTrace({ sink: (line) => lines.push(line), wallClock: undefined });
  const { a, b, run } = twoHosts({ seed: 9, traceB: trace });
  await expect(run(talk(a.api, b.address, 9, new Uint8Array(1)))).rejects.toMatchObject({
    code: "ECONNREFUSED",
  });
  expectInOrder(lines, [
    /^in {2}.* > 10\.0\.0\.2\.9: Flags \[S\]/,
    /^out 10\.0\.0\.2\.9 > .*: Flags \[R\.\], seq 0, ack \d+/,
  ]);
});
