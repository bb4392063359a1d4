// attend observatory: the report's plot and table panels (decay, share, distance histogram, head
// similarity, rollout, trajectories, EMF operators, predictions, logit lens, DLA, detectors, flow,
// comparison). Each draw function reads the shared state S (web/report.js) and the data it holds.
(function () {
  'use strict';
  const P = window.attendPlot, $ = (id) => document.getElementById(id);
  const { color, css, palette, frame, emptyCanvas } = P;
  const show = (t) => JSON.stringify(t);
  const hname = (f) => 'L' + f.layer + 'H' + f.head;
  const MAX_LINES = 16;  // line plots draw at most this many heads (the filter picks which)
  const diverge = (v, top) => {  // blue for positive, red for negative, white at 0
    const t = Math.max(-1, Math.min(1, v / (top || 1)));
    return t >= 0 ? 'rgb(' + (255 - 200 * t | 0) + ',' + (255 - 140 * t | 0) + ',255)' : 'rgb(255,' + (255 + 160 * t | 0) + ',' + (255 + 200 * t | 0) + ')';
  };
  function cell(tr, text, cls) { const td = tr.insertCell(); td.textContent = text; if (cls) td.className = cls; return td; }
  function header(table, names) { const tr = table.insertRow(); names.forEach((h) => { const th = document.createElement('th'); th.textContent = h; tr.appendChild(th); }); }

  // The heads of data.full the filter passes, capped for line plots; a note says what is shown.
  function chosen(S, noteId) {
    const all = S.data.full.map((f, k) => [f, k]).filter(([f]) => S.filter.pass(f.layer, f.head));
    const shown = all.slice(0, MAX_LINES);
    const note = $(noteId);
    if (note) note.textContent = S.data.full.length === 0 ? '' : 'showing ' + shown.length + ' of ' + S.data.full.length + ' heads' +
      (all.length > shown.length ? ' (the first ' + MAX_LINES + ' the filter passes: narrow it, e.g. "L3" or "L3H5")' : '') + '.';
    return shown;
  }
  const noExact = 'no head has exact weights (record heads in full, or thumbnails with one cell per entry)';

  function drawDecay(S) {
    const cv = $('decay'), d = S.data;
    if (!d.full.length) return emptyCanvas(cv, noExact, $('decaynote'));
    const heads = chosen(S, 'decaynote');
    let maxLen = 1, top = 0;
    heads.forEach(([f]) => { maxLen = Math.max(maxLen, f.decay.length); f.decay.forEach((v) => { top = Math.max(top, v); }); });
    const F = frame(cv, { x: [0, maxLen - 1], y: [0, top || 1], xlabel: 'distance d = i − j (tokens)', ylabel: 'mean weight A[i, i − d]',
                          legend: heads.map(([f], k) => [hname(f), palette[k % palette.length]]) });
    heads.forEach(([f], k) => {
      F.ctx.strokeStyle = palette[k % palette.length]; F.ctx.beginPath();
      f.decay.forEach((v, x) => { x ? F.ctx.lineTo(F.sx(x), F.sy(v)) : F.ctx.moveTo(F.sx(x), F.sy(v)); });
      F.ctx.stroke();
    });
  }
  function drawShare(S) {
    const cv = $('share'), d = S.data, n = S.n;
    if (!d.full.length) return emptyCanvas(cv, noExact, $('sharenote'));
    const heads = chosen(S, 'sharenote');
    const F = frame(cv, { x: [0, Math.max(1, n - 1)], y: [0, 1], xlabel: 'query position i (tokens)', ylabel: 'weight A[i, 0]',
                          legend: heads.map(([f], k) => [hname(f), palette[k % palette.length]]) });
    heads.forEach(([f], k) => {
      F.ctx.strokeStyle = palette[k % palette.length]; F.ctx.beginPath();
      f.share0.forEach((v, i) => { i ? F.ctx.lineTo(F.sx(i), F.sy(v)) : F.ctx.moveTo(F.sx(i), F.sy(v)); });
      F.ctx.stroke();
    });
  }
  function drawHist(S) {
    const cv = $('hist'), d = S.data, e = d.hist_edges, nb = e.length;
    if (!d.full.length) return emptyCanvas(cv, noExact, $('histnote'));
    const heads = chosen(S, 'histnote');
    const F = frame(cv, { x: [0, nb], y: [0, 1], xticks: false, xlabel: 'distance |i − j| (bins, tokens)', ylabel: 'share of attention',
                          legend: heads.map(([f], k) => [hname(f), palette[k % palette.length]]) });
    const group = F.W / Math.max(1, nb), bw = group / Math.max(1, heads.length + 1);
    heads.forEach(([f], k) => {
      F.ctx.fillStyle = palette[k % palette.length];
      f.hist.forEach((v, b) => { const h = F.H * Math.min(1, v); F.ctx.fillRect(F.x0 + b * group + k * bw, F.y0 + F.H - h, bw, h); });
    });
    F.ctx.fillStyle = '#333'; F.ctx.font = '10px sans-serif';
    e.forEach((x, b) => { if (nb <= 16 || b % 2 === 0) F.ctx.fillText((b + 1 < nb ? (x + 1 === e[b + 1] ? '' : '≥') : '≥') + x, F.x0 + b * group + 2, F.y0 + F.H + 13); });
  }
  function drawHeadMap(S) {
    const cv = $('headmap'), m = S.data.headmap;
    if (!m) return emptyCanvas(cv, 'needs two or more heads with exact weights', $('headmapnote'));
    const k = m.labels.length, xs = [], ys = [];
    for (let a = 0; a < k; a++) { xs.push(m.xy[2 * a]); ys.push(m.xy[2 * a + 1]); }
    const span = (v) => [Math.min(...v), Math.max(...v)], sx = span(xs), sy = span(ys);
    const r = Math.max(sx[1] - sx[0], sy[1] - sy[0]) || 1;  // one scale for both axes: distances stay comparable
    const layers = [...new Set(m.labels.map((x) => x[0]))];
    const F = frame(cv, { x: [sx[0], sx[0] + r], y: [sy[0], sy[0] + r], xlabel: 'MDS axis 1 (√JS, √nats)', ylabel: 'MDS axis 2 (√JS, √nats)',
                          legend: layers.map((l) => ['L' + l, palette[l % palette.length]]) });
    const pass = [];
    for (let a = 0; a < k; a++) if (S.filter.pass(m.labels[a][0], m.labels[a][1])) pass.push(a);
    const labelled = pass.length <= 24 ? pass : [];
    let most = [0, 0, -1];
    for (let a = 0; a < k; a++) {
      const on = S.filter.pass(m.labels[a][0], m.labels[a][1]);
      F.ctx.globalAlpha = on ? 1 : 0.15;
      F.ctx.fillStyle = palette[m.labels[a][0] % palette.length]; F.ctx.beginPath(); F.ctx.arc(F.sx(xs[a]), F.sy(ys[a]), 4, 0, 2 * Math.PI); F.ctx.fill();
      for (let b = a + 1; b < k; b++) if (m.js[a * k + b] > most[2]) most = [a, b, m.js[a * k + b]];
    }
    F.ctx.globalAlpha = 1; F.ctx.fillStyle = '#222';
    labelled.forEach((a) => F.ctx.fillText('L' + m.labels[a][0] + 'H' + m.labels[a][1], F.sx(xs[a]) + 6, F.sy(ys[a]) + 4));
    const lab = (a) => 'L' + m.labels[a][0] + 'H' + m.labels[a][1];
    $('headmapnote').textContent = 'close points route alike (colour = layer; ' + (labelled.length ? 'labelled: the ' + labelled.length + ' heads the filter passes'
      : pass.length + ' heads pass the filter: too many to label, narrow it to ≤ 24') + '); most different pair: ' + lab(most[0]) + ' vs ' + lab(most[1]) +
      ', JS = ' + most[2].toFixed(3) + ' nats (max ln 2 = 0.693)';
  }
  function drawTrajectory(S) {
    const cv = $('traj'), t = S.data.trajectory, n = S.n;
    if (!t) return emptyCanvas(cv, 'no residual-stream activations were recorded (a recording without activations, e.g. kernels only)', $('trajnote'));
    let lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
    t.points.forEach((p) => { for (let c = 0; c < 2; c++) { lo[c] = Math.min(lo[c], p[c]); hi[c] = Math.max(hi[c], p[c]); } });
    const F = frame(cv, { x: [lo[0], hi[0]], y: [lo[1], hi[1]], xlabel: 'PC 1 (residual units)', ylabel: 'PC 2' });
    const tokens = n <= 64 ? n : 64;  // more paths than this are a blob: the last 64 tokens
    for (let i = n - tokens; i < n; i++) {
      F.ctx.strokeStyle = palette[i % palette.length]; F.ctx.globalAlpha = 0.6; F.ctx.beginPath();
      for (let s = 0; s < t.stages; s++) { const q = t.points[s * n + i]; s ? F.ctx.lineTo(F.sx(q[0]), F.sy(q[1])) : F.ctx.moveTo(F.sx(q[0]), F.sy(q[1])); }
      F.ctx.stroke();
      const e = t.points[(t.stages - 1) * n + i]; F.ctx.globalAlpha = 1; F.ctx.fillStyle = F.ctx.strokeStyle; F.ctx.fillRect(F.sx(e[0]) - 2, F.sy(e[1]) - 2, 4, 4);
    }
    F.ctx.globalAlpha = 1;
    $('trajnote').textContent = (tokens < n ? 'the last ' + tokens + ' of ' + n + ' tokens; ' : '') + 'square: the state leaving the last layer. ' +
      'Mean pairwise cosine per stage: ' + t.cosine.map((c) => c.toFixed(3)).join(', ');
  }
  function drawRollout(S) {
    const cv = $('rollout'), ro = S.data.rollout, n = S.n;
    if (!ro) return emptyCanvas(cv, 'rollout needs exact weights in every layer (record all layers, or query rows with --rows)', $('rolloutnote'));
    const bytes = S.rolloutBytes();
    const want = S.focus >= 0 ? S.focus : n - 1, r = ro.rows.indexOf(want) >= 0 ? ro.rows.indexOf(want) : ro.rows.length - 1, i = ro.rows[r];
    let top = 0;
    for (let j = 0; j < n; j++) { const x = bytes[r * n + j] / 255; top = Math.max(top, x * x); }
    const F = frame(cv, { x: [0, n], y: [0, 1], xlabel: 'key token j (position)', ylabel: 'share of the row max' });
    const bw = F.W / n;
    F.ctx.fillStyle = '#06c';
    for (let j = 0; j < n; j++) { const x = bytes[r * n + j] / 255, h = F.H * x * x / (top || 1); F.ctx.fillRect(F.x0 + j * bw, F.y0 + F.H - h, Math.max(bw, 1), h); }
    if (ro.flow) {
      F.ctx.strokeStyle = '#e80'; F.ctx.beginPath();
      let fmax = 0; for (let j = 0; j < n; j++) fmax = Math.max(fmax, ro.flow[i * n + j]);
      for (let j = 0; j < n; j++) { const px = F.x0 + (j + 0.5) * bw, py = F.y0 + F.H * (1 - ro.flow[i * n + j] / (fmax || 1)); j ? F.ctx.lineTo(px, py) : F.ctx.moveTo(px, py); }
      F.ctx.stroke();
    }
    $('rolloutnote').textContent = 'query ' + i + ' ' + show(S.data.tokens[i]) + ': blue bars = attention rollout over input tokens' +
      (ro.flow ? ', orange line = attention flow (max-flow)' : '') + ' (each scaled to its max). Both are heuristics over head-averaged ' +
      'attention (' + ro.source + '; heads per layer: ' + ro.heads_recorded.join(', ') + '), not causal attributions. Hover or pin a token to change the query' +
      (ro.rows.length < n ? ' (rollout held for queries ' + ro.rows.join(', ') + ').' : '.');
  }
  const opLabel = (S, i) => 'L' + Math.floor(i / S.data.heads) + 'H' + (i % S.data.heads);
  function drawOperator(S) {
    const cv = $('opsv'), ops = S.data.operators;
    if (!ops.length) return emptyCanvas(cv, 'no EMF operators: the model\'s weights were not given (a kernel-only recording) or --no-emf', $('opnote'));
    const op = ops[+$('opsel').value || 0];
    const series = [[op.m_singular, '#1f77b4', 'σ(M), M = W_Q·W_Kᵀ/√d'], [op.f_singular, '#d62728', 'σ(F), F = W_V·W_O']];
    const len = Math.max(1, ...series.map((s) => Math.min(64, s[0].length)));
    const F = frame(cv, { x: [1, len], y: [0, 1], xlabel: 'singular value index (top 64)', ylabel: 'σ / σ₁',
                          legend: series.map((s) => [s[2] + ' (σ₁ = ' + (s[0].length ? s[0][0].toPrecision(3) : '–') + ')', s[1]]) });
    // Each spectrum scaled to its own largest value (M and F have different units); σ₁ in the legend.
    series.forEach((s) => {
      const sv = s[0].slice(0, 64), top = sv.length ? sv[0] : 0;
      F.ctx.strokeStyle = s[1]; F.ctx.beginPath();
      sv.forEach((v, c) => { c ? F.ctx.lineTo(F.sx(c + 1), F.sy(v / (top || 1))) : F.ctx.moveTo(F.sx(c + 1), F.sy(v / (top || 1))); });
      F.ctx.stroke();
    });
    const sym = op.m_symmetric, anti = op.m_antisymmetric, tot = Math.hypot(sym, anti) || 1, share = sym * sym / (tot * tot);
    const kind = share > 0.6 ? 'mostly symmetric: matches like with like' : share < 0.4 ? 'mostly antisymmetric: directional' : 'mixed';
    $('opnote').textContent = opLabel(S, op.index) + ': ‖sym(M)‖ = ' + sym.toFixed(3) + ', ‖antisym(M)‖ = ' + anti.toFixed(3) +
      ' (symmetric share ' + share.toFixed(2) + ', ' + kind + ')';
  }
  function drawComposition(S) {
    const table = $('comp'), c = S.data.composition, d = S.data;
    table.textContent = '';
    if (!c) { $('compnote').textContent = 'nothing to show: no composition scores (needs the EMF operators of every head)'; return; }
    const kind = $('compkind').value, m = c.count, vals = c[kind];
    let top = 0; vals.forEach((v) => { top = Math.max(top, v); });
    const rows = [], cols = [];
    for (let l = d.heads; l < m; l++) if (S.filter.pass(Math.floor(l / d.heads), l % d.heads)) rows.push(l);
    for (let e = 0; e < m - d.heads; e++) cols.push(e);
    $('compnote').textContent = 'rows: later head (its M or F), columns: earlier head (its F); rows shown: the ' + rows.length + ' later heads the filter passes' +
      '; colour scaled to the largest score ' + top.toPrecision(3);
    const head = table.insertRow(); head.appendChild(document.createElement('th'));
    cols.forEach((e) => { const th = document.createElement('th'); th.textContent = opLabel(S, e); head.appendChild(th); });
    rows.forEach((l) => {
      const tr = table.insertRow(), th = document.createElement('th');
      th.textContent = opLabel(S, l); tr.appendChild(th);
      cols.forEach((e) => {
        const td = tr.insertCell();
        if (Math.floor(e / d.heads) >= Math.floor(l / d.heads)) { td.textContent = ''; return; }
        const v = vals[l * m + e], t = v / (top || 1);
        td.style.background = css(color(t)); td.style.color = t > 0.6 ? '#000' : '#fff'; td.textContent = v.toFixed(2);
      });
    });
  }

  // ---- what the model predicts, logit lens, direct logit attribution ---------------------------
  function drawPredictions(S) {
    const d = S.data, p = d.predictions, table = $('preds'), n = S.n;
    table.textContent = '';
    if (!p) return 'no predictions: this recording has no model output end (e.g. attend inspect-toy); run attend inspect on a checkpoint';
    const base = d.baseline_predictions, tokText = S.tokText;
    $('prednote').textContent = 'next-token accuracy ' + p.accuracy.toFixed(3) + ', mean loss ' + p.mean_loss.toFixed(3) + ' nats over the ' +
      (n - 1) + ' positions with a next token' + (base ? ' (without the intervention: accuracy ' + base.accuracy.toFixed(3) + ', loss ' +
      base.mean_loss.toFixed(3) + ')' : '') + '. Green: the actual next token is the top prediction.';
    header(table, ['pos', 'token', 'next', 'p(next)', 'rank', 'loss (nats)'].concat(base ? ['p(next) without'] : []).concat(['top ' + p.k + ' predictions (p)']));
    for (let i = 0; i < n; i++) {
      const tr = table.insertRow(), a = p.actual[i];
      cell(tr, String(i)); cell(tr, show(d.tokens[i]), 'tok');
      cell(tr, a >= 0 ? show(tokText(a)) : '–', 'tok');
      const hit = a >= 0 && p.top_tokens[i * p.k] === a;
      cell(tr, a >= 0 ? p.p_actual[i].toFixed(3) : '–', a >= 0 ? (hit ? 'good' : 'bad') : '');
      cell(tr, a >= 0 ? String(p.rank_actual[i]) : '–');
      cell(tr, a >= 0 ? p.loss[i].toFixed(3) : '–');
      if (base) cell(tr, a >= 0 ? base.p_actual[i].toFixed(3) : '–');
      const tops = [];
      for (let r = 0; r < p.k; r++) tops.push(show(tokText(p.top_tokens[i * p.k + r])) + ' ' + p.top_probs[i * p.k + r].toFixed(3));
      cell(tr, tops.join('  '), 'tok');
    }
    return '';
  }
  function drawLens(S) {
    const L = S.data.lens, cv = $('lens'), n = S.n;
    if (!L) return 'no logit lens: it needs the model\'s unembedding and every layer\'s residual stream (attend inspect on a checkpoint, without --no-lens)';
    const St = L.stages, left = 70, right = 96, cw = Math.max(1, (cv.width - left - right) / n), ch = Math.max(6, Math.min(18, 240 / St));
    cv.height = St * ch + 46;
    const ctx = cv.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, cv.width, cv.height);
    ctx.font = '10px sans-serif';
    for (let s = 0; s < St; s++) {
      for (let i = 0; i < n; i++) { ctx.fillStyle = css(color(Math.sqrt(L.prob[s * n + i]))); ctx.fillRect(left + i * cw, 10 + s * ch, Math.ceil(cw), Math.ceil(ch)); }
      if (s % Math.ceil(11 / ch) === 0) { ctx.fillStyle = '#333'; ctx.fillText(L.labels[s], 4, 10 + s * ch + ch * 0.75); }  // labels >= 11 px apart
    }
    const step = Math.max(1, Math.ceil(12 / cw));  // position ticks at least 12 px apart
    ctx.textAlign = 'center';
    for (let i = 0; i < n; i += step) ctx.fillText(String(i), left + (i + 0.5) * cw, 10 + St * ch + 12);
    ctx.fillText('position (token index); colour: √p of the tracked token (the actual next token)', left + n * cw / 2, cv.height - 6);
    ctx.textAlign = 'left';
    S.colorBar(ctx, cv.width - right + 12, 10, 12, St * ch, 'p');
    const last = n - 1, end = (St - 1) * n + last;
    $('lensinfo').textContent = 'last position: the tracked token ' + show(S.tokText(L.target[last])) + ' reaches rank ' + L.rank[end] +
      ' (p = ' + L.prob[end].toPrecision(3) + ') after the last layer; hover a cell for any stage and position';
    S.lensGeom = { left, cw, ch };
    return '';
  }
  function drawDla(S) {
    const A = S.data.dla, cv = $('dla'), n = S.n, d = S.data;
    if (!A) return 'no direct logit attribution: it needs the model\'s output weights and activations (attend inspect on a checkpoint, without --no-dla)';
    const i = +$('dlapos').value, K = A.components;
    let top = 0, sum = 0, best = 0;
    for (let k = 0; k < K; k++) { const v = A.value[k * n + i]; top = Math.max(top, Math.abs(v)); sum += v; if (Math.abs(v) > Math.abs(A.value[best * n + i])) best = k; }
    const F = frame(cv, { x: [0, K], y: [-(top || 1), top || 1], xticks: false, xlabel: 'component (embeddings, heads, biases, MLPs)', ylabel: 'logit contribution', bottom: 70 });
    const mid = F.sy(0), bwid = F.W / K;
    F.ctx.strokeStyle = '#999'; F.ctx.beginPath(); F.ctx.moveTo(F.x0, mid); F.ctx.lineTo(F.x0 + F.W, mid); F.ctx.stroke();
    for (let k = 0; k < K; k++) {
      const v = A.value[k * n + i];
      F.ctx.fillStyle = v >= 0 ? '#1f77b4' : '#d62728';
      F.ctx.fillRect(F.x0 + k * bwid, Math.min(mid, F.sy(v)), Math.max(1, bwid - 1), Math.abs(F.sy(v) - mid));
    }
    F.ctx.fillStyle = '#222';
    const every = Math.max(1, Math.ceil(11 / bwid));  // label every component when they fit, else every k-th
    for (let k = 0; k < K; k += every) { F.ctx.save(); F.ctx.translate(F.x0 + k * bwid + bwid / 2 + 3, F.y0 + F.H + 6); F.ctx.rotate(-Math.PI / 3); F.ctx.textAlign = 'right'; F.ctx.fillText(A.labels[k], 0, 0); F.ctx.restore(); }
    const b = A.baseline[i];
    $('dlanote').textContent = 'position ' + i + ' ' + show(d.tokens[i]) + ': logit of ' + show(S.tokText(A.target[i])) +
      (b >= 0 ? ' − logit of ' + show(S.tokText(b)) : '') + ' = ' + A.logit[i].toFixed(3) + '; components sum to ' + sum.toFixed(3) +
      '; largest: ' + A.labels[best] + ' (' + A.value[best * n + i].toFixed(3) + ')' + (every > 1 ? '; every ' + every + '-th component labelled' : '');
    const table = $('dlaheads');
    table.textContent = '';
    header(table, [''].concat(Array.from({ length: d.heads }, (_, h) => 'H' + h)));
    let htop = 0;
    for (let k = 0; k < K; k++) if (A.head[k] >= 0) htop = Math.max(htop, Math.abs(A.value[k * n + i]));
    for (let l = 0; l < d.layers; l++) {
      const tr = table.insertRow(), th = document.createElement('th'); th.textContent = 'L' + l; tr.appendChild(th);
      for (let h = 0; h < d.heads; h++) {
        const k = A.layer.findIndex((x, q) => x === l && A.head[q] === h), v = A.value[k * n + i];
        const td = tr.insertCell(); td.textContent = v.toFixed(2); td.style.background = diverge(v, htop); td.style.color = '#000';
        td.title = 'L' + l + 'H' + h + ': ' + v.toFixed(4);
      }
    }
    return '';
  }
  function drawDetectors(S) {
    const D = S.data.detectors, table = $('detectors');
    table.textContent = '';
    if (!D) return 'no head detectors: they run the model on repeated random sequences (attend inspect on a checkpoint, without --no-detectors)';
    $('detnote').textContent = 'scores measured on ' + D.sequences + ' random sequences of ' + D.length + ' tokens for each period ' + D.periods.join(', ') +
      ' ([noise | r | r | …], a random offset): previous-token = mean A[i, i−1]; duplicate = mass on earlier copies; induction = mass on the token after an ' +
      'earlier copy (mean, and its minimum over periods); offset = the distance d back whose mass holds for every period (positional when ≥ 0.5).';
    header(table, ['head', 'previous-token', 'duplicate', 'induction', 'induction (worst period)', 'fixed offset', 'mass there', 'positional', 'kind']);
    D.heads.filter((h) => S.filter.pass(h.layer, h.head)).forEach((h) => {
      const tr = table.insertRow();
      cell(tr, 'L' + h.layer + 'H' + h.head);
      [h.previous_token, h.duplicate_token, h.induction, h.induction_min].forEach((v) => { const td = cell(tr, v.toFixed(2)); td.style.background = css(color(v)); td.style.color = v > 0.6 ? '#000' : '#fff'; });
      cell(tr, String(h.offset)); cell(tr, h.offset_mass.toFixed(2)); cell(tr, h.positional ? 'yes' : 'no', h.positional ? 'bad' : '');
      cell(tr, h.kind);
    });
    return '';
  }
  function drawFlow(S) {
    const Fl = S.data.flow, table = $('flowtable');
    table.textContent = '';
    if (!Fl) return 'no residual-flow panel: it needs every layer\'s activations and the unembedding (attend inspect on a checkpoint)';
    const L = Fl.mean_update.length;
    $('flownote').textContent = 'Each token\'s residual state as a particle. Per layer: the mean norm of the tokens\' updates and of their ' +
      'attention and MLP parts (two vectors that sum to the update); W₂: the exact 2-Wasserstein distance between the token clouds entering and ' +
      'leaving the block (optimal assignment; – when not computed); clusters of the states leaving the block on the sphere (each centred and ' +
      'scaled to unit length, cosine ≥ ' + Fl.cluster_cos + '; ' + Fl.clusters_embedded + ' before layer 0); the last token: the cosine of its ' +
      'state with the unembedding u of the predicted token "' + S.tokText(Fl.predicted) + '" (' + Fl.embedded_last_cos.toFixed(2) +
      ' for its embedding), and the components of the attention and MLP updates along u/|u|.';
    header(table, ['layer', 'mean |update|', 'attention part', 'MLP part', 'W₂', 'clusters', 'last: cos(state, u)', 'attention along u', 'MLP along u']);
    for (let l = 0; l < L; ++l) {
      const tr = table.insertRow();
      cell(tr, String(l));
      [Fl.mean_update[l], Fl.mean_attention[l], Fl.mean_mlp[l]].forEach((v) => cell(tr, v.toFixed(3)));
      cell(tr, Fl.w2[l] >= 0 ? Fl.w2[l].toFixed(3) : '–');
      cell(tr, String(Fl.clusters[l]));
      [Fl.last_cos[l], Fl.last_attention_along[l], Fl.last_mlp_along[l]].forEach((v) => cell(tr, v.toFixed(3)));
    }
    const cv = $('flowplot'), top = Math.max(1e-9, ...Fl.mean_attention, ...Fl.mean_mlp);
    const F = frame(cv, { x: [0, L], y: [0, top], xticks: false, xlabel: 'layer', ylabel: 'mean norm (residual units)',
                          legend: [['attention part', palette[0]], ['MLP part', palette[1]]] });
    const w = F.W / Math.max(L, 1);
    for (let l = 0; l < L; ++l) {
      [[Fl.mean_attention[l], palette[0]], [Fl.mean_mlp[l], palette[1]]].forEach(([v, c], k) => {
        F.ctx.fillStyle = c; F.ctx.fillRect(F.x0 + l * w + k * w * 0.4 + w * 0.1, F.sy(v), w * 0.38, F.y0 + F.H - F.sy(v));
      });
      F.ctx.fillStyle = '#333'; F.ctx.textAlign = 'center'; F.ctx.fillText('L' + l, F.x0 + (l + 0.5) * w, F.y0 + F.H + 13); F.ctx.textAlign = 'left';
    }
    return '';
  }
  function drawComparison(S) {
    const C = S.data.comparison, box = $('cmpgrids');
    box.textContent = '';
    if (!C) return 'no comparison: give a second prompt of the same length (attend compare, or the app\'s "compare with")';
    $('cmpnote').textContent = 'clean: ' + show(C.clean_prompt) + ' · corrupted: ' + show(C.corrupt_prompt) + ' · ' + C.note + ' · metric logit(' +
      show(C.answer_text) + ') − logit(' + show(C.wrong_text) + ') at position ' + C.position + ': clean ' + C.metric_clean.toFixed(3) + ', corrupted ' +
      C.metric_corrupt.toFixed(3) + '. Blue: patching recovers the metric (1 = fully), red: moves it the other way.';
    C.grids.forEach((g, gi) => {
      const div = document.createElement('div'), title = document.createElement('div'), cv = document.createElement('canvas'), info = document.createElement('div');
      title.className = 'note'; title.textContent = g.name + ' — ' + g.direction; info.className = 'note';
      const left = 50, cw = Math.max(2, Math.min(28, 860 / g.cols)), ch = Math.max(8, Math.min(22, 260 / g.rows));
      cv.width = left + g.cols * cw + 60; cv.height = g.rows * ch + 40; cv.className = 'plot grid'; cv.id = 'cmpgrid' + gi;
      const draw = () => {
        const ctx = cv.getContext('2d');
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, cv.width, cv.height);
        ctx.font = '10px sans-serif';
        for (let r = 0; r < g.rows; r++) {
          ctx.fillStyle = '#333'; ctx.fillText(g.row_labels[r], 4, 6 + r * ch + ch * 0.75);
          for (let c = 0; c < g.cols; c++) {
            const v = g.recovered[r * g.cols + c];
            ctx.fillStyle = v === null ? '#ccc' : diverge(v, 1); ctx.fillRect(left + c * cw, 6 + r * ch, cw - (cw > 4 ? 1 : 0), ch - 1);
          }
        }
        const step = Math.max(1, Math.ceil(14 / cw));
        ctx.fillStyle = '#333'; ctx.textAlign = 'center';
        for (let c = 0; c < g.cols; c += step) ctx.fillText(g.col_labels[c].length > 6 ? g.col_labels[c].slice(0, 5) + '…' : g.col_labels[c], left + (c + 0.5) * cw, 6 + g.rows * ch + 12);
        ctx.textAlign = 'left';
        for (let k = 0; k <= 20; k++) { ctx.fillStyle = diverge(1 - k / 10, 1); ctx.fillRect(cv.width - 44, 6 + k * (g.rows * ch - 2) / 21, 10, (g.rows * ch) / 21 + 1); }
        ctx.fillStyle = '#333'; ctx.fillText('+1', cv.width - 30, 14); ctx.fillText('0', cv.width - 30, 6 + g.rows * ch / 2 + 3); ctx.fillText('−1', cv.width - 30, 6 + g.rows * ch);
      };
      draw();
      S.drawers[cv.id] = draw;
      cv.addEventListener('mousemove', (e) => {
        const b = cv.getBoundingClientRect(), c = Math.floor((e.clientX - b.left - left) / cw), r = Math.floor((e.clientY - b.top - 6) / ch);
        if (r < 0 || c < 0 || r >= g.rows || c >= g.cols) return;
        const v = g.recovered[r * g.cols + c];
        info.textContent = g.row_labels[r] + ' × ' + g.col_labels[c] + ': recovered ' + (v === null ? 'undefined (the metric does not differ)' : v.toFixed(3));
      });
      div.appendChild(title); div.appendChild(cv); div.appendChild(info); box.appendChild(div);
      S.addSvgButton(cv, g.name + ' ' + g.direction);
    });
    return '';
  }

  window.attendPanels = { drawDecay, drawShare, drawHist, drawHeadMap, drawTrajectory, drawRollout, drawOperator, drawComposition, drawPredictions,
                          drawLens, drawDla, drawDetectors, drawFlow, drawComparison, opLabel };
})();
