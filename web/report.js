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

  // ---- heads x layers overview: click a head with exact weights (data.full) or a thumbnail --------
  // current: {kind: 'full' | 'thumb', idx} into data.full / data.thumbs (null: nothing to show).
  let current = data.full.length ? { kind: 'full', idx: 0 } : data.thumbs.length ? { kind: 'thumb', idx: 0 } : null;
  const findHead = (l, h) => {
    const f = data.full.findIndex((x) => x.layer === l && x.head === h);
    if (f >= 0) return { kind: 'full', idx: f };
    const t = data.thumbs.findIndex((x) => x.layer === l && x.head === h);
    return t >= 0 ? { kind: 'thumb', idx: t } : null;
  };
  const same = (a, b) => a && b && a.kind === b.kind && a.idx === b.idx;
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
        if (v === null) td.textContent = '–';
        else {
          td.style.background = css(color(v)); td.style.color = v > 0.6 ? '#000' : '#fff';
          td.textContent = v.toFixed(2);
        }
        const sel = findHead(l, h);
        if (sel) {
          td.classList.add(sel.kind === 'full' ? 'full' : 'thumb');
          if (same(sel, current)) td.classList.add('current');
          td.addEventListener('click', () => { current = sel; drawOverview(); drawHeat(); });
        }
      }
    }
  }

  // ---- zoomable heatmap: one bitmap (N x N, or the thumbnail's R x C) drawn once, then blitted ----
  const heat = $('heat'), over = $('heatover'), side = heat.width;
  let bitmap = null, zoom = 1, ox = 0, oy = 0, focus = -1, bw = n, bh = n;
  const thumbBytes = {};
  function currentBytes() {
    if (!current) return null;
    if (current.kind === 'full') return matrixBytes(current.idx);
    const t = data.thumbs[current.idx], key = current.idx + ':' + $('pool').value;
    if (!thumbBytes[key]) thumbBytes[key] = decodeBytes(t[$('pool').value]);
    return thumbBytes[key];
  }
  function buildBitmap() {
    const q = currentBytes();
    bw = current.kind === 'full' ? n : data.thumbs[current.idx].cols;
    bh = current.kind === 'full' ? n : data.thumbs[current.idx].rows;
    const img = new ImageData(bw, bh), px = new Uint32Array(img.data.buffer);
    for (let i = 0; i < bw * bh; i++) px[i] = lut[q[i]];  // RGBA bytes in little-endian order
    bitmap = document.createElement('canvas'); bitmap.width = bw; bitmap.height = bh;
    bitmap.getContext('2d').putImageData(img, 0, 0);
  }
  function drawHeat() {
    const ctx = heat.getContext('2d');
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, side, side);
    $('poolwrap').style.display = current && current.kind === 'thumb' ? '' : 'none';
    if (!current) { $('heatlabel').textContent = 'no head recorded'; return; }
    if (current.kind === 'full') {
      const f = data.full[current.idx];
      $('heatlabel').textContent = 'layer ' + f.layer + ', head ' + f.head + ' (exact weights; rows: queries, columns: keys; colour √weight)';
    } else {
      const t = data.thumbs[current.idx];
      $('heatlabel').textContent = 'layer ' + t.layer + ', head ' + t.head + ': ' + t.rows + ' × ' + t.cols + ' thumbnail of the ' + n + ' × ' + n +
        ' matrix, pooled in the kernel (each cell ≈ ' + (n / t.rows).toFixed(1) + ' × ' + (n / t.cols).toFixed(1) + ' entries; colour √weight)';
    }
    buildBitmap();
    blit();
  }
  function blit() {
    const ctx = heat.getContext('2d');
    ctx.imageSmoothingEnabled = false;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, side, side);
    ctx.setTransform(side / bw * zoom, 0, 0, side / bh * zoom, ox, oy);
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
    if (!current) return;
    const r = heat.getBoundingClientRect();
    const j = Math.floor((e.clientX - r.left - ox) / (side / bw * zoom)), i = Math.floor((e.clientY - r.top - oy) / (side / bh * zoom));
    if (i < 0 || j < 0 || i >= bh || j >= bw) return;
    const x = currentBytes()[i * bw + j] / 255;
    if (current.kind === 'full')
      $('heatinfo').textContent = 'query ' + i + ' ' + JSON.stringify(data.tokens[i]) + ' → key ' + j + ' ' +
        JSON.stringify(data.tokens[j]) + ': ' + matrix(current.idx)[i * n + j].toFixed(4);
    else {
      const span = (a, m) => [Math.ceil(a * n / m), Math.ceil((a + 1) * n / m) - 1];
      const qi = span(i, bh), kj = span(j, bw);
      $('heatinfo').textContent = 'queries ' + qi[0] + '–' + qi[1] + ' → keys ' + kj[0] + '–' + kj[1] + ': ' + $('pool').value + ' ≈ ' + (x * x).toFixed(4);
    }
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
    if (i >= 0 && current && current.kind === 'full') {
      const w = matrix(current.idx);
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
    if (data.dla && i >= 0) { $('dlapos').value = String(i); drawDla(); }
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
      if (k < 8) { ctx.fillStyle = ctx.strokeStyle; ctx.fillText('L' + f.layer + 'H' + f.head, 36 + 50 * k, 24); }
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
  function legend(ctx, k, f) { if (k >= 8) return; ctx.fillStyle = palette[k % palette.length]; ctx.fillText('L' + f.layer + 'H' + f.head, 36 + 50 * k, 24); }
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
      'attention (' + ro.source + '; heads per layer: ' + ro.heads_recorded.join(', ') + '), not causal attributions. Hover a token to change the query' +
      (ro.rows.length < n ? ' (rollout held for queries ' + ro.rows.join(', ') + ').' : '.');
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
    const names = data.full.filter((f) => f.recorded).map((f) => 'heatmap_L' + f.layer + '_H' + f.head + '.png');
    data.graphs.forEach((g) => { names.push('graph_L' + g.layer + '.{graphml,dot,json}'); });
    names.push('recording_summary.json (incl. rollout; attention flow for ≤ 24 tokens)');
    names.push('report.json (this page\'s data)');
    $('files').textContent = names.join(' · ');
  }


  // ---- what the model predicts, logit lens, direct logit attribution ---------------------------
  const tokText = (id) => (data.token_text && data.token_text[id] !== undefined ? data.token_text[id] : '#' + id);
  const show = (t) => JSON.stringify(t);
  const diverge = (v, top) => {  // blue for positive, red for negative, white at 0
    const t = Math.max(-1, Math.min(1, v / (top || 1)));
    return t >= 0 ? 'rgb(' + (255 - 200 * t | 0) + ',' + (255 - 140 * t | 0) + ',255)' : 'rgb(255,' + (255 + 160 * t | 0) + ',' + (255 + 200 * t | 0) + ')';
  };
  function cell(tr, text, cls) { const td = tr.insertCell(); td.textContent = text; if (cls) td.className = cls; return td; }
  function drawPredictions() {
    const p = data.predictions, table = $('preds');
    if (!p) { $('predsec').style.display = 'none'; return; }
    const base = data.baseline_predictions;
    $('prednote').textContent = 'next-token accuracy ' + p.accuracy.toFixed(3) + ', mean loss ' + p.mean_loss.toFixed(3) + ' nats over the ' +
      (n - 1) + ' positions with a next token' + (base ? ' (without the intervention: accuracy ' + base.accuracy.toFixed(3) + ', loss ' +
      base.mean_loss.toFixed(3) + ')' : '') + '. Green: the actual next token is the top prediction.';
    const head = table.insertRow();
    ['pos', 'token', 'next', 'p(next)', 'rank', 'loss'].concat(base ? ['p(next) without'] : []).concat(['top ' + p.k + ' predictions'])
      .forEach((h) => { const th = document.createElement('th'); th.textContent = h; head.appendChild(th); });
    for (let i = 0; i < n; i++) {
      const tr = table.insertRow(), a = p.actual[i];
      cell(tr, String(i)); cell(tr, show(data.tokens[i]), 'tok');
      cell(tr, a >= 0 ? show(tokText(a)) : '–', 'tok');
      const hit = a >= 0 && p.top_tokens[i * p.k] === a;
      cell(tr, a >= 0 ? p.p_actual[i].toFixed(3) : '–', a >= 0 ? (hit ? 'good' : 'bad') : '');
      cell(tr, a >= 0 ? String(p.rank_actual[i]) : '–');
      cell(tr, a >= 0 ? p.loss[i].toFixed(3) : '–');
      if (base) cell(tr, a >= 0 ? base.p_actual[i].toFixed(3) : '–');
      const tops = [];
      for (let r = 0; r < p.k; r++) tops.push(show(tokText(p.top_tokens[i * p.k + r])) + ' ' + p.top_probs[i * p.k + r].toFixed(2));
      cell(tr, tops.join('  '), 'tok');
    }
  }
  function drawLens() {
    const L = data.lens, cv = $('lens');
    if (!L) { $('lenssec').style.display = 'none'; return; }
    const S = L.stages, left = 70, cw = Math.max(1, (cv.width - left - 10) / n), ch = Math.max(6, Math.min(18, 240 / S));
    cv.height = S * ch + 30;
    const ctx = cv.getContext('2d');
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, cv.width, cv.height);
    for (let s = 0; s < S; s++) {
      for (let i = 0; i < n; i++) { ctx.fillStyle = css(color(Math.sqrt(L.prob[s * n + i]))); ctx.fillRect(left + i * cw, 10 + s * ch, Math.ceil(cw), Math.ceil(ch)); }
      ctx.fillStyle = '#333'; ctx.font = '10px sans-serif'; ctx.fillText(L.labels[s], 4, 10 + s * ch + ch * 0.75);
    }
    ctx.fillText('positions 0 … ' + (n - 1) + ' → (colour: √p of the tracked token)', left, cv.height - 6);
    cv.addEventListener('mousemove', (e) => {
      const r = cv.getBoundingClientRect(), i = Math.floor((e.clientX - r.left - left) / cw), s = Math.floor((e.clientY - r.top - 10) / ch);
      if (i < 0 || i >= n || s < 0 || s >= S) return;
      const k = s * n + i;
      $('lensinfo').textContent = L.labels[s] + ', position ' + i + ' ' + show(data.tokens[i]) + ': p(' + show(tokText(L.target[i])) + ') = ' +
        L.prob[k].toFixed(4) + ', rank ' + L.rank[k] + '; top token ' + show(tokText(L.top_token[k])) + ' (' + L.top_prob[k].toFixed(3) + ')';
    });
    const last = n - 1, end = (S - 1) * n + last;
    $('lensinfo').textContent = 'last position: the tracked token ' + show(tokText(L.target[last])) + ' reaches rank ' + L.rank[end] +
      ' (p = ' + L.prob[end].toFixed(3) + ') after the last layer; hover a cell for any stage and position';
  }
  function drawDla() {
    const A = data.dla, cv = $('dla');
    if (!A) { $('dlasec').style.display = 'none'; return; }
    const i = +$('dlapos').value, K = A.components, ctx = axes(cv), W = cv.width - 40, H = cv.height - 30;
    let top = 0, sum = 0;
    for (let k = 0; k < K; k++) { const v = A.value[k * n + i]; top = Math.max(top, Math.abs(v)); sum += v; }
    const mid = 10 + H / 2, bwid = W / K;
    ctx.strokeStyle = '#999'; ctx.beginPath(); ctx.moveTo(30, mid); ctx.lineTo(30 + W, mid); ctx.stroke();
    let best = 0;
    for (let k = 0; k < K; k++) {
      const v = A.value[k * n + i], h = (H / 2 - 4) * v / (top || 1);
      ctx.fillStyle = v >= 0 ? '#1f77b4' : '#d62728';
      ctx.fillRect(30 + k * bwid, v >= 0 ? mid - h : mid, Math.max(1, bwid - 1), Math.abs(h));
      if (Math.abs(v) > Math.abs(A.value[best * n + i])) best = k;
    }
    ctx.fillStyle = '#222';
    if (K <= 40) for (let k = 0; k < K; k++) { ctx.save(); ctx.translate(34 + k * bwid, cv.height - 4); ctx.rotate(-Math.PI / 3); ctx.fillText(A.labels[k], 0, 0); ctx.restore(); }
    const b = A.baseline[i];
    $('dlanote').textContent = 'position ' + i + ' ' + show(data.tokens[i]) + ': logit of ' + show(tokText(A.target[i])) +
      (b >= 0 ? ' − logit of ' + show(tokText(b)) : '') + ' = ' + A.logit[i].toFixed(3) + '; components sum to ' + sum.toFixed(3) +
      '; largest: ' + A.labels[best] + ' (' + A.value[best * n + i].toFixed(3) + ')';
    const table = $('dlaheads');
    table.textContent = '';
    const hr = table.insertRow(); hr.appendChild(document.createElement('th'));
    for (let h = 0; h < data.heads; h++) { const th = document.createElement('th'); th.textContent = 'H' + h; hr.appendChild(th); }
    let htop = 0;
    for (let k = 0; k < K; k++) if (A.head[k] >= 0) htop = Math.max(htop, Math.abs(A.value[k * n + i]));
    for (let l = 0; l < data.layers; l++) {
      const tr = table.insertRow(), th = document.createElement('th'); th.textContent = 'L' + l; tr.appendChild(th);
      for (let h = 0; h < data.heads; h++) {
        const k = A.layer.findIndex((x, q) => x === l && A.head[q] === h), v = A.value[k * n + i];
        const td = tr.insertCell(); td.textContent = v.toFixed(2); td.style.background = diverge(v, htop); td.style.color = '#000';
      }
    }
  }
  function drawDetectors() {
    const D = data.detectors, table = $('detectors');
    if (!D) { $('detsec').style.display = 'none'; return; }
    $('detnote').textContent = 'scores measured on ' + D.sequences + ' random sequences of ' + D.length + ' tokens for each period ' + D.periods.join(', ') +
      ' ([noise | r | r | …], a random offset): previous-token = mean A[i, i−1]; duplicate = mass on earlier copies; induction = mass on the token after an ' +
      'earlier copy (mean, and its minimum over periods); offset = the distance d back whose mass holds for every period (positional when ≥ 0.5).';
    const head = table.insertRow();
    ['head', 'previous-token', 'duplicate', 'induction', 'induction (worst period)', 'fixed offset', 'mass there', 'positional', 'kind']
      .forEach((h) => { const th = document.createElement('th'); th.textContent = h; head.appendChild(th); });
    D.heads.forEach((h) => {
      const tr = table.insertRow();
      cell(tr, 'L' + h.layer + 'H' + h.head);
      [h.previous_token, h.duplicate_token, h.induction, h.induction_min].forEach((v) => { const td = cell(tr, v.toFixed(2)); td.style.background = css(color(v)); td.style.color = v > 0.6 ? '#000' : '#fff'; });
      cell(tr, String(h.offset)); cell(tr, h.offset_mass.toFixed(2)); cell(tr, h.positional ? 'yes' : 'no', h.positional ? 'bad' : '');
      cell(tr, h.kind);
    });
  }
  function drawFlow() {
    const F = data.flow;
    if (!F) { $('flowsec').style.display = 'none'; return; }
    const L = F.mean_update.length;
    $('flownote').textContent = 'Each token\'s residual state as a particle. Per layer: the mean norm of the tokens\' updates and of their ' +
      'attention and MLP parts (two vectors that sum to the update); W₂: the exact 2-Wasserstein distance between the token clouds entering and ' +
      'leaving the block (optimal assignment; – when not computed); clusters of the states leaving the block on the sphere (each centred and ' +
      'scaled to unit length, cosine ≥ ' + F.cluster_cos + '; ' + F.clusters_embedded + ' before layer 0); the last token: the cosine of its ' +
      'state with the unembedding u of the predicted token "' + tokText(F.predicted) + '" (' + F.embedded_last_cos.toFixed(2) +
      ' for its embedding), and the components of the attention and MLP updates along u/|u|.';
    const table = $('flowtable'), head = table.insertRow();
    ['layer', 'mean |update|', 'attention part', 'MLP part', 'W₂', 'clusters', 'last: cos(state, u)', 'attention along u', 'MLP along u']
      .forEach((h) => { const th = document.createElement('th'); th.textContent = h; head.appendChild(th); });
    for (let l = 0; l < L; ++l) {
      const tr = table.insertRow();
      cell(tr, String(l));
      [F.mean_update[l], F.mean_attention[l], F.mean_mlp[l]].forEach((v) => cell(tr, v.toFixed(3)));
      cell(tr, F.w2[l] >= 0 ? F.w2[l].toFixed(3) : '–');
      cell(tr, String(F.clusters[l]));
      [F.last_cos[l], F.last_attention_along[l], F.last_mlp_along[l]].forEach((v) => cell(tr, v.toFixed(3)));
    }
    // Bars: the attention part and the MLP part of the mean update, per layer.
    const cv = $('flowplot'), ctx = axes(cv), top = Math.max(1e-9, ...F.mean_attention, ...F.mean_mlp);
    const w = (cv.width - 50) / Math.max(L, 1), hgt = cv.height - 40;
    for (let l = 0; l < L; ++l) {
      [[F.mean_attention[l], palette[0]], [F.mean_mlp[l], palette[1]]].forEach(([v, c], k) => {
        const bh = hgt * v / top;
        ctx.fillStyle = c; ctx.fillRect(35 + l * w + k * w * 0.4, 10 + hgt - bh, w * 0.38, bh);
      });
      ctx.fillStyle = '#333'; ctx.fillText('L' + l, 35 + l * w + w * 0.3, cv.height - 6);
    }
    ctx.fillStyle = palette[0]; ctx.fillText('attention part', 40, 22);
    ctx.fillStyle = palette[1]; ctx.fillText('MLP part', 140, 22);
    ctx.fillStyle = '#333'; ctx.fillText(top.toFixed(2), 2, 18);
  }
  function drawComparison() {
    const C = data.comparison;
    if (!C) { $('cmpsec').style.display = 'none'; return; }
    $('cmpnote').textContent = 'clean: ' + show(C.clean_prompt) + ' · corrupted: ' + show(C.corrupt_prompt) + ' · ' + C.note + ' · metric clean ' +
      C.metric_clean.toFixed(3) + ', corrupted ' + C.metric_corrupt.toFixed(3) + '. Blue: patching recovers the metric (1 = fully), red: moves it the other way.';
    const box = $('cmpgrids');
    C.grids.forEach((g) => {
      const div = document.createElement('div'), title = document.createElement('div'), cv = document.createElement('canvas'), info = document.createElement('div');
      title.className = 'note'; title.textContent = g.name + ' — ' + g.direction; info.className = 'note';
      const left = 50, cw = Math.max(2, Math.min(28, 860 / g.cols)), ch = Math.max(8, Math.min(22, 260 / g.rows));
      cv.width = left + g.cols * cw + 10; cv.height = g.rows * ch + 12; cv.className = 'plot grid';
      const ctx = cv.getContext('2d');
      ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, cv.width, cv.height);
      for (let r = 0; r < g.rows; r++) {
        ctx.fillStyle = '#333'; ctx.font = '10px sans-serif'; ctx.fillText(g.row_labels[r], 4, 6 + r * ch + ch * 0.75);
        for (let c = 0; c < g.cols; c++) {
          const v = g.recovered[r * g.cols + c];
          ctx.fillStyle = v === null ? '#ccc' : diverge(v, 1); ctx.fillRect(left + c * cw, 6 + r * ch, cw - (cw > 4 ? 1 : 0), ch - 1);
        }
      }
      cv.addEventListener('mousemove', (e) => {
        const b = cv.getBoundingClientRect(), c = Math.floor((e.clientX - b.left - left) / cw), r = Math.floor((e.clientY - b.top - 6) / ch);
        if (r < 0 || c < 0 || r >= g.rows || c >= g.cols) return;
        const v = g.recovered[r * g.cols + c];
        info.textContent = g.row_labels[r] + ' × ' + g.col_labels[c] + ': recovered ' + (v === null ? 'undefined' : v.toFixed(3));
      });
      div.appendChild(title); div.appendChild(cv); div.appendChild(info); box.appendChild(div);
    });
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
  $('emfnote').textContent = data.emf_note || '';
  if (data.intervention) $('intervention').textContent = 'intervention: ' + data.intervention + ' (the panels show the run with it)';
  else $('intervention').style.display = 'none';
  drawPredictions();
  drawLens();
  if (data.dla) {
    for (let i = 0; i < n; i++) { const o = document.createElement('option'); o.value = i; o.textContent = i + ' ' + show(data.tokens[i]) + ' → ' + show(tokText(data.dla.target[i])); $('dlapos').appendChild(o); }
    $('dlapos').value = String(n - 1);
    $('dlapos').addEventListener('change', drawDla);
  }
  drawDla();
  drawDetectors();
  drawFlow();
  drawComparison();
  $('pool').addEventListener('change', () => { if (current && current.kind === 'thumb') drawHeat(); });
  listFiles();
  document.body.dataset.ready = '1';
})();
