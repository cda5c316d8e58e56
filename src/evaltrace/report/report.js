// evaltrace report: draws the embedded result. Every value from the result is
// set as text (textContent, createTextNode, setAttribute), never parsed as HTML.
(() => {
  'use strict';

  const DATA = JSON.parse(document.getElementById('evaltrace-data').textContent);
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const CALLS = DATA.interactions;
  // Rows a table puts in the page at once; more on request (a run may hold 100k calls).
  const PAGE_ROWS = 500;

  // ---------- DOM helpers ----------

  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    setProps(node, props);
    append(node, children);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setProps(node, attrs);
    append(node, children);
    return node;
  }

  function setProps(node, props) {
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (typeof value === 'function') node.addEventListener(key.replace(/^on/, ''), value);
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function bar(fraction, className) {
    const fill = h('span');
    fill.style.width = `${Math.max(0, Math.min(1, fraction || 0)) * 100}%`;
    return h('span', { class: className, 'aria-hidden': 'true' }, fill);
  }

  // ---------- formatting ----------

  const NUMBER = new Intl.NumberFormat('en-US');
  const DASH = '–';
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  const int = (v) => (isNum(v) ? NUMBER.format(v) : DASH);
  const score = (v) => (isNum(v) ? v.toFixed(2) : DASH);
  const percent = (v) => (isNum(v) ? `${Math.round(v * 100)}%` : DASH);

  function seconds(v) {
    if (!isNum(v)) return DASH;
    if (v < 0.01) return `${(v * 1000).toFixed(2)} ms`;
    if (v < 1) return `${(v * 1000).toFixed(0)} ms`;
    if (v < 120) return `${v.toFixed(2)} s`;
    return `${Math.floor(v / 60)} min ${Math.round(v % 60)} s`;
  }

  function time(iso) {
    if (!iso) return DASH;
    return iso.replace('T', ' ').replace(/(\.\d{3})\d*/, '$1').replace(/(Z|\+00:00)$/, '');
  }

  function clock(iso) {
    const full = time(iso);
    return h('span', { title: full }, full.slice(11));
  }

  const oneLine = (text) => (text === null || text === undefined ? '' : String(text).replace(/\s+/g, ' ').trim());

  // ---------- generic sortable table with expandable rows ----------

  function compare(a, b) {
    const missing = (v) => v === null || v === undefined || v === '';
    if (missing(a) || missing(b)) return missing(a) - missing(b);
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return String(a).localeCompare(String(b), 'en', { numeric: true });
  }

  function dataTable({ id, caption, columns, rows, rowClass, detail, onRender }) {
    const state = { column: null, direction: 1, filter: () => true, open: new Set(), limit: PAGE_ROWS };
    const headers = columns.map((col, index) => header(col, index));
    const body = h('tbody');
    const table = h('table', { id, class: 'data' },
      h('caption', { class: 'sr-only' }, caption),
      h('thead', null, h('tr', null, headers)), body);

    function header(col, index) {
      const th = h('th', { scope: 'col', class: col.numeric ? 'num' : null, 'data-column': col.key });
      const button = h('button', { type: 'button', class: 'sort', onclick: () => sortBy(index) },
        col.label, h('span', { class: 'arrow', 'aria-hidden': 'true' }));
      th.append(button);
      return th;
    }

    function sortBy(index) {
      state.direction = state.column === index ? -state.direction : 1;
      state.column = index;
      headers.forEach((th, i) => {
        if (i === index) th.setAttribute('aria-sort', state.direction > 0 ? 'ascending' : 'descending');
        else th.removeAttribute('aria-sort');
      });
      reset();
    }

    // Large runs: the DOM holds at most `state.limit` rows; "Show more" adds a page.
    function render() {
      const visible = rows.map((row, index) => ({ row, index })).filter(({ row }) => state.filter(row));
      if (state.column !== null) {
        const col = columns[state.column];
        visible.sort((a, b) => compare(col.sort(a.row, a.index), col.sort(b.row, b.index)) * state.direction || a.index - b.index);
      }
      const shown = visible.slice(0, state.limit);
      body.replaceChildren(...shown.flatMap(({ row, index }) => rowNodes(row, index)));
      if (visible.length > shown.length) body.append(moreRow(visible.length - shown.length));
      if (onRender) onRender(visible.length, rows.length, shown.length);
    }

    function moreRow(hidden) {
      const step = Math.min(PAGE_ROWS, hidden);
      const button = h('button', { type: 'button', class: 'more', onclick: () => { state.limit += PAGE_ROWS; render(); } },
        `Show ${step} more (${hidden} not shown)`);
      return h('tr', { class: 'more-row' }, h('td', { colspan: columns.length }, button));
    }

    function reset() {
      state.limit = PAGE_ROWS;
      render();
    }

    function rowNodes(row, index) {
      const open = state.open.has(index);
      const tr = h('tr', {
        class: `row ${rowClass ? rowClass(row) : ''}`.trim(), tabindex: 0,
        'aria-expanded': String(open), 'data-index': index,
        onclick: () => toggle(tr, row, index),
        onkeydown: (event) => {
          if (event.key !== 'Enter' && event.key !== ' ') return;
          event.preventDefault();
          toggle(tr, row, index);
        },
      }, columns.map((col) => cell(col, row, index)));
      return open ? [tr, detailRow(row)] : [tr];
    }

    function cell(col, row, index) {
      const value = col.render ? col.render(row, index) : col.sort(row, index);
      const td = h('td', { class: [col.numeric ? 'num' : '', col.className || ''].join(' ').trim() || null }, value);
      if (col.className && col.className.includes('clip')) td.title = oneLine(col.sort(row)).slice(0, 500);
      return td;
    }

    function detailRow(row) {
      return h('tr', { class: 'detail' }, h('td', { colspan: columns.length }, detail(row)));
    }

    function toggle(tr, row, index) {
      if (state.open.delete(index)) {
        tr.nextElementSibling.remove();
        tr.setAttribute('aria-expanded', 'false');
        return;
      }
      state.open.add(index);
      tr.after(detailRow(row));
      tr.setAttribute('aria-expanded', 'true');
    }

    render();
    return { table, setFilter: (filter) => { state.filter = filter; reset(); } };
  }

  // ---------- banners and summary cards ----------

  function banners() {
    const box = document.getElementById('banners');
    const run = DATA.run;
    if (!run.complete) {
      box.append(h('p', { class: 'banner bad' },
        'This run is incomplete: it was interrupted or failed, so some cases are missing.'));
    }
    if (run.dropped_spans > 0) {
      box.append(h('p', { class: 'banner warn' },
        `${int(run.dropped_spans)} spans were dropped by the exporter: the trace backend misses them ` +
        '(this report still lists their calls).'));
    }
    if (run.unrecorded_calls > 0) {
      box.append(h('p', { class: 'banner bad' },
        `${int(run.unrecorded_calls)} model calls could not be recorded as interactions: ` +
        'the calls, tokens and cost below miss them.'));
    }
  }

  function card(title, big, subs, className) {
    return h('div', { class: `card ${className || ''}`.trim() },
      h('h3', null, title), h('div', { class: 'big' }, big),
      subs.filter(Boolean).map((s) => (s instanceof Node ? s : h('div', { class: 'sub' }, s))));
  }

  const badSub = (text) => h('div', { class: 'sub bad' }, text);

  function metricsCard() {
    if (!DATA.metrics.length) return card('Scores', DASH, ['no metrics ran'], 'wide');
    const total = DATA.cases_summary.total;
    const items = DATA.metrics.map((m) => h('li', null,
      h('span', { class: 'name' }, m.metric),
      h('span', { class: 'value', title: 'mean score' }, score(m.mean)),
      isNum(m.pass_rate) ? bar(m.pass_rate, 'meter') : null,
      h('span', { class: 'detail' },
        `pass rate ${percent(m.pass_rate)} · scored ${m.count}/${total}`,
        m.interval ? h('span', { class: 'interval' },
          ` · ${percent(m.confidence)} interval [${score(m.interval[0])}, ${score(m.interval[1])}] over ${int(m.cases)} cases × ${int(DATA.run.repeat)} trials`) : null,
        m.failures ? h('strong', { class: 'bad' }, ` · ${m.failures} failed`) : null)));
    return h('div', { class: 'card wide' }, h('h3', null, 'Scores (mean)'), h('ul', { class: 'metric-list' }, items));
  }

  function cards() {
    const t = DATA.totals;
    const c = DATA.cases_summary;
    const run = DATA.run;
    document.getElementById('cards').append(
      metricsCard(),
      card('Cases', int(c.total), [
        run.complete ? 'run complete' : badSub('run incomplete'),
        c.errors ? badSub(`${c.errors} failed with an error`) : 'no case errors',
        c.metric_failures ? badSub(`${c.metric_failures} metric failures in ${c.cases_with_metric_failures} cases`) : 'no metric failures',
      ]),
      card('Model calls', int(t.calls), [t.errors ? badSub(`${t.errors} failed`) : 'no failed calls']),
      card('Tokens', int(t.tokens), [`${int(t.input_tokens)} in · ${int(t.output_tokens)} out`]),
      card('Cost', t.cost_label, [t.unpriced_calls ? `${t.unpriced_calls} calls without a known price` : 'from genai-prices']),
      card('Latency p50', seconds(t.latency_p50), [`p95 ${seconds(t.latency_p95)}`]),
      card('Duration', seconds(run.duration), [`started ${time(run.started_at)} UTC`]),
    );
  }

  // ---------- latency histogram ----------

  function histogramBins(values, count) {
    // A loop, not Math.min(...values): spreading 100k+ arguments overflows the stack.
    let low = Infinity;
    let high = -Infinity;
    for (const v of values) {
      if (v < low) low = v;
      if (v > high) high = v;
    }
    const width = high > low ? (high - low) / count : Math.max(high, 1e-6) / count;
    const start = high > low ? low : Math.max(0, low - (width * count) / 2);
    const bins = Array.from({ length: count }, (_, i) => ({ from: start + i * width, to: start + (i + 1) * width, ok: 0, error: 0 }));
    return { bins, start, width };
  }

  function histogram() {
    const figure = document.getElementById('histogram');
    if (!CALLS.length) { figure.append(h('p', { class: 'empty' }, 'No model calls were made.')); return; }
    const count = Math.min(24, Math.max(6, Math.ceil(Math.sqrt(CALLS.length)) * 2));
    const { bins, start, width } = histogramBins(CALLS.map((c) => c.latency), count);
    for (const call of CALLS) {
      const i = Math.min(count - 1, Math.max(0, Math.floor((call.latency - start) / width)));
      bins[i][call.error ? 'error' : 'ok'] += 1;
    }
    figure.append(histogramSvg(bins, start, width * count), legend([['ok', 'successful'], ['error', 'failed']]));
  }

  function histogramSvg(bins, start, span) {
    const W = 560; const H = 230; const L = 40; const R = 12; const T = 22; const B = 34;
    const peak = Math.max(1, ...bins.map((b) => b.ok + b.error));
    const x = (v) => L + ((v - start) / span) * (W - L - R);
    const y = (n) => H - B - (n / peak) * (H - T - B);
    const root = svg('svg', { class: 'chart', id: 'latency-histogram', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'histogram-title' },
      svg('title', { id: 'histogram-title' }, `Latency histogram of ${CALLS.length} model calls`));
    for (const n of niceTicks(peak)) {
      root.append(svg('line', { class: 'grid', x1: L, x2: W - R, y1: y(n), y2: y(n) }),
        svg('text', { x: L - 6, y: y(n) + 4, 'text-anchor': 'end' }, String(n)));
    }
    bins.forEach((b) => root.append(...binBars(b, x, y)));
    root.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    for (let i = 0; i <= 4; i += 1) {
      const v = start + (span * i) / 4;
      root.append(svg('text', { x: x(v), y: H - B + 16, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, seconds(v)));
    }
    root.append(...percentileMarker('p50', DATA.totals.latency_p50, x, T, H - B), ...percentileMarker('p95', DATA.totals.latency_p95, x, T, H - B));
    return root;
  }

  function binBars(bin, x, y) {
    const x0 = x(bin.from) + 1; const w = Math.max(1, x(bin.to) - x(bin.from) - 2);
    const tip = `${seconds(bin.from)} – ${seconds(bin.to)}: ${bin.ok} ok, ${bin.error} failed`;
    const okTop = y(bin.ok);
    return [
      svg('rect', { class: 'bar-ok', x: x0, width: w, y: okTop, height: y(0) - okTop }, svg('title', null, tip)),
      svg('rect', { class: 'bar-error', x: x0, width: w, y: y(bin.ok + bin.error), height: okTop - y(bin.ok + bin.error) }, svg('title', null, tip)),
    ];
  }

  function percentileMarker(name, value, x, top, bottom) {
    if (!isNum(value)) return [];
    const at = x(value);
    return [svg('line', { class: 'marker', x1: at, x2: at, y1: top - 4, y2: bottom }),
      svg('text', { class: 'marker-label', x: at + 3, y: top - 8, 'text-anchor': name === 'p95' ? 'end' : 'start' }, `${name} ${seconds(value)}`)];
  }

  function niceTicks(peak) {
    const step = Math.max(1, Math.ceil(peak / 4));
    const ticks = [];
    for (let n = step; n <= peak; n += step) ticks.push(n);
    return ticks;
  }

  function legend(items) {
    return h('div', { class: 'legend' }, items.map(([cls, label]) => h('span', null, h('span', { class: `swatch ${cls}` }), label)));
  }

  // ---------- usage by purpose and by model ----------

  function usageTable(caption, groups, keys, withP95) {
    const maxTokens = Math.max(1, ...groups.map((g) => g.tokens));
    const heads = [...keys, 'calls', 'errors', 'in tokens', 'out tokens', 'p50', withP95 ? 'p95' : null, 'cost'].filter(Boolean);
    const latency = (v) => h('td', { class: 'num' }, seconds(v));
    const numeric = (i) => i >= keys.length;
    const rowOf = (g, total) => h('tr', { class: total ? 'total' : null },
      keys.map((k, i) => h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : null, total ? (i === 0 ? 'total' : '') : g[k])),
      h('td', { class: 'num' }, int(g.calls)),
      h('td', { class: 'num' }, g.errors ? h('span', { class: 'bad' }, int(g.errors)) : '0'),
      h('td', { class: 'num' }, int(g.input_tokens)),
      h('td', { class: 'num' }, int(g.output_tokens), total ? null : bar(g.tokens / maxTokens, 'share')),
      latency(g.latency_p50), withP95 ? latency(g.latency_p95) : null,
      h('td', { class: 'num' }, g.cost_label));
    return h('table', { class: 'usage' }, h('caption', null, caption),
      h('thead', null, h('tr', null, heads.map((x, i) => h('th', { scope: 'col', class: numeric(i) ? 'num' : null }, x)))),
      h('tbody', null, groups.map((g) => rowOf(g, false)), rowOf(DATA.totals, true)));
  }

  function usage() {
    const byModel = document.getElementById('usage-by-model');
    const byPurpose = document.getElementById('usage-by-purpose');
    if (!CALLS.length) {
      byModel.append(h('p', { class: 'empty' }, 'No model calls were made.'));
      byPurpose.remove();
      return;
    }
    byModel.append(usageTable('By model', DATA.by_model, ['model'], false));
    byPurpose.append(usageTable('By purpose and model', DATA.by_purpose, ['purpose', 'model'], true));
  }

  // ---------- one model call in full ----------

  function textBlock(title, text, className) {
    const empty = text === null || text === undefined || text === '';
    return h('div', { class: className || null }, h('h4', null, title),
      h('pre', { class: `text ${empty ? 'none' : ''}`.trim() }, empty ? '(none)' : text));
  }

  function facts(pairs) {
    return h('dl', { class: 'facts' }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v, cls]) => h('div', { class: cls || null }, h('dt', null, k), h('dd', null, v))));
  }

  function traceId(call) {
    const run = DATA.run;
    const id = h('span', { class: 'mono' }, call.trace_id || DASH);
    if (!run.trace_url || call.trace_id !== run.trace_id) return id;
    return [id, ' ', h('a', { href: run.trace_url, target: '_blank', rel: 'noopener noreferrer' }, 'open trace')];
  }

  function metadata(call) {
    const entries = Object.entries(call.metadata || {}).filter(([key]) => !(key === 'messages' && call.messages));
    if (!entries.length) return null;
    const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
    return h('div', null, h('h4', null, 'Metadata'), h('dl', { class: 'facts metadata' },
      entries.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', { class: 'mono' }, show(v))))));
  }

  function prompt(call) {
    const messages = call.messages && call.messages.length > 1 ? call.messages : null;
    if (!messages) return textBlock('Prompt', call.prompt);
    return h('div', null, h('h4', null, `Prompt (${messages.length} messages)`),
      messages.map((m) => h('div', { class: 'message' }, h('span', { class: 'role' }, m.role), h('pre', { class: 'text' }, m.content))));
  }

  function callDetail(call) {
    return h('div', { class: 'call-detail' },
      facts([
        ['purpose', call.purpose], ['model', call.model], ['provider', call.provider], ['operation', call.operation],
        ['case', call.case_id], ['started (UTC)', time(call.timestamp)], ['latency', seconds(call.latency)],
        ['tokens in / out / total', `${int(call.input_tokens)} / ${int(call.output_tokens)} / ${int(call.tokens_used)}`],
        ['cost', call.cost_label], ['span id', h('span', { class: 'mono' }, call.span_id || DASH)],
        ['trace id', traceId(call), 'span2'],
      ]),
      call.error ? h('div', null, h('h4', null, 'Error'), h('pre', { class: 'text error' }, call.error)) : null,
      h('div', { class: 'texts' }, prompt(call), textBlock('Response', call.response)),
      metadata(call));
  }

  // ---------- interactions table with filters ----------

  function fillSelect(id, values) {
    const select = document.getElementById(id);
    for (const v of [...new Set(values)].sort()) select.append(h('option', { value: v }, v));
    return select;
  }

  function interactions() {
    const columns = [
      { key: 'n', label: '#', numeric: true, sort: (c, i) => i + 1 },
      { key: 'time', label: 'time (UTC)', sort: (c) => c.timestamp, render: (c) => clock(c.timestamp), className: 'mono nowrap' },
      { key: 'case', label: 'case', sort: (c) => c.case_id, className: 'clip narrow' },
      { key: 'purpose', label: 'purpose', sort: (c) => c.purpose },
      { key: 'model', label: 'model', sort: (c) => c.model, className: 'clip narrow' },
      { key: 'in', label: 'in tokens', numeric: true, sort: (c) => c.input_tokens, render: (c) => int(c.input_tokens) },
      { key: 'out', label: 'out tokens', numeric: true, sort: (c) => c.output_tokens, render: (c) => int(c.output_tokens) },
      { key: 'latency', label: 'latency', numeric: true, sort: (c) => c.latency, render: (c) => seconds(c.latency) },
      { key: 'cost', label: 'cost', numeric: true, sort: (c) => c.cost, render: (c) => c.cost_label },
      { key: 'error', label: 'error', sort: (c) => c.error, render: (c) => c.error || h('span', { class: 'ok' }, 'ok'), className: 'status clip' },
    ];
    const count = document.getElementById('filter-count');
    const table = dataTable({
      id: 'interactions-table', caption: 'Model calls', columns, rows: CALLS,
      rowClass: (c) => (c.error ? 'has-error' : ''), detail: callDetail,
      onRender: (matching, total, shown) => {
        count.value = `${matching} of ${total} calls` + (shown < matching ? ` (first ${shown} listed)` : '');
      },
    });
    document.getElementById('interactions-table-wrap').append(table.table);
    wireFilters(table);
  }

  function wireFilters(table) {
    const text = document.getElementById('filter-text');
    const purpose = fillSelect('filter-purpose', CALLS.map((c) => c.purpose));
    const model = fillSelect('filter-model', CALLS.map((c) => c.model));
    const status = document.getElementById('filter-status');
    const texts = new Map();
    const haystack = (c) => {
      if (!texts.has(c)) {
        texts.set(c, [c.prompt, c.response, c.case_id, c.purpose, c.model, c.error, c.trace_id, c.span_id]
          .filter(Boolean).join('\n').toLowerCase());
      }
      return texts.get(c);
    };
    const update = () => {
      const needle = text.value.trim().toLowerCase();
      table.setFilter((c) => (!needle || haystack(c).includes(needle))
        && (!purpose.value || c.purpose === purpose.value)
        && (!model.value || c.model === model.value)
        && (!status.value || (status.value === 'errors') === Boolean(c.error)));
    };
    document.getElementById('filters').addEventListener('submit', (e) => e.preventDefault());
    for (const input of [text, purpose, model, status]) input.addEventListener('input', update);
  }

  // ---------- cases table and drill-down ----------

  function caseCalls(kase) {
    return [...kase.interactions.map((i) => CALLS[i]), ...kase.own_interactions];
  }

  function scoreOf(kase, metric) {
    return kase.scores.find((s) => s.metric === metric) || null;
  }

  function scorePill(s) {
    if (!s) return h('span', { class: 'muted' }, DASH);
    if (!isNum(s.value)) return h('span', { class: 'pill error', title: s.error || '' }, 'error');
    const verdict = s.passed === true ? 'pass' : s.passed === false ? 'fail' : '';
    return h('span', { class: `pill ${verdict}`.trim() }, score(s.value));
  }

  function cases() {
    const metrics = DATA.metrics.map((m) => m.metric);
    const columns = [
      { key: 'id', label: 'id', sort: (k) => k.case_id, className: 'clip narrow' },
      ...(DATA.run.repeat > 1 ? [{ key: 'trial', label: 'trial', numeric: true, sort: (k) => k.trial, render: (k) => String(k.trial) }] : []),
      { key: 'input', label: 'input', sort: (k) => k.input, render: (k) => oneLine(k.input), className: 'clip' },
      { key: 'output', label: 'output', sort: (k) => k.output, render: (k) => oneLine(k.output) || DASH, className: 'clip' },
      { key: 'expected', label: 'expected', sort: (k) => k.expected, render: (k) => oneLine(k.expected) || DASH, className: 'clip narrow' },
      ...metrics.map((m) => ({ key: `metric:${m}`, label: m, numeric: true, sort: (k) => scoreOf(k, m)?.value, render: (k) => scorePill(scoreOf(k, m)) })),
      { key: 'error', label: 'error', sort: (k) => k.error_summary, render: (k) => k.error_summary || '', className: 'status clip' },
    ];
    const table = dataTable({
      id: 'cases-table', caption: 'Cases', columns, rows: DATA.cases,
      rowClass: (k) => (k.error_summary ? 'has-error' : ''), detail: caseDetail,
    });
    document.getElementById('cases-table-wrap').append(DATA.cases.length ? table.table : h('p', { class: 'empty' }, 'No cases.'));
  }

  function caseDetail(kase) {
    const calls = caseCalls(kase);
    return h('div', { class: 'case-detail' },
      facts([['case', kase.case_id], ['duration', seconds(kase.duration)], ['started (UTC)', time(kase.started_at)], ['model calls', String(calls.length)]]),
      kase.error ? h('div', null, h('h4', null, 'Error'), h('pre', { class: 'text error' }, kase.error)) : null,
      h('div', { class: 'texts' },
        textBlock('Input', kase.input), textBlock('Expected', kase.expected),
        kase.context ? textBlock('Context', kase.context, 'full') : null,
        textBlock('Output', kase.output, 'full')),
      scoresTable(kase.scores),
      h('h4', null, 'Timeline'), waterfall(kase),
      h('h4', null, `Model calls (${calls.length})`),
      calls.length ? calls.map(callSummary) : h('p', { class: 'empty' }, 'No model calls.'));
  }

  function scoresTable(scores) {
    if (!scores.length) return h('p', { class: 'empty' }, 'No metric scored this case.');
    const heads = ['metric', 'score', 'label', 'explanation', 'error / raw reply'];
    return h('div', null, h('h4', null, 'Scores'), h('table', { class: 'scores' },
      h('thead', null, h('tr', null, heads.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, scores.map((s) => h('tr', null,
        h('th', { scope: 'row' }, s.metric), h('td', null, scorePill(s)), h('td', null, s.label || ''),
        h('td', null, s.explanation || ''),
        h('td', null, s.error ? h('pre', { class: 'text error' }, s.error) : null,
          s.raw_reply ? h('pre', { class: 'text' }, s.raw_reply) : null))))));
  }

  function callSummary(call) {
    return h('details', { class: 'call', open: true },
      h('summary', null, `${call.purpose} · ${call.model} `,
        h('span', { class: 'muted' }, `${seconds(call.latency)} · ${int(call.tokens_used)} tokens · ${call.cost_label}`),
        call.error ? h('span', { class: 'bad' }, ' · failed') : null),
      h('div', { class: 'body' }, callDetail(call)));
  }

  // ---------- per-case waterfall ----------

  function waterfall(kase) {
    const tl = kase.timeline;
    if (!tl) return h('p', { class: 'empty' }, 'No timing recorded for this case.');
    const W = 1000; const LABEL = 250; const R = 16; const ROW = 26; const T = 24;
    const span = tl.span > 0 ? tl.span : 1e-6;
    const H = T + ROW * (tl.bars.length + 1) + 8;
    const x = (v) => LABEL + (v / span) * (W - LABEL - R);
    const root = svg('svg', { class: 'chart waterfall', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Timeline of case ${kase.case_id}` });
    for (let i = 0; i <= 4; i += 1) {
      const v = (span * i) / 4;
      root.append(svg('line', { class: 'grid', x1: x(v), x2: x(v), y1: T - 6, y2: H - 4 }),
        svg('text', { x: x(v), y: T - 10, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, seconds(v)));
    }
    const caseLabel = `case ${kase.case_id}${tl.start_known ? '' : ' (start: first call)'}`;
    root.append(...lane(0, caseLabel, 0, tl.duration || span, 'case-bar', `case ${kase.case_id}: ${seconds(tl.duration)}`, x, T, ROW));
    tl.bars.forEach((b, i) => {
      const cls = `call-bar ${b.error ? 'error' : b.purpose === 'task' ? '' : 'judge'}`.trim();
      const tip = `${b.purpose} · ${b.model}: starts +${seconds(b.offset)}, ${seconds(b.latency)}${b.error ? ` — ${b.error}` : ''}`;
      root.append(...lane(i + 1, `${b.purpose} · ${b.model}`, b.offset, b.latency, cls, tip, x, T, ROW));
    });
    return h('div', null, root, legend([['case', 'case span'], ['ok', 'task call'], ['judge', 'other calls (judge…)'], ['error', 'failed call']]));
  }

  function lane(i, label, offset, length, cls, tip, x, top, row) {
    const y = top + i * row;
    const short = label.length > 38 ? `${label.slice(0, 37)}…` : label;
    return [
      svg('rect', { class: 'lane', x: 0, y: y + 2, width: 1000, height: row - 4, rx: 3 }),
      svg('text', { class: 'label', x: 8, y: y + row / 2 + 4 }, short, svg('title', null, label)),
      svg('rect', { class: cls, x: x(offset), y: y + 6, width: Math.max(2, x(offset + length) - x(offset)), height: row - 12, rx: 2 },
        svg('title', null, tip)),
    ];
  }

  banners();
  cards();
  histogram();
  usage();
  cases();
  interactions();
})();
