/**
 * Collects a child process's output as lines, for tests that wait for a line to appear
 * (the host's banner, a fixture's JSON answer). `onChange` runs after each batch of new
 * lines and once at the end of the stream, so a waiter can re-check or give up.
 */
export async function collectLines(
  stream: ReadableStream<Uint8Array>,
  lines: string[],
  onChange: () => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of stream) {
    partial += decoder.decode(chunk, { stream: true });
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
    onChange();
  }
  if (partial) lines.push(partial);
  onChange();
}
