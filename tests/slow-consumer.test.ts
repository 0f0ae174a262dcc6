// A client that stops reading while its program floods output must not grow the server's
// memory without bound, nor slow the program or anyone else; when it reads again it skips to
// the present (a fresh screen snapshot) instead of replaying what it missed.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { SOCKET_HIGH_BYTES } from "../server/core/delivery.ts";
import { OUTPUT_LOG_BYTES } from "../server/core/outlog.ts";
import { replay, startServer, TestClient, until, type TestServer } from "./harness.ts";
import { RawWs } from "./rawws.ts";

/** How long `yes` floods while the slow client does not read. */
const FLOOD_MS = 6000;

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
});

test("a viewer that stops reading during `yes`: bounded memory, others unaffected, it catches up to the current screen", async () => {
  const writer = await TestClient.open(server);
  const id = writer.hello()!.session;
  const other = await TestClient.open(server); // another session on the same server
  const rss0 = (await server.health()).rssBytes;

  const port = Number(server.url.port);
  const slow = new RawWs(port);
  slow.capture = true;
  await slow.connected();
  slow.sock.write(RawWs.request(port, `/ws?session=${id}&mode=view`, undefined, server.token));
  await until(() => slow.events.some((e) => "snapshot" in e), 5000);

  writer.type("yes\r");
  await until(() => slow.received > 256 * 1024, 5000);
  slow.sock.pause(); // stop reading: the kernel's buffers fill, then the server stops sending to it
  const pausedAt = slow.events.length;

  let maxRss = rss0;
  const echo: number[] = [];
  const until0 = Date.now() + FLOOD_MS;
  for (let i = 0; Date.now() < until0; i++) {
    const t = performance.now();
    other.type(`echo e${i}-$((${i}+1000))\r`);
    expect(await other.waitFor(new RegExp(`e${i}-${i + 1000}`), 5000)).toBe(true);
    echo.push(performance.now() - t);
    maxRss = Math.max(maxRss, (await server.health()).rssBytes);
    await Bun.sleep(100);
  }
  const flooded = writer.bytes;
  writer.type("\x03");
  await Bun.sleep(200);
  writer.type("clear; echo caught-up-$((6*7))\r");
  expect(await writer.waitFor(/\ncaught-up-42\n/, 10_000)).toBe(true);
  echo.sort((a, b) => a - b);
  const p50 = echo[echo.length >> 1]!;
  console.log(
    `slow viewer: writer got ${(flooded / 2 ** 20).toFixed(0)} MiB of yes; server RSS ${(rss0 / 2 ** 20).toFixed(1)} -> max ${(maxRss / 2 ** 20).toFixed(1)} MiB; ` +
      `other session's echo p50 ${p50.toFixed(1)} ms, max ${echo.at(-1)!.toFixed(1)} ms (${echo.length} samples)`,
  );
  // The bound: the output log and the client's high watermark, plus the allocator's and Bun's slack.
  expect(maxRss - rss0).toBeLessThan(OUTPUT_LOG_BYTES + SOCKET_HIGH_BYTES + 60 * 2 ** 20);
  expect(p50).toBeLessThan(250); // a stall would show as seconds
  expect(flooded).toBeGreaterThan(16 * 2 ** 20); // the program was never slowed down to the slow client's pace

  const t = performance.now();
  slow.sock.resume();
  const screen = () => replay(slow.events.filter((e) => !("message" in e)) as any, 80, 24);
  expect(await until(async () => (await screen()).some((l) => l === "caught-up-42"), 10_000)).toBe(true);
  console.log(`slow viewer showed the current screen ${(performance.now() - t).toFixed(0)} ms after it read again; received ${(slow.received / 2 ** 20).toFixed(1)} MiB in all`);
  expect(slow.events.slice(pausedAt).some((e) => "snapshot" in e)).toBe(true); // skipped to the present
  expect(slow.received).toBeLessThan(flooded / 2); // it did not get the whole flood replayed
  writer.close();
  other.close();
  slow.sock.destroy();
}, 60_000);
