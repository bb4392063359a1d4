// attend observatory report viewer. Embedded into report.html at generation time; reads the JSON
// in <script type="application/json" id="attend-data">; makes no network request.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('attend-data').textContent);
  const n = data.n;
  const $ = (id) => document.getElementById(id);
  const viridis = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function color(t) {
    t = Math.max(0, Math.min(1, t)) * (viridis.length - 1);
    const i = Math.min(viridis.length - 2, Math.floor(t)), f = t - i, a = viridis[i], b = viridis[i + 1];
    return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
  }
  const css = (c) => 'rgb(' + (c[0] | 0) + ',' + (c[1] | 0) + ',' + (c[2] | 0) + ')';

  // Full matrices arrive as base64 bytes q = round(255·√w): decode lazily, once per head.
  const bytes = {}, decoded = {};
  function decodeBytes(b64) {
    const bin = atob(b64), q = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) q[i] = bin.charCodeAt(i);
    return q;
  }
  function matrixBytes(idx) {
    if (!bytes[idx]) bytes[idx] = decodeBytes(data.full[idx].w);
    return bytes[idx];
  }
  function matrix(idx) {
    if (!decoded[idx]) {
      const q = matrixBytes(idx), w = new Float32Array(q.length);
      for (let i = 0; i < q.length; i++) { const x = q[i] / 255; w[i] = x * x; }
      decoded[idx] = w;
    }
    return decoded[idx];
  }
  // 256-entry colour table indexed by the byte (colour of √w = q/255): one lookup per pixel keeps
  // the N x N bitmap build linear and allocation-free (16 M pixels at 4096 tokens).
  const lut = new Uint32Array(256);
  for (let q = 0; q < 256; q++) { const c = color(q / 255); lut[q] = (255 << 24) | ((c[2] | 0) << 16) | ((c[1] | 0) << 8) | (c[0] | 0); }

  // ---- heads x layers overview ----------------------------------------------------------------
  let current = data.full.length ? 0 : -1;
  function drawOverview() {
    const metric = $('metric').value, table = $('overview');
    table.textContent = '';
    const head = table.insertRow();
    head.appendChild(document.createElement('th'));
    for (let h = 0; h < data.heads; h++) { const th = document.createElement('th'); th.textContent = 'H' + h; head.appendChild(th); }
    for (let l = 0; l < data.layers; l++) {
      const tr = table.insertRow(), th = document.createElement('th');
      th.textContent = 'L' + l; tr.appendChild(th);
      for (let h = 0; h < data.heads; h++) {
        const td = tr.insertCell(), v = data.overview[metric][l][h];
        if (v === null) { td.textContent = '–'; continue; }
        td.style.background = css(color(v)); td.style.color = v > 0.6 ? '#000' : '#fff';
        td.textContent = v.toFixed(2);
        const idx = data.full.findIndex((f) => f.layer === l && f.head === h);
        if (idx >= 0) {
          td.classList.add('full');
          if (idx === current) td.classList.add('current');
          td.addEventListener('click', () => { current = idx; drawOverview(); drawHeat(); });
        }
      }
    }
  }

  // ---- zoomable heatmap: one N x N bitmap drawn once, then blitted with a transform ----------
  const heat = $('heat'), over = $('heatover'), side = heat.width;
  let bitmap = null, zoom = 1, ox = 0, oy = 0, focus = -1;
  function buildBitmap() {
    const q = matrixBytes(current), img = new ImageData(n, n), px = new Uint32Array(img.data.buffer);
    for (let i = 0; i < n * n; i++) px[i] = lut[q[i]];  // RGBA bytes in little-endian order
    bitmap = document.createElement('canvas'); bitmap.width = n; bitmap.height = n;
    bitmap.getContext('2d').putImageData(img, 0, 0);
  }
  function drawHeat() {
    const ctx = heat.getContext('2d');
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, side, side);
    if (current < 0) { $('heatlabel').textContent = 'no head recorded in full'; return; }
    const f = data.full[current];
    $('heatlabel').textContent = 'layer ' + f.layer + ', head ' + f.head + ' (rows: queries, columns: keys; colour √weight)';
    buildBitmap();
    blit();
  }
  function blit() {
    const ctx = heat.getContext('2d');
    ctx.imageSmoothingEnabled = false;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, side, side);
    const s = side / n * zoom;
    ctx.setTransform(s, 0, 0, s, ox, oy);
    ctx.drawImage(bitmap, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    drawOverlay();
  }
  function drawOverlay() {
    const ctx = over.getContext('2d'), s = side / n * zoom;
    ctx.clearRect(0, 0, side, side);
    if (focus < 0) return;
    ctx.strokeStyle = '#e33'; ctx.lineWidth = 1.5;
    ctx.strokeRect(ox, oy + focus * s, n * s, Math.max(s, 1));   // the row: where it attends
    ctx.strokeStyle = '#e80';
    ctx.strokeRect(ox + focus * s, oy, Math.max(s, 1), n * s);   // the column: what attends to it
  }
  heat.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = heat.getBoundingClientRect(), mx = e.clientX - r.left, my = e.clientY - r.top;
    const k = e.deltaY < 0 ? 1.25 : 0.8, nz = Math.max(1, Math.min(n, zoom * k));
    ox = mx - (mx - ox) * nz / zoom; oy = my - (my - oy) * nz / zoom; zoom = nz;
    if (zoom === 1) { ox = 0; oy = 0; }
    blit();
  }, { passive: false });
  let drag = null;
  heat.addEventListener('mousedown', (e) => { drag = [e.clientX - ox, e.clientY - oy]; });
  window.addEventListener('mouseup', () => { drag = null; });
  heat.addEventListener('mousemove', (e) => {
    if (drag) { ox = e.clientX - drag[0]; oy = e.clientY - drag[1]; blit(); return; }
    const r = heat.getBoundingClientRect(), s = side / n * zoom;
    const j = Math.floor((e.clientX - r.left - ox) / s), i = Math.floor((e.clientY - r.top - oy) / s);
    if (current >= 0 && i >= 0 && j >= 0 && i < n && j < n)
      $('heatinfo').textContent = 'query ' + i + ' ' + JSON.stringify(data.tokens[i]) + ' → key ' + j + ' ' +
        JSON.stringify(data.tokens[j]) + ': ' + matrix(current)[i * n + j].toFixed(4);
  });

  // ---- token view: hover a token to see where it attends and what attends to it -------------
  const spans = [];
  function buildTokens() {
    const box = $('tokens');
    data.tokens.forEach((t, i) => {
      const s = document.createElement('span');
      s.textContent = t; s.title = i + ''; s.dataset.index = i;
      s.addEventListener('mouseenter', () => focusToken(i));
      box.appendChild(s); spans.push(s);
    });
    box.addEventListener('mouseleave', () => focusToken(-1));
  }
  function focusToken(i) {
    focus = i;
    spans.forEach((s) => { s.className = ''; s.style.background = ''; });
    if (i >= 0 && current >= 0) {
      const w = matrix(current);
      spans[i].classList.add('focus');
      let top = 0;
      for (let j = 0; j < n; j++) top = Math.max(top, w[i * n + j]);
      for (let j = 0; j < n; j++) {
        const out = w[i * n + j], inc = w[j * n + i];
        if (out > 0.02) { spans[j].classList.add('attended'); spans[j].style.background = 'rgba(0,102,204,' + (0.15 + 0.85 * out / top).toFixed(3) + ')'; }
        if (j !== i && inc > 0.02) spans[j].classList.add('attending');
      }
    }
    if (bitmap) drawOverlay();
    if (data.rollout && spans.length) drawRollout();
  }

  // ---- routing graph: tokens on a line, edges as arcs (pruned at generation) -----------------
  function drawGraph() {
    const g = data.graphs[+$('graphsel').value], svg = $('graph'), ns = 'http://www.w3.org/2000/svg';
    svg.textContent = '';
    const W = +svg.getAttribute('width'), H = +svg.getAttribute('height'), base = H - 30, dx = (W - 40) / Math.max(1, n - 1);
    const x = (i) => 20 + i * dx;
    g.edges.forEach((e) => {
      const p = document.createElementNS(ns, 'path'), a = x(e[0]), b = x(e[1]), r = Math.abs(b - a) / 2;
      p.setAttribute('d', 'M' + a + ' ' + base + ' A' + r + ' ' + Math.min(r, base - 10) + ' 0 0 1 ' + b + ' ' + base);
      p.setAttribute('fill', 'none'); p.setAttribute('stroke', '#06c');
      p.setAttribute('stroke-opacity', (0.15 + 0.85 * e[2]).toFixed(3)); p.setAttribute('stroke-width', (0.5 + 3 * e[2]).toFixed(2));
      svg.appendChild(p);
    });
    if (n <= 200) data.tokens.forEach((t, i) => {
      const tx = document.createElementNS(ns, 'text');
      tx.setAttribute('x', x(i)); tx.setAttribute('y', base + 14); tx.setAttribute('font-size', '10'); tx.setAttribute('text-anchor', 'middle');
      tx.textContent = t; svg.appendChild(tx);
    });
    $('graphnote').textContent = g.name + ': ' + g.edges.length + ' edges (arcs run from the key on the left to the later query)';
  }

  // ---- small line / scatter plots ------------------------------------------------------------
  function axes(cv) {
    const ctx = cv.getContext('2d');
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, cv.width, cv.height);
    ctx.strokeStyle = '#999'; ctx.strokeRect(30, 10, cv.width - 40, cv.height - 30);
    return ctx;
  }
  const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
  function drawDecay() {
    const cv = $('decay'), ctx = axes(cv), W = cv.width - 40, H = cv.height - 30;
    let maxLen = 1;
    data.full.forEach((f) => { maxLen = Math.max(maxLen, f.decay.length); });
    data.full.forEach((f, k) => {
      ctx.strokeStyle = palette[k % palette.length]; ctx.beginPath();
      f.decay.forEach((v, d) => { const px = 30 + W * d / Math.max(1, maxLen - 1), py = 10 + H * (1 - v); d ? ctx.lineTo(px, py) : ctx.moveTo(px, py); });
      ctx.stroke();
      ctx.fillStyle = ctx.strokeStyle; ctx.fillText('L' + f.layer + 'H' + f.head, 36 + 50 * k, 24);
    });
  }
  function drawTrajectory() {
    const cv = $('traj'), ctx = axes(cv), t = data.trajectory;
    if (!t) return;
    let lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
    t.points.forEach((p) => { for (let c = 0; c < 2; c++) { lo[c] = Math.min(lo[c], p[c]); hi[c] = Math.max(hi[c], p[c]); } });
    const W = cv.width - 50, H = cv.height - 40;
    const px = (p) => [35 + W * (p[0] - lo[0]) / ((hi[0] - lo[0]) || 1), 15 + H * (1 - (p[1] - lo[1]) / ((hi[1] - lo[1]) || 1))];
    for (let i = 0; i < n; i++) {
      ctx.strokeStyle = palette[i % palette.length]; ctx.globalAlpha = 0.6; ctx.beginPath();
      for (let s = 0; s < t.stages; s++) { const q = px(t.points[s * n + i]); s ? ctx.lineTo(q[0], q[1]) : ctx.moveTo(q[0], q[1]); }
      ctx.stroke();
      const e = px(t.points[(t.stages - 1) * n + i]); ctx.globalAlpha = 1; ctx.fillStyle = ctx.strokeStyle; ctx.fillRect(e[0] - 2, e[1] - 2, 4, 4);
    }
    ctx.globalAlpha = 1;
    $('trajnote').textContent = 'mean pairwise cosine per stage: ' + t.cosine.map((c) => c.toFixed(3)).join(', ');
  }

  // ---- a fixed token's share, attended-distance histograms ------------------------------------
  function legend(ctx, k, f) { ctx.fillStyle = palette[k % palette.length]; ctx.fillText('L' + f.layer + 'H' + f.head, 36 + 50 * k, 24); }
  function drawShare() {
    const cv = $('share'), ctx = axes(cv), W = cv.width - 40, H = cv.height - 30;
    data.full.forEach((f, k) => {
      ctx.strokeStyle = palette[k % palette.length]; ctx.beginPath();
      f.share0.forEach((v, i) => { const px = 30 + W * i / Math.max(1, n - 1), py = 10 + H * (1 - v); i ? ctx.lineTo(px, py) : ctx.moveTo(px, py); });
      ctx.stroke(); legend(ctx, k, f);
    });
  }
  function drawHist() {
    const cv = $('hist'), ctx = axes(cv), W = cv.width - 40, H = cv.height - 30, e = data.hist_edges, nb = e.length;
    const group = W / Math.max(1, nb), bw = group / Math.max(1, data.full.length + 1);
    data.full.forEach((f, k) => {
      ctx.fillStyle = palette[k % palette.length];
      f.hist.forEach((v, b) => { const h = H * Math.min(1, v); ctx.fillRect(30 + b * group + k * bw, 10 + H - h, bw, h); });
      legend(ctx, k, f);
    });
    ctx.fillStyle = '#333';
    e.forEach((x, b) => { if (nb <= 16 || b % 2 === 0) ctx.fillText(String(x), 30 + b * group + 2, cv.height - 6); });
  }

  // ---- head similarity: 2-D classical MDS of √JS between heads recorded in full ----------------
  function drawHeadMap() {
    const cv = $('headmap'), ctx = axes(cv), m = data.headmap;
    if (!m) { $('headmapnote').textContent = 'needs two or more heads recorded in full'; return; }
    const k = m.labels.length, xs = [], ys = [];
    for (let a = 0; a < k; a++) { xs.push(m.xy[2 * a]); ys.push(m.xy[2 * a + 1]); }
    const span = (v) => [Math.min(...v), Math.max(...v)], sx = span(xs), sy = span(ys), W = cv.width - 80, H = cv.height - 50;
    const r = Math.max(sx[1] - sx[0], sy[1] - sy[0]) || 1;  // one scale for both axes: distances stay comparable
    let most = [0, 0, -1];
    for (let a = 0; a < k; a++) {
      const px = 45 + W * (xs[a] - sx[0]) / r, py = 25 + H * (1 - (ys[a] - sy[0]) / r);
      ctx.fillStyle = palette[m.labels[a][0] % palette.length]; ctx.beginPath(); ctx.arc(px, py, 4, 0, 2 * Math.PI); ctx.fill();
      ctx.fillStyle = '#222'; ctx.fillText('L' + m.labels[a][0] + 'H' + m.labels[a][1], px + 6, py + 4);
      for (let b = a + 1; b < k; b++) if (m.js[a * k + b] > most[2]) most = [a, b, m.js[a * k + b]];
    }
    const lab = (a) => 'L' + m.labels[a][0] + 'H' + m.labels[a][1];
    $('headmapnote').textContent = 'close points route alike (colour = layer); most different pair: ' + lab(most[0]) + ' vs ' + lab(most[1]) +
      ', JS = ' + most[2].toFixed(3) + ' nats (max ln 2 = 0.693)';
  }

  // ---- rollout (and flow for short inputs) for the focused query --------------------------------
  let rolloutBytes = null;
  function drawRollout() {
    const cv = $('rollout'), ctx = axes(cv), ro = data.rollout;
    if (!ro) { $('rolloutnote').textContent = 'needs full matrices for every layer (select all layers)'; return; }
    if (!rolloutBytes) rolloutBytes = decodeBytes(ro.w);
    const want = focus >= 0 ? focus : n - 1, r = ro.rows.indexOf(want) >= 0 ? ro.rows.indexOf(want) : ro.rows.length - 1, i = ro.rows[r];
    const W = cv.width - 40, H = cv.height - 30, bw = W / n;
    let top = 0;
    for (let j = 0; j < n; j++) { const x = rolloutBytes[r * n + j] / 255; top = Math.max(top, x * x); }
    ctx.fillStyle = '#06c';
    for (let j = 0; j < n; j++) { const x = rolloutBytes[r * n + j] / 255, h = H * x * x / (top || 1); ctx.fillRect(30 + j * bw, 10 + H - h, Math.max(bw, 1), h); }
    if (ro.flow) {
      ctx.strokeStyle = '#e80'; ctx.beginPath();
      let fmax = 0; for (let j = 0; j < n; j++) fmax = Math.max(fmax, ro.flow[i * n + j]);
      for (let j = 0; j < n; j++) { const px = 30 + (j + 0.5) * bw, py = 10 + H * (1 - ro.flow[i * n + j] / (fmax || 1)); j ? ctx.lineTo(px, py) : ctx.moveTo(px, py); }
      ctx.stroke();
    }
    $('rolloutnote').textContent = 'query ' + i + ' ' + JSON.stringify(data.tokens[i]) + ': blue bars = attention rollout over input tokens' +
      (ro.flow ? ', orange line = attention flow (max-flow)' : '') + ' (each scaled to its max). Both are heuristics over head-averaged ' +
      'attention (heads recorded per layer: ' + ro.heads_recorded.join(', ') + '), not causal attributions. Hover a token to change the query' +
      (ro.rows.length < n ? ' (last ' + ro.rows.length + ' queries only).' : '.');
  }

  // ---- EMF operators: singular values of M and F, symmetric split, composition between heads ----
  function drawOperator() {
    const cv = $('opsv'), ctx = axes(cv), ops = data.operators;
    if (!ops.length) { $('opnote').textContent = 'no operators (the model\'s weights were not given)'; return; }
    const op = ops[+$('opsel').value], W = cv.width - 40, H = cv.height - 30;
    // Each spectrum scaled to its own largest value (M and F have different units); σ₁ in the legend.
    const series = [[op.m_singular, '#1f77b4', 'σ(M), M = W_Q·W_Kᵀ/√d'], [op.f_singular, '#d62728', 'σ(F), F = W_V·W_O']];
    series.forEach((s, k) => {
      const sv = s[0].slice(0, 64), top = sv.length ? sv[0] : 0;
      ctx.strokeStyle = s[1]; ctx.beginPath();
      sv.forEach((v, c) => { const px = 30 + W * c / Math.max(1, sv.length - 1), py = 10 + H * (1 - 0.9 * v / (top || 1)); c ? ctx.lineTo(px, py) : ctx.moveTo(px, py); });
      ctx.stroke();
      ctx.fillStyle = s[1]; ctx.fillText(s[2] + ' (σ₁ = ' + top.toPrecision(3) + ')', 36, 24 + 14 * k);
    });
    const sym = op.m_symmetric, anti = op.m_antisymmetric, tot = Math.hypot(sym, anti) || 1, share = sym * sym / (tot * tot);
    const kind = share > 0.6 ? 'mostly symmetric: matches like with like' : share < 0.4 ? 'mostly antisymmetric: directional' : 'mixed';
    $('opnote').textContent = 'singular values (top 64, descending); ‖sym(M)‖ = ' + sym.toFixed(3) + ', ‖antisym(M)‖ = ' + anti.toFixed(3) +
      ' (symmetric share ' + share.toFixed(2) + ', ' + kind + ')';
  }
  const opLabel = (i) => 'L' + Math.floor(i / data.heads) + 'H' + (i % data.heads);
  function drawComposition() {
    const table = $('comp'), c = data.composition;
    table.textContent = '';
    if (!c) return;
    const kind = $('compkind').value, m = c.count, vals = c[kind];
    let top = 0; vals.forEach((v) => { top = Math.max(top, v); });
    const head = table.insertRow(); head.appendChild(document.createElement('th'));
    for (let e = 0; e < m - data.heads; e++) { const th = document.createElement('th'); th.textContent = opLabel(e); head.appendChild(th); }
    for (let l = data.heads; l < m; l++) {
      const tr = table.insertRow(), th = document.createElement('th');
      th.textContent = opLabel(l); tr.appendChild(th);
      for (let e = 0; e < m - data.heads; e++) {
        const td = tr.insertCell();
        if (Math.floor(e / data.heads) >= Math.floor(l / data.heads)) { td.textContent = ''; continue; }
        const v = vals[l * m + e], t = v / (top || 1);
        td.style.background = css(color(t)); td.style.color = t > 0.6 ? '#000' : '#fff'; td.textContent = v.toFixed(2);
      }
    }
  }
  function listFiles() {
    const names = data.full.map((f) => 'heatmap_L' + f.layer + '_H' + f.head + '.png');
    data.graphs.forEach((g) => { names.push('graph_L' + g.layer + '.{graphml,dot,json}'); });
    names.push('recording_summary.json (incl. rollout; attention flow for ≤ 24 tokens)');
    $('files').textContent = names.join(' · ');
  }

  $('title').textContent = data.title;
  $('metric').addEventListener('change', drawOverview);
  data.graphs.forEach((g, k) => { const o = document.createElement('option'); o.value = k; o.textContent = g.name; $('graphsel').appendChild(o); });
  $('graphsel').addEventListener('change', drawGraph);
  buildTokens();
  drawOverview();
  drawHeat();
  if (data.graphs.length) drawGraph();
  drawDecay();
  drawTrajectory();
  drawShare();
  drawHist();
  drawHeadMap();
  drawRollout();
  data.operators.forEach((op, k) => { const o = document.createElement('option'); o.value = k; o.textContent = opLabel(op.index); $('opsel').appendChild(o); });
  $('opsel').addEventListener('change', drawOperator);
  $('compkind').addEventListener('change', drawComposition);
  drawOperator();
  drawComposition();
  listFiles();
  document.body.dataset.ready = '1';
})();
