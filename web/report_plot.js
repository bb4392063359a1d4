// attend observatory: plotting helpers shared by the report's panels (web/report.js) — colour
// scales, framed axes with ticks and units, empty-panel notes, the head filter, and SVG export of a
// canvas panel (its drawing replayed into an SVG recorder, so labels stay text). No network.
(function () {
  'use strict';
  const viridis = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function color(t) {
    t = Math.max(0, Math.min(1, t)) * (viridis.length - 1);
    const i = Math.min(viridis.length - 2, Math.floor(t)), f = t - i, a = viridis[i], b = viridis[i + 1];
    return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
  }
  const css = (c) => 'rgb(' + (c[0] | 0) + ',' + (c[1] | 0) + ',' + (c[2] | 0) + ')';
  const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
                   '#393b79', '#637939'];

  // Tick values for [lo, hi]: 1, 2, 5 × 10^k steps, about `count` of them.
  function ticks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / Math.max(1, count), p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    const step = (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p, out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }
  const tickText = (v) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(0) : String(+v.toPrecision(3)));

  // A plot frame: white background, a box, ticks and labels on both axes.
  // opts: {x: [lo, hi], y: [lo, hi], xlabel, ylabel, xticks (false: none), yticks, left, bottom}
  // Returns {ctx, x0, y0, W, H, sx(v), sy(v)} (sx/sy: data -> pixels).
  function frame(cv, opts) {
    opts = opts || {};
    const ctx = cv.getContext('2d'), left = opts.left || 54, top = opts.top || 12, right = opts.right || 12;
    ctx.font = '10px sans-serif';
    const rows = opts.legend ? legendRows(ctx, opts.legend, cv.width - left - right) : 0;  // the legend gets the rows it needs
    const bottom = (opts.bottom || 40) + 13 * rows;
    const W = cv.width - left - right, H = cv.height - top - bottom;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, cv.width, cv.height);
    ctx.strokeStyle = '#999'; ctx.lineWidth = 1; ctx.strokeRect(left, top, W, H);
    const x = opts.x || [0, 1], y = opts.y || [0, 1];
    const sx = (v) => left + W * (v - x[0]) / ((x[1] - x[0]) || 1), sy = (v) => top + H * (1 - (v - y[0]) / ((y[1] - y[0]) || 1));
    ctx.font = '10px sans-serif'; ctx.fillStyle = '#333';
    if (opts.xticks !== false) {
      ctx.textAlign = 'center';
      ticks(x[0], x[1], Math.max(2, Math.floor(W / 70))).forEach((v) => {
        ctx.fillRect(sx(v), top + H, 1, 4); ctx.fillText(tickText(v), sx(v), top + H + 14);
      });
    }
    if (opts.yticks !== false) {
      ctx.textAlign = 'right';
      ticks(y[0], y[1], Math.max(2, Math.floor(H / 40))).forEach((v) => {
        ctx.fillRect(left - 4, sy(v), 4, 1); ctx.fillText(tickText(v), left - 6, sy(v) + 3);
      });
    }
    ctx.textAlign = 'center';
    if (opts.xlabel) ctx.fillText(opts.xlabel, left + W / 2, top + H + (opts.bottom || 40) - 6);
    if (opts.ylabel) { ctx.save(); ctx.translate(11, top + H / 2); ctx.rotate(-Math.PI / 2); ctx.fillText(opts.ylabel, 0, 0); ctx.restore(); }
    ctx.textAlign = 'left';
    if (rows) legend(ctx, opts.legend, left, top + H + (opts.bottom || 40) + 9, W);
    return { ctx, x0: left, y0: top, W, H, sx, sy };
  }

  // A panel with nothing to show: a blank frame with the reason written in it (and in `noteEl`).
  function emptyCanvas(cv, why, noteEl) {
    const ctx = cv.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, cv.width, cv.height);
    ctx.strokeStyle = '#ccc'; ctx.strokeRect(0.5, 0.5, cv.width - 1, cv.height - 1);
    ctx.fillStyle = '#666'; ctx.font = '12px sans-serif'; ctx.textAlign = 'center';
    const words = ('nothing to show: ' + why).split(' '), lines = [];
    let line = '';
    words.forEach((w) => { if (ctx.measureText(line + ' ' + w).width > cv.width - 30 && line) { lines.push(line); line = w; } else line = line ? line + ' ' + w : w; });
    lines.push(line);
    lines.forEach((l, k) => ctx.fillText(l, cv.width / 2, cv.height / 2 - 8 * (lines.length - 1) + 16 * k));
    ctx.textAlign = 'left';
    cv.dataset.empty = why;
    if (noteEl) { noteEl.textContent = 'nothing to show: ' + why; noteEl.classList.add('emptynote'); }
  }

  // Legend entries [label, colour] laid out in rows under the plot area (wraps; never cut off).
  function legendRows(ctx, entries, width) {
    let x = 0, rows = entries.length ? 1 : 0;
    entries.forEach(([label]) => { const w = ctx.measureText(label).width + 18; if (x + w > width && x > 0) { x = 0; rows++; } x += w; });
    return rows;
  }
  function legend(ctx, entries, x0, y0, width) {
    ctx.font = '10px sans-serif';
    let x = x0, y = y0;
    entries.forEach(([label, col]) => {
      const w = ctx.measureText(label).width + 18;
      if (x + w > x0 + width && x > x0) { x = x0; y += 13; }
      ctx.fillStyle = col; ctx.fillRect(x, y - 7, 10, 8);
      ctx.fillStyle = '#333'; ctx.fillText(label, x + 13, y);
      x += w;
    });
    return y;
  }

  // The head filter ("L3", "H2", "L1-3", "L3H5", "L0H1 L2", empty: all): does (layer, head) pass?
  function headFilter(text) {
    const terms = (text || '').trim().split(/[\s,]+/).filter(Boolean).map((t) => {
      const m = /^(?:L(\d+)(?:-(\d+))?)?(?:H(\d+)(?:-(\d+))?)?$/i.exec(t);
      if (!m || (m[1] === undefined && m[3] === undefined)) return null;
      const range = (a, b) => (a === undefined ? null : [+a, b === undefined ? +a : +b]);
      return { l: range(m[1], m[2]), h: range(m[3], m[4]) };
    });
    if (terms.some((t) => t === null)) return { ok: false, pass: () => true };
    const inr = (r, v) => r === null || (v >= r[0] && v <= r[1]);
    return { ok: true, pass: (l, h) => !terms.length || terms.some((t) => inr(t.l, l) && inr(t.h, h)) };
  }

  // ---- SVG export: a 2-D context that records what a panel draws as SVG elements ---------------
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  function svgContext(width, height, measure) {
    const out = [], stack = [];
    let m = [1, 0, 0, 1, 0, 0], path = [], clip = null, clips = 0;
    const st = { fillStyle: '#000', strokeStyle: '#000', lineWidth: 1, font: '10px sans-serif', globalAlpha: 1, textAlign: 'left' };
    const mul = (a, b) => [a[0] * b[0] + a[2] * b[1], a[1] * b[0] + a[3] * b[1], a[0] * b[2] + a[2] * b[3], a[1] * b[2] + a[3] * b[3],
                           a[0] * b[4] + a[2] * b[5] + a[4], a[1] * b[4] + a[3] * b[5] + a[5]];
    const tf = () => ' transform="matrix(' + m.map((v) => +v.toFixed(4)).join(' ') + ')"';
    const cl = () => (clip ? ' clip-path="url(#c' + clip + ')"' : '');
    const op = () => (st.globalAlpha < 1 ? ' opacity="' + st.globalAlpha + '"' : '');
    const c = {
      canvas: { width, height },
      save() { stack.push([m.slice(), Object.assign({}, st), clip]); },
      restore() { const s = stack.pop(); if (s) { m = s[0]; Object.assign(st, s[1]); clip = s[2]; } },
      setTransform(a, b, cc, d, e, f) { m = [a, b, cc, d, e, f]; },
      translate(x, y) { m = mul(m, [1, 0, 0, 1, x, y]); },
      scale(x, y) { m = mul(m, [x, 0, 0, y, 0, 0]); },
      rotate(r) { m = mul(m, [Math.cos(r), Math.sin(r), -Math.sin(r), Math.cos(r), 0, 0]); },
      fillRect(x, y, w, h) { out.push('<rect x="' + x + '" y="' + y + '" width="' + w + '" height="' + h + '" fill="' + st.fillStyle + '"' + op() + tf() + cl() + '/>'); },
      strokeRect(x, y, w, h) { out.push('<rect x="' + x + '" y="' + y + '" width="' + w + '" height="' + h + '" fill="none" stroke="' + st.strokeStyle + '" stroke-width="' + st.lineWidth + '"' + op() + tf() + cl() + '/>'); },
      clearRect(x, y, w, h) { out.push('<rect x="' + x + '" y="' + y + '" width="' + w + '" height="' + h + '" fill="#fff"' + tf() + '/>'); },
      beginPath() { path = []; },
      moveTo(x, y) { path.push('M' + x.toFixed(2) + ' ' + y.toFixed(2)); },
      lineTo(x, y) { path.push('L' + x.toFixed(2) + ' ' + y.toFixed(2)); },
      rect(x, y, w, h) { path.push('M' + x + ' ' + y + 'h' + w + 'v' + h + 'h' + (-w) + 'Z'); },
      closePath() { path.push('Z'); },
      arc(x, y, r) { path.push('M' + (x - r) + ' ' + y + 'a' + r + ' ' + r + ' 0 1 0 ' + 2 * r + ' 0a' + r + ' ' + r + ' 0 1 0 ' + (-2 * r) + ' 0'); },
      stroke() { out.push('<path d="' + path.join('') + '" fill="none" stroke="' + st.strokeStyle + '" stroke-width="' + st.lineWidth + '"' + op() + tf() + cl() + '/>'); },
      fill() { out.push('<path d="' + path.join('') + '" fill="' + st.fillStyle + '"' + op() + tf() + cl() + '/>'); },
      clip() { clip = ++clips; out.push('<clipPath id="c' + clip + '"><path d="' + path.join('') + '"' + tf() + '/></clipPath>'); },
      fillText(t, x, y) {
        const anchor = st.textAlign === 'center' ? 'middle' : st.textAlign === 'right' || st.textAlign === 'end' ? 'end' : 'start';
        out.push('<text x="' + x + '" y="' + y + '" font="' + esc(st.font) + '" style="font:' + esc(st.font) + '" text-anchor="' + anchor + '" fill="' + st.fillStyle + '"' + op() + tf() + cl() + '>' + esc(t) + '</text>');
      },
      measureText(t) { measure.font = st.font; return measure.measureText(t); },
      drawImage(img, x, y, w, h) {
        const src = img.toDataURL ? img.toDataURL('image/png') : img.src;
        out.push('<image href="' + src + '" x="' + (x || 0) + '" y="' + (y || 0) + '" width="' + (w || img.width) + '" height="' + (h || img.height) +
                 '" preserveAspectRatio="none" style="image-rendering:pixelated"' + tf() + cl() + '/>');
      },
      setLineDash() {}, getImageData() { return { data: [] }; }, putImageData() {},
    };
    for (const k of Object.keys(st)) Object.defineProperty(c, k, { get: () => st[k], set: (v) => { st[k] = v; } });
    c.imageSmoothingEnabled = false;
    c.textBaseline = 'alphabetic';
    c.svg = (title) => '<svg xmlns="http://www.w3.org/2000/svg" width="' + width + '" height="' + height + '" viewBox="0 0 ' + width + ' ' + height + '">' +
      (title ? '<title>' + esc(title) + '</title>' : '') + out.join('') + '</svg>';
    return c;
  }
  // Replays draw() with canvas `cv` drawing into an SVG recorder; returns the SVG text.
  function canvasToSvg(cv, draw, title) {
    const measure = document.createElement('canvas').getContext('2d');
    const rec = svgContext(cv.width, cv.height, measure), real = cv.getContext;
    cv.getContext = () => rec;
    try { draw(); } finally { delete cv.getContext; if (cv.getContext !== real) cv.getContext = real; }
    return rec.svg(title);
  }
  function download(name, text) {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
    a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  window.attendPlot = { color, css, palette, frame, ticks, tickText, emptyCanvas, legend, headFilter, svgContext, canvasToSvg, download, esc };
})();
