// Load test of `attend serve`: CLIENTS concurrent clients send REQUESTS requests in all (a mix of
// /api/predict with and without an ablation, /api/analyze, /api/tokenize, /api/info), twice; every
// answer must be 200 with the JSON expected. Reads the server's resident memory (VmRSS, /proc) before,
// between and after the rounds and prints one JSON line. Node's own fetch: no browser, loopback only.
// usage: node serve_load.mjs URL SERVER_PID [REQUESTS=200] [CLIENTS=8]
import { readFileSync } from 'node:fs';

const [url, pid, total = '200', clients = '8'] = process.argv.slice(2);
const origin = new URL(url).origin;
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(origin)) { console.error('not a loopback URL: ' + url); process.exit(2); }
const rssKiB = () => { const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/' + pid + '/status', 'utf8')); return m ? +m[1] : -1; };
const prompts = ['abcdefabcde', 'abcabcabcabc', 'aabbccddaabb', 'abcdefghijkabcdefghijk', 'fedcbafedcba'];
function request(k) {
  const prompt = prompts[k % prompts.length];
  switch (k % 5) {
    case 0: return ['POST', '/api/predict', { prompt }, (j) => j.tokens.length === prompt.length && j.top_probs.length === prompt.length * j.top_k];
    case 1: return ['POST', '/api/predict', { prompt, ablate: 'L' + (k % 2) + 'H' + ((k >> 1) % 2) }, (j) => j.ablated.length > 0];
    case 2: return ['POST', '/api/analyze', { prompt }, (j) => j.n === prompt.length && j.predictions && j.lens && j.dla];
    case 3: return ['POST', '/api/tokenize', { prompt }, (j) => j.ids.length === prompt.length];
    default: return ['GET', '/api/info', undefined, (j) => j.config.layers > 0];
  }
}
async function round(n, c) {
  let next = 0, failures = [];
  const latencies = [];
  async function client() {
    for (let k = next++; k < n; k = next++) {
      const [method, path, body, ok] = request(k), t0 = performance.now();
      try {
        const r = await fetch(origin + path, { method, body: body && JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
        const j = await r.json();
        if (r.status !== 200 || !ok(j)) failures.push(method + ' ' + path + ': ' + r.status + ' ' + JSON.stringify(j).slice(0, 160));
      } catch (e) {
        failures.push(method + ' ' + path + ': ' + e.message);
      }
      latencies.push(performance.now() - t0);
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: c }, client));
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, failures, seconds: +((performance.now() - t0) / 1000).toFixed(2),
           p50_ms: +latencies[Math.floor(latencies.length / 2)].toFixed(1), max_ms: +latencies[latencies.length - 1].toFixed(1) };
}
const before = rssKiB();
const first = await round(+total, +clients);
const middle = rssKiB();
const second = await round(+total, +clients);
const after = rssKiB();
const result = { requests_per_round: +total, clients: +clients, rss_kib: { before, after_round1: middle, after_round2: after },
                 round1: { ...first, failures: first.failures.length }, round2: { ...second, failures: second.failures.length } };
console.log(JSON.stringify(result));
const failures = first.failures.concat(second.failures);
if (failures.length) { console.error('FAIL: ' + failures.length + ' failed requests\n' + failures.slice(0, 10).join('\n')); process.exit(1); }
// Bounded memory: the second round (same work) must not grow the server by more than 25% + 16 MiB.
if (after > middle * 1.25 + 16384) { console.error('FAIL: RSS grew from ' + middle + ' to ' + after + ' KiB over the second round'); process.exit(1); }
console.log('PASS');
