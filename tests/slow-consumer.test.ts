// A client that stops reading while its program floods output must not grow the server's
// memory without bound, nor slow down anyone else. Bun's PTY cannot be paused, so the server
// cuts such a client off (close 4001) once more than its per-client bound is queued.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { MAX_CLIENT_BACKLOG_BYTES } from "../server/session.ts";
import { markedProcesses, startServer, TestClient, until, type TestServer } from "./harness.ts";
import { RawWs } from "./rawws.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
});

test("a client that never reads during `yes` is cut off; memory stays bounded; others keep a fast echo", async () => {
  const other = await TestClient.open(server);
  const rss0 = (await server.health()).rssBytes;

  const port = Number(server.url.port);
  const slow = new RawWs(port);
  await slow.connected();
  slow.sock.write(RawWs.request(port));
  await until(() => slow.opcodes.includes(2), 5000);
  slow.sendBinary(new TextEncoder().encode("yes\r"));
  await until(() => slow.received > 64 * 1024, 5000);
  slow.sock.pause(); // stop reading: the kernel buffers fill, then the server's queue

  let maxRss = rss0;
  const echo: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    other.type(`echo e${i}-$((${i}+1000))\r`);
    expect(await other.waitFor(new RegExp(`e${i}-${i + 1000}`), 5000)).toBe(true);
    echo.push(performance.now() - t);
    maxRss = Math.max(maxRss, (await server.health()).rssBytes);
    await Bun.sleep(100);
  }
  echo.sort((a, b) => a - b);
  const sessions = await until(async () => (await server.health()).sessions === 1, 10_000);
  console.log(`slow client: server RSS ${(rss0 / 2 ** 20).toFixed(1)} MiB -> max ${(maxRss / 2 ** 20).toFixed(1)} MiB; other client's echo p50 ${echo[10]!.toFixed(1)} ms, max ${echo[19]!.toFixed(1)} ms`);
  // The bound: the per-client queue plus Bun's and the allocator's slack.
  expect(maxRss - rss0).toBeLessThan(MAX_CLIENT_BACKLOG_BYTES + 60 * 2 ** 20);
  expect(echo[10]!).toBeLessThan(250); // a stall would show as seconds
  expect(sessions).toBe(true); // the slow client's session ended with it
  const left = await markedProcesses(server.mark);
  expect(left).toEqual([other.hello()!.pid]);

  // The slow client, reading again, finds the connection closed by the server.
  slow.sock.resume();
  expect(await until(() => slow.ended, 10_000)).toBe(true);
  other.close();
}, 30_000);
