// evaltrace comparison report: draws the embedded comparison. Every value is set as text.
(() => {
  'use strict';

  const DATA = JSON.parse(document.getElementById('evaltrace-data').textContent);
  const C = DATA.comparison;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const DASH = '–';
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  const f3 = (v) => (isNum(v) ? v.toFixed(3) : DASH);
  const signed = (v) => (isNum(v) ? (v >= 0 ? '+' : '') + v.toFixed(3) : DASH);
  const pct = (v) => (isNum(v) ? `${Math.round(v * 100)}%` : DASH);
  const p = (v) => (isNum(v) ? (v < 0.001 ? v.toExponential(1) : v.toFixed(3)) : DASH);
  const ms = (v) => (isNum(v) ? (v < 1 ? `${(v * 1000).toFixed(0)} ms` : `${v.toFixed(2)} s`) : DASH);
  const usd = (v) => (isNum(v) ? `$${v.toFixed(v < 0.01 ? 6 : 4)}` : 'n/a');

  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  function table(id, headers, rows) {
    return h('table', { class: 'cmp', id },
      h('thead', null, h('tr', null, headers.map(([label, num]) => h('th', { class: num ? 'num' : null }, label)))),
      h('tbody', null, rows.map((cells) => h('tr', { class: 'row' }, cells.map((cell, i) => h('td', { class: headers[i][1] ? 'num' : null }, cell))))));
  }

  function banners() {
    const box = document.getElementById('banners');
    for (const w of C.warnings) box.append(h('p', { class: 'banner warn' }, w));
  }

  function forest() {
    const metrics = Object.values(C.metrics);
    const W = 760, row = 30, left = 180, right = 40, top = 20;
    const H = top + row * metrics.length + 30;
    const ends = metrics.flatMap((m) => [m.interval[0], m.interval[1], m.difference]).filter(isNum);
    const span = Math.max(0.01, ...ends.map(Math.abs)) * 1.15;
    const x = (v) => left + ((v + span) / (2 * span)) * (W - left - right);
    const plot = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-label': 'forest plot of metric differences', id: 'forest-plot' });
    plot.append(svg('line', { class: 'zero', x1: x(0), x2: x(0), y1: top - 10, y2: H - 24 }));
    plot.append(svg('line', { class: 'axis', x1: left, x2: W - right, y1: H - 24, y2: H - 24 }));
    for (const tick of [-span, -span / 2, 0, span / 2, span]) {
      plot.append(svg('text', { x: x(tick), y: H - 8, 'text-anchor': 'middle' }, signed(tick)));
    }
    metrics.forEach((m, i) => {
      const y = top + i * row + row / 2;
      const g = svg('g', { class: `metric-row ${m.verdict}`, 'data-metric': m.metric });
      g.append(svg('text', { x: 8, y: y + 4 }, m.metric));
      g.append(svg('line', { class: `ci ${m.verdict}`, x1: x(m.interval[0]), x2: x(m.interval[1]), y1: y, y2: y }));
      g.append(svg('circle', { class: m.verdict, cx: x(m.difference), cy: y, r: 5 }));
      g.append(svg('title', {}, `${m.metric}: ${signed(m.difference)} [${signed(m.interval[0])}, ${signed(m.interval[1])}] ${m.verdict}`));
      plot.append(g);
    });
    document.getElementById('forest').append(plot);
  }

  function metricsTable() {
    const s = C.settings;
    document.getElementById('metrics-hint').textContent =
      `${Math.round(s.confidence * 100)}% intervals: ${s.method} bootstrap over cases (a case's trials stay together), ` +
      `${s.n_resamples} resamples, seed ${s.seed}; p: ${s.test}; Holm across every test.`;
    const rows = Object.values(C.metrics).map((m) => [
      m.metric, f3(m.baseline_mean), f3(m.candidate_mean), signed(m.difference),
      `[${signed(m.interval[0])}, ${signed(m.interval[1])}]`, p(m.p_value), p(m.p_adjusted),
      m.pass_rate ? `${pct(m.pass_rate.baseline_rate)} → ${pct(m.pass_rate.candidate_rate)} (McNemar p ${p(m.pass_rate.p_value)})` : DASH,
      h('span', { class: `verdict-${m.verdict}` }, m.verdict + (isNum(m.minimum_detectable_effect) ? ` (MDE ${f3(m.minimum_detectable_effect)})` : '')),
    ]);
    const headers = [['metric'], ['baseline', 1], ['candidate', 1], ['difference', 1], ['interval', 1], ['p', 1], ['p (Holm)', 1], ['pass rate'], ['verdict']];
    const wrap = document.getElementById('metrics-table-wrap');
    wrap.append(table('metrics-table', headers, rows));
    const left = Object.entries(C.left_out);
    if (left.length) wrap.append(h('p', { class: 'hint' }, `Left out: ${left.map(([m, why]) => `${m} (${why})`).join('; ')}`));
  }

  function scatter() {
    const select = document.getElementById('scatter-metric');
    const names = Object.keys(DATA.scatter || {});
    if (!names.length) {
      document.getElementById('scatter').append(h('p', { class: 'hint' }, 'No per-case values in this comparison.'));
      return;
    }
    for (const name of names) select.append(h('option', { value: name }, name));
    const draw = () => {
      const old = document.getElementById('scatter-plot');
      if (old) old.remove();
      const points = DATA.scatter[select.value];
      const S = 360, pad = 36, span = S - 2 * pad;
      const x = (v) => pad + v * span, y = (v) => S - pad - v * span;
      const plot = svg('svg', { viewBox: `0 0 ${S} ${S}`, width: S, height: S, role: 'img', 'aria-label': `baseline vs candidate per case: ${select.value}`, id: 'scatter-plot' });
      plot.append(svg('line', { class: 'zero', x1: x(0), y1: y(0), x2: x(1), y2: y(1) }));
      plot.append(svg('rect', { class: 'axis', x: pad, y: pad, width: span, height: span, fill: 'none' }));
      plot.append(svg('text', { x: S / 2, y: S - 8, 'text-anchor': 'middle' }, 'baseline'));
      plot.append(svg('text', { x: 12, y: S / 2, transform: `rotate(-90 12 ${S / 2})`, 'text-anchor': 'middle' }, 'candidate'));
      for (const [b, c, id] of points) {
        const clamp = (v) => Math.max(0, Math.min(1, v));
        plot.append(svg('circle', { class: 'dot', cx: x(clamp(b)), cy: y(clamp(c)), r: 3.5 }, svg('title', {}, `${id}: ${f3(b)} → ${f3(c)}`)));
      }
      document.getElementById('scatter').append(plot);
    };
    select.addEventListener('change', draw);
    draw();
  }

  function caseLists() {
    const box = document.getElementById('case-lists');
    const k = C.cases;
    box.append(h('p', null, `${k.matched} matched cases; ${k.added.length} added, ${k.removed.length} removed, ${k.errored.length} errored. Added, removed and errored trials are never scored as passes or zeros.`));
    for (const [label, ids] of [['added (candidate only)', k.added], ['removed (baseline only)', k.removed], ['errored', k.errored]]) {
      if (ids.length) box.append(h('p', { class: 'case-list', 'data-kind': label.split(' ')[0] }, h('strong', null, `${label}: `), ids.join(', ')));
    }
  }

  function usage() {
    const rows = [...C.usage_by_purpose, C.total].map((u, i, all) => [
      i === all.length - 1 ? 'total' : u.purpose,
      `${u.baseline.calls} → ${u.candidate.calls}`,
      `${u.baseline.errors} → ${u.candidate.errors}`,
      `${u.baseline.tokens} → ${u.candidate.tokens} (${u.difference.tokens >= 0 ? '+' : ''}${u.difference.tokens})`,
      `${usd(u.baseline.cost_usd)} → ${usd(u.candidate.cost_usd)}`,
      `${ms(u.baseline.latency_p50)} → ${ms(u.candidate.latency_p50)}`,
      `${ms(u.baseline.latency_p95)} → ${ms(u.candidate.latency_p95)}`,
    ]);
    const headers = [['purpose'], ['calls', 1], ['errors', 1], ['tokens', 1], ['cost', 1], ['latency p50', 1], ['latency p95', 1]];
    document.getElementById('usage-table-wrap').append(table('usage-table', headers, rows));
  }

  function side(label, outputs, calls) {
    return h('div', { class: 'side' }, h('h4', null, label),
      outputs.map((o, t) => h('pre', null, `trial ${t}: ${typeof o === 'string' ? o : JSON.stringify(o)}`)),
      h('ul', { class: 'calls' }, calls.map((c) => h('li', null,
        `[${c.purpose}] ${c.model} · ${c.tokens} tokens · ${ms(c.latency)} · span ${c.span_id}`,
        c.error ? ` · error: ${c.error}` : '',
        h('pre', null, `prompt: ${c.prompt}\nresponse: ${c.response}`)))));
  }

  function moved() {
    const box = document.getElementById('moved');
    if (!C.moved.length) { box.append(h('p', { class: 'hint' }, 'No matched case moved.')); return; }
    for (const m of C.moved) {
      const calls = DATA.calls[m.case_id] || { baseline: [], candidate: [] };
      const scores = Object.entries(m.scores).map(([n, [b, c]]) => `${n} ${f3(b)} → ${f3(c)}`).join(' · ');
      box.append(h('article', { class: 'moved-case', 'data-case': m.case_id },
        h('h3', null, `${m.case_id} (${signed(m.movement)})`),
        h('p', null, scores),
        h('pre', null, `input: ${typeof m.input === 'string' ? m.input : JSON.stringify(m.input)}`),
        h('div', { class: 'sides' }, side('baseline', m.baseline_outputs, calls.baseline), side('candidate', m.candidate_outputs, calls.candidate))));
    }
  }

  banners();
  forest();
  metricsTable();
  scatter();
  caseLists();
  usage();
  moved();
})();
