// ringfence report: draws the graph and the findings from the JSON block
// and keeps them in step with the filters. No network access, no libraries.
(function () {
  'use strict';
  var data = unpack(JSON.parse(document.getElementById('report-data').textContent));
  var SEV = ['critical', 'high', 'medium', 'low', 'info'];
  var RANK = { allowed: 4, unknown: 3, 'one-layer': 2, denied: 1 };
  var VERDICT_TEXT = {
    allowed: 'allowed by both layers', 'one-layer': 'allowed by one layer only',
    denied: 'denied', unknown: 'allowed, a layer unknown'
  };
  var NOSPACE = '';
  var SVGNS = 'http://www.w3.org/2000/svg';
  // Layout: four lanes, left to right.
  var L = {
    source: { x: 12, w: 92 }, entry: { x: 136, w: 204 },
    workload: { x: 392, w: 272 }, destination: { x: 736, w: 212 },
    width: 956, top: 40, row: 30, nodeH: 24, destH: 42, destGap: 18
  };

  // unpack rebuilds the report from the data block, where each recurring
  // text is written once (render/report_pack.go says how).
  function unpack(p) {
    var S = p.s;
    function str(v) {
      if (v.charCodeAt(0) !== 126) return v;
      return v.charCodeAt(1) === 126 ? v.slice(1) : S[parseInt(v.slice(1), 36)];
    }
    function walk(v) {
      if (typeof v === 'string') return str(v);
      if (Array.isArray(v)) {
        if (v[0] === '~T') {
          var keys = v[1], out = [];
          for (var r = 2; r < v.length; r++) {
            var o = {}, row = v[r];
            for (var k = 0; k < keys.length; k++) {
              if (row[k] !== '~') o[keys[k]] = walk(row[k]);
            }
            out.push(o);
          }
          return out;
        }
        for (var i = 0; i < v.length; i++) v[i] = walk(v[i]);
      } else if (v && typeof v === 'object') {
        Object.keys(v).forEach(function (k) { v[k] = walk(v[k]); });
      }
      return v;
    }
    var r = walk(p.r);
    var layers = walk(p.l);
    var opt = function (v) { v = str(v); return v === '' ? undefined : v; };
    var end = function (v) { return typeof v === 'number' ? r.nodes[v].id : str(v); };
    r.edges = p.e.map(function (a) {
      return { from: end(a[0]), to: end(a[1]), verdict: str(a[2]), label: opt(a[3]), addresses: opt(a[4]), ports: opt(a[5]), layers: layers[a[6]] };
    });
    return r;
  }

  // Indexes.
  var nodeById = new Map();
  data.nodes.forEach(function (n) { nodeById.set(n.id, n); });
  var findingsByNode = new Map();
  data.findings.forEach(function (f, i) {
    f.index = i;
    f.nodes.forEach(function (id) { push(findingsByNode, id, f); });
  });
  var outEdges = new Map(), inEdges = new Map();
  data.edges.forEach(function (e) {
    push(outEdges, e.from, e);
    push(inEdges, e.to, e);
  });
  var hasNoNamespace = data.findings.some(function (f) { return !f.namespace && !nodesNamespaced(f); });
  var namespaces = data.namespaces.slice();
  if (hasNoNamespace) namespaces.push(NOSPACE);
  var workloadCount = data.nodes.filter(function (n) { return n.lane === 'workload'; }).length;

  var state = {
    ns: new Set(namespaces), sev: new Set(SEV), collapsed: new Set(),
    selected: null, highlight: new Set(), showDenied: workloadCount <= 40, showSuppressed: false
  };
  // Large environments start folded, except the namespaces the banner
  // talks about.
  if (workloadCount > 40) {
    var keep = new Set();
    data.headlines.forEach(function (h) {
      h.nodes.forEach(function (id) { var n = nodeById.get(id); if (n && n.lane === 'workload' && keep.size < 3) keep.add(n.namespace); });
    });
    data.namespaces.forEach(function (ns) { if (!keep.has(ns)) state.collapsed.add(ns); });
  }

  function push(m, k, v) { var a = m.get(k); if (!a) { a = []; m.set(k, a); } a.push(v); }
  function nodesNamespaced(f) {
    return f.nodes.some(function (id) { var n = nodeById.get(id); return n && n.namespace; });
  }
  function h(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function s(tag, attrs, parent) {
    var e = document.createElementNS(SVGNS, tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }
  function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + '…' : text; }

  // Filters.
  function nsSelected(ns) { return state.ns.has(ns || NOSPACE); }
  function findingInNamespaces(f) {
    if (f.namespace) return nsSelected(f.namespace);
    var namespaced = false, hit = false;
    f.nodes.forEach(function (id) {
      var n = nodeById.get(id);
      if (n && n.namespace) { namespaced = true; if (nsSelected(n.namespace)) hit = true; }
    });
    return namespaced ? hit : nsSelected(NOSPACE);
  }
  function findingShown(f) {
    if (f.suppressed && !state.showSuppressed) return false;
    return state.sev.has(f.severity) && findingInNamespaces(f);
  }
  function severityFiltered() { return state.sev.size < SEV.length; }
  function nodeShown(n) {
    if (n.lane === 'destination' || n.lane === 'source') return true;
    if (!nsSelected(n.namespace)) return false;
    if (!severityFiltered()) return true;
    if (n.lane === 'entry') {
      return (outEdges.get(n.id) || []).some(function (e) { var t = nodeById.get(e.to); return t && nodeShown(t); }) ||
        (findingsByNode.get(n.id) || []).some(findingShown);
    }
    return (findingsByNode.get(n.id) || []).some(findingShown);
  }
  function worstSeverity(fs) {
    var best = -1;
    fs.forEach(function (f) { if (!f.suppressed) { var i = SEV.length - SEV.indexOf(f.severity); if (i > best) best = i; } });
    return best < 0 ? '' : SEV[SEV.length - best];
  }

  // Counts and chips.
  function renderCounts() {
    var shown = 0;
    SEV.forEach(function (sev) {
      var c = data.findings.filter(function (f) {
        return f.severity === sev && (!f.suppressed || state.showSuppressed) && findingInNamespaces(f);
      }).length;
      var b = document.querySelector('.count[data-severity="' + sev + '"]');
      b.querySelector('.n').textContent = String(c);
      b.setAttribute('aria-pressed', state.sev.has(sev) ? 'true' : 'false');
      if (state.sev.has(sev)) shown += c;
    });
    document.getElementById('shown-total').textContent = String(shown);
  }
  function renderChips() {
    var box = document.getElementById('ns-chips');
    box.textContent = '';
    var q = document.getElementById('ns-search').value.trim().toLowerCase();
    namespaces.forEach(function (ns) {
      var label = ns === NOSPACE ? 'AWS, no workload' : ns;
      var b = h('button', { type: 'button', 'class': 'chip', 'data-ns': ns, 'aria-pressed': state.ns.has(ns) ? 'true' : 'false' });
      var fs = data.findings.filter(function (f) { return ns === NOSPACE ? (!f.namespace && !nodesNamespaced(f)) : (f.namespace === ns); });
      var worst = worstSeverity(fs);
      b.appendChild(h('span', { 'class': 'dot' + (worst ? ' sev-' + worst : '') }));
      b.appendChild(document.createTextNode(label));
      if (q && label.toLowerCase().indexOf(q) < 0) b.classList.add('hidden');
      b.addEventListener('click', function () {
        if (state.ns.has(ns)) state.ns.delete(ns); else state.ns.add(ns);
        update();
      });
      box.appendChild(b);
    });
  }

  // The graph.
  function layout() {
    var items = [], byNode = new Map();
    var y = L.top;
    var wl = data.nodes.filter(function (n) { return n.lane === 'workload' && nodeShown(n); });
    var groups = new Map();
    wl.forEach(function (n) { push(groups, n.namespace, n); });
    Array.from(groups.keys()).sort().forEach(function (ns) {
      var members = groups.get(ns);
      var collapsed = state.collapsed.has(ns);
      var fs = [], counted = new Set();
      members.forEach(function (n) {
        (findingsByNode.get(n.id) || []).forEach(function (f) {
          if (findingShown(f) && !counted.has(f.index)) { counted.add(f.index); fs.push(f); }
        });
      });
      var head = { kind: 'ns', ns: ns, y: y, members: members, collapsed: collapsed, severity: worstSeverity(fs), findings: fs.length, id: 'ns:' + ns };
      items.push(head);
      y += L.row;
      if (collapsed) {
        members.forEach(function (n) { byNode.set(n.id, head); });
        return;
      }
      members.forEach(function (n) {
        var it = { kind: 'workload', node: n, y: y, id: n.id };
        items.push(it);
        byNode.set(n.id, it);
        y += L.row;
      });
      y += 6;
    });
    var bottom = Math.max(y, L.top + 4 * L.row);
    // Entries, ordered by where their backends are.
    var entries = data.nodes.filter(function (n) { return n.lane === 'entry' && nodeShown(n); }).map(function (n) {
      var ys = (outEdges.get(n.id) || []).map(function (e) { var it = byNode.get(e.to); return it ? it.y : null; }).filter(function (v) { return v !== null; });
      return { kind: 'entry', node: n, want: ys.length ? ys.reduce(function (a, b) { return a + b; }, 0) / ys.length : L.top, id: n.id };
    }).sort(function (a, b) { return a.want - b.want || (a.id < b.id ? -1 : 1); });
    var ey = L.top;
    entries.forEach(function (it) { it.y = Math.max(ey, it.want); ey = it.y + L.row + 8; byNode.set(it.id, it); items.push(it); });
    bottom = Math.max(bottom, ey);
    var sources = data.nodes.filter(function (n) { return n.lane === 'source'; });
    if (entries.length) {
      sources.forEach(function (n) {
        var mid = (entries[0].y + entries[entries.length - 1].y) / 2;
        var it = { kind: 'src', node: n, y: mid, id: n.id };
        byNode.set(n.id, it);
        items.push(it);
      });
    }
    // Destinations in the middle of what is drawn, within the first screen.
    var dests = data.nodes.filter(function (n) { return n.lane === 'destination'; });
    var span = dests.length * (L.destH + L.destGap);
    var dy = Math.max(L.top, Math.min((L.top + bottom) / 2 - span / 2, 420 - span / 2));
    dests.forEach(function (n) {
      var it = { kind: 'dest', node: n, y: dy, id: n.id };
      byNode.set(n.id, it);
      items.push(it);
      dy += L.destH + L.destGap;
    });
    bottom = Math.max(bottom, dy);
    return { items: items, byNode: byNode, height: bottom + 16 };
  }

  function edgeShown(e, sel) {
    if (e.verdict !== 'denied' || state.showDenied) return true;
    return sel && (e.from === sel || e.to === sel);
  }

  function renderGraph() {
    var box = document.getElementById('graph');
    box.textContent = '';
    var lay = layout();
    var svg = s('svg', { width: '100%', viewBox: '0 0 ' + L.width + ' ' + lay.height, preserveAspectRatio: 'xMinYMin meet', 'aria-hidden': 'true' }, box);
    [['source', 'from'], ['entry', 'ingress path'], ['workload', 'workloads by namespace'], ['destination', 'outside the cluster']].forEach(function (t) {
      var txt = s('text', { x: L[t[0]].x, y: 20, 'class': 'lane-title' }, svg);
      txt.textContent = t[1];
    });
    var sel = state.selected && state.selected.type === 'node' ? state.selected.id : null;
    var selItem = sel ? lay.byNode.get(sel) : null;
    // Aggregate the edges between what is drawn: folded namespaces stand
    // for their workloads.
    var agg = new Map();
    data.edges.forEach(function (e) {
      var a = lay.byNode.get(e.from), b = lay.byNode.get(e.to);
      if (!a || !b || a === b) return;
      if (a.kind !== 'dest' && b.kind !== 'dest' && !(a.kind === 'src' || a.kind === 'entry')) return; // in-cluster: in the details
      if (!edgeShown(e, sel)) return;
      var key = a.id + '\u0000' + b.id;
      var g = agg.get(key);
      if (!g) { g = { key: key, a: a, b: b, edges: [], verdict: e.verdict }; agg.set(key, g); }
      g.edges.push(e);
      if (RANK[e.verdict] > RANK[g.verdict]) g.verdict = e.verdict;
    });
    var gEdges = s('g', null, svg);
    var ordered = Array.from(agg.values()).sort(function (p, q) { return RANK[p.verdict] - RANK[q.verdict]; });
    ordered.forEach(function (g) {
      var x1 = right(g.a), y1 = mid(g.a), x2 = left(g.b), y2 = mid(g.b);
      var c = Math.max(40, (x2 - x1) / 2);
      var d = 'M' + x1 + ',' + y1 + ' C' + (x1 + c) + ',' + y1 + ' ' + (x2 - c) + ',' + y2 + ' ' + x2 + ',' + y2;
      var cls = 'edge v-' + g.verdict + (g.a.kind === 'ns' && lay.items.length > 40 ? ' many' : '');
      var related = selItem && (g.a === selItem || g.b === selItem);
      var lit = state.highlight.size && (state.highlight.has(g.a.id) && state.highlight.has(g.b.id));
      if (related || lit) cls += ' hl';
      else if (selItem || state.highlight.size) cls += ' dim';
      if (state.selected && state.selected.type === 'edge' && state.selected.key === g.key) cls += ' hl';
      var p = s('path', { d: d, 'class': cls, 'data-from': g.a.id, 'data-to': g.b.id, 'data-verdict': g.verdict }, gEdges);
      var hit = s('path', { d: d, 'class': 'edge-hit' }, gEdges);
      var t = s('title', null, hit);
      t.textContent = label(g.a) + ' → ' + label(g.b) + ': ' + VERDICT_TEXT[g.verdict] + (g.edges.length > 1 ? ' (' + g.edges.length + ' edges)' : ', ' + (g.edges[0].label || ''));
      hit.addEventListener('click', function () { state.selected = { type: 'edge', key: g.key, group: g }; renderGraph(); renderEdgeDetails(g); });
      void p;
    });
    // In-cluster peers of the selected workload.
    var peers = new Set();
    if (sel) {
      (outEdges.get(sel) || []).concat(inEdges.get(sel) || []).forEach(function (e) {
        var other = e.from === sel ? e.to : e.from;
        var n = nodeById.get(other);
        if (n && n.lane === 'workload') { var it = lay.byNode.get(other); if (it) peers.add(it.id); }
      });
    }
    var gNodes = s('g', null, svg);
    lay.items.forEach(function (it) { drawItem(gNodes, it, sel, peers); });
  }
  function lane(it) { return it.kind === 'ns' || it.kind === 'workload' ? L.workload : it.kind === 'entry' ? L.entry : it.kind === 'src' ? L.source : L.destination; }
  function height(it) { return it.kind === 'dest' ? L.destH : L.nodeH; }
  function right(it) { var l = lane(it); return l.x + l.w; }
  function left(it) { return lane(it).x; }
  function mid(it) { return it.y + height(it) / 2; }
  function label(it) {
    if (it.kind === 'ns') return 'namespace ' + it.ns + (it.collapsed ? ' (' + it.members.length + ' workloads)' : '');
    return it.node.namespace && it.kind === 'workload' ? it.node.namespace + '/' + it.node.label : it.node.label;
  }

  function drawItem(parent, it, sel, peers) {
    var l = lane(it), hgt = height(it);
    var cls = 'node ' + it.kind;
    if (it.node && it.node.ml) cls += ' ml';
    if (sel && it.id === sel) cls += ' selected';
    if (peers.has(it.id) && it.id !== sel) cls += ' peer';
    if (state.highlight.size && !state.highlight.has(it.id) && !(it.kind === 'ns')) cls += ' dim';
    var g = s('g', { 'class': cls, 'data-id': it.id, transform: 'translate(' + l.x + ',' + it.y + ')' }, parent);
    if (it.kind === 'ns') g.setAttribute('data-collapsed', it.collapsed ? 'true' : 'false');
    s('rect', { 'class': 'box', width: l.w, height: hgt, rx: it.kind === 'ns' ? 4 : 6 }, g);
    var sev = it.kind === 'ns' ? it.severity : (it.node.severity || '');
    if (it.kind !== 'ns' && it.node) {
      var fs = (findingsByNode.get(it.id) || []).filter(findingShown);
      sev = worstSeverity(fs);
    }
    if (sev) s('rect', { 'class': 'sevbar sev-' + sev, width: 5, height: hgt, rx: 2 }, g);
    var title = s('title', null, g);
    var main = s('text', { x: 12, y: it.kind === 'dest' ? 18 : 16 }, g);
    var sub = null;
    if (it.kind === 'ns') {
      main.textContent = (it.collapsed ? '▸ ' : '▾ ') + clip(it.ns, 22);
      sub = s('text', { x: l.w - 8, y: 16, 'class': 'sub', 'text-anchor': 'end' }, g);
      sub.textContent = it.members.length + (it.members.length === 1 ? ' workload' : ' workloads') +
        (it.findings ? ' · ' + it.findings + (it.findings === 1 ? ' finding' : ' findings') : '');
      title.textContent = 'namespace ' + it.ns + ': click to ' + (it.collapsed ? 'unfold' : 'fold');
      g.addEventListener('click', function () {
        if (state.collapsed.has(it.ns)) state.collapsed.delete(it.ns); else state.collapsed.add(it.ns);
        renderGraph();
      });
      return;
    }
    var n = it.node;
    if (it.kind === 'workload') {
      main.textContent = clip(n.label, 26);
      sub = s('text', { x: l.w - 8, y: 16, 'class': 'sub', 'text-anchor': 'end' }, g);
      sub.textContent = (n.ml ? 'ML · ' : '') + clip(n.kind, 16);
      title.textContent = n.namespace + '/' + n.label + ' (' + n.kind + ')';
    } else if (it.kind === 'entry') {
      main.textContent = clip(n.label, 30);
      title.textContent = n.kind + ' ' + n.namespace + '/' + n.label.replace(/^\S+ /, '');
    } else {
      main.textContent = clip(n.label, 22);
      if (it.kind === 'dest') {
        sub = s('text', { x: 12, y: 34, 'class': 'sub' }, g);
        sub.textContent = clip((n.detail && n.detail[0]) || '', 31);
      }
      title.textContent = n.label + (n.detail ? ': ' + n.detail.join('; ') : '');
    }
    g.addEventListener('click', function () {
      state.selected = { type: 'node', id: it.id };
      state.highlight = new Set();
      renderGraph();
      renderNodeDetails(n);
    });
  }

  // Details.
  function details() { var d = document.getElementById('details'); d.textContent = ''; return d; }
  function layerList(parent, layers) {
    var t = h('table');
    layers.forEach(function (ly) {
      var tr = h('tr');
      tr.appendChild(h('td', { 'class': 'verdict' }, ly.name + ': ' + ly.verdict));
      var td = h('td');
      var ul = h('ul');
      (ly.detail || []).forEach(function (d) { ul.appendChild(h('li', null, d)); });
      td.appendChild(ul);
      tr.appendChild(td);
      t.appendChild(tr);
    });
    parent.appendChild(t);
  }
  function renderEdgeDetails(g) {
    var d = details();
    d.appendChild(h('h3', null, label(g.a) + ' → ' + label(g.b)));
    d.appendChild(h('p', { 'class': 'verdict' }, VERDICT_TEXT[g.verdict] + (g.edges.length > 1 ? ' (worst of ' + g.edges.length + ' edges)' : '')));
    g.edges.slice(0, 40).forEach(function (e) {
      if (g.edges.length > 1) d.appendChild(h('h4', null, nodeName(e.from) + ' → ' + nodeName(e.to) + ': ' + VERDICT_TEXT[e.verdict]));
      if (e.label) d.appendChild(h('p', null, e.label));
      layerList(d, e.layers);
    });
    if (g.edges.length > 40) d.appendChild(h('p', { 'class': 'hint' }, (g.edges.length - 40) + ' more: unfold the namespace to see them one by one.'));
  }
  function nodeName(id) {
    var n = nodeById.get(id);
    if (!n) return id;
    return n.lane === 'workload' ? n.namespace + '/' + n.label : n.label;
  }
  function renderNodeDetails(n) {
    var d = details();
    d.appendChild(h('h3', null, nodeName(n.id)));
    d.appendChild(h('div', { 'class': 'mono' }, n.kind + (n.ml ? ' · ML workload' : '') + (n.source ? ' · ' + n.source : '')));
    if (n.detail && n.detail.length) {
      d.appendChild(h('h4', null, n.lane === 'entry' ? 'path from the internet' : 'about'));
      var ul = h('ul');
      n.detail.forEach(function (x) { ul.appendChild(h('li', null, x)); });
      d.appendChild(ul);
    }
    var fs = (findingsByNode.get(n.id) || []).filter(findingShown);
    if (fs.length) {
      d.appendChild(h('h4', null, 'findings (' + fs.length + ')'));
      var fl = h('ul');
      fs.forEach(function (f) {
        var li = h('li');
        li.appendChild(h('span', { 'class': 'pill sev-' + f.severity }, f.severity));
        li.appendChild(document.createTextNode(' ' + f.rule + ' ' + f.message));
        fl.appendChild(li);
      });
      d.appendChild(fl);
    }
    var out = (outEdges.get(n.id) || []);
    var dests = out.filter(function (e) { var t = nodeById.get(e.to); return t && t.lane === 'destination'; });
    if (dests.length) {
      d.appendChild(h('h4', null, 'egress outside the cluster'));
      dests.forEach(function (e) {
        d.appendChild(h('p', { 'class': 'verdict' }, nodeName(e.to) + ': ' + VERDICT_TEXT[e.verdict] + (e.label ? ' (' + e.label + ')' : '')));
        layerList(d, e.layers);
      });
    }
    var ins = (inEdges.get(n.id) || []).filter(function (e) { var f = nodeById.get(e.from); return f && f.lane === 'entry'; });
    if (ins.length) {
      d.appendChild(h('h4', null, 'from outside'));
      ins.forEach(function (e) {
        d.appendChild(h('p', { 'class': 'verdict' }, nodeName(e.from) + ': ' + VERDICT_TEXT[e.verdict] + (e.label ? ' (' + e.label + ')' : '')));
        layerList(d, e.layers);
      });
    }
    peerList(d, 'reaches in the cluster', out.filter(function (e) { var t = nodeById.get(e.to); return t && t.lane === 'workload' && e.to !== n.id; }), 'to');
    peerList(d, 'reached from in the cluster', (inEdges.get(n.id) || []).filter(function (e) { var f = nodeById.get(e.from); return f && f.lane === 'workload' && e.from !== n.id; }), 'from');
  }
  function peerList(d, title, edges, end) {
    if (!edges.length) return;
    d.appendChild(h('h4', null, title + ' (' + edges.length + ')'));
    var ul = h('ul');
    edges.slice(0, 50).forEach(function (e) { ul.appendChild(h('li', null, nodeName(e[end]) + ': ' + e.label + (e.verdict === 'unknown' ? ' (security groups not certain)' : ''))); });
    if (edges.length > 50) ul.appendChild(h('li', null, (edges.length - 50) + ' more'));
    d.appendChild(ul);
  }

  // Findings.
  var FINDINGS_PAGE = 200;
  var findingsLimit = FINDINGS_PAGE;
  function renderFindings() {
    var box = document.getElementById('findings');
    box.textContent = '';
    var shown = data.findings.filter(findingShown);
    if (!shown.length) {
      box.appendChild(h('p', { 'class': 'empty' }, data.findings.length ? 'No finding matches the filters.' : 'No findings.'));
      return;
    }
    shown.slice(0, findingsLimit).forEach(function (f) {
      var c = h('article', { id: 'finding-' + f.index, 'class': 'finding sev-' + f.severity + (f.suppressed ? ' suppressed' : ''), 'data-rule': f.rule, 'data-severity': f.severity, 'data-object': objectName(f.object) });
      var head = h('div', { 'class': 'fh' });
      head.appendChild(h('span', { 'class': 'pill sev-' + f.severity }, f.severity));
      head.appendChild(h('span', { 'class': 'rule' }, f.rule));
      head.appendChild(h('span', { 'class': 'title' }, f.title));
      if (f.nodes.length) {
        var b = h('button', { type: 'button', 'class': 'link show' }, 'show in graph');
        b.addEventListener('click', function () { focusNodes(f.nodes); });
        head.appendChild(b);
      }
      c.appendChild(head);
      c.appendChild(h('div', { 'class': 'msg' }, f.message));
      c.appendChild(h('div', { 'class': 'obj mono' }, objectName(f.object) + ' · ' + sourceName(f.source)));
      if (f.path.length) {
        var ol = h('ol');
        f.path.forEach(function (p) { ol.appendChild(h('li', null, p)); });
        c.appendChild(ol);
      }
      var fix = h('div', { 'class': 'fix' });
      fix.appendChild(h('b', null, 'Fix: '));
      fix.appendChild(document.createTextNode(f.remediation));
      c.appendChild(fix);
      if (f.suppressed) c.appendChild(h('div', { 'class': 'sup' }, 'suppressed by ' + f.suppressed.by + ': ' + f.suppressed.reason));
      box.appendChild(c);
    });
    if (shown.length > findingsLimit) {
      var more = h('button', { type: 'button', 'class': 'link' }, 'show ' + (shown.length - findingsLimit) + ' more findings');
      more.addEventListener('click', function () { findingsLimit = Infinity; renderFindings(); });
      box.appendChild(more);
    }
  }
  function objectName(o) { return o.kind + '/' + (o.namespace ? o.namespace + '/' : '') + o.name; }
  function sourceName(src) {
    if (!src) return '';
    if (src.cluster) return 'cluster ' + src.cluster;
    return (src.file || 'unknown') + (src.line ? ':' + src.line : '');
  }

  // Pointing at nodes from the banner and the findings.
  function focusNodes(ids) {
    state.highlight = new Set(ids);
    var first = null;
    ids.forEach(function (id) {
      var n = nodeById.get(id);
      if (!n) return;
      if (n.namespace) { state.ns.add(n.namespace); state.collapsed.delete(n.namespace); }
      if (!first && n.lane === 'workload') first = n;
    });
    // Highlighted edges run between highlighted nodes.
    state.selected = null;
    update();
    if (first) renderNodeDetails(first);
    document.getElementById('graph').scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  function update() {
    renderCounts();
    renderChips();
    renderGraph();
    renderFindings();
  }

  // Wiring.
  document.querySelectorAll('.count').forEach(function (b) {
    b.addEventListener('click', function () {
      var sev = b.getAttribute('data-severity');
      // A click shows that severity alone; a second click shows all again.
      if (state.sev.size === 1 && state.sev.has(sev)) state.sev = new Set(SEV);
      else state.sev = new Set([sev]);
      update();
    });
  });
  document.getElementById('ns-all').addEventListener('click', function () { state.ns = new Set(namespaces); update(); });
  document.getElementById('ns-none').addEventListener('click', function () { state.ns = new Set(); update(); });
  document.getElementById('ns-search').addEventListener('input', renderChips);
  document.getElementById('show-denied').checked = state.showDenied;
  document.getElementById('show-denied').addEventListener('change', function (ev) { state.showDenied = ev.target.checked; renderGraph(); });
  var sup = document.getElementById('show-suppressed');
  if (sup) sup.addEventListener('change', function (ev) { state.showSuppressed = ev.target.checked; update(); });
  // A banner link shows its finding even past the first page.
  document.querySelectorAll('button.to-finding').forEach(function (b) {
    b.addEventListener('click', function (ev) {
      ev.stopPropagation();
      var id = 'finding-' + b.getAttribute('data-finding');
      if (!document.getElementById(id)) { findingsLimit = Infinity; renderFindings(); }
      var el = document.getElementById(id);
      if (el) { el.scrollIntoView(); el.classList.add('focused'); }
    });
  });
  document.querySelectorAll('.headline[data-index]').forEach(function (li) {
    var go = function () { focusNodes(data.headlines[Number(li.getAttribute('data-index'))].nodes); };
    li.addEventListener('click', go);
    li.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') go(); });
  });
  update();
  document.body.setAttribute('data-ready', 'true');
})();
