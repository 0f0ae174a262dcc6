// Outside flood clients for scripts/bench/outside-fairness.sh: N sessions of one bunty, each told
// "flood" and read by Node's own WebSocket (nothing of ours in it); prints MB/s received each
// second to stderr until killed (run it under `timeout`).
//   node --experimental-websocket scripts/bench/outside-floods.mjs WS_URL N
const url = process.argv[2], n = Number(process.argv[3] ?? 10);
let bytes = 0;
for (let i = 0; i < n; i++) {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => ws.send(new TextEncoder().encode("flood\r"));
  ws.onmessage = (e) => { if (typeof e.data !== "string") bytes += e.data.byteLength; };
}
setInterval(() => { process.stderr.write(`floods ${(bytes / 1e6).toFixed(1)} MB/s\n`); bytes = 0; }, 1000);
