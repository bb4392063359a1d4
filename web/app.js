// attend serve's app: sends the prompt (and a second prompt, and the heads to ablate) to
// POST /api/analyze and renders the report document it returns with the report's own renderer
// (web/report.js: the same code the static report runs). Same-origin requests only.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const info = JSON.parse($('attend-server').textContent);
  const ablated = new Set();
  let busy = false, pending = false, last = null;
  const show = (t) => JSON.stringify(t);
  $('prompt').maxLength = info.limits.max_prompt_bytes;
  $('corrupt').maxLength = info.limits.max_prompt_bytes;
  const ablatedText = () => [...ablated].sort().join(',');

  function summary(d) {
    const p = d.predictions, b = d.baseline_predictions, n = d.n;
    if (!p) return '';
    const top = (q) => { const t = q.top_tokens[(n - 1) * q.k]; return show(d.token_text[t] !== undefined ? d.token_text[t] : '#' + t) + ' (p = ' + q.top_probs[(n - 1) * q.k].toFixed(3) + ')'; };
    return 'last position: the model predicts ' + top(p) + (b ? '; without the ablation: ' + top(b) : '') + ' · accuracy on the prompt ' + p.accuracy.toFixed(3) +
      (b ? ' (without: ' + b.accuracy.toFixed(3) + ')' : '');
  }
  async function analyze() {
    if (busy) { pending = true; return; }
    const prompt = $('prompt').value;
    if (!prompt) { $('apperror').textContent = 'type a prompt first'; return; }
    busy = true;
    $('apperror').textContent = '';
    $('appstatus').textContent = 'analysing…';
    document.body.dataset.busy = '1';
    const req = { prompt };
    if (ablated.size) req.ablate = ablatedText();
    if ($('corrupt').value) req.corrupt = $('corrupt').value;
    const t0 = performance.now();
    try {
      const r = await fetch('/api/analyze', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(req) });
      const body = await r.json();
      if (!r.ok) throw new Error(r.status + ': ' + (body.error || 'request failed'));
      last = body;
      window.attendReport.render(body, { server: true, marked: ablated, onHead });
      $('appstatus').textContent = body.n + ' tokens analysed in ' + ((performance.now() - t0) / 1000).toFixed(2) + ' s' + (ablated.size ? ' with ' + ablatedText() + ' zero-ablated' : '');
      $('predsummary').textContent = summary(body);
    } catch (e) {
      $('apperror').textContent = e.message;
      $('appstatus').textContent = 'the server answered with an error (the previous analysis stays on screen)';
    } finally {
      busy = false;
      delete document.body.dataset.busy;
      document.body.dataset.requests = String((+document.body.dataset.requests || 0) + 1);
      if (pending) { pending = false; analyze(); }
    }
  }
  function onHead(l, h) {
    if ($('clickmode').value !== 'ablate') return false;
    const name = 'L' + l + 'H' + h;
    if (ablated.has(name)) ablated.delete(name); else ablated.add(name);
    $('ablated').textContent = ablated.size ? ablatedText() : 'none';
    analyze();
    return true;
  }
  $('run').addEventListener('click', analyze);
  $('clearablate').addEventListener('click', () => { ablated.clear(); $('ablated').textContent = 'none'; if (last) analyze(); });
  ['prompt', 'corrupt'].forEach((id) => $(id).addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); analyze(); } }));
  document.body.dataset.app = '1';
})();
