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
  const decoded = {};
  function matrix(idx) {
    if (!decoded[idx]) {
      const bin = atob(data.full[idx].w), w = new Float32Array(bin.length);
      for (let i = 0; i < bin.length; i++) { const q = bin.charCodeAt(i) / 255; w[i] = q * q; }
      decoded[idx] = w;
    }
    return decoded[idx];
  }

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
    const w = matrix(current), img = new ImageData(n, n), px = img.data;
    for (let i = 0; i < n * n; i++) {
      const c = color(Math.sqrt(w[i])), o = 4 * i;
      px[o] = c[0]; px[o + 1] = c[1]; px[o + 2] = c[2]; px[o + 3] = 255;
    }
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
  document.body.dataset.ready = '1';
})();
