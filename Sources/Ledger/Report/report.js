// The HTML ledger report's script (embedded in the page by LedgerHTMLRenderer). It draws the replay the
// page carries as JSON (the element with id "replay", built by LedgerReplay.json): per client a timeline with one
// lane per connection attempt, each upstream frame a mark coloured by its fate, waits as hatched bands,
// how each connection ended, then a table of the attempts and the findings. Everything from the ledger
// reaches the DOM as text (textContent, setAttribute), never as markup.
(function () {
  'use strict';
  var SVG = 'http://www.w3.org/2000/svg';
  var L = 168, P = 940, RIGHT = 132, LANE = 30, GAP = 14, AXIS = 26;
  var MAX_MARKS = 2000, DENSE_COLUMN = 3, MARK_SPACING = 4.5;
  var COLOURS = {
    delivered: '#4e79a7', delayed: '#f28e2b', reordered: '#8e6bd1', duplicated: '#17a2a2',
    corrupted: '#d4488e', dropped: '#d62728', lost: '#d62728'
  };

  var data = JSON.parse(document.getElementById('replay').textContent);
  var FATES = data.fates.map(function (f) { return f.name; });

  // --- DOM helpers ---------------------------------------------------------------------------------
  function h(tag, attrs, children) {
    var e = document.createElement(tag);
    return fill(e, attrs, children);
  }
  function s(tag, attrs, children) {
    var e = document.createElementNS(SVG, tag);
    return fill(e, attrs, children);
  }
  function fill(e, attrs, children) {
    if (attrs) for (var k in attrs) if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, String(attrs[k]));
    if (children !== undefined && children !== null) {
      if (!Array.isArray(children)) children = [children];
      children.forEach(function (c) {
        if (c === null || c === undefined) return;
        e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
      });
    }
    return e;
  }
  function title(text) { return s('title', null, text); }

  // --- Formatting (as the Swift text report writes it) ----------------------------------------------
  function n(v) {
    var r = Math.round(v * 10) / 10;
    return String(r === Math.round(r) ? Math.round(r) : r);
  }
  function plural(count, word) { return count + ' ' + word + (count === 1 ? '' : 's'); }
  function quoted(x) { return JSON.stringify(x); }
  function trunc(x) { return x < 0 ? Math.ceil(x) : Math.floor(x); }
  function formatMs(ns) {
    var ms = trunc(ns / 1e6);
    if (ms >= 10000 || ms <= -10000) return trunc(ms / 1000) + 's';
    if (Math.abs(ms) >= 1000) return trunc(ms / 1000) + '.' + trunc(Math.abs(ms % 1000) / 100) + 's';
    return ms + 'ms';
  }
  function offset(t, origin) {
    var ms = trunc((t - origin) / 1e6), a = Math.abs(ms), frac = String(a % 1000);
    return (ms < 0 ? '-' : '+') + trunc(a / 1000) + '.' + '000'.slice(frac.length) + frac + 's';
  }
  function niceStep(raw) {
    var p = 1e6;
    while (p * 10 <= raw) p *= 10;
    var ms = [1, 2, 5, 10];
    for (var i = 0; i < ms.length; i++) if (p * ms[i] >= raw) return p * ms[i];
    return p * 10;
  }
  function tickLabel(ns, step) {
    var ms = Math.round(ns / 1e6);
    if (ms === 0) return '0';
    if (step < 1e9 && ms < 1000) return '+' + ms + 'ms';
    var sec = ms / 1000;
    if (step % 1e9 === 0) return '+' + Math.round(sec) + 's';
    if (step % 1e8 === 0) return '+' + (Math.round(sec * 10) / 10) + 's';
    return '+' + (Math.round(sec * 100) / 100) + 's';
  }
  function short(x, limit) { return x.length <= limit ? x : x.slice(0, limit - 1) + '\u2026'; }

  // --- Glyphs --------------------------------------------------------------------------------------
  function glyph(fate, x, y, hgt) {
    var c = COLOURS[fate] || COLOURS.delivered;
    switch (fate) {
      case 'duplicated':
        return [s('rect', { x: n(x - 2), y: n(y), width: 3, height: n(hgt), fill: c }),
                s('rect', { x: n(x + 2), y: n(y), width: 3, height: n(hgt), fill: c })];
      case 'lost':
        return [s('rect', { x: n(x), y: n(y + 0.5), width: 3, height: n(hgt - 1), fill: '#fff', stroke: c,
                            'stroke-width': 1.2, 'stroke-dasharray': '2 1.5' })];
      case 'dropped':
        return [s('rect', { x: n(x), y: n(y), width: 3, height: n(hgt), fill: c }),
                s('path', { d: 'M' + n(x - 1.5) + ' ' + n(y - 3) + ' l6 6 M' + n(x + 4.5) + ' ' + n(y - 3) + ' l-6 6',
                            stroke: c, 'stroke-width': 1.4 })];
      case 'corrupted':
        return [s('rect', { x: n(x), y: n(y), width: 3, height: n(hgt), fill: c }),
                s('path', { d: 'M' + n(x - 1.5) + ' ' + n(y + hgt / 2 - 2) + ' l6 2 l-6 2', stroke: '#fff',
                            'stroke-width': 1.2, fill: 'none' })];
      default:
        return [s('rect', { x: n(x), y: n(y), width: 3, height: n(hgt), fill: c })];
    }
  }

  // --- Header and legend ---------------------------------------------------------------------------
  function header() {
    var sub = document.getElementById('sub');
    var findings = data.clients.reduce(function (a, c) { return a + (c.summary ? c.summary.findings : c.findings.length); }, 0);
    sub.appendChild(document.createTextNode(plural(data.clients.length, 'client') + ', ' + plural(data.connections, 'connection') +
      ', ' + plural(findings, 'finding') + ', ' + plural(data.records, 'record')));
    var legend = document.getElementById('legend');
    data.fates.forEach(function (f) {
      legend.appendChild(h('li', { 'class': 'fate-toggle', 'data-fate': f.name, title: f.explanation, tabindex: 0, role: 'button',
                                   'aria-pressed': 'true' },
        [s('svg', { width: 22, height: 16, viewBox: '0 0 22 16', 'aria-hidden': 'true' }, glyph(f.name, 6, 1, 14)), f.label]));
    });
    function staticItem(shapes, text) {
      legend.appendChild(h('li', { 'class': 'static' }, [s('svg', { width: 22, height: 16, viewBox: '0 0 22 16', 'aria-hidden': 'true' }, shapes), text]));
    }
    staticItem([s('rect', { x: 9, y: 9, width: 2, height: 6, fill: '#9aa5b1' })], 'comment / heartbeat');
    staticItem([s('circle', { cx: 11, cy: 3, r: 2, fill: '#2d3a48' }), s('rect', { x: 9.5, y: 6, width: 3, height: 9, fill: '#4e79a7' })],
               'other fault noted (retry, \u2026)');
    staticItem([s('rect', { x: 1, y: 2, width: 20, height: 12, fill: 'url(#hatch)', stroke: '#c9a227', 'stroke-width': 0.8 })], 'wait (delay, stall)');
    staticItem([s('line', { x1: 11, y1: 1, x2: 11, y2: 15, stroke: '#c0392b', 'stroke-width': 3 })], 'cut by a fault (rst, fin, half_close)');
    staticItem([s('line', { x1: 11, y1: 1, x2: 11, y2: 15, stroke: '#5a6b7b', 'stroke-width': 3 })], 'ended (upstream end, client close)');
    // The hatch pattern for the bands (ids are document-wide, so every SVG can use it).
    var pattern = s('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
      [s('rect', { width: 6, height: 6, fill: '#fdf3d0' }), s('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#e2c25b', 'stroke-width': 2.5 })]);
    legend.parentNode.appendChild(s('svg', { width: 0, height: 0, style: 'position:absolute', 'aria-hidden': 'true' }, [s('defs', null, [pattern])]));
  }

  // --- The report ----------------------------------------------------------------------------------
  function report(main) {
    if (data.unreadable_total > 0) {
      var ul = h('ul', null, data.unreadable.map(function (u) { return h('li', null, 'line ' + u.line + ': ' + u.error); }));
      if (data.unreadable_total > data.unreadable.length) ul.appendChild(h('li', null, '\u2026 ' + (data.unreadable_total - data.unreadable.length) + ' more'));
      main.appendChild(h('div', { 'class': 'notice', id: 'unreadable' }, [h('strong', null, plural(data.unreadable_total, 'line') + ' could not be read'), ul]));
    }
    if (data.summary_level) {
      main.appendChild(h('div', { 'class': 'notice', id: 'summary-level' }, ['This ledger was written at ', h('code', null, '--ledger-level summary'),
        ': only the frames a fault acted on are recorded, so the lanes show only those.']));
    }
    if (data.clients.length === 0) {
      main.appendChild(h('p', { 'class': 'empty' }, 'The ledger has no connections.'));
      return;
    }
    overview(main);
    data.clients.forEach(function (c) { main.appendChild(client(c)); });
  }

  function verdictChip(c) {
    var x = c.summary;
    if (!x) return h('span', { 'class': 'chip pending' }, 'pending');
    if (x.findings === 0 && !x.failed) return h('span', { 'class': 'chip ok' }, 'ok');
    if (x.findings === 0) return h('span', { 'class': 'chip warn' }, 'EventSource failed');
    return h('span', { 'class': 'chip bad' }, plural(x.findings, 'finding'));
  }

  function overview(main) {
    if (data.clients.length < 2) return;
    var body = h('tbody');
    data.clients.forEach(function (c) {
      var x = c.summary;
      function cell(v, bad) { return h('td', bad ? { 'class': 'bad' } : null, x ? String(v) : '\u2013'); }
      body.appendChild(h('tr', null, [
        h('td', null, [h('a', { href: '#client-' + c.index }, c.key), c.run > 1 ? ' ' : null, c.run > 1 ? h('span', { 'class': 'dim' }, 'run ' + c.run) : null]),
        h('td', null, String(c.connections.length)),
        cell(x && x.expected), cell(x && x.received), cell(x && x.missing, x && x.missing > 0), cell(x && x.duplicated, x && x.duplicated > 0),
        h('td', null, verdictChip(c))]));
    });
    var head = h('tr', null, ['client', 'attempts', 'expected', 'received', 'missing', 'duplicated', 'verdict'].map(function (t) { return h('th', null, t); }));
    main.appendChild(h('table', { 'class': 'overview' }, [h('thead', null, head), body]));
  }

  function client(c) {
    var x = c.summary;
    var state = !x ? 'state-pending' : x.findings > 0 ? 'state-bad' : x.failed ? 'state-warn' : 'state-ok';
    var sec = h('section', { 'class': 'client ' + state, id: 'client-' + c.index, 'data-client': c.key, 'data-run': c.run });
    sec.appendChild(h('h2', null, [h('span', { 'class': 'label' }, 'client'), ' ', h('span', { 'class': 'key' }, c.key),
      c.run > 1 ? ' ' : null, c.run > 1 ? h('span', { 'class': 'label' }, 'run ' + c.run) : null, ' ', verdictChip(c)]));
    if (c.run > 1) sec.appendChild(h('p', { 'class': 'dim' }, 'Its attempts were counted from 1 again (the ledger was reset): a new run of the same client key.'));
    sec.appendChild(h('p', { 'class': 'verdict' }, x ? x.verdict : 'no verdict yet: no connection of this client has closed'));
    if (x) {
      var stats = [['attempts', x.connections], ['expected', x.expected], ['received', x.received], ['missing', x.missing, x.missing > 0],
        ['duplicated', x.duplicated, x.duplicated > 0], ['unexpected', x.unexpected, x.unexpected > 0],
        ['last event ID', x.last_event_id === '' ? 'none' : quoted(x.last_event_id)], ['reconnection time', x.reconnection_ms + 'ms']];
      sec.appendChild(h('dl', { 'class': 'stats' }, stats.map(function (st) {
        return h('div', st[2] ? { 'class': 'bad' } : null, [h('dt', null, st[0]), h('dd', null, String(st[1]))]);
      })));
    }
    if (c.connections.length > 0) {
      sec.appendChild(timeline(c));
      sec.appendChild(attempts(c));
    }
    sec.appendChild(findings(c));
    return sec;
  }

  // --- Timeline ------------------------------------------------------------------------------------
  function timeline(c) {
    var conns = c.connections, origin = conns[0].opened_t, end = origin;
    conns.forEach(function (k) {
      end = Math.max(end, k.end_t);
      k.frames.forEach(function (f) { end = Math.max(end, f.t, f.written_t === null ? f.t : f.written_t); });
      k.bands.forEach(function (b) { end = Math.max(end, b.to); });
      if (k.allowed_t !== null && k.allowed_t > k.opened_t) end = Math.max(end, k.allowed_t);
    });
    var span = end - origin;
    var step = niceStep(Math.max(span, 1e6) / 8);
    var axisMax = Math.max(step, Math.ceil(span / step) * step);
    function x(t) { return L + (t - origin) / axisMax * P; }
    var width = L + P + RIGHT;
    var height = AXIS + conns.length * (LANE + GAP) + 4;
    var flaggedBy = {};
    c.findings.forEach(function (f) {
      if (f.attempt !== null && f.kind !== 'missing' && f.kind !== 'duplicated') (flaggedBy[f.attempt] = flaggedBy[f.attempt] || []).push(f);
    });

    var svg = s('svg', { 'class': 'lanes', viewBox: '0 0 ' + n(width) + ' ' + n(height), width: n(width), height: n(height), role: 'img',
                         'aria-label': 'timeline of client ' + c.key });
    var axis = s('g', { 'class': 'axis' });
    for (var tick = 0; tick <= axisMax + 1; tick += step) {
      var tx = L + tick / axisMax * P;
      axis.appendChild(s('line', { x1: n(tx), y1: n(AXIS - 6), x2: n(tx), y2: n(height), 'class': 'grid' }));
      axis.appendChild(s('text', { x: n(tx), y: n(AXIS - 10), 'text-anchor': 'middle' }, tickLabel(tick, step)));
    }
    axis.appendChild(s('text', { x: n(L - 8), y: n(AXIS - 10), 'text-anchor': 'end', 'class': 'axis-title' }, 'since first connect'));
    svg.appendChild(axis);

    conns.forEach(function (k, i) {
      var top = AXIS + i * (LANE + GAP) + 4, mid = top + LANE / 2, x0 = x(k.opened_t);
      var dense = k.frames.length > MAX_MARKS;
      // Frames that arrived together would hide one another: keep marks at least MARK_SPACING apart, in
      // arrival order (their tooltips keep the exact time).
      var markX = [];
      if (!dense) {
        var available = Math.max(0, L + P - x0 - 4);
        var spacing = Math.min(MARK_SPACING, available / Math.max(1, k.frames.length));
        var previous = -Infinity;
        k.frames.forEach(function (f) { var mx = Math.max(x(f.t), previous + spacing); markX.push(mx); previous = mx; });
      }
      var x1 = Math.max(x(k.end_t), x0 + 3, (markX.length ? markX[markX.length - 1] : 0) + 3);
      var failed = k.response !== null && k.response.fail_reason !== null;
      var flagged = flaggedBy[k.attempt] || [];
      var lane = s('g', { 'class': 'lane', 'data-conn': k.conn, 'data-attempt': k.attempt, 'data-end': k.end_label });
      var t1 = s('text', { x: 8, y: n(top + 12), 'class': 'lane-title' }, 'attempt ' + k.attempt);
      if (flagged.length) { t1.appendChild(document.createTextNode(' ')); t1.appendChild(s('tspan', { 'class': 'warn-glyph' }, '\u26a0')); }
      lane.appendChild(t1);
      lane.appendChild(s('text', { x: 8, y: n(top + 26), 'class': 'lane-sub' }, ['conn ' + k.conn + ' \u00b7 ',
        s('tspan', { 'class': failed ? 'st-bad' : 'st-ok' }, k.response ? String(k.response.status) : 'no response'),
        k.open ? ' \u00b7 ' + short(k.open.profile, 14) : null]));
      if (flagged.length) lane.appendChild(title(flagged.map(function (f) { return f.line; }).join('\n')));
      // The wait before this attempt, against the reconnection time.
      var prev = i > 0 ? conns[i - 1] : null;
      if (prev && prev.closed_t !== null && prev.closed_t <= k.opened_t) {
        var px = x(prev.closed_t);
        var early = flagged.some(function (f) { return f.kind === 'reconnectTooEarly'; });
        var afterFailure = flagged.some(function (f) { return f.kind === 'reconnectAfterFailure'; });
        var waited = formatMs(k.opened_t - prev.closed_t);
        var tip = 'waited ' + waited + ' after attempt ' + prev.attempt + ' ended';
        if (k.allowed_t !== null) tip += '; the reconnection time was ' + formatMs(k.allowed_t - prev.closed_t);
        if (afterFailure) tip += '; attempt ' + prev.attempt + ' failed, so EventSource does not reconnect';
        var wait = s('g', { 'class': early || afterFailure ? 'wait bad' : 'wait' }, [title(tip),
          s('line', { x1: n(px), y1: n(mid), x2: n(x0), y2: n(mid) })]);
        if (x0 - px > 60) wait.appendChild(s('text', { x: n((px + x0) / 2), y: n(mid - 4), 'text-anchor': 'middle' }, 'waited ' + waited));
        if (k.allowed_t !== null && k.allowed_t > k.opened_t) {
          var ax = x(k.allowed_t);
          wait.appendChild(s('line', { 'class': 'allowed', x1: n(ax), y1: n(top - 2), x2: n(ax), y2: n(top + LANE + 2) }));
          wait.appendChild(s('text', { 'class': 'allowed-label', x: n(ax + 3), y: n(top + LANE) }, 'reconnection time'));
        }
        lane.appendChild(wait);
      }
      // The connection's life, and its waits.
      lane.appendChild(s('rect', { 'class': 'life' + (failed ? ' failed' : ''), x: n(x0), y: n(top), width: n(x1 - x0), height: n(LANE), rx: 4 },
        [title(lifeTip(k))]));
      k.bands.forEach(function (b) {
        var bx = x(b.from), bw = Math.max(2, x(b.to) - bx);
        var band = s('g', { 'class': 'band', 'data-band': b.kind }, [title(b.fault + ': ' + b.action),
          s('rect', { x: n(bx), y: n(top + 1), width: n(bw), height: n(LANE - 2), fill: 'url(#hatch)' })]);
        if (bw > 70) band.appendChild(s('text', { x: n(bx + 4), y: n(top + 11) }, b.kind));
        lane.appendChild(band);
      });
      // A status a fault wrote, or a non-200 from the upstream: inside the lane when it fits, else beside
      // the end marker (and the end's label moves past it).
      var labelOffset = 6, leftward = x1 + 6 + 120 > width;
      var r = k.response;
      if (r && (r.synthetic || r.status !== 200)) {
        var text = r.synthetic ? r.status + ' by fault' : r.status + ' from upstream';
        var bw2 = text.length * 6.6 + 12, bx2 = x0 + 4;
        if (x1 - x0 < bw2 + 8) {
          leftward = x1 + bw2 + 12 + 120 > width;
          bx2 = leftward ? x0 - 6 - bw2 : x1 + 6;
          labelOffset = leftward ? 6 : bw2 + 12;
        }
        lane.appendChild(s('g', { 'class': 'status-badge' + (r.synthetic ? ' synthetic' : ''), 'data-status': r.status }, [title(responseTip(r)),
          s('rect', { x: n(bx2), y: n(mid - 9), width: n(bw2), height: 18, rx: 9 }),
          s('text', { x: n(bx2 + bw2 / 2), y: n(mid + 4), 'text-anchor': 'middle' }, text)]));
      }
      if (dense) {
        denseColumns(lane, k.frames, x, top);
      } else {
        k.frames.forEach(function (f, j) {
          lane.appendChild(mark(k, f, markX[j], f.written_t === null ? null : Math.max(x(f.written_t), markX[j]), top, origin));
        });
      }
      lane.appendChild(endMarker(k, x1, top, labelOffset, leftward));
      svg.appendChild(lane);
    });
    return h('div', { 'class': 'timeline' }, svg);
  }

  function fateOf(name) { return data.fates.filter(function (f) { return f.name === name; })[0]; }

  function mark(k, f, mx, wx, top, origin) {
    var isEvent = f.kind === 'event';
    var tip = 'frame ' + f.index;
    if (f.id !== null) tip += ' \u00b7 id ' + quoted(f.id);
    tip += ' \u00b7 ' + (f.event !== null ? f.event : f.kind);
    tip += ' \u00b7 ' + f.size + ' bytes \u00b7 ' + offset(f.t, origin);
    tip += '\n' + fateOf(f.fate).label;
    f.faults.forEach(function (i) { tip += '\n' + k.faults[i].fault + ': ' + k.faults[i].action; });
    if (f.burst_t !== undefined) tip += '\nbuffer: held until a burst ' + formatMs(f.burst_t - f.t) + ' later';
    var g = s('g', { 'class': 'mark fate-' + f.fate + (isEvent ? '' : ' minor'), 'data-fate': f.fate, 'data-frame': f.index, 'data-id': f.id }, [title(tip)]);
    var colour = COLOURS[f.fate] || COLOURS.delivered;
    if (wx !== null && wx - mx >= 1) {
      var ty = isEvent ? top + LANE / 2 : top + LANE - 4;
      g.appendChild(s('line', { x1: n(mx), y1: n(ty), x2: n(wx), y2: n(ty), stroke: colour, 'stroke-width': 1.5, opacity: 0.55 }));
      g.appendChild(s('circle', { cx: n(wx), cy: n(ty), r: 1.8, fill: colour }));
    }
    if (f.fate === 'delivered' && (f.faults.length > 0 || f.burst_t !== undefined)) {
      // A fault acted on it without changing its fate (an injected retry, the frame a disconnect followed).
      g.appendChild(s('circle', { 'class': 'noted', cx: n(mx), cy: n(isEvent ? top + 2.5 : top + LANE - 10.5), r: 1.9 }));
    }
    if (isEvent) {
      glyph(f.fate, mx - 1.5, top + 5, LANE - 10).forEach(function (e) { g.appendChild(e); });
    } else {
      g.appendChild(s('rect', { x: n(mx - 0.75), y: n(top + LANE - 8), width: 1.5, height: 6, fill: f.fate === 'delivered' ? '#9aa5b1' : colour }));
    }
    return g;
  }

  /// A lane with more than MAX_MARKS frames: its events in columns DENSE_COLUMN wide, each split into the
  /// shares of each fate (delivered at the bottom).
  function denseColumns(lane, frames, x, top) {
    var columns = {}, keys = [];
    frames.forEach(function (f) {
      if (f.kind !== 'event') return;
      var c = Math.floor((x(f.t) - L) / DENSE_COLUMN);
      var e = columns[c];
      if (!e) { e = columns[c] = { counts: FATES.map(function () { return 0; }), first: f.index, last: f.index }; keys.push(c); }
      e.counts[FATES.indexOf(f.fate)] += 1;
      e.first = Math.min(e.first, f.index);
      e.last = Math.max(e.last, f.index);
    });
    keys.sort(function (a, b) { return a - b; });
    var y0 = top + 5, hgt = LANE - 10;
    keys.forEach(function (c) {
      var e = columns[c], total = e.counts.reduce(function (a, b) { return a + b; }, 0);
      var tip = 'frames ' + e.first + '\u2013' + e.last + ': ' + total + ' events';
      FATES.forEach(function (name, i) { if (e.counts[i] > 0) tip += '\n' + e.counts[i] + ' ' + fateOf(name).label; });
      var g = s('g', { 'class': 'column' }, [title(tip)]);
      var y = y0 + hgt;
      FATES.forEach(function (name, i) {
        if (e.counts[i] === 0) return;
        var sh = Math.max(1, hgt * e.counts[i] / total);
        y -= sh;
        g.appendChild(s('rect', { 'class': 'fate-' + name, 'data-fate': name, x: n(L + c * DENSE_COLUMN), y: n(Math.max(y0, y)),
                                  width: n(DENSE_COLUMN - 0.6), height: n(sh), fill: COLOURS[name] }));
      });
      lane.appendChild(g);
    });
  }

  function endMarker(k, x, top, labelOffset, leftward) {
    var bottom = top + LANE;
    if (k.close === null) {
      return s('g', { 'class': 'end open', 'data-end': 'open' }, [title('still open at the end of the ledger'),
        s('path', { d: 'M' + n(x) + ' ' + n(top + 6) + ' l8 ' + n(LANE / 2 - 6) + ' l-8 ' + n(LANE / 2 - 6) }),
        s('text', { x: n(x + 12), y: n(top + 19) }, 'open')]);
    }
    var tip = k.close.summary + (k.prediction ? '\n\u2192 ' + k.prediction.next : '');
    var g = s('g', { 'class': 'end' + (k.close.bad ? ' cut' : ''), 'data-end': k.end_label }, [title(tip),
      s('line', { x1: n(x), y1: n(top - 3), x2: n(x), y2: n(bottom + 3) })]);
    if (k.close.by_fault) g.appendChild(s('path', { d: 'M' + n(x - 4) + ' ' + n(top - 3) + ' l8 0 M' + n(x - 4) + ' ' + n(bottom + 3) + ' l8 0' }));
    var tx = leftward ? x - labelOffset : x + labelOffset;
    var anchor = leftward ? 'end' : null;
    g.appendChild(s('text', { x: n(tx), y: n(top + 12), 'text-anchor': anchor }, k.end_label));
    if (k.prediction) {
      var re = k.prediction.reconnects;
      g.appendChild(s('text', { x: n(tx), y: n(top + 25), 'text-anchor': anchor, 'class': 'next' + (re ? '' : ' stop') },
        re ? '\u2192 reconnect' : '\u2192 EventSource stops'));
    }
    return g;
  }

  function responseTip(r) {
    return 'response ' + r.status + ' ' + (r.content_type === null ? '(no Content-Type)' : r.content_type) +
      (r.synthetic ? ' (written by a fault)' : '') + (r.fail_reason !== null ? ' \u2192 EventSource fails: ' + r.fail_reason : '');
  }

  function lifeTip(k) {
    var t = 'attempt ' + k.attempt + ' \u00b7 conn ' + k.conn;
    if (k.open) {
      t += '\n' + k.open.method + ' ' + k.open.path + ' \u00b7 profile ' + k.open.profile + ' seed ' + k.open.seed;
      t += '\nLast-Event-ID sent: ' + (k.open.last_event_id === null ? 'none' : quoted(k.open.last_event_id));
    }
    if (k.response) t += '\n' + responseTip(k.response);
    if (k.close) {
      t += '\nupstream: ' + k.close.frames + ' frames, ' + k.close.events + ' events; delivered ' + k.close.bytes_delivered +
        ' bytes; ' + k.close.faults + ' fault actions';
      t += '\nended: ' + k.close.summary;
    }
    if (k.prediction) {
      var p = k.prediction;
      t += '\ndispatched ' + p.dispatched + ' (' + p.intact + ' intact), last event ID ' + (p.last_event_id === '' ? 'none' : quoted(p.last_event_id));
      t += '\n\u2192 ' + p.next;
    }
    return t;
  }

  // --- Attempts table and findings -----------------------------------------------------------------
  function attempts(c) {
    var origin = c.connections[0].opened_t;
    var body = h('tbody');
    c.connections.forEach(function (k, i) {
      var prev = i > 0 ? c.connections[i - 1] : null;
      var flagged = c.findings.some(function (f) { return f.attempt === k.attempt && f.kind !== 'missing' && f.kind !== 'duplicated'; });
      var row = h('tr', { 'class': flagged ? 'flagged' : null, 'data-conn': k.conn }, [
        h('td', null, [String(k.attempt), h('div', { 'class': 'dim' }, 'conn ' + k.conn)]),
        h('td', null, offset(k.opened_t, origin))]);
      if (k.open) {
        row.appendChild(h('td', null, [h('code', null, k.open.method + ' ' + k.open.path), h('div', { 'class': 'dim' }, k.open.profile + ' \u00b7 seed ' + k.open.seed)]));
        var lei = h('td', null, k.open.last_event_id === null ? 'none' : h('code', null, quoted(k.open.last_event_id)));
        if (prev && prev.prediction) {
          var pp = prev.prediction;
          if (pp.reconnects) {
            var ok = (k.open.last_event_id === null ? '' : k.open.last_event_id) === pp.last_event_id;
            lei.appendChild(h('div', { 'class': ok ? 'dim' : 'bad' }, 'expected ' + (pp.last_event_id === '' ? 'none' : quoted(pp.last_event_id))));
          }
          if (prev.closed_t !== null && prev.closed_t <= k.opened_t) {
            lei.appendChild(h('div', { 'class': 'dim' }, 'after ' + formatMs(k.opened_t - prev.closed_t) + (pp.reconnects ? ' (retry ' + pp.reconnection_ms + 'ms)' : '')));
          }
        }
        row.appendChild(lei);
      } else {
        row.appendChild(h('td', null, '\u2013'));
        row.appendChild(h('td', null, '\u2013'));
      }
      var r = k.response;
      if (r) {
        row.appendChild(h('td', null, [h('span', { 'class': r.fail_reason === null ? 'st-ok' : 'st-bad' }, String(r.status)),
          ' ' + (r.content_type === null ? '(no Content-Type)' : r.content_type),
          r.synthetic ? h('div', { 'class': 'dim' }, 'written by a fault') : null,
          r.fail_reason !== null ? h('div', { 'class': 'bad' }, 'EventSource fails: ' + r.fail_reason) : null]));
      } else {
        row.appendChild(h('td', null, 'no response'));
      }
      if (k.close) {
        row.appendChild(h('td', null, [plural(k.close.events, 'event') + ', ' + plural(k.close.frames, 'frame'),
          k.close.ids ? h('div', { 'class': 'dim' }, k.close.ids) : null]));
      } else {
        row.appendChild(h('td', null, plural(k.frames.length, 'frame') + ' so far'));
      }
      var faults = h('td', { 'class': 'faults' });
      if (k.faults.length === 0) faults.appendChild(document.createTextNode('\u2013'));
      var names = [];
      k.faults.forEach(function (f) { if (names.indexOf(f.fault) < 0) names.push(f.fault); });
      names.forEach(function (name) {
        var mine = k.faults.filter(function (f) { return f.fault === name; });
        var tip = mine.slice(0, 12).map(function (f) { return (f.frame !== null ? 'frame ' + f.frame + ': ' : '') + f.action; }).join('\n');
        faults.appendChild(h('span', { 'class': 'fault', title: tip }, name + (mine.length > 1 ? ' \u00d7' + mine.length : '')));
        faults.appendChild(document.createTextNode(' '));
      });
      row.appendChild(faults);
      var bytes = k.close ? k.close.bytes_delivered : (k.delivered_total === null ? 0 : k.delivered_total);
      if (k.prediction) {
        var p = k.prediction;
        row.appendChild(h('td', null, [bytes + ' bytes', h('div', { 'class': 'dim' }, ['dispatched ' + p.dispatched + ' (' + p.intact + ' intact',
          p.unexpected > 0 ? ', ' : null, p.unexpected > 0 ? h('span', { 'class': 'bad' }, p.unexpected + ' unexpected') : null,
          ')' + (p.discarded_tail ? ', torn tail' : '')])]));
      } else {
        row.appendChild(h('td', null, bytes + ' bytes'));
      }
      if (k.close) {
        row.appendChild(h('td', null, [k.close.summary,
          k.prediction ? h('div', { 'class': k.prediction.reconnects ? 'dim' : 'bad' }, '\u2192 ' + k.prediction.next) : null]));
      } else {
        row.appendChild(h('td', null, 'still open'));
      }
      body.appendChild(row);
    });
    var head = h('tr', null, ['attempt', 'start', 'request', 'Last-Event-ID sent', 'response', 'upstream', 'faults', 'delivered / dispatched', 'end \u2192 next']
      .map(function (t) { return h('th', null, t); }));
    return h('table', { 'class': 'attempts' }, [h('thead', null, head), body]);
  }

  function findings(c) {
    var div = h('div', { 'class': 'findings' }, [h('h3', null, 'Findings')]);
    if (c.finding_items.length === 0) {
      div.appendChild(h('p', { 'class': 'none' }, 'none'));
    } else {
      div.appendChild(h('ul', null, c.finding_items.map(function (i) {
        return h('li', { 'data-kind': i.kind }, [h('span', { 'class': 'kind' }, i.kind), ' ' + (i.attempt !== null ? 'attempt ' + i.attempt + ': ' : '') + i.text]);
      })));
    }
    return div;
  }

  // --- The legend filter ---------------------------------------------------------------------------
  function legendFilter() {
    var items = document.querySelectorAll('#legend .fate-toggle');
    function toggle(li) {
      var fate = li.getAttribute('data-fate');
      var off = document.body.classList.toggle('hide-' + fate);
      li.classList.toggle('off', off);
      li.setAttribute('aria-pressed', off ? 'false' : 'true');
    }
    for (var i = 0; i < items.length; i++) {
      items[i].addEventListener('click', function (e) { toggle(e.currentTarget); });
      items[i].addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(e.currentTarget); }
      });
    }
  }

  header();
  report(document.getElementById('report'));
  legendFilter();
  document.body.setAttribute('data-marks', String(document.querySelectorAll('g.mark').length));
  document.body.setAttribute('data-script', 'ready');
})();
