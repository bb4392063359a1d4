// Browser test of the observatory report: Debian chromium driven by playwright-core, from disk.
// usage: node test_report.mjs REPORT.html [REPORT.html …]  (one browser, one fresh page per report)
// Fails (exit 1) on: a console error, a page error, any request that is not file:// or data:,
// a dialog (e.g. alert from injected script), a blank heatmap, hover highlighting that does not
// match the head's weights, or an interpretability panel (predictions, logit lens, DLA, detectors,
// comparison grids, thumbnails) missing or inconsistent with the report's data. Exit 77 (skip) when playwright-core or chromium is missing.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const CHROMIUM = '/usr/bin/chromium';
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  console.log('SKIP: playwright-core is not installed (run npm install in web/)');
  process.exit(77);
}
if (!existsSync(CHROMIUM)) { console.log('SKIP: ' + CHROMIUM + ' is missing'); process.exit(77); }

const files = process.argv.slice(2).filter((a) => !a.startsWith('--')).map((a) => resolve(a));
const problems = [];
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run'],
});
try {
  for (const file of files) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('request', (r) => { const u = r.url(); if (!u.startsWith('file://') && !u.startsWith('data:')) problems.push('network request: ' + u); });
    page.on('dialog', async (d) => { problems.push('dialog opened (injected script ran?): ' + d.message()); await d.dismiss(); });
    const t0 = Date.now();
    await page.goto(pathToFileURL(file).href);
    try {
      await page.waitForSelector('body[data-ready="1"]', { timeout: 60000 });
    } catch (e) {
      problems.push('report never became ready: ' + e.message.split('\n')[0]);
      throw new Error(problems.join('\n'));
    }
    const loadMs = Date.now() - t0;

    // The heatmap canvas has drawn, non-white pixels.
    const painted = await page.evaluate(() => {
      const c = document.getElementById('heat'), px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i] !== 255 || px[i + 1] !== 255 || px[i + 2] !== 255) n++;
      return n / (px.length / 4);
    });
    if (!(painted > 0.5)) problems.push('heatmap canvas mostly blank: ' + painted);

    // Hover the last token: the key it attends to most must be highlighted, a near-zero one must not.
    const n = await page.evaluate(() => document.querySelectorAll('#tokens span').length);
    const i = n - 1;
    await page.hover('#tokens span:nth-child(' + (i + 1) + ')');
    const hover = await page.evaluate((i) => {
      const data = JSON.parse(document.getElementById('attend-data').textContent), n = data.n, f = data.full[0];
      const bin = atob(f.w), row = [];
      for (let j = 0; j < n; j++) { const q = bin.charCodeAt(i * n + j) / 255; row.push(q * q); }
      let best = 0; row.forEach((w, j) => { if (w > row[best]) best = j; });
      const spans = document.querySelectorAll('#tokens span');
      const lows = row.map((w, j) => [w, j]).filter((p) => p[0] < 1e-4).map((p) => p[1]);
      const over = document.getElementById('heatover'), px = over.getContext('2d').getImageData(0, 0, over.width, over.height).data;
      let outline = 0; for (let k = 3; k < px.length; k += 4) if (px[k] > 0) outline++;
      return {
        focus: spans[i].classList.contains('focus'),
        bestHighlighted: spans[best].classList.contains('attended'),
        lowHighlighted: lows.some((j) => spans[j].classList.contains('attended')),
        count: document.querySelectorAll('#tokens span.attended').length,
        outline,
      };
    }, i);
    if (!hover.focus) problems.push('hovered token not marked');
    if (!hover.bestHighlighted) problems.push('the most-attended key is not highlighted');
    if (hover.lowHighlighted) problems.push('a key with ~0 weight is highlighted');
    if (!(hover.outline > 0)) problems.push('no row/column outline on the heatmap');

    // The analysis panels: every canvas with data behind it has coloured (non-grey) pixels, the
    // composition table is filled, the rollout follows the hovered query, the file list names the PNGs.
    const panels = await page.evaluate((i) => {
      const data = JSON.parse(document.getElementById('attend-data').textContent);
      const coloured = (id) => {
        const c = document.getElementById(id), px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let k = 0;
        for (let o = 0; o < px.length; o += 4) if (Math.max(px[o], px[o + 1], px[o + 2]) - Math.min(px[o], px[o + 1], px[o + 2]) > 30) k++;
        return k;
      };
      const want = { share: data.full.length > 0, hist: data.full.length > 0, headmap: data.headmap !== null,
                     rollout: data.rollout !== null, opsv: data.operators.length > 0 };
      const missing = Object.keys(want).filter((id) => want[id] && !(coloured(id) > 20));
      return {
        missing,
        compCells: document.querySelectorAll('#comp td').length,
        compWanted: data.composition !== null,
        rolloutNote: document.getElementById('rolloutnote').textContent,
        rolloutFollows: data.rollout === null || document.getElementById('rolloutnote').textContent.startsWith('query ' + i + ' '),
        heuristicLabel: data.rollout === null || document.getElementById('rolloutnote').textContent.includes('heuristics'),
        files: document.getElementById('files').textContent,
        pngs: data.full.filter((f) => f.recorded).map((f) => 'heatmap_L' + f.layer + '_H' + f.head + '.png'),
      };
    }, i);
    if (panels.missing.length) problems.push('panels not drawn: ' + panels.missing.join(', '));
    if (panels.compWanted && !(panels.compCells > 0)) problems.push('composition table empty');
    if (!panels.rolloutFollows) problems.push('rollout does not follow the hovered query: ' + panels.rolloutNote);
    if (!panels.heuristicLabel) problems.push('rollout not labelled as a heuristic');
    if (!panels.pngs.every((p) => panels.files.includes(p))) problems.push('PNG heatmaps not listed: ' + panels.files);
    if (await page.evaluate(() => document.getElementById('opsel').options.length) > 1) {
      await page.selectOption('#opsel', '1');  // redraw another head's operator view
      await page.selectOption('#compkind', 'q');
    }

    // The interpretability panels, when the report has them (attend inspect / compare on a model).
    const interp = await page.evaluate(() => {
      const data = JSON.parse(document.getElementById('attend-data').textContent);
      const coloured = (el) => {
        const px = el.getContext('2d').getImageData(0, 0, el.width, el.height).data;
        let k = 0;
        for (let o = 0; o < px.length; o += 4) if (Math.max(px[o], px[o + 1], px[o + 2]) - Math.min(px[o], px[o + 1], px[o + 2]) > 30) k++;
        return k;
      };
      const visible = (id) => getComputedStyle(document.getElementById(id)).display !== 'none';
      const out = { problems: [], has: {} };
      const want = { predsec: data.predictions, lenssec: data.lens, dlasec: data.dla, detsec: data.detectors, flowsec: data.flow, cmpsec: data.comparison };
      // A section without data keeps its heading and says why (an empty note); its other content is hidden.
      for (const [id, d] of Object.entries(want)) {
        out.has[id] = !!d;
        const sec = document.getElementById(id), note = sec.querySelector(':scope > .emptynote');
        if (!visible(id)) out.problems.push(id + ' hidden');
        if (d && note) out.problems.push(id + ' says it is empty although the data has it: ' + note.textContent);
        if (!d && !(note && note.textContent.length > 30 && getComputedStyle(note).display !== 'none')) out.problems.push(id + ' without data gives no reason');
        if (!d && [...sec.children].some((c) => c.tagName !== 'H2' && c !== note && getComputedStyle(c).display !== 'none')) out.problems.push(id + ' shows content without data');
      }
      // Every canvas panel either drew something coloured or carries a note saying why not.
      document.querySelectorAll('canvas.plot').forEach((c) => { if (!c.closest('.nodata') && !(coloured(c) > 0) && !c.dataset.empty) out.problems.push('canvas ' + c.id + ' blank without a note'); });
      // The heatmap's axes are labelled with the tokens (its SVG export holds them as text).
      const svg = new DOMParser().parseFromString(window.attendReport.exportSvg('heat'), 'image/svg+xml');
      const texts = [...svg.querySelectorAll('text')].map((t) => t.textContent);
      if (!texts.some((t) => t.startsWith('0 ' + JSON.stringify(data.tokens[0]).slice(0, 6)))) out.problems.push('heatmap axes lack token labels: ' + texts.slice(0, 4).join(' | '));
      if (svg.querySelector('parsererror')) out.problems.push('heatmap SVG does not parse');
      if (data.predictions) {
        const rows = document.querySelectorAll('#preds tr').length - 1;
        if (rows !== data.n) out.problems.push('predictions table has ' + rows + ' rows for ' + data.n + ' tokens');
        const p = data.predictions, i = 0, cellText = document.querySelectorAll('#preds tr')[1].cells[3].textContent;
        if (p.actual[i] >= 0 && cellText !== p.p_actual[i].toFixed(3)) out.problems.push('p(next) cell ' + cellText + ' vs ' + p.p_actual[i]);
        if (!document.getElementById('prednote').textContent.includes(p.accuracy.toFixed(3))) out.problems.push('prediction note lacks the accuracy');
      }
      if (data.lens && !(coloured(document.getElementById('lens')) > 50)) out.problems.push('logit lens not drawn');
      if (data.predictions && !data.flow) out.problems.push('a model report without the residual-flow panel');
      if (data.flow) {
        const rows = document.querySelectorAll('#flowtable tr').length - 1;
        if (rows !== data.layers) out.problems.push('flow table has ' + rows + ' rows for ' + data.layers + ' layers');
        if (!(coloured(document.getElementById('flowplot')) > 10)) out.problems.push('flow bars not drawn');
      }
      if (data.dla) {
        if (!(coloured(document.getElementById('dla')) > 10)) out.problems.push('DLA bars not drawn');
        const last = data.n - 1, K = data.dla.components;
        let sum = 0;
        for (let k = 0; k < K; k++) sum += data.dla.value[k * data.n + last];
        const note = document.getElementById('dlanote').textContent;
        if (!note.includes('sum to ' + sum.toFixed(3))) out.problems.push('DLA note does not show the components\' sum ' + sum.toFixed(3) + ': ' + note);
        if (Math.abs(sum - data.dla.logit[last]) > 1e-2 * Math.max(1, Math.abs(data.dla.logit[last]))) out.problems.push('DLA components do not sum to the logit');
        if (document.querySelectorAll('#dlaheads td').length !== data.layers * data.heads) out.problems.push('DLA head table incomplete');
      }
      if (data.detectors) {
        const rows = document.querySelectorAll('#detectors tr').length - 1;
        if (rows !== data.layers * data.heads) out.problems.push('detector table has ' + rows + ' rows');
      }
      if (data.comparison) {
        const grids = document.querySelectorAll('#cmpgrids canvas');
        if (grids.length !== data.comparison.grids.length) out.problems.push(grids.length + ' patching grids drawn of ' + data.comparison.grids.length);
        // A cell with |recovered| >= 0.2 differs from white by >= 40 in some channel (the diverging scale).
        grids.forEach((g, k) => { if (!(coloured(g) > 0) && data.comparison.grids[k].recovered.some((v) => v !== null && Math.abs(v) >= 0.2)) out.problems.push('grid ' + k + ' blank'); });
      }
      if (data.intervention && !document.getElementById('intervention').textContent.includes(data.intervention)) out.problems.push('intervention banner missing');
      return out;
    });
    problems.push(...interp.problems.map((p) => file + ': ' + p));
    if (await page.evaluate(() => JSON.parse(document.getElementById('attend-data').textContent).dla !== null)) {
      // Hovering a token moves the DLA to that position.
      await page.hover('#tokens span:nth-child(2)');
      const pos = await page.evaluate(() => document.getElementById('dlapos').value);
      if (pos !== '1') problems.push('DLA does not follow the hovered token: ' + pos);
    }
    // A head with only a pooled thumbnail: click it in the overview; the heatmap draws from the thumbnail.
    const thumb = await page.evaluate(() => JSON.parse(document.getElementById('attend-data').textContent).thumbs.length);
    if (thumb > 0) {
      await page.click('#overview td.thumb');
      const t = await page.evaluate(() => {
        const c = document.getElementById('heat'), px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let k = 0;
        for (let i = 0; i < px.length; i += 4) if (px[i] !== 255 || px[i + 1] !== 255 || px[i + 2] !== 255) k++;
        return { painted: k / (px.length / 4), label: document.getElementById('heatlabel').textContent,
                 pool: getComputedStyle(document.getElementById('poolwrap')).display };
      });
      if (!(t.painted > 0.5) || !t.label.includes('thumbnail') || t.pool === 'none') problems.push('thumbnail head not shown: ' + JSON.stringify(t));
      await page.selectOption('#pool', 'mean');
    }

    // Zoom once (wheel) and check the canvas still draws.
    await page.mouse.move(300, 300);
    const heat = await page.$('#heat');
    const box = await heat.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -400);
    // One zoom step, timed in the page (a synchronous wheel event: redraw = one drawImage blit).
    const zoomMs = await page.evaluate(() => {
      const c = document.getElementById('heat'), r = c.getBoundingClientRect(), t = performance.now();
      c.dispatchEvent(new WheelEvent('wheel', { deltaY: -100, clientX: r.left + 100, clientY: r.top + 100, cancelable: true }));
      return performance.now() - t;
    });
    const injected = await page.evaluate(() => window.__attend_injected === true);
    if (injected) problems.push('injected script ran');
    // No element the prompt could have created: no inline event handler attributes anywhere, and the
    // token strip holds only text spans.
    const handlers = await page.evaluate(() => [...document.querySelectorAll('*')].flatMap((el) =>
      [...el.attributes].filter((a) => a.name.toLowerCase().startsWith('on')).map((a) => el.tagName + '[' + a.name + ']')));
    if (handlers.length) problems.push('inline event handlers in the page: ' + handlers.slice(0, 5).join(', '));
    const foreign = await page.evaluate(() => document.querySelectorAll('#tokens *:not(span)').length);
    if (foreign) problems.push(foreign + ' non-text elements in the token strip');
    console.log(JSON.stringify({ file, tokens: n, loadMs, zoomMs: +zoomMs.toFixed(1), painted: +painted.toFixed(3), hover,
                                 panels: { missing: panels.missing, compCells: panels.compCells }, interp: interp.has, thumbs: thumb }));
    await page.close();
  }
} finally {
  await browser.close();
}
if (problems.length) { console.error('FAIL\n' + problems.join('\n')); process.exit(1); }
console.log('PASS');
