// attend observatory report viewer: renders the report's JSON document (one code path for the static
// report, which embeds it in <script type="application/json" id="attend-data">, and for `attend
// serve`'s app, which fetches it from /api/analyze and calls attendReport.render). Makes no network
// request. Helpers: web/report_plot.js (axes, colour, SVG export), web/report_panels.js (plots, tables).
(function () {
  'use strict';
  const P = window.attendPlot, D = window.attendPanels, $ = (id) => document.getElementById(id);
  const { color, css } = P;
  const show = (t) => JSON.stringify(t);
  // 256-entry colour table indexed by the byte (colour of √w = q/255): one lookup per pixel keeps
  // the N x N bitmap build linear and allocation-free (16 M pixels at 4096 tokens).
  const lut = new Uint32Array(256);
  for (let q = 0; q < 256; q++) { const c = color(q / 255); lut[q] = (255 << 24) | ((c[2] | 0) << 16) | ((c[1] | 0) << 8) | (c[0] | 0); }
  function decodeBytes(b64) {
    const bin = atob(b64), q = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) q[i] = bin.charCodeAt(i);
    return q;
  }

  // The shared state of one rendering (panels read it: web/report_panels.js).
  const S = { data: null, n: 0, focus: -1, pinned: false, filter: P.headFilter(''), hooks: {}, drawers: {}, lensGeom: null };
  let bytes = {}, decoded = {}, thumbBytes = {}, rollBytes = null;
  S.tokText = (id) => (S.data.token_text && S.data.token_text[id] !== undefined ? S.data.token_text[id] : '#' + id);
  S.rolloutBytes = () => rollBytes || (rollBytes = decodeBytes(S.data.rollout.w));
  function matrixBytes(idx) { return bytes[idx] || (bytes[idx] = decodeBytes(S.data.full[idx].w)); }
  function matrix(idx) {
    if (!decoded[idx]) {
      const q = matrixBytes(idx), w = new Float32Array(q.length);
      for (let i = 0; i < q.length; i++) { const x = q[i] / 255; w[i] = x * x; }
      decoded[idx] = w;
    }
    return decoded[idx];
  }
  // A weight stored as q = round(255·√w), shown at the precision that holds (half a step of q).
  function weightText(q) {
    const w = (q / 255) ** 2, err = Math.max(((q + 0.5) / 255) ** 2 - w, 1e-6), dec = Math.max(1, Math.min(5, Math.ceil(-Math.log10(2 * err))));
    return w.toFixed(dec) + ' (± ' + err.toPrecision(1) + ', 8-bit √w)';
  }

  // ---- heads x layers overview --------------------------------------------------------------------
  // current: {kind: 'full' | 'thumb', idx} into data.full / data.thumbs (null: nothing to show).
  let current = null;
  const findHead = (l, h) => {
    const f = S.data.full.findIndex((x) => x.layer === l && x.head === h);
    if (f >= 0) return { kind: 'full', idx: f };
    const t = S.data.thumbs.findIndex((x) => x.layer === l && x.head === h);
    return t >= 0 ? { kind: 'thumb', idx: t } : null;
  };
  const same = (a, b) => a && b && a.kind === b.kind && a.idx === b.idx;
  const headOf = (c) => (c ? (c.kind === 'full' ? S.data.full : S.data.thumbs)[c.idx] : null);
  function selectHead(sel) { saveZoom(); current = sel; loadZoom(); drawOverview(); drawHeat(); }
  function drawOverview() {
    const d = S.data, metric = $('metric').value, table = $('overview'), marked = S.hooks.marked || new Set();
    table.textContent = '';
    const head = table.insertRow();
    head.appendChild(document.createElement('th'));
    for (let h = 0; h < d.heads; h++) { const th = document.createElement('th'); th.textContent = 'H' + h; head.appendChild(th); }
    for (let l = 0; l < d.layers; l++) {
      const tr = table.insertRow(), th = document.createElement('th');
      th.textContent = 'L' + l; tr.appendChild(th);
      for (let h = 0; h < d.heads; h++) {
        const td = tr.insertCell(), v = d.overview[metric][l][h];
        td.dataset.layer = l; td.dataset.head = h;
        if (v === null) td.textContent = '–';
        else { td.style.background = css(color(v)); td.style.color = v > 0.6 ? '#000' : '#fff'; td.textContent = v.toFixed(2); }
        td.title = 'L' + l + 'H' + h + ': ' + (v === null ? 'no value (needs exact weights)' : v.toFixed(3));
        if (!S.filter.pass(l, h)) td.classList.add('dim');
        if (marked.has('L' + l + 'H' + h)) td.classList.add('ablated');
        const sel = findHead(l, h);
        if (sel) {
          td.classList.add(sel.kind === 'full' ? 'full' : 'thumb');
          if (same(sel, current)) td.classList.add('current');
        }
        td.addEventListener('click', () => {
          if (S.hooks.onHead && S.hooks.onHead(l, h)) return;  // the app's ablate mode
          if (sel) selectHead(sel);
        });
      }
    }
  }

  // ---- the heatmap: token labels on both axes, a colour bar, zoom and pan kept per head -----------
  const heat = $('heat'), over = $('heatover');
  const G = { left: 96, top: 84, size: 600 };  // plot area inside the canvas; the colour bar sits right of it
  let bitmap = null, zoom = 1, ox = 0, oy = 0, bw = 0, bh = 0;
  const zooms = {};
  const zoomKey = () => (current ? current.kind + current.idx : '');
  function saveZoom() { if (current) zooms[zoomKey()] = { zoom, ox, oy }; }
  function loadZoom() { const z = zooms[zoomKey()] || { zoom: 1, ox: 0, oy: 0 }; zoom = z.zoom; ox = z.ox; oy = z.oy; }
  function currentBytes() {
    if (!current) return null;
    if (current.kind === 'full') return matrixBytes(current.idx);
    const t = S.data.thumbs[current.idx], key = current.idx + ':' + $('pool').value;
    return thumbBytes[key] || (thumbBytes[key] = decodeBytes(t[$('pool').value]));
  }
  function buildBitmap() {
    const q = currentBytes(), n = S.n;
    bw = current.kind === 'full' ? n : S.data.thumbs[current.idx].cols;
    bh = current.kind === 'full' ? n : S.data.thumbs[current.idx].rows;
    const img = new ImageData(bw, bh), px = new Uint32Array(img.data.buffer);
    for (let i = 0; i < bw * bh; i++) px[i] = lut[q[i]];  // RGBA bytes in little-endian order
    bitmap = document.createElement('canvas'); bitmap.width = bw; bitmap.height = bh;
    bitmap.getContext('2d').putImageData(img, 0, 0);
  }
  function drawHeat() {
    $('poolwrap').style.display = current && current.kind === 'thumb' ? '' : 'none';
    if (!current) {
      bitmap = null;
      P.emptyCanvas(heat, 'no head\'s weights were recorded (neither full matrices nor thumbnails)', $('heatlabel'));
      over.getContext('2d').clearRect(0, 0, over.width, over.height);
      return;
    }
    const n = S.n, f = headOf(current);
    if (current.kind === 'full') $('heatlabel').textContent = 'layer ' + f.layer + ', head ' + f.head + ' (exact weights; rows: queries, columns: keys; colour √weight)';
    else $('heatlabel').textContent = 'layer ' + f.layer + ', head ' + f.head + ': ' + f.rows + ' × ' + f.cols + ' thumbnail of the ' + n + ' × ' + n +
      ' matrix, pooled in the kernel (each cell ≈ ' + (n / f.rows).toFixed(1) + ' × ' + (n / f.cols).toFixed(1) + ' entries; colour √weight)';
    $('heatlabel').classList.remove('emptynote');
    buildBitmap();
    blit();
  }
  // Cell -> the token its label names (a thumbnail cell: the first token of its span).
  const cellToken = (c, cells) => Math.min(S.n - 1, Math.ceil(c * S.n / cells));
  const short = (t) => { const s = show(t); return s.length > 12 ? s.slice(0, 11) + '…"' : s; };
  function blit() {
    const ctx = heat.getContext('2d'), s = G.size, cx = s / bw * zoom, cy = s / bh * zoom;
    ctx.imageSmoothingEnabled = false;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, heat.width, heat.height);
    ctx.save();
    ctx.beginPath(); ctx.rect(G.left, G.top, s, s); ctx.clip();
    ctx.setTransform(cx, 0, 0, cy, G.left + ox, G.top + oy);
    ctx.drawImage(bitmap, 0, 0);
    ctx.restore();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.strokeStyle = '#999'; ctx.strokeRect(G.left - 0.5, G.top - 0.5, s + 1, s + 1);
    // Labels of the visible rows and columns, thinned to one every 11 px.
    ctx.font = '10px monospace'; ctx.fillStyle = '#222';
    ctx.textAlign = 'right';
    let last = -1e9;
    for (let r = 0; r < bh; r++) {
      const y = G.top + oy + (r + 0.5) * cy;
      if (y < G.top || y > G.top + s || y - last < 11) continue;
      const i = cellToken(r, bh);
      ctx.fillText(i + ' ' + short(S.data.tokens[i]), G.left - 4, y + 3); last = y;
    }
    last = -1e9;
    for (let c = 0; c < bw; c++) {
      const x = G.left + ox + (c + 0.5) * cx;
      if (x < G.left || x > G.left + s || x - last < 11) continue;
      const j = cellToken(c, bw);
      ctx.save(); ctx.translate(x + 3, G.top - 4); ctx.rotate(-Math.PI / 3); ctx.textAlign = 'left';
      ctx.fillText(j + ' ' + short(S.data.tokens[j]), 0, 0); ctx.restore(); last = x;
    }
    ctx.font = '11px sans-serif'; ctx.textAlign = 'left'; ctx.fillStyle = '#555';
    ctx.fillText('keys j →', 4, 14);
    ctx.save(); ctx.translate(12, G.top + s); ctx.rotate(-Math.PI / 2); ctx.fillText('queries i →  (rows)', 0, 0); ctx.restore();
    colorBar(ctx, G.left + s + 14, G.top, 14, s, 'weight');
    if (zoom > 1) { ctx.fillStyle = '#555'; ctx.fillText('zoom × ' + zoom.toFixed(2) + ' (this head)', G.left, G.top + s + 4 + 10); }
    drawOverlay();
  }
  // A vertical colour bar for a √-scaled quantity in [0, 1], ticks at the value (not its root).
  function colorBar(ctx, x, y, w, h, label) {
    for (let k = 0; k < 64; k++) { ctx.fillStyle = css(color(1 - k / 63)); ctx.fillRect(x, y + k * h / 64, w, h / 64 + 1); }
    ctx.strokeStyle = '#999'; ctx.strokeRect(x, y, w, h);
    ctx.fillStyle = '#222'; ctx.font = '10px sans-serif'; ctx.textAlign = 'left';
    [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1].forEach((v) => { const ty = y + h * (1 - Math.sqrt(v)); ctx.fillRect(x + w, ty, 3, 1); ctx.fillText(String(v), x + w + 5, ty + 3); });
    ctx.save(); ctx.translate(x + w + 40, y + h / 2); ctx.rotate(Math.PI / 2); ctx.textAlign = 'center'; ctx.fillText(label + ' (colour ∝ √' + label + ')', 0, 0); ctx.restore();
  }
  S.colorBar = colorBar;
  function drawOverlay() {
    const ctx = over.getContext('2d'), n = S.n, s = G.size / n * zoom;
    ctx.clearRect(0, 0, over.width, over.height);
    if (S.focus < 0 || !bitmap) return;
    ctx.save(); ctx.beginPath(); ctx.rect(G.left, G.top, G.size, G.size); ctx.clip();
    ctx.strokeStyle = '#e33'; ctx.lineWidth = S.pinned ? 2.5 : 1.5;
    ctx.strokeRect(G.left + ox, G.top + oy + S.focus * s, n * s, Math.max(s, 1));   // the row: where it attends
    ctx.strokeStyle = '#e80';
    ctx.strokeRect(G.left + ox + S.focus * s, G.top + oy, Math.max(s, 1), n * s);   // the column: what attends to it
    ctx.restore();
  }
  function heatCell(e) {
    const r = heat.getBoundingClientRect(), kx = heat.width / r.width, ky = heat.height / r.height;
    const x = (e.clientX - r.left) * kx - G.left, y = (e.clientY - r.top) * ky - G.top;
    return { x, y, j: Math.floor((x - ox) / (G.size / bw * zoom)), i: Math.floor((y - oy) / (G.size / bh * zoom)) };
  }
  function initHeat() {
    heat.addEventListener('wheel', (e) => {
      if (!bitmap) return;
      e.preventDefault();
      const c = heatCell(e), k = e.deltaY < 0 ? 1.25 : 0.8, nz = Math.max(1, Math.min(Math.max(bw, 2), zoom * k));
      ox = c.x - (c.x - ox) * nz / zoom; oy = c.y - (c.y - oy) * nz / zoom; zoom = nz;
      if (zoom === 1) { ox = 0; oy = 0; }
      saveZoom(); blit();
    }, { passive: false });
    heat.addEventListener('dblclick', () => { zoom = 1; ox = 0; oy = 0; saveZoom(); if (bitmap) blit(); });
    let drag = null, moved = false;
    heat.addEventListener('mousedown', (e) => { drag = [e.clientX - ox, e.clientY - oy]; moved = false; });
    window.addEventListener('mouseup', () => { drag = null; });
    heat.addEventListener('click', (e) => {  // click a row: pin that query (click it again: unpin)
      if (moved || !bitmap || current.kind !== 'full') return;
      const c = heatCell(e);
      if (c.i >= 0 && c.i < bh && c.j >= 0 && c.j < bw) pin(S.pinned && S.focus === c.i ? -1 : c.i);
    });
    heat.addEventListener('mousemove', (e) => {
      if (drag) { ox = e.clientX - drag[0]; oy = e.clientY - drag[1]; moved = true; saveZoom(); blit(); return; }
      if (!bitmap) return;
      const c = heatCell(e), i = c.i, j = c.j, n = S.n;
      if (i < 0 || j < 0 || i >= bh || j >= bw) return;
      const q = currentBytes()[i * bw + j];
      if (current.kind === 'full')
        $('heatinfo').textContent = 'query ' + i + ' ' + show(S.data.tokens[i]) + ' → key ' + j + ' ' + show(S.data.tokens[j]) + ': weight ' + weightText(q);
      else {
        const span = (a, m) => [Math.ceil(a * n / m), Math.ceil((a + 1) * n / m) - 1];
        const qi = span(i, bh), kj = span(j, bw);
        $('heatinfo').textContent = 'queries ' + qi[0] + '–' + qi[1] + ' → keys ' + kj[0] + '–' + kj[1] + ': ' + $('pool').value + ' ' + weightText(q);
      }
    });
  }

  // ---- token view: hover to look, click / Enter to pin, arrows to move, Escape to unpin ----------
  let spans = [];
  function buildTokens() {
    const box = $('tokens');
    box.textContent = ''; spans = [];
    S.data.tokens.forEach((t, i) => {
      const s = document.createElement('span');
      s.textContent = t; s.title = 'token ' + i + ' (click or Enter: pin)'; s.dataset.index = i; s.tabIndex = 0;
      s.addEventListener('mouseenter', () => { if (!S.pinned) focusToken(i); });
      s.addEventListener('focus', () => { if (!S.pinned) focusToken(i); });
      s.addEventListener('click', () => pin(S.pinned && S.focus === i ? -1 : i));
      box.appendChild(s); spans.push(s);
    });
  }
  function pin(i) {
    S.pinned = i >= 0;
    focusToken(i);
    $('pinnote').textContent = S.pinned ? 'pinned: token ' + i + ' ' + show(S.data.tokens[i]) + ' (click it again or press Escape to unpin; ← → move)' : 'not pinned';
  }
  function focusToken(i) {
    const n = S.n;
    S.focus = i;
    spans.forEach((s) => { s.className = ''; s.style.background = ''; });
    if (i >= 0 && i < n) {
      spans[i].classList.add(S.pinned ? 'pinned' : 'focus');
      if (current && current.kind === 'full') {
        const w = matrix(current.idx);
        let top = 0;
        for (let j = 0; j < n; j++) top = Math.max(top, w[i * n + j]);
        for (let j = 0; j < n; j++) {
          const out = w[i * n + j], inc = w[j * n + i];
          if (out > 0.02) { spans[j].classList.add('attended'); spans[j].style.background = 'rgba(0,102,204,' + (0.15 + 0.85 * out / top).toFixed(3) + ')'; }
          if (j !== i && inc > 0.02) spans[j].classList.add('attending');
        }
      }
    }
    if (bitmap) drawOverlay();
    if (S.data.rollout) D.drawRollout(S);
    if (S.data.dla && i >= 0) { $('dlapos').value = String(i); D.drawDla(S); }
  }
  function initTokens() {
    const box = $('tokens');
    box.addEventListener('mouseleave', () => { if (!S.pinned) focusToken(-1); });
    box.addEventListener('keydown', (e) => {
      const i = S.focus;
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); const k = +(document.activeElement.dataset.index ?? i); pin(S.pinned && S.focus === k ? -1 : k); }
      else if (e.key === 'Escape') pin(-1);
      else if ((e.key === 'ArrowRight' || e.key === 'ArrowLeft') && spans.length) {
        e.preventDefault();
        const k = Math.max(0, Math.min(S.n - 1, (i < 0 ? 0 : i) + (e.key === 'ArrowRight' ? 1 : -1)));
        spans[k].focus();
        if (S.pinned) pin(k); else focusToken(k);
      }
    });
  }

  // ---- routing graph: tokens on a line, edges as arcs (pruned at generation) ---------------------
  function drawGraph() {
    const d = S.data, svg = $('graph'), ns = 'http://www.w3.org/2000/svg', n = S.n;
    svg.textContent = '';
    if (!d.graphs.length) { $('graphnote').textContent = 'nothing to show: no layer has exact weights to build a routing graph from'; $('graphnote').classList.add('emptynote'); return; }
    $('graphnote').classList.remove('emptynote');
    const g = d.graphs[+$('graphsel').value || 0];
    const W = +svg.getAttribute('width'), H = +svg.getAttribute('height'), base = H - 30, dx = (W - 40) / Math.max(1, n - 1);
    const x = (i) => 20 + i * dx;
    g.edges.forEach((e) => {
      const p = document.createElementNS(ns, 'path'), a = x(e[0]), b = x(e[1]), r = Math.abs(b - a) / 2;
      p.setAttribute('d', 'M' + a + ' ' + base + ' A' + r + ' ' + Math.min(r, base - 10) + ' 0 0 1 ' + b + ' ' + base);
      p.setAttribute('fill', 'none'); p.setAttribute('stroke', '#06c');
      p.setAttribute('stroke-opacity', (0.15 + 0.85 * e[2]).toFixed(3)); p.setAttribute('stroke-width', (0.5 + 3 * e[2]).toFixed(2));
      svg.appendChild(p);
    });
    const step = Math.max(1, Math.ceil(24 / dx));  // labels at least 24 px apart
    for (let i = 0; i < n; i += step) {
      const tx = document.createElementNS(ns, 'text');
      tx.setAttribute('x', x(i)); tx.setAttribute('y', base + 14); tx.setAttribute('font-size', '10'); tx.setAttribute('text-anchor', 'middle');
      tx.textContent = d.tokens[i]; svg.appendChild(tx);
    }
    $('graphnote').textContent = g.name + ': ' + g.edges.length + ' edges (arcs run from the key on the left to the later query; stroke ∝ weight)' +
      (step > 1 ? '; every ' + step + '-th token labelled' : '');
  }

  // ---- sections with nothing to show keep their heading and say why --------------------------------
  function sectionNote(secId, why) {
    const sec = $(secId);
    let note = sec.querySelector(':scope > .emptynote');
    if (!why) { sec.classList.remove('nodata'); if (note) note.remove(); return; }
    if (!note) { note = document.createElement('div'); note.className = 'note emptynote'; sec.insertBefore(note, sec.children[1] || null); }
    note.textContent = 'nothing to show: ' + why;
    sec.classList.add('nodata');
  }

  // ---- SVG export: a button beside every canvas panel ------------------------------------------------
  function exportSvg(id) {
    const cv = $(id), draw = S.drawers[id];
    if (id === 'graph') return new XMLSerializer().serializeToString(cv);
    if (!cv || !draw) throw new Error('no panel ' + id);
    return P.canvasToSvg(cv, draw, (S.data.title || '') + ' — ' + id);
  }
  function addSvgButton(cv, title) {
    if (cv.nextElementSibling && cv.nextElementSibling.classList.contains('svgbtn')) return;
    const b = document.createElement('button');
    b.className = 'svgbtn'; b.textContent = 'SVG'; b.title = 'download this panel as SVG' + (title ? ' (' + title + ')' : '');
    b.addEventListener('click', () => P.download((cv.id || 'panel') + '.svg', exportSvg(cv.id)));
    cv.insertAdjacentElement('afterend', b);
  }
  S.addSvgButton = addSvgButton;

  function fillSelect(sel, items) {
    const keep = sel.value;
    sel.textContent = '';
    items.forEach(([v, t]) => { const o = document.createElement('option'); o.value = v; o.textContent = t; sel.appendChild(o); });
    if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
  }
  function listFiles() {
    const d = S.data;
    if (S.hooks.server) { $('files').textContent = 'served by attend serve: this page\'s data is the JSON of POST /api/analyze (see the README)'; return; }
    const names = d.full.filter((f) => f.recorded).map((f) => 'heatmap_L' + f.layer + '_H' + f.head + '.png');
    d.graphs.forEach((g) => { names.push('graph_L' + g.layer + '.{graphml,dot,json}'); });
    names.push('recording_summary.json (incl. rollout; attention flow for ≤ 24 tokens)');
    names.push('report.json (this page\'s data)');
    $('files').textContent = names.join(' · ');
  }
  function drawFiltered() {
    ['decay', 'share', 'hist', 'headmap'].forEach((id) => S.drawers[id]());
    D.drawComposition(S); D.drawDetectors(S); drawOverview();
  }

  // Renders a report document; hooks (the app): {onHead(l, h) -> handled, marked: Set of "LxHy", server}.
  function render(data, hooks) {
    const prevHead = headOf(current);
    S.data = data; S.n = data.n; S.hooks = hooks || {}; S.drawers = {};
    bytes = {}; decoded = {}; thumbBytes = {}; rollBytes = null;
    for (const k in zooms) delete zooms[k];
    current = data.full.length ? { kind: 'full', idx: 0 } : data.thumbs.length ? { kind: 'thumb', idx: 0 } : null;
    if (prevHead) current = findHead(prevHead.layer, prevHead.head) || current;  // the app keeps the head in view
    zoom = 1; ox = 0; oy = 0;
    if (S.focus >= S.n) { S.focus = -1; S.pinned = false; }
    $('title').textContent = data.title;
    buildTokens();
    drawOverview();
    drawHeat();
    S.drawers.heat = () => { if (bitmap) blit(); else drawHeat(); };
    fillSelect($('graphsel'), data.graphs.map((g, k) => [k, g.name]));
    drawGraph();
    fillSelect($('opsel'), data.operators.map((op, k) => [k, D.opLabel(S, op.index)]));
    fillSelect($('dlapos'), data.dla ? data.tokens.map((t, i) => [i, i + ' ' + show(t) + ' → ' + show(S.tokText(data.dla.target[i]))]) : []);
    if (data.dla && (S.focus < 0 || !S.pinned)) $('dlapos').value = String(S.n - 1);
    const canvasPanels = { decay: D.drawDecay, share: D.drawShare, hist: D.drawHist, headmap: D.drawHeadMap, traj: D.drawTrajectory,
                           rollout: D.drawRollout, opsv: D.drawOperator };
    for (const [id, f] of Object.entries(canvasPanels)) { S.drawers[id] = () => f(S); S.drawers[id](); }
    D.drawComposition(S);
    $('emfnote').textContent = data.emf_note || '';
    if (data.intervention) { $('intervention').textContent = 'intervention: ' + data.intervention + ' (the panels show the run with it)'; $('intervention').style.display = ''; }
    else $('intervention').style.display = 'none';
    const sections = { predsec: D.drawPredictions, lenssec: D.drawLens, dlasec: D.drawDla, detsec: D.drawDetectors, flowsec: D.drawFlow, cmpsec: D.drawComparison };
    for (const [sec, f] of Object.entries(sections)) sectionNote(sec, f(S));
    S.drawers.lens = () => D.drawLens(S); S.drawers.dla = () => D.drawDla(S); S.drawers.flowplot = () => D.drawFlow(S);
    document.querySelectorAll('canvas.plot, #heat').forEach((cv) => addSvgButton(cv));
    listFiles();
    if (S.focus >= 0) focusToken(S.focus);
    document.body.dataset.ready = '1';
    document.body.dataset.rendered = String((+document.body.dataset.rendered || 0) + 1);
  }

  // Listeners on the page's fixed elements: registered once, they read the current S.
  function init() {
    initHeat();
    initTokens();
    $('metric').addEventListener('change', drawOverview);
    $('graphsel').addEventListener('change', drawGraph);
    $('opsel').addEventListener('change', () => S.drawers.opsv());
    $('compkind').addEventListener('change', () => D.drawComposition(S));
    $('dlapos').addEventListener('change', () => D.drawDla(S));
    $('pool').addEventListener('change', () => { if (current && current.kind === 'thumb') drawHeat(); });
    $('headfilter').addEventListener('input', () => {
      const f = P.headFilter($('headfilter').value);
      $('headfilter').classList.toggle('bad', !f.ok);
      $('filternote').textContent = f.ok ? '' : 'not a filter: use e.g. L3, H2, L1-3, L3H5 (space-separated terms)';
      if (f.ok) { S.filter = f; if (S.data) drawFiltered(); }
    });
    $('graph').insertAdjacentElement('afterend', Object.assign(document.createElement('button'), { className: 'svgbtn', textContent: 'SVG', title: 'download the routing graph as SVG' }));
    $('graph').nextElementSibling.addEventListener('click', () => P.download('graph.svg', exportSvg('graph')));
    $('lens').addEventListener('mousemove', (e) => {
      const L = S.data && S.data.lens, g = S.lensGeom, n = S.n;
      if (!L || !g) return;
      const r = $('lens').getBoundingClientRect(), i = Math.floor((e.clientX - r.left - g.left) / g.cw), s = Math.floor((e.clientY - r.top - 10) / g.ch);
      if (i < 0 || i >= n || s < 0 || s >= L.stages) return;
      const k = s * n + i;
      $('lensinfo').textContent = L.labels[s] + ', position ' + i + ' ' + show(S.data.tokens[i]) + ': p(' + show(S.tokText(L.target[i])) + ') = ' +
        L.prob[k].toPrecision(3) + ', rank ' + L.rank[k] + '; top token ' + show(S.tokText(L.top_token[k])) + ' (p = ' + L.top_prob[k].toPrecision(3) + ')';
    });
  }

  init();
  window.attendReport = { render, exportSvg, pin, state: S };
  const embedded = $('attend-data');
  if (embedded) render(JSON.parse(embedded.textContent));
})();
