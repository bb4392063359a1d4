// Browser test of `attend serve`'s app: Debian chromium driven by playwright-core against a server
// on loopback (started by tests/observe/browser_serve.sh). Types a prompt, checks the predictions and
// the heatmap (painted, labelled axes, colour bar), pins a token by click and keyboard, keeps zoom
// per head, ablates a head by clicking it and checks the predictions change, compares two prompts,
// exports every panel as SVG; then sends malformed and oversized requests from here (raw HTTP) and
// checks the 4xx answers and that the server still serves. Fails on a console error, a page error,
// a dialog or any request that does not go to the server itself.
// usage: node test_serve.mjs http://127.0.0.1:PORT/   Exit 77 (skip) without playwright-core or chromium.
import { existsSync } from 'node:fs';
import net from 'node:net';

const CHROMIUM = '/usr/bin/chromium';
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  console.log('SKIP: playwright-core is not installed (run npm install in web/)');
  process.exit(77);
}
if (!existsSync(CHROMIUM)) { console.log('SKIP: ' + CHROMIUM + ' is missing'); process.exit(77); }
const base = process.argv[2];
const origin = new URL(base).origin;
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(origin)) { console.error('not a loopback URL: ' + base); process.exit(2); }
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); };

// ---- raw HTTP from node (the page would log the 4xx answers as console errors) ------------------
async function api(method, path, body, headers) {
  const r = await fetch(origin + path, { method, body, headers: Object.assign({ 'Content-Type': 'application/json' }, headers || {}) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}
function rawRequest(bytes) {  // a request line no client library would send
  return new Promise((resolve) => {
    const s = net.connect(+new URL(origin).port, '127.0.0.1', () => s.write(bytes));  // no half-close: a client that waits
    let out = '';
    s.on('data', (d) => { out += d; if (/\r\n\r\n/.test(out)) s.destroy(); });
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    s.setTimeout(5000, () => s.destroy());
  });
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
page.on('pageerror', (e) => problems.push('page error: ' + e.message));
page.on('request', (r) => { const u = r.url(); if (!u.startsWith(origin + '/') && !u.startsWith('data:') && !u.startsWith('blob:')) problems.push('request leaves the server: ' + u); });
page.on('dialog', async (d) => { problems.push('dialog opened: ' + d.message()); await d.dismiss(); });
const rendered = (k) => page.waitForSelector('body[data-rendered="' + k + '"]:not([data-busy])', { timeout: 30000 });
const state = () => page.evaluate(() => {
  const d = window.attendReport.state.data;
  return { n: d.n, probs: d.predictions.top_probs, p: d.predictions.p_actual, intervention: d.intervention, comparison: !!d.comparison,
           grids: d.comparison ? d.comparison.grids.length : 0 };
});
try {
  await page.goto(base);
  await page.waitForSelector('body[data-app="1"]');
  check(!(await page.isVisible('#report')), 'report panels shown before any analysis');

  // ---- a prompt: predictions, heatmap with labelled axes and a colour bar ---------------------------
  const prompt = 'abcdefabcde';
  await page.fill('#prompt', prompt);
  await page.click('#run');
  await rendered(1);
  const first = await state();
  check(first.n === prompt.length, 'tokens: ' + first.n + ' for ' + prompt.length + ' letters');
  const preds = await page.evaluate(() => document.querySelectorAll('#preds tr').length - 1);
  check(preds === first.n, 'predictions table has ' + preds + ' rows for ' + first.n + ' tokens');
  check((await page.textContent('#predsummary')).includes('the model predicts'), 'no prediction summary');
  const heat = await page.evaluate(() => {
    const c = document.getElementById('heat'), ctx = c.getContext('2d');
    const px = ctx.getImageData(96, 84, 600, 600).data;  // the plot area
    let painted = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] !== 255 || px[i + 1] !== 255 || px[i + 2] !== 255) painted++;
    const margin = (x, y, w, h) => { const m = ctx.getImageData(x, y, w, h).data; let k = 0; for (let i = 0; i < m.length; i += 4) if (m[i] < 128) k++; return k; };
    const doc = new DOMParser().parseFromString(window.attendReport.exportSvg('heat'), 'image/svg+xml');
    const svg = [...doc.querySelectorAll('text')].map((t) => t.textContent).join('\n');
    return { painted: painted / (px.length / 4), left: margin(0, 84, 92, 600), top: margin(96, 0, 600, 80), bar: margin(700, 84, 80, 600), svg };
  });
  check(heat.painted > 0.95, 'heatmap plot area mostly blank: ' + heat.painted);
  check(heat.left > 50 && heat.top > 50, 'heatmap axes carry no labels (left ' + heat.left + ', top ' + heat.top + ' dark pixels)');
  check(heat.bar > 50, 'no colour bar beside the heatmap');
  for (const label of ['0 "a"', '5 "f"', 'keys j', 'queries i', 'weight (colour']) check(heat.svg.includes(label), 'heatmap SVG lacks the label ' + label);

  // ---- pin by click and by keyboard; the pin survives the mouse moving to the heatmap ---------------
  await page.click('#tokens span:nth-child(4)');
  await page.mouse.move(400, 700);
  await page.hover('#heat');
  check(await page.evaluate(() => document.querySelectorAll('#tokens span.pinned').length === 1 && window.attendReport.state.focus === 3), 'click did not pin token 3');
  await page.keyboard.press('Escape');
  check(await page.evaluate(() => !window.attendReport.state.pinned), 'Escape did not unpin');
  await page.focus('#tokens span:nth-child(2)');
  await page.keyboard.press('Enter');
  await page.keyboard.press('ArrowRight');
  check(await page.evaluate(() => window.attendReport.state.pinned && window.attendReport.state.focus === 2), 'Enter + ArrowRight did not pin token 2');
  await page.keyboard.press('Escape');

  // ---- zoom is kept per head -------------------------------------------------------------------------
  const box = await (await page.$('#heat')).boundingBox();
  await page.mouse.move(box.x + 300, box.y + 300);
  await page.mouse.wheel(0, -300);
  await page.waitForTimeout(100);
  const zoomed = await page.evaluate(() => window.attendReport.exportSvg('heat').includes('zoom ×'));
  await page.click('#overview td[data-layer="1"][data-head="1"]');
  const other = await page.evaluate(() => window.attendReport.exportSvg('heat').includes('zoom ×'));
  await page.click('#overview td[data-layer="0"][data-head="0"]');
  const back = await page.evaluate(() => window.attendReport.exportSvg('heat').includes('zoom ×'));
  check(zoomed && !other && back, 'zoom not kept per head (zoomed ' + zoomed + ', other head ' + other + ', back ' + back + ')');

  // ---- SVG export of every panel, with its labels as text ---------------------------------------------
  const svgs = await page.evaluate(() => [...document.querySelectorAll('canvas.plot, #heat, #graph')].map((c) => {
    const text = window.attendReport.exportSvg(c.id), doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    return { id: c.id, ok: !doc.querySelector('parsererror'), texts: doc.querySelectorAll('text').length };
  }));
  svgs.forEach((s) => check(s.ok && s.texts > 0, 'SVG export of ' + s.id + ': ' + JSON.stringify(s)));
  check(svgs.length >= 10, 'only ' + svgs.length + ' panels export SVG');

  // ---- the head filter: the overview fades the other heads, the legends list only the chosen ones ------
  await page.fill('#headfilter', 'L1');
  const filtered = await page.evaluate(() => ({
    dim: [...document.querySelectorAll('#overview td.dim')].map((td) => td.dataset.layer),
    note: document.getElementById('decaynote').textContent,
    legend: [...new DOMParser().parseFromString(window.attendReport.exportSvg('decay'), 'image/svg+xml').querySelectorAll('text')].map((t) => t.textContent),
  }));
  check(filtered.dim.length === 2 && filtered.dim.every((l) => l === '0'), 'filter L1 faded ' + JSON.stringify(filtered.dim));
  check(filtered.note.startsWith('showing 2 of 4 heads'), 'decay note under the filter: ' + filtered.note);
  check(filtered.legend.includes('L1H0') && !filtered.legend.includes('L0H0'), 'decay legend under the filter: ' + filtered.legend.join(' '));
  await page.fill('#headfilter', 'L1H');
  check(await page.evaluate(() => document.getElementById('headfilter').classList.contains('bad')), 'a malformed filter is not flagged');
  await page.fill('#headfilter', '');

  // ---- ablate a head by clicking it: the predictions change -------------------------------------------
  await page.selectOption('#clickmode', 'ablate');
  await page.click('#overview td[data-layer="1"][data-head="0"]');
  await rendered(2);
  const ablated = await state();
  check(ablated.intervention.includes('L1H0'), 'intervention not reported: ' + ablated.intervention);
  check((await page.textContent('#intervention')).includes('L1H0'), 'no intervention banner');
  check(await page.evaluate(() => document.querySelector('#overview td[data-layer="1"][data-head="0"]').classList.contains('ablated')), 'ablated head not marked');
  const changed = ablated.p.some((v, i) => Math.abs(v - first.p[i]) > 1e-6);
  check(changed, 'predictions did not change after ablating L1H0');
  check((await page.textContent('#predsummary')).includes('without the ablation'), 'summary lacks the baseline');
  // The server's own answer for the same ablation agrees with the page.
  const direct = await api('POST', '/api/predict', JSON.stringify({ prompt, ablate: 'L1H0' }));
  check(direct.status === 200 && direct.json.p_actual.every((v, i) => i === prompt.length - 1 || Math.abs(v - ablated.p[i]) < 1e-3),
        '/api/predict disagrees with the page: ' + direct.text.slice(0, 200));

  // ---- compare two prompts (patching grids) ------------------------------------------------------------
  await page.selectOption('#clickmode', 'show');
  await page.click('#clearablate');
  await rendered(3);
  await page.fill('#corrupt', 'abcdefghijk');
  await page.click('#run');
  await rendered(4);
  const cmp = await state();
  check(cmp.comparison && cmp.grids > 0, 'no comparison after giving a second prompt');
  const drawn = await page.evaluate(() => document.querySelectorAll('#cmpgrids canvas').length);
  check(drawn === cmp.grids, drawn + ' patching grids drawn of ' + cmp.grids);

  // ---- malformed and oversized requests: 4xx with a message; the server keeps serving -----------------
  const info = (await api('GET', '/api/info')).json;
  const bad = [
    ['POST', '/api/analyze', '{not json', 400],
    ['POST', '/api/analyze', '[1, 2]', 400],
    ['POST', '/api/analyze', JSON.stringify({ prompt: 7 }), 400],
    ['POST', '/api/analyze', JSON.stringify({ prompt: 'abc', typo: 1 }), 400],
    ['POST', '/api/analyze', JSON.stringify({ prompt: '' }), 400],
    ['POST', '/api/analyze', JSON.stringify({ prompt: 'abc', ablate: 'L99H0' }), 400],
    ['POST', '/api/analyze', JSON.stringify({ prompt: 'abc', corrupt: 'abcd' }), 400],
    ['POST', '/api/predict', JSON.stringify({ prompt: 'a'.repeat(info.limits.max_tokens + 1) }), 413],
    ['POST', '/api/predict', JSON.stringify({ prompt: 'a'.repeat(info.limits.max_prompt_bytes + 1) }), 413],
    ['POST', '/api/analyze', 'x'.repeat(info.limits.max_body_bytes + 10), 413],
    ['GET', '/api/analyze', undefined, 405],
    ['GET', '/etc/passwd', undefined, 404],
    ['GET', '/../../etc/passwd', undefined, 404],
  ];
  for (const [method, path, body, want] of bad) {
    const r = await api(method, path, body);
    check(r.status === want && r.json && typeof r.json.error === 'string' && r.json.error.length > 0,
          method + ' ' + path + ' ' + String(body).slice(0, 40) + ': ' + r.status + ' (want ' + want + ') ' + r.text.slice(0, 120));
  }
  const foreign = await rawRequest('GET /api/info HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n');
  check(/^HTTP\/1\.1 403/.test(foreign), 'a request addressed to another host (DNS rebinding) was answered: ' + foreign.slice(0, 40));
  const garbage = await rawRequest('GARBAGE\r\n\r\n');
  check(/^HTTP\/1\.[01] 4\d\d/.test(garbage), 'a garbage request line got: ' + garbage.slice(0, 60));
  const after = await api('POST', '/api/predict', JSON.stringify({ prompt: 'abcabc' }));
  check(after.status === 200 && after.json.tokens.length === 6, 'the server stopped serving after bad requests: ' + after.status);
  // And the app still works.
  await page.fill('#corrupt', '');
  await page.fill('#prompt', 'abcabcab');
  await page.click('#run');
  await rendered(5);
  check((await state()).n === 8, 'the app does not analyse after the bad requests');
  check((await page.textContent('#apperror')) === '', 'the app shows an error: ' + (await page.textContent('#apperror')));
} catch (e) {
  problems.push('test aborted: ' + e.message.split('\n')[0]);
} finally {
  await browser.close();
}
if (problems.length) { console.error('FAIL\n' + problems.join('\n')); process.exit(1); }
console.log('PASS');
