/* safe-passage map page. Plain JavaScript, no build step; Leaflet is vendored under /static.
 * Every request goes to this service (CSP connect-src 'self'); map tiles only if configured. */
(function () {
  'use strict';

  var G = window.SafePassageGeo;
  var TOKEN_KEY = 'safe-passage.token';
  var CELL_RADIUS_M = 900;

  /* Party fills: Okabe–Ito colours, each with its own texture so control reads without colour. */
  var PARTY_COLOURS = ['#CC79A7', '#009E73', '#E69F00', '#56B4E9', '#D55E00', '#0072B2', '#F0E442'];
  var PARTY_TEXTURES = ['diagonal', 'dots', 'horizontal', 'backslash', 'grid', 'vertical', 'cross'];
  var NO_PARTY_FILL = '#9aa5b1';

  /* Roads: risk of one passage, in classes; colour and width both grow with risk. */
  var RISK_CLASSES = [
    { upTo: 0.001, label: 'under 0.1 %', colour: '#4575b4', weight: 2 },
    { upTo: 0.005, label: '0.1 – 0.5 %', colour: '#74add1', weight: 3 },
    { upTo: 0.01, label: '0.5 – 1 %', colour: '#f4a442', weight: 4 },
    { upTo: 0.02, label: '1 – 2 %', colour: '#d7301f', weight: 5 },
    { upTo: Infinity, label: '2 % or more', colour: '#7f0000', weight: 6 },
  ];
  var BLOCKED = { color: '#1b1f24', weight: 3, dashArray: '7 6', opacity: 0.85 };
  var UNUSABLE = { color: '#7b8794', weight: 2, dashArray: '1 6', opacity: 0.9, lineCap: 'round' };
  var LIMITED_DASH = '12 5';
  /* Roads with no risk estimate (base_risk null): grey dash-dot, whatever is assumed for them. */
  var UNKNOWN = { color: '#8a8f98', weight: 3, dashArray: '10 4 2 4', opacity: 0.95 };
  var STRANDED = { color: '#7a0019', fillColor: '#d6604d' };

  var ROUTE_STYLES = {
    safest: { color: '#0b3d91', dashArray: null },
    alternative: [
      { color: '#6a3d9a', dashArray: '14 7' },
      { color: '#1b7837', dashArray: '3 7' },
      { color: '#8c510a', dashArray: '16 5 3 5' },
      { color: '#01665e', dashArray: '1 6' },
    ],
    pair: [
      { color: '#c51b7d', dashArray: '18 6' },
      { color: '#e08214', dashArray: '6 6' },
    ],
  };
  var MOVEMENT = { color: '#00585c' };
  /* Fleet plans: each pickup → safe zone drive, width by people carried; the queue at each
   * checkpoint a circle (area: the longest wait) with the wait written next to it. */
  var FLEET_TRIP = { color: '#5b2a86' };
  var QUEUE = { color: '#7a3e00', fillColor: '#f1a340' };
  var BOTTLENECK = { color: '#b3006b', weight: 12, opacity: 0.45 };

  var state = {
    token: null,
    config: null,
    scenarioId: null,
    doc: null,
    geo: null,
    nodes: {},
    parties: {},
    partyIndex: {},
    roads: {},
    from: '',
    to: '',
    readOnly: false,
    routes: null,
    selected: 0,
    plan: null,
    seq: 0,
    role: null,
    name: null,
    version: null,
    etag: null,
    scenarios: [],
    versions: [],
    target: null,
    pending: [],
    compare: null,
  };

  var $ = function (id) { return document.getElementById(id); };

  /* ---------- small DOM helpers (text only: data never becomes markup) ---------- */

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') node.textContent = v;
        else if (k === 'className') node.className = v;
        else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? '' : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) child.forEach(function (c) { append(node, c); });
    else node.appendChild(typeof child === 'string' || typeof child === 'number'
      ? document.createTextNode(String(child)) : child);
  }

  function svgEl(tag, attrs) {
    var node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function lineSwatch(style) {
    var svg = svgEl('svg', { width: 40, height: 14, class: 'swatch', 'aria-hidden': 'true' });
    if (style.casing) {
      svg.appendChild(svgEl('line', { x1: 2, y1: 7, x2: 38, y2: 7, stroke: '#fff', 'stroke-width': (style.weight || 3) + 3 }));
    }
    svg.appendChild(svgEl('line', {
      x1: 2, y1: 7, x2: 38, y2: 7, stroke: style.color, 'stroke-width': style.weight || 3,
      'stroke-dasharray': style.dashArray || null, 'stroke-linecap': style.lineCap || 'butt',
      'stroke-opacity': style.opacity || 1,
    }));
    return svg;
  }

  function fillSwatch(fill) {
    var svg = svgEl('svg', { width: 24, height: 16, class: 'swatch', 'aria-hidden': 'true' });
    svg.appendChild(svgEl('rect', { x: 1, y: 1, width: 22, height: 14, fill: fill, stroke: '#555', 'stroke-width': 1 }));
    return svg;
  }

  /* ---------- names ---------- */

  function nodeName(id) {
    var n = state.nodes[id];
    return n && n.name ? n.name : id;
  }

  function partyName(id) {
    if (!id) return 'none';
    var p = state.parties[id];
    return p && p.name ? p.name : id;
  }

  function partyList(ids) {
    if (!ids || !ids.length) return 'none';
    return ids.map(function (id) {
      var p = state.parties[id];
      return partyName(id) + (p && p.consent ? ' (consent ' + p.consent + ')' : '');
    }).join('; ');
  }

  /* ---------- token (SPEC §4: from #token=…, else asked for; kept in sessionStorage) ---------- */

  function takeTokenFromAddress() {
    var hash = window.location.hash.replace(/^#/, '');
    if (!hash) return;
    var params = new URLSearchParams(hash);
    var token = params.get('token');
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
      params.delete('token');
      var rest = params.toString();
      // The token must not stay in the address bar, the history or a bookmark.
      history.replaceState(null, '', window.location.pathname + window.location.search + (rest ? '#' + rest : ''));
    }
  }

  function askForToken(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    $('token-message').textContent = message;
    $('token-panel').hidden = false;
    $('forget-token').hidden = true;
    $('who').textContent = '';
    $('token-input').value = '';
    $('token-input').focus();
  }

  /* ---------- API ---------- */

  function api(method, path, body, extraHeaders) {
    var headers = Object.assign({ Accept: 'application/json' }, extraHeaders || {});
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    }).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
        if (res.status === 401) {
          askForToken('The service did not accept the token (' + ((data && data.detail) || 'unauthorized') + '). Enter another.');
        }
        return { ok: res.ok, status: res.status, data: data, etag: res.headers.get('ETag') };
      });
    }, function () {
      return { ok: false, status: 0, data: { title: 'No answer', detail: 'The service did not answer. Is it running?' } };
    });
  }

  function scenarioPath(suffix) {
    return '/v1/scenarios/' + encodeURIComponent(state.scenarioId) + suffix;
  }

  /* ---------- status, problems ---------- */

  function say(text) { $('status').textContent = text; }

  function showProblem(heading, res, extra) {
    var box = $('problem');
    clear(box);
    var d = res.data || {};
    box.appendChild(el('h3', { text: heading }));
    if (d.detail || d.title) box.appendChild(el('p', { text: d.detail || d.title }));
    if (Array.isArray(d.errors) && d.errors.length) {
      box.appendChild(el('ul', null, d.errors.map(function (e) {
        return el('li', null, el('code', { text: e.pointer || '/' }), ' ', e.detail);
      })));
    }
    if (extra) append(box, extra);
    box.hidden = false;
  }

  function hideProblem() { $('problem').hidden = true; clear($('problem')); }

  function setReadOnly(res) {
    state.readOnly = true;
    $('find-routes').disabled = true;
    $('make-plan').disabled = true;
    document.body.classList.add('read-only');
    var note = $('readonly-note');
    note.textContent = 'Read only: this token may look but not compute or change the scenario (' +
      ((res.data && res.data.detail) || 'forbidden') + '). Routes, plans, edits and comparisons need a planner token.';
    note.hidden = false;
    if (!state.name) $('who').textContent = 'Read-only token';
  }

  /* ---------- the map ---------- */

  var map = L.map('map', { zoomSnap: 0.25, preferCanvas: false, attributionControl: true });
  map.attributionControl.setPrefix('<a href="/static/vendor/leaflet/LICENSE">Leaflet</a>');
  map.attributionControl.addAttribution('Data: see credits below the map');
  map.createPane('cells').style.zIndex = 350;
  map.createPane('routes').style.zIndex = 450;
  map.createPane('pins').style.zIndex = 640;
  map.setView([36.2, 37.15], 12);
  L.control.scale({ imperial: false }).addTo(map);
  // The map's box changes when the legend opens or the window is resized; Leaflet must know.
  if (window.ResizeObserver) new ResizeObserver(function () { map.invalidateSize(); }).observe($('map'));

  var layers = {
    cells: L.layerGroup().addTo(map),
    roads: L.layerGroup().addTo(map),
    incidents: L.layerGroup().addTo(map),
    plan: L.layerGroup().addTo(map),
    cut: L.layerGroup().addTo(map),
    routes: L.layerGroup().addTo(map),
    checkpoints: L.layerGroup().addTo(map),
    nodes: L.layerGroup().addTo(map),
    pins: L.layerGroup().addTo(map),
    compare: L.layerGroup().addTo(map),
    target: L.layerGroup().addTo(map),
  };
  var nodeMarkers = {};

  function partyFill(partyId) {
    if (!partyId || state.partyIndex[partyId] === undefined) return NO_PARTY_FILL;
    return 'url(#party-' + state.partyIndex[partyId] + ')';
  }

  function partyColour(partyId) {
    if (!partyId || state.partyIndex[partyId] === undefined) return NO_PARTY_FILL;
    return PARTY_COLOURS[state.partyIndex[partyId] % PARTY_COLOURS.length];
  }

  /* One SVG pattern per party: a pale tint plus a texture in the party's colour. */
  function buildPatterns() {
    var defs = document.querySelector('#patterns defs');
    clear(defs);
    Object.keys(state.partyIndex).forEach(function (pid) {
      var i = state.partyIndex[pid];
      var colour = PARTY_COLOURS[i % PARTY_COLOURS.length];
      var texture = PARTY_TEXTURES[i % PARTY_TEXTURES.length];
      var p = svgEl('pattern', { id: 'party-' + i, width: 8, height: 8, patternUnits: 'userSpaceOnUse' });
      p.appendChild(svgEl('rect', { width: 8, height: 8, fill: colour, 'fill-opacity': 0.22 }));
      var ink = { stroke: colour, 'stroke-width': 1.6, 'stroke-opacity': 0.9 };
      var shapes = {
        diagonal: [['line', { x1: 0, y1: 8, x2: 8, y2: 0 }]],
        backslash: [['line', { x1: 0, y1: 0, x2: 8, y2: 8 }]],
        horizontal: [['line', { x1: 0, y1: 4, x2: 8, y2: 4 }]],
        vertical: [['line', { x1: 4, y1: 0, x2: 4, y2: 8 }]],
        grid: [['line', { x1: 0, y1: 4, x2: 8, y2: 4 }], ['line', { x1: 4, y1: 0, x2: 4, y2: 8 }]],
        cross: [['line', { x1: 0, y1: 8, x2: 8, y2: 0 }], ['line', { x1: 0, y1: 0, x2: 8, y2: 8 }]],
        dots: [['circle', { cx: 4, cy: 4, r: 1.7, fill: colour, 'fill-opacity': 0.95, stroke: 'none' }]],
      }[texture];
      shapes.forEach(function (s) { p.appendChild(svgEl(s[0], Object.assign({}, ink, s[1]))); });
      defs.appendChild(p);
    });
  }

  function riskClass(risk) {
    for (var i = 0; i < RISK_CLASSES.length; i++) if (risk < RISK_CLASSES[i].upTo) return RISK_CLASSES[i];
    return RISK_CLASSES[RISK_CLASSES.length - 1];
  }

  function roadStyle(p) {
    if (p.status === 'blocked') return Object.assign({}, BLOCKED);
    if (!p.usable) return Object.assign({}, UNUSABLE);
    if (p.base_risk === null) return Object.assign({}, UNKNOWN);
    var c = riskClass(p.risk || 0);
    return {
      color: c.colour, weight: c.weight, opacity: 0.95,
      dashArray: p.status === 'restricted' || p.status === 'damaged' ? LIMITED_DASH : null,
    };
  }

  function latLngs(coords) { return coords.map(function (c) { return [c[1], c[0]]; }); }

  function tooltipLines(lines) {
    return el('div', null, lines.filter(Boolean).map(function (l, i) {
      return i === 0 ? el('b', { text: l }) : el('div', { text: l });
    }));
  }

  function drawScenario() {
    Object.keys(layers).forEach(function (k) { if (k !== 'routes' && k !== 'plan' && k !== 'compare') layers[k].clearLayers(); });
    nodeMarkers = {};
    state.roads = {};
    var features = (state.geo && state.geo.features) || [];
    var located = [];
    var districts = [];
    features.forEach(function (f) {
      var p = f.properties || {};
      if (p.layer === 'node') {
        located.push(f);
        if (p.kind === 'district') districts.push(f);
      }
    });

    // District areas: nearest-centroid cells, shaded by controlling party.
    var sites = located.map(function (f) {
      return { lat: f.geometry.coordinates[1], lon: f.geometry.coordinates[0] };
    });
    var cells = G.districtCells(sites, CELL_RADIUS_M);
    located.forEach(function (f, i) {
      var p = f.properties;
      if (p.kind !== 'district' || cells[i].length < 3) return;
      var cell = L.polygon(cells[i], {
        pane: 'cells', color: partyColour(p.controlled_by), weight: 1, opacity: 0.7,
        fillColor: partyFill(p.controlled_by), fillOpacity: 1,
      });
      cell.bindTooltip(nodeTooltip(p), { sticky: true });
      cell.on('click', function () { pick(p.id); });
      cell.addTo(layers.cells);
    });

    features.forEach(function (f) {
      var p = f.properties || {};
      if (p.layer !== 'road' || !f.geometry) return;
      state.roads[p.id] = f;
      var unknown = p.base_risk === null;
      var line = L.polyline(latLngs(f.geometry.coordinates), Object.assign({
        className: 'road road-' + p.status + (unknown ? ' road-unknown' : ''),
      }, roadStyle(p)));
      line.bindTooltip(tooltipLines([
        p.name || p.id,
        'Status: ' + p.status + (p.usable ? '' : ' — not usable for this profile'),
        unknown ? 'No risk estimate: ' + G.percent(p.risk) + ' of one passage assumed'
          : 'Risk of one passage: ' + G.percent(p.risk) + (p.base_risk !== undefined && p.base_risk !== p.risk ? ' (base ' + G.percent(p.base_risk) + ')' : ''),
        p.harm !== undefined ? 'Of which harm on the way: ' + G.percent(p.harm) + '; detention at its checkpoint: ' + G.percent(p.detention) : null,
        'Travel time: ' + G.duration(p.travel_time_min),
        'Controlled by: ' + partyName(p.controlled_by),
        p.checkpoint ? 'Checkpoint: ' + partyName(p.checkpoint) : null,
        p.capacity_per_min ? 'Capacity: ' + p.capacity_per_min + ' people/min' : null,
      ]), { sticky: true });
      line.on('click', function () { editRoad(p.id); });
      line.addTo(layers.roads);
      var path = line.getElement();
      if (path) path.setAttribute('data-road', p.id);
      if (p.checkpoint) {
        var mid = midpoint(f.geometry.coordinates);
        L.marker([mid[1], mid[0]], {
          icon: L.divIcon({ className: 'checkpoint-icon', html: 'CP', iconSize: [20, 14] }),
          title: 'Checkpoint of ' + partyName(p.checkpoint) + ' on ' + (p.name || p.id),
          keyboard: false,
        }).on('click', function () { editRoad(p.id); }).addTo(layers.checkpoints);
      }
    });

    features.forEach(function (f) {
      var p = f.properties || {};
      if (p.layer !== 'incident' || !f.geometry) return;
      var at = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
      var info = [
        'Incident: ' + (p.kind || 'unspecified'),
        'Seen ' + G.age(p.age_h) + (p.observed_at ? ' (' + p.observed_at + ')' : ''),
        'Radius ' + G.distance(p.radius_m) + ', severity ' + G.percent(p.severity, 0) +
          ', confidence ' + G.percent(p.confidence, 0),
        p.source ? 'Source: ' + p.source : null,
        p.road ? 'On road ' + p.road + ' (drawn at its middle)' : null,
        p.label ? 'As a route step shows it: ' + p.label : null,
      ];
      if (p.radius_m) {
        L.circle(at, { radius: p.radius_m, color: '#7a4a00', weight: 1.5, dashArray: '4 4', fillColor: '#ffd166', fillOpacity: 0.18 })
          .bindTooltip(tooltipLines(info), { sticky: true }).addTo(layers.incidents);
      }
      var label = el('span', { text: '⚠ ' + (p.kind || 'incident') + ' · ' + G.age(p.age_h).replace(' (after the time shown)', '') });
      L.marker(at, {
        icon: L.divIcon({ className: 'incident-icon', html: label, iconSize: null, iconAnchor: [8, 8] }),
        title: info.filter(Boolean).join('. '),
        keyboard: false,
      }).bindTooltip(tooltipLines(info)).addTo(layers.incidents);
    });

    located.forEach(function (f) {
      var p = f.properties;
      var populated = (p.population || 0) > 0;
      var notable = populated || p.kind !== 'district';
      var size = p.kind === 'district' ? (populated ? 12 : 8) : 16;
      var letters = { safe_zone: 'SZ', crossing: 'X', assembly: 'A', junction: '' }[p.kind];
      var html = letters ? el('span', { text: letters }) : '';
      var marker = L.marker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {
        icon: L.divIcon({
          className: 'node-icon kind-' + p.kind + (populated ? ' populated' : ''),
          html: html,
          iconSize: [size, size],
        }),
        title: nodeTitle(p),
        alt: nodeTitle(p),
        keyboard: notable,
        riseOnHover: true,
      });
      marker.on('click', function () { pick(p.id); });
      // Leaflet gives focusable markers role=button but no key action: Enter or Space choose.
      marker.on('keydown', function (e) {
        var key = e.originalEvent.key;
        if (key === 'Enter' || key === ' ') {
          e.originalEvent.preventDefault();
          pick(p.id);
        }
      });
      marker.addTo(layers.nodes);
      var icon = marker.getElement();
      if (icon) {
        icon.setAttribute('data-node', p.id);
        icon.setAttribute('aria-label', 'Choose ' + nodeTitle(p));
      }
      if (notable) {
        marker.bindTooltip(p.name || p.id, { permanent: true, direction: 'right', offset: [6, 0], className: 'place-label' });
      }
      nodeMarkers[p.id] = marker;
    });

    var note = $('map-note');
    if (!located.length) {
      note.textContent = 'This scenario has no coordinates, so there is nothing to draw: choose places from the lists; results appear on the right.';
    } else {
      note.textContent = 'District areas are drawn as nearest-centroid cells (the scenario holds points, not boundaries). ' +
        'Roads: risk for profile "' + (state.geo.properties && state.geo.properties.profile) + '" at ' +
        ((state.geo.properties && state.geo.properties.at) || 'the scenario time') + '.';
    }
    drawPins();
    drawLegend();
    highlightTarget();
  }

  function fitToScenario() {
    var pts = [];
    ((state.geo && state.geo.features) || []).forEach(function (f) {
      if (f.properties && f.properties.layer === 'node') pts.push([f.geometry.coordinates[1], f.geometry.coordinates[0]]);
    });
    map.invalidateSize();
    if (pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.02), { animate: false });
  }

  function midpoint(coords) {
    if (coords.length === 2) return [(coords[0][0] + coords[1][0]) / 2, (coords[0][1] + coords[1][1]) / 2];
    return coords[Math.floor(coords.length / 2)];
  }

  function nodeTitle(p) {
    var kind = { district: 'district', junction: 'junction', crossing: 'crossing', assembly: 'assembly point', safe_zone: 'safe zone' }[p.kind] || p.kind;
    return (p.name || p.id) + ' (' + kind + ')';
  }

  function nodeTooltip(p) {
    return tooltipLines([
      nodeTitle(p),
      'Controlled by: ' + partyName(p.controlled_by),
      p.population ? 'People: ' + G.count(p.population) : null,
      p.capacity !== null && p.capacity !== undefined ? 'Capacity: ' + G.count(p.capacity) : null,
      'Click to choose as ' + (state.from && !state.to ? 'To' : 'From'),
    ]);
  }

  function drawPins() {
    layers.pins.clearLayers();
    Object.keys(nodeMarkers).forEach(function (id) {
      var icon = nodeMarkers[id].getElement();
      if (icon) icon.classList.toggle('chosen', id === state.from || id === state.to);
    });
    [['from', 'From'], ['to', 'To']].forEach(function (pair) {
      var id = state[pair[0]];
      var m = nodeMarkers[id];
      if (!m) return;
      L.marker(m.getLatLng(), {
        pane: 'pins', interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'pin', html: pair[1], iconSize: [40, 20], iconAnchor: [20, 30] }),
      }).addTo(layers.pins);
    });
  }

  /* ---------- legend (a map control; every entry has a text label) ---------- */

  function drawLegend() {
    var box = $('legend-body');
    clear(box);
    var parties = Object.keys(state.partyIndex);
    box.appendChild(el('div', null, el('h3', { text: 'District areas: controlled by' }), el('ul', null,
      parties.map(function (pid) {
        var p = state.parties[pid] || {};
        return el('li', null, fillSwatch(partyFill(pid)), partyName(pid));
      }),
      el('li', null, fillSwatch(NO_PARTY_FILL), 'no party / contested'))));
    box.appendChild(el('div', null, el('h3', { text: 'Places' }), el('ul', null,
      el('li', null, el('span', { className: 'node-icon kind-district sample', style: 'width:8px;height:8px' }), 'district'),
      el('li', null, el('span', { className: 'node-icon kind-district populated sample', style: 'width:12px;height:12px' }), 'district, people to evacuate'),
      el('li', null, el('span', { className: 'node-icon kind-safe_zone sample', style: 'width:18px;height:16px' }, el('span', { text: 'SZ' })), 'safe zone'),
      el('li', null, el('span', { className: 'node-icon kind-crossing sample', style: 'width:13px;height:13px;margin:2px' }, el('span', { text: 'X' })), 'crossing'),
      el('li', null, el('span', { className: 'checkpoint-icon sample', style: 'width:20px', text: 'CP' }), 'checkpoint on a road'),
      el('li', null, el('span', { className: 'incident-icon sample', text: '⚠ 5 h ago' }), 'incident, its age'),
      // Fleet plans (kept in this shorter column: the legend's height is the map's loss).
      el('li', null, lineSwatch({ color: FLEET_TRIP.color, weight: 4 }), 'fleet trips (width: people)'),
      el('li', null, el('span', { className: 'queue-icon sample', text: 'wait ≤ 45 min' }), 'checkpoint queue (longest wait)'))));
    box.appendChild(el('div', null, el('h3', { text: 'Roads: risk per passage (wider = riskier)' }), el('ul', null,
      RISK_CLASSES.map(function (c) {
        return el('li', null, lineSwatch({ color: c.colour, weight: c.weight }), c.label);
      }),
      el('li', null, lineSwatch({ color: '#555', weight: 3, dashArray: LIMITED_DASH }), 'restricted / damaged: long dashes'),
      el('li', null, lineSwatch(UNKNOWN), 'no risk estimate (a risk is assumed): grey dash-dot'),
      el('li', null, lineSwatch(UNUSABLE), 'unusable for profile: dots'),
      el('li', null, lineSwatch(BLOCKED), 'blocked: dark dashes'))));
    box.appendChild(el('div', null, el('h3', { text: 'Results' }), el('ul', null,
      el('li', null, lineSwatch(Object.assign({ weight: 5, casing: true }, ROUTE_STYLES.safest)), 'safest route (1)'),
      el('li', null, lineSwatch(Object.assign({ weight: 4, casing: true }, ROUTE_STYLES.alternative[0])), 'alternatives (2, 3 …)'),
      el('li', null, lineSwatch(Object.assign({ weight: 4, casing: true }, ROUTE_STYLES.pair[0])), 'disjoint pair (A, B)'),
      el('li', null, lineSwatch({ color: MOVEMENT.color, weight: 4 }), 'plan movement (width: people)'),
      el('li', null, lineSwatch(BOTTLENECK), 'bottleneck (road at capacity)'),
      el('li', null, el('span', { className: 'stranded-icon sample', text: '1,000' }), 'people left behind by the plan (circle area: people)'),
      el('li', null, lineSwatch(Object.assign({ weight: 4, casing: true }, COMPARE_STYLES.a)), 'comparison: variant A'),
      el('li', null, lineSwatch(Object.assign({ weight: 4, casing: true }, COMPARE_STYLES.b)), 'comparison: variant B'),
      el('li', null, lineSwatch({ color: TARGET.color, weight: 8, opacity: TARGET.opacity }), 'road or place being changed'))));
  }

  /* ---------- choosing places ---------- */

  function pick(id) {
    if ($('place-mode').checked && !state.readOnly) { editPlace(id); return; }
    if (!state.from || state.to) {
      state.from = id;
      state.to = '';
      clearResults();
      syncSelects();
      drawPins();
      say('From: ' + nodeName(id) + '. Now choose To (click another place or use the list).');
      return;
    }
    if (id === state.from) {
      say('That is already From; choose another place as To.');
      return;
    }
    state.to = id;
    syncSelects();
    drawPins();
    findRoutes();
  }

  function syncSelects() {
    $('from').value = state.from;
    $('to').value = state.to;
  }

  function fillNodeSelects() {
    var groups = [
      ['Populated places', function (n) { return (n.population || 0) > 0; }],
      ['Safe zones', function (n) { return n.kind === 'safe_zone'; }],
      ['Crossings and assembly points', function (n) { return n.kind === 'crossing' || n.kind === 'assembly'; }],
      ['Other places', function () { return true; }],
    ];
    var all = Object.keys(state.nodes).map(function (id) { return state.nodes[id]; });
    all.sort(function (a, b) { return (a.name || a.id).localeCompare(b.name || b.id); });
    ['from', 'to'].forEach(function (which) {
      var select = $(which);
      clear(select);
      select.appendChild(el('option', { value: '', text: '— choose a place —' }));
      var used = {};
      groups.forEach(function (g) {
        var members = all.filter(function (n) { return !used[n.id] && g[1](n); });
        if (!members.length) return;
        var og = el('optgroup', { label: g[0] });
        members.forEach(function (n) {
          used[n.id] = true;
          var extra = n.population ? ' — ' + G.count(n.population) + ' people' : '';
          og.appendChild(el('option', { value: n.id, text: (n.name || n.id) + extra }));
        });
        select.appendChild(og);
      });
    });
    syncSelects();
  }

  /* ---------- routes ---------- */

  /** What the page assumes for roads with no risk estimate: undefined (the scenario's default),
   * 'highest', or the probability typed (in %). */
  function unknownRisk() {
    var mode = $('unknown-mode').value;
    if (mode === 'highest') return 'highest';
    if (mode !== 'value') return undefined;
    var text = $('unknown-value').value.trim();
    // Sent as typed (over 100) so that the service points at what is wrong.
    return text === '' ? undefined : tidy(Number(text) / 100);
  }

  /** Who travels, which parties' roads may be used, what to assume: asked of routes and plans alike. */
  function travelOptions() {
    var body = {};
    var profile = $('profile').value;
    if (profile) body.profile = profile;
    var avoid = Array.prototype.map.call(document.querySelectorAll('#avoid-parties input:checked'), function (c) { return c.value; });
    if (avoid.length) body.avoid_parties = avoid;
    if ($('consenting-only').checked) body.consenting_only = true;
    var unknown = unknownRisk();
    if (unknown !== undefined) body.unknown_risk = unknown;
    return body;
  }

  function routeOptions() {
    var body = travelOptions();
    var objective = $('objective').value;
    if (objective && objective !== 'survival') body.objective = objective;
    var maxRisk = $('max-risk').value.trim();
    if (maxRisk !== '') body.max_risk = Number(maxRisk) / 100;
    var at = $('at').value.trim();
    if (at) body.at = at;
    return body;
  }

  function findRoutes() {
    hideProblem();
    if (!state.from || !state.to) { say('Choose both From and To first.'); return; }
    if (state.from === state.to) { say('From and To are the same place; choose another To.'); return; }
    if (state.readOnly) {
      say('From ' + nodeName(state.from) + ' to ' + nodeName(state.to) + ' chosen; computing needs a planner token.');
      return;
    }
    var seq = ++state.seq;
    var options = routeOptions();
    var base = Object.assign({ from: state.from, to: state.to }, options);
    var choice = $('alternatives').value;
    var pareto = choice === 'pareto';
    var k = pareto ? 1 : Number(choice);
    var first = pareto ? { pareto: true } : k > 1 ? { alternatives: k } : {};
    var asks = [api('POST', scenarioPath('/routes'), Object.assign({}, base, first))];
    var wantPair = $('disjoint').checked;
    if (wantPair) asks.push(api('POST', scenarioPath('/routes'), Object.assign({}, base, { disjoint: true })));
    say('Computing routes from ' + nodeName(state.from) + ' to ' + nodeName(state.to) + ' …');
    $('find-routes').disabled = true;
    return Promise.all(asks).then(function (answers) {
      if (seq !== state.seq) return;
      $('find-routes').disabled = state.readOnly;
      var main = answers[0];
      if (main.status === 403) { setReadOnly(main); say('This token cannot compute routes.'); clearResults(); return; }
      if (!main.ok) { clearResults(); explainNoRoute(main); return; }
      var found = main.data.routes || [];
      var items = found.map(function (r, i) {
        var label = i === 0 ? 'Safest route' : pareto ? 'Trade-off ' + (i + 1) + ' (faster, less safe)' : 'Alternative ' + (i + 1);
        return { route: r, kind: i === 0 ? 'safest' : pareto ? 'tradeoff' : 'alternative', label: label, mark: String(i + 1),
          style: i === 0 ? ROUTE_STYLES.safest : ROUTE_STYLES.alternative[(i - 1) % ROUTE_STYLES.alternative.length] };
      });
      var notes = [];
      if (pareto && main.data.pareto === undefined && found.length === 1) {
        notes.push('Trade-offs: the service answered with the safest route only (it may not compute the Pareto front yet).');
      } else if (pareto) {
        notes.push('Trade-offs: each route is faster than the ones above it and less safe; no route is both safer and faster than one shown.' +
          (main.data.front_complete === false ? ' The search stopped early: faster trade-offs may exist.' : ''));
      }
      if (!pareto && k > 1 && found.length < k) {
        notes.push('Asked for ' + k + ' routes; the service found ' + found.length + ' sufficiently different one' +
          (found.length === 1 ? '' : 's') + '.');
      }
      var shared = [];
      var joint = null;
      var jointRange = null;
      if (wantPair) {
        var pair = answers[1];
        var pd = pair.data || {};
        if (pair.ok && (pd.routes || []).length >= 2) {
          pd.routes.slice(0, 2).forEach(function (r, i) {
            items.push({ route: r, kind: 'pair', label: 'Disjoint pair, corridor ' + 'AB'[i], mark: 'AB'[i], style: ROUTE_STYLES.pair[i] });
          });
          joint = typeof pd.joint_survival_probability === 'number' ? pd.joint_survival_probability
            : pd.routes[0].survival_probability * pd.routes[1].survival_probability;
          var r0 = pd.routes[0].survival_range;
          var r1 = pd.routes[1].survival_range;
          // Both ends at once: each end is the corridors' survival under the same assumptions.
          jointRange = r0 && r1 ? [r0[0] * r1[0], r0[1] * r1[1]] : null;
        } else if (pair.ok) {
          notes.push('Disjoint pair: the service answered with one route, not two corridors sharing no road (it may not compute pairs yet).');
        } else if (/no-disjoint-pair$/.test(pd.type || '')) {
          shared = pd.shared_roads || [];
          notes.push('No disjoint pair: every route uses ' + (shared.length === 1 ? 'the road ' : 'these roads: ') +
            shared.map(function (r) { return roadLabel(r.edge); }).join('; ') + ' (outlined in black on the map).');
        } else if (pair.status === 404 || pair.status === 405) {
          notes.push('Disjoint pair: this service does not offer it.');
        } else {
          notes.push('Disjoint pair: ' + (pd.detail || pd.title || 'not available') + '.');
        }
      }
      state.routes = { items: items, notes: notes, joint: joint, jointRange: jointRange, from: state.from, to: state.to, options: options };
      state.selected = 0;
      layers.cut.clearLayers();
      shared.forEach(function (r) { outlineRoad(r.edge); });
      drawRoutes(true);
      renderRoutes();
      var best = items[0].route;
      say(items[0].label + ' from ' + nodeName(state.from) + ' to ' + nodeName(state.to) + ': ' + survivalText(best) + ', ' + G.duration(best.travel_time_min) + ', parties to agree: ' +
        partyList(best.consents_needed) + '.' + (items.length > 1 ? ' ' + items.length + ' routes in all.' : ''));
    });
  }

  function outlineRoad(id) {
    var f = state.roads[id];
    if (!f) return;
    L.polyline(latLngs(f.geometry.coordinates), { color: '#000', weight: 11, opacity: 0.45, interactive: false }).addTo(layers.cut);
  }

  function explainNoRoute(res) {
    var d = res.data || {};
    var type = d.type || '';
    var extra = [];
    layers.cut.clearLayers();
    if (/no-route$/.test(type) && d.cut) {
      var roads = d.cut.roads || [];
      // The origin or destination itself held by a party left out: said first, in its words.
      (d.cut.places || []).forEach(function (p) {
        extra.push(el('p', { text: (p.reasons || []).join('; ') + '.' }));
      });
      if (d.cut.disconnected) extra.push(el('p', { text: 'No road joins them at all, even with every closure lifted.' }));
      if (roads.length) {
        extra.push(el('p', { text: 'Closed roads that separate them (every route would pass one):' }));
        extra.push(el('ul', null, roads.map(function (r) {
          return el('li', null, roadLabel(r.edge) + ': ' + (r.reasons || []).join(', '));
        })));
      }
      var open = d.cut.open_to_connect || [];
      if (open.length) {
        extra.push(el('p', { text: 'Opening these would give a route: ' + open.map(function (r) { return roadLabel(r.edge); }).join('; ') + '.' }));
      }
      roads.concat(open).forEach(function (r) { outlineRoad(r.edge); });
      say('No route from ' + nodeName(state.from) + ' to ' + nodeName(state.to) + '.');
      showProblem('No route', res, extra);
    } else if (/risk-limit$/.test(type)) {
      say('No route within the risk limit.');
      showProblem('No route within ' + G.percent(d.max_risk) + ' risk', res,
        el('p', { text: 'The safest possible route has risk ' + G.percent(d.best_risk) + '.' }));
    } else {
      say('The service could not compute routes.');
      showProblem(d.title || ('Error ' + res.status), res);
    }
  }

  function roadLabel(id) {
    var f = state.roads[id];
    return f && f.properties.name ? f.properties.name + ' (' + id + ')' : id;
  }

  function routeCoords(route) {
    if (route.geometry && route.geometry.coordinates) return route.geometry.coordinates;
    return (route.nodes || []).map(function (id) {
      var n = state.nodes[id];
      return n && n.lat !== undefined && n.lat !== null ? [n.lon, n.lat] : null;
    }).filter(Boolean);
  }

  function drawRoutes(fit) {
    layers.routes.clearLayers();
    if (!state.routes) return;
    // The selected route last, so that it is drawn on top of the others.
    var order = state.routes.items.map(function (item, i) { return i; }).filter(function (i) { return i !== state.selected; });
    order.push(state.selected);
    order.forEach(function (i) {
      var item = state.routes.items[i];
      var coords = routeCoords(item.route);
      if (coords.length < 2) return;
      var selected = i === state.selected;
      var path = latLngs(coords);
      var weight = selected ? 7 : 5;
      L.polyline(path, { pane: 'routes', color: '#fff', weight: weight + 4, opacity: selected ? 1 : 0.7, interactive: false }).addTo(layers.routes);
      var line = L.polyline(path, {
        pane: 'routes', color: item.style.color, weight: weight, opacity: selected ? 1 : 0.75,
        dashArray: item.style.dashArray, lineCap: 'butt',
      });
      line.bindTooltip(item.label + ': ' + survivalText(item.route) + ', ' + G.duration(item.route.travel_time_min), { sticky: true });
      line.on('click', function () { selectRoute(i); });
      line.addTo(layers.routes);
      // Labels spread along their lines so routes sharing roads keep apart.
      var at = pointAlong(path, (i + 1) / (state.routes.items.length + 1));
      L.marker(at, {
        pane: 'pins', interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'pin', html: el('span', { text: item.mark }), iconSize: [20, 20] }),
      }).addTo(layers.routes);
    });
    if (state.routes.items.length) {
      var all = [];
      state.routes.items.forEach(function (item) { all = all.concat(latLngs(routeCoords(item.route))); });
      if (all.length >= 2 && fit) map.fitBounds(L.latLngBounds(all).pad(0.25), { maxZoom: 16, animate: false });
    }
  }

  /** The point a fraction t (0..1) of the way along a [[lat, lon], ...] line. */
  function pointAlong(path, t) {
    var lengths = [];
    var total = 0;
    for (var k = 1; k < path.length; k++) {
      var d = Math.hypot(path[k][0] - path[k - 1][0], path[k][1] - path[k - 1][1]);
      lengths.push(d);
      total += d;
    }
    var goal = total * t;
    for (var j = 0; j < lengths.length; j++) {
      if (goal <= lengths[j] && lengths[j] > 0) {
        var f = goal / lengths[j];
        return [path[j][0] + f * (path[j + 1][0] - path[j][0]), path[j][1] + f * (path[j + 1][1] - path[j][1])];
      }
      goal -= lengths[j];
    }
    return path[path.length - 1];
  }

  function selectRoute(i) {
    state.selected = i;
    drawRoutes();
    renderRoutes();
    var item = state.routes.items[i];
    say('Showing steps of ' + item.label + ': ' + survivalText(item.route) + '.');
  }

  /** "probability of arriving unharmed and free 0.990 (0.971–0.997)": never a bare percentage. */
  function survivalText(route) {
    return 'probability of arriving unharmed and free ' + G.probability(route.survival_probability, route.survival_range);
  }

  var POLICY_GIVEN = { request: 'chosen on this page', scenario: "the scenario's setting", default: "the service's default" };

  /** What was assumed for roads with no estimate, and who said so. */
  function policyText(policy) {
    if (!policy) return '';
    var rule = policy.rule === 'highest' ? 'the highest estimate of any road' : 'set at ' + G.percent(policy.rule);
    return G.percent(policy.assumed) + ' per passage assumed (' + rule + '; ' + (POLICY_GIVEN[policy.given_by] || policy.given_by) + ')';
  }

  /** The part of a route with no risk estimate, in words. */
  function routeUnknownText(u) {
    if (!u) return null;
    if (!u.roads) return 'every road of the route has a risk estimate (' + u.of_roads + ' of ' + u.of_roads + ').';
    return u.roads + ' of ' + u.of_roads + (u.of_roads === 1 ? ' road' : ' roads') + ', ' + G.duration(u.travel_time_min) + ' (' +
      G.percent(u.share_of_time, 0) + ' of the travel time); ' + policyText(u.policy) + '.';
  }

  function assumedValue(a) {
    var unit = a.unit === 'probability' ? '' : a.unit ? '\u00a0' + a.unit : '';
    var show = function (v) {
      if (a.unit === 'probability') return G.probability(v);
      return Math.abs(v) >= 100 ? G.count(Math.round(v)) : String(Number(v.toPrecision(4)));
    };
    if (a.value !== null && a.value !== undefined) return show(a.value) + unit;
    if (Array.isArray(a.range)) return show(a.range[0]) + '\u2013' + show(a.range[1]) + unit;
    return '—';
  }

  /** The assumed or estimated figures an answer rests on, each with its source (a list: it
   * reads in a narrow column; the sources are sentences). */
  function assumptionsList(list, id, caption) {
    list = list || [];
    return el('section', { className: 'assumptions', id: id, 'aria-label': caption },
      el('h4', { text: caption + ' (' + list.length + ')' }),
      list.length ? el('ul', null, list.map(function (a) {
        var named = (a.applies_to || []).map(function (x) { return state.nodes[x] ? nodeName(x) : roadLabel(x); });
        var to = named.length ? named.join('; ') + (a.count > named.length ? ' … (' + a.count + ' in all)' : '')
          : a.count ? a.count + (a.count === 1 ? ' road or place' : ' roads or places') : null;
        return el('li', null,
          el('b', { className: 'quantity', text: a.quantity }), ': ',
          el('span', { className: 'value', text: assumedValue(a) }),
          to ? el('span', { className: 'applies', text: ' — for ' + to }) : null,
          el('div', { className: 'source' }, el('span', { className: 'label', text: 'Source: ' }), a.source || 'not given'));
      })) : el('p', { className: 'hint', text: 'None reported.' }));
  }

  var OBJECTIVES = {
    survival: 'not arriving unharmed and free',
    harm: 'harm on the way',
    detention: 'detention at checkpoints',
  };

  function renderRoutes() {
    var out = $('routes-out');
    clear(out);
    clear($('steps-out'));
    if (!state.routes) return;
    var r = state.routes;
    out.appendChild(el('h3', { text: 'Routes from ' + nodeName(r.from) + ' to ' + nodeName(r.to) }));
    var objective = (r.items[0] && r.items[0].route.objective) || r.options.objective || 'survival';
    out.appendChild(el('p', { className: 'hint', id: 'routes-objective' }, 'The safest route minimises the chance of ',
      el('b', { text: OBJECTIVES[objective] || objective }), '. Probabilities are from 0 to 1, with their range from the ranges of the risk inputs.'));
    r.items.forEach(function (item, i) {
      var route = item.route;
      var selected = i === state.selected;
      var roads = (route.edges || []).length;
      var unknown = route.unknown_risk;
      var details = selected ? el('dl', null,
        el('dt', { text: 'Parties crossed' }), el('dd', { text: (route.parties || []).map(partyName).join('; ') || 'none' }),
        el('dt', { text: 'Checkpoints' }), el('dd', { text: (route.checkpoints || []).map(partyName).join('; ') || 'none' }),
        el('dt', { text: 'Roads' }), el('dd', { text: roads + (roads === 1 ? ' road' : ' roads') + ' through ' + (route.nodes || []).length + ' places' }),
        typeof route.overlap_with_safer === 'number' && i > 0 ? [el('dt', { text: 'Shared with a safer route' }),
          el('dd', { text: G.percent(route.overlap_with_safer, 0) + ' of its travel time' })] : null) : null;
      var card = el('article', { className: 'route-card' + (selected ? ' selected' : ''), 'aria-label': item.label, 'data-kind': item.kind },
        el('h3', null, lineSwatch(Object.assign({ weight: 5, casing: true }, item.style)), item.mark + '. ' + item.label),
        el('p', { className: 'figures' },
          el('span', { className: 'label', text: 'Unharmed and free: ' }),
          el('span', {
            className: 'survival', text: G.probability(route.survival_probability, route.survival_range),
            'data-value': JSON.stringify(route.survival_probability), 'data-range': JSON.stringify(route.survival_range || null),
          }), ' · ', G.duration(route.travel_time_min), ' · ', G.distance(route.length_m)),
        route.harm_probability !== undefined ? el('p', { className: 'apart' },
          el('span', { className: 'label', text: 'Harmed on the way: ' }),
          el('span', { className: 'harm', text: G.probability(route.harm_probability, route.harm_range) }),
          ' · ', el('span', { className: 'label', text: 'detained at checkpoints: ' }),
          el('span', { className: 'detention', text: G.probability(route.detention_probability) })) : null,
        unknown ? el('p', { className: 'unknown' + (unknown.roads ? ' has-unknown' : '') },
          el('span', { className: 'label', text: 'No risk estimate: ' }), routeUnknownText(unknown)) : null,
        el('p', { className: 'agree' }, el('span', { className: 'label', text: 'Parties to agree: ' }), partyList(route.consents_needed)),
        details,
        selected && route.assumptions ? assumptionsList(route.assumptions, 'route-assumptions', 'Assumed figures') : null,
        el('button', { type: 'button', className: 'small', 'aria-pressed': selected ? 'true' : 'false', onclick: function () { selectRoute(i); } },
          selected ? 'Steps shown below' : 'Show steps and details'));
      out.appendChild(card);
    });
    var pair = r.items.filter(function (it) { return it.kind === 'pair'; });
    if (pair.length === 2 && r.joint !== null) {
      out.appendChild(el('p', { className: 'pair-summary', id: 'pair-summary' },
        'Disjoint pair: corridors A and B share no road. Probability that both arrive unharmed and free (product): ',
        el('b', { text: G.probability(r.joint, r.jointRange) }), '. Slower corridor: ',
        G.duration(Math.max(pair[0].route.travel_time_min, pair[1].route.travel_time_min)), '.'));
    }
    r.notes.forEach(function (n) { out.appendChild(el('p', { className: 'note', text: n })); });
    out.appendChild(el('div', { className: 'row' }, el('button', {
      type: 'button', id: 'export-routes', onclick: exportRoutes,
    }, 'Download routes (GeoJSON)')));
    renderSteps(r.items[state.selected]);
  }

  function renderSteps(item) {
    var out = $('steps-out');
    clear(out);
    if (!item) return;
    var route = item.route;
    var steps = route.steps;
    if (!steps) {
      steps = (route.edges || []).map(function (e, i) { return { edge: e, from: route.nodes[i], to: route.nodes[i + 1] }; });
    }
    var rows = steps.map(function (s, i) {
      var control = partyName(s.controlled_by);
      if (s.checkpoint) control += s.checkpoint === s.controlled_by ? ', with checkpoint' : '; checkpoint of ' + partyName(s.checkpoint);
      var unknown = s.risk_inputs && s.risk_inputs.base_unknown;
      var harm = s.harm === undefined ? s.risk : s.harm;
      return el('tr', { className: unknown ? 'unknown-step' : null },
        el('td', { className: 'num', text: i + 1 }),
        el('th', { scope: 'row', text: nodeName(s.from) + ' → ' + nodeName(s.to) }),
        el('td', { text: control }),
        el('td', { className: 'num', text: s.travel_time_min === undefined ? '—' : G.duration(s.travel_time_min) }),
        el('td', { className: 'num', text: harm === undefined ? '—' : G.probability(harm, s.harm_range) }),
        el('td', { className: 'num', text: s.detention === undefined ? '—' : G.probability(s.detention) }),
        el('td', { text: s.risk_inputs === undefined ? '—' : unknown ? 'none: assumed' : 'yes' }),
        el('td', { className: 'num', text: s.cumulative_survival === undefined ? '—' : G.probability(s.cumulative_survival) }));
    });
    out.appendChild(el('div', { className: 'table-wrap' }, el('table', { id: 'steps-table' },
      el('caption', { text: 'Steps of ' + item.mark + '. ' + item.label }),
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', className: 'num', text: '#' }),
        el('th', { scope: 'col', text: 'Road (from → to)' }),
        el('th', { scope: 'col', text: 'Controlled by' }),
        el('th', { scope: 'col', className: 'num', text: 'Time' }),
        el('th', { scope: 'col', className: 'num', text: 'Harm (range)' }),
        el('th', { scope: 'col', className: 'num', text: 'Detention' }),
        el('th', { scope: 'col', text: 'Risk estimate' }),
        el('th', { scope: 'col', className: 'num', text: 'Unharmed and free so far' }))),
      el('tbody', null, rows))));
  }

  function clearResults() {
    state.routes = null;
    layers.routes.clearLayers();
    layers.compare.clearLayers();
    layers.cut.clearLayers();
    clear($('routes-out'));
    clear($('steps-out'));
    hideProblem();
  }

  /* ---------- plans ---------- */

  function fillWindows() {
    var select = $('window');
    clear(select);
    var windows = (state.doc && state.doc.windows) || [];
    windows.forEach(function (w) {
      select.appendChild(el('option', { value: w.id, text: (w.name || w.id) + ' (' + w.start + ' – ' + w.end + ')' }));
    });
    select.appendChild(el('option', { value: '', text: 'Custom start and end…' }));
    select.value = windows.length ? windows[0].id : '';
    document.querySelector('.custom-window').hidden = select.value !== '';
  }

  /** The plan the page asks for: the window and method, and who travels, the parties avoided,
   * consenting-only and the unknown-risk assumption chosen in the route form. */
  function planQuestion() {
    var body = Object.assign({ method: $('method').value }, travelOptions());
    var windowId = $('window').value;
    if (windowId) body.window = windowId;
    else {
      body.start = $('plan-start').value.trim();
      body.end = $('plan-end').value.trim();
    }
    var fleets = chosenFleets();
    if (fleets.length) {
      // A fleet plan: vehicles drive, so no walking profile; counts only where changed.
      delete body.profile;
      body.fleet = fleets.map(function (f) { return f.id; });
      var vehicles = {};
      fleets.forEach(function (f) { if (f.count !== f.scenarioCount) vehicles[f.id] = f.count; });
      if (Object.keys(vehicles).length) body.vehicles = vehicles;
    }
    return body;
  }

  /* ---------- fleets (docs/fleets.md) ---------- */

  function fleetsOfScenario() { return (state.doc && state.doc.fleets) || []; }

  function fleetName(id) {
    var f = fleetsOfScenario().filter(function (x) { return x.id === id; })[0];
    return f && f.name ? f.name : id;
  }

  /** One row per fleet of the scenario: tick it to plan with it, and how many vehicles. */
  function fillFleets() {
    var box = $('fleet-choices');
    clear(box);
    var fleets = fleetsOfScenario();
    $('fleet-sizing').closest('label').hidden = !fleets.length;
    if (!fleets.length) {
      box.appendChild(el('p', { className: 'hint', text: 'No fleets in this scenario: people walk.' }));
      return;
    }
    fleets.forEach(function (f) {
      var places = [f.seats ? f.seats + ' seats' : null, f.stretchers ? f.stretchers + ' stretchers' : null]
        .filter(Boolean).join(', ');
      var kind = (f.kind || 'vehicle') + (places ? ', ' + places : '');
      box.appendChild(el('div', { className: 'fleet-row', 'data-fleet': f.id },
        el('label', { className: 'check' },
          el('input', { type: 'checkbox', className: 'fleet-pick', value: f.id }),
          ' ' + (f.name || f.id) + ' (' + kind + ')'),
        el('label', { className: 'fleet-count-label' }, 'vehicles ',
          el('input', { type: 'number', className: 'fleet-count', 'data-fleet': f.id, min: '0', max: '100000', step: '1',
            value: String(f.count), 'data-default': String(f.count), inputmode: 'numeric' }))));
    });
  }

  /** The fleets ticked: id, vehicles asked for and the scenario's count. */
  function chosenFleets() {
    return Array.prototype.map.call(document.querySelectorAll('#fleet-choices .fleet-pick:checked'), function (c) {
      var input = document.querySelector('#fleet-choices .fleet-count[data-fleet="' + CSS.escape(c.value) + '"]');
      var scenarioCount = Number(input.getAttribute('data-default'));
      var typed = input.value.trim();
      return { id: c.value, count: typed ? Number(typed) : scenarioCount, scenarioCount: scenarioCount };
    });
  }

  function vehiclesText(vehicles) {
    return Object.keys(vehicles || {}).map(function (id) { return G.count(vehicles[id]) + ' × ' + fleetName(id); }).join('; ');
  }

  function profileName(id) {
    var p = ($('profile')._profiles || {})[id];
    return p && p.name ? p.name : id;
  }

  /** Under the plan button: what the plan will be asked with (set in the route form above). */
  function describePlanUses() {
    var o = travelOptions();
    var fleets = chosenFleets();
    if (fleets.length) {
      var vehicles = {};
      fleets.forEach(function (f) { vehicles[f.id] = f.count; });
      $('plan-uses').textContent = 'Fleet plan with ' + vehiclesText(vehicles) + '; avoiding: ' +
        ((o.avoid_parties || []).map(partyName).join(', ') || 'no party') +
        (o.consenting_only ? '; only parties that granted consent' : '') + ' (set in the route form above).';
      return;
    }
    var u = o.unknown_risk === undefined ? "the scenario's default" : o.unknown_risk === 'highest'
      ? 'the highest estimate of any road' : G.percent(o.unknown_risk) + ' per passage';
    $('plan-uses').textContent = 'Plans for: ' + (o.profile ? profileName(o.profile) : 'the default profile') +
      '; avoiding: ' + ((o.avoid_parties || []).map(partyName).join(', ') || 'no party') +
      (o.consenting_only ? '; only parties that granted consent' : '') + '; roads with no risk estimate: ' + u +
      ' (set in the route form above).';
  }

  function makePlan() {
    hideProblem();
    if (state.readOnly) { say('Plans need a planner token.'); return; }
    var body = planQuestion();
    if (!body.window && (!body.start || !body.end)) { say('Give a start and an end, or choose a window.'); return; }
    if ($('rank-openings').checked) body.rank_openings = true;
    if (body.fleet && $('fleet-sizing').checked) body.sizing = true;
    say('Planning the evacuation (' + body.method + (body.profile ? ', ' + profileName(body.profile) : '') +
      (body.fleet ? ', by vehicle' : '') + (body.rank_openings ? ', ranking concessions' : '') +
      (body.sizing ? ', sizing the fleet' : '') + ') …');
    $('make-plan').disabled = true;
    // Rankings re-plan dozens of times: asked as a job; a plan estimated long answers 202 too.
    api('POST', scenarioPath('/plans'), body, body.rank_openings ? { Prefer: 'respond-async' } : undefined)
      .then(function (res) { return res.status === 202 ? followPlanJob(res.data) : res; }).then(function (res) {
      $('make-plan').disabled = state.readOnly;
      if (res.status === 403) { setReadOnly(res); say('This token cannot compute plans.'); return; }
      var missing = res.status === 405 || (res.status === 404 && /^nothing at /.test((res.data && res.data.detail) || ''));
      if (missing) {
        say('Plans are not available on this service yet.');
        showProblem('Plans not available', { data: { detail: 'This service does not answer POST ' + scenarioPath('/plans') + ' yet.' } });
        return;
      }
      if (!res.ok) {
        say('No plan.');
        showProblem((res.data && res.data.title) || 'No plan', res);
        return;
      }
      state.plan = { plan: res.data, request: body };
      drawPlan();
      renderPlan();
      var p = res.data;
      say((p.trips ? 'Fleet plan: ' : 'Plan: ') + G.count(p.evacuated) + ' of ' + G.count(p.total_population) +
        ' people reach a safe zone; the last after ' + p.egress_time_min + ' min; ' + G.count(p.stranded) + ' stranded' +
        (p.bottleneck ? '; bottleneck: ' + p.bottleneck.kind : '') + '.');
    });
  }

  /**
   * A plan answered as a job (202): a progress bar with the phase and a Cancel button under the
   * plan form while the job runs (GET /v1/jobs/{id} twice a second); resolves with the job's
   * answer shaped as the inline answer ({ok, status, data}), its problem, or "cancelled".
   */
  function followPlanJob(job) {
    var box = $('plan-job');
    if (!box) {
      box = el('div', { id: 'plan-job', role: 'status', 'aria-live': 'polite' });
      box.appendChild(el('progress', { id: 'plan-progress', max: '1' }));
      box.appendChild(el('span', { id: 'plan-phase', class: 'hint' }));
      box.appendChild(el('button', { type: 'button', id: 'plan-cancel' }, 'Cancel'));
      $('plan-form').appendChild(box);
    }
    box.hidden = false;
    var cancelled = false;
    $('plan-cancel').disabled = false;
    $('plan-cancel').onclick = function () {
      cancelled = true;
      $('plan-cancel').disabled = true;
      api('DELETE', job.links.self);
    };
    function show(j) {
      var pr = j.progress || {};
      if (pr.fraction === null || pr.fraction === undefined) $('plan-progress').removeAttribute('value');
      else $('plan-progress').value = pr.fraction;
      $('plan-phase').textContent = ' ' + j.state + (pr.phase ? ': ' + pr.phase : '') +
        (pr.fraction !== null && pr.fraction !== undefined ? ' (' + Math.round(100 * pr.fraction) + '%)' : '') + ' ';
    }
    show(job);
    return new Promise(function (resolve) {
      (function poll() {
        api('GET', job.links.self).then(function (res) {
          if (!res.ok) { box.hidden = true; resolve(res); return; }
          var j = res.data;
          show(j);
          if (j.state === 'done') { box.hidden = true; resolve({ ok: true, status: 200, data: j.result }); }
          else if (j.state === 'failed') { box.hidden = true; resolve({ ok: false, status: j.problem.status, data: j.problem }); }
          else if (j.state === 'cancelled') {
            box.hidden = true;
            resolve({ ok: false, status: 409, data: { title: 'Plan cancelled', detail: 'The plan was cancelled before it finished.' } });
          } else setTimeout(poll, 500);
        });
      })();
    });
  }

  function nodeLonLat(id) {
    var n = state.nodes[id];
    return n && n.lat !== undefined && n.lat !== null ? [n.lon, n.lat] : null;
  }

  function roadCoords(id) {
    var f = state.roads[id];
    return f ? f.geometry.coordinates : null;
  }

  function drawPlan() {
    layers.plan.clearLayers();
    if (!state.plan) return;
    var plan = state.plan.plan;
    if (plan.trips) { drawFleetPlan(plan); return; }
    var byPath = {};
    (plan.movements || []).forEach(function (m) {
      var key = (m.nodes || [m.from, m.to]).join('>');
      byPath[key] = byPath[key] || { nodes: m.nodes || [m.from, m.to], count: 0 };
      byPath[key].count += m.count;
    });
    var paths = Object.keys(byPath).map(function (k) { return byPath[k]; });
    var most = Math.max.apply(null, [1].concat(paths.map(function (p) { return p.count; })));
    paths.forEach(function (p) {
      var coords = p.nodes.map(nodeLonLat).filter(Boolean);
      if (coords.length < 2) return;
      L.polyline(latLngs(coords), { color: MOVEMENT.color, weight: 2 + 8 * (p.count / most), opacity: 0.8 })
        .bindTooltip(G.count(p.count) + ' people: ' + p.nodes.map(nodeName).join(' → '), { sticky: true })
        .addTo(layers.plan);
    });
    var drawn = [];
    paths.forEach(function (p) { drawn = drawn.concat(latLngs(p.nodes.map(nodeLonLat).filter(Boolean))); });
    // People left behind: a circle at each place, its area proportional to the people.
    var left = plan.stranded_at || [];
    var mostLeft = Math.max.apply(null, [1].concat(left.map(function (x) { return x.count; })));
    left.forEach(function (x) {
      var ll = nodeLonLat(x.node);
      if (!ll || !x.count) return;
      var text = G.count(x.count) + ' people stranded at ' + nodeName(x.node);
      L.circleMarker([ll[1], ll[0]], {
        radius: 5 + 17 * Math.sqrt(x.count / mostLeft), color: STRANDED.color, weight: 2,
        fillColor: STRANDED.fillColor, fillOpacity: 0.45, className: 'stranded-marker',
      }).bindTooltip(text, { sticky: true }).addTo(layers.plan);
      L.marker([ll[1], ll[0]], {
        interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'stranded-icon', html: el('span', { text: G.count(x.count) }), iconSize: null, iconAnchor: [-8, 22] }),
        title: text,
      }).addTo(layers.plan);
      drawn.push([ll[1], ll[0]]);
    });
    if (drawn.length >= 2) map.fitBounds(L.latLngBounds(drawn).pad(0.2), { maxZoom: 16, animate: false });
    (plan.bottlenecks || []).forEach(function (b) {
      var coords = roadCoords(b.edge);
      if (!coords) return;
      L.polyline(latLngs(coords), BOTTLENECK)
        .bindTooltip('Bottleneck: ' + roadLabel(b.edge) + ', saturated ' + b.saturated_minutes + ' min', { sticky: true })
        .addTo(layers.plan);
    });
  }

  /** Movements grouped by the path they take: people, and the first and last minutes. */
  function corridorTable(movements) {
    var groups = {};
    var order = [];
    movements.forEach(function (m) {
      var nodes = m.nodes || [m.from, m.to];
      var key = nodes.join('>');
      if (!groups[key]) {
        groups[key] = { nodes: nodes, count: 0, first: Infinity, lastDepart: -Infinity, lastArrive: -Infinity };
        order.push(key);
      }
      var g = groups[key];
      g.count += m.count;
      g.first = Math.min(g.first, m.depart_min);
      g.lastDepart = Math.max(g.lastDepart, m.depart_min);
      g.lastArrive = Math.max(g.lastArrive, m.arrive_min);
    });
    order.sort(function (a, b) { return groups[b].count - groups[a].count; });
    return el('div', { className: 'table-wrap' }, el('table', { id: 'corridors-table' },
      el('caption', { text: 'Corridors used (' + order.length + ')' }),
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', text: 'Path' }),
        el('th', { scope: 'col', className: 'num', text: 'People' }),
        el('th', { scope: 'col', className: 'num', text: 'Leaving (min)' }),
        el('th', { scope: 'col', className: 'num', text: 'Last arrival (min)' }))),
      el('tbody', null, order.map(function (key) {
        var g = groups[key];
        return el('tr', null,
          el('th', { scope: 'row', text: g.nodes.map(nodeName).join(' → ') }),
          el('td', { className: 'num', text: G.count(g.count) }),
          el('td', { className: 'num', text: g.first === g.lastDepart ? String(g.first) : g.first + '–' + g.lastDepart }),
          el('td', { className: 'num', text: g.lastArrive }));
      }))));
  }

  // A fast plan that meets its bounds is optimal too: the service says so in `optimal`.
  function methodLabel(p) {
    if (!p.method) return '—';
    if (p.method === 'optimal') return 'optimal';
    if (p.optimal) return p.method + ', optimal (meets its bounds)';
    return p.method + ', not proven optimal' +
      (p.lower_bound_min === null || p.lower_bound_min === undefined ? '' : ' (lower bound ' + p.lower_bound_min + ' min)');
  }

  function renderPlan() {
    var out = $('plan-out');
    clear(out);
    if (!state.plan) return;
    var p = state.plan.plan;
    var asked = state.plan.request;
    if (p.trips) { renderFleetPlan(out, p, asked); return; }
    out.appendChild(el('h3', { text: 'Evacuation plan' }));
    var figure = function (key, label, text) {
      return [el('dt', { text: label }), el('dd', { 'data-key': key, 'data-value': JSON.stringify(p[key] === undefined ? null : p[key]), text: text })];
    };
    var u = p.unknown_risk;
    out.appendChild(el('dl', { className: 'plan-summary' },
      figure('evacuated', 'Evacuated', G.count(p.evacuated) + ' of ' + G.count(p.total_population)),
      figure('stranded', 'Stranded', G.count(p.stranded)),
      figure('egress_time_min', 'Last evacuee safe after', p.egress_time_min === null || p.egress_time_min === undefined ? '—' : p.egress_time_min + ' min'),
      p.expected_harm !== undefined ? figure('expected_harm', 'Expected harmed on the way (range)',
        G.expected(p.expected_harm, p.expected_harm_range) + ' people') : null,
      p.expected_detained !== undefined ? figure('expected_detained', 'Expected detained at checkpoints',
        G.expected(p.expected_detained) + ' people') : null,
      figure('profile', 'Who travels', profileName(p.profile || asked.profile || '') || 'default'),
      el('dt', { text: 'Avoiding' }), el('dd', { text: (asked.avoid_parties || []).map(partyName).join('; ') || 'no party' }),
      asked.consenting_only ? [el('dt', { text: 'Parties' }), el('dd', { text: 'only those that granted consent' })] : null,
      u ? figure('unknown_risk', 'Roads with no risk estimate', u.roads + ' of ' + u.of_roads + ' roads used; ' +
        G.count(u.people_on_unknown_roads) + ' people travel on them; ' + policyText(u.policy)) : null,
      figure('method', 'Method', methodLabel(p) + (p.method === 'fast' && asked.method === 'optimal' ? ' (the optimal plan took too long)' : '')),
      el('dt', { text: 'Consents needed' }), el('dd', { text: partyList(p.consents_needed) })));
    if (p.note) out.appendChild(el('p', { className: 'note', text: p.note }));
    var movements = p.movements || [];
    out.appendChild(corridorTable(movements));
    if (p.stranded_at) out.appendChild(strandedTable(p.stranded_at));
    var shown = movements.slice(0, 500);
    var table = el('table', { id: 'movements-table' },
      el('caption', { text: 'Movements, departure by departure (' + movements.length +
        (shown.length < movements.length ? ', first ' + shown.length + ' listed' : '') + ')' }),
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', text: 'From → to' }),
        el('th', { scope: 'col', className: 'num', text: 'People' }),
        el('th', { scope: 'col', className: 'num', text: 'Leave (min)' }),
        el('th', { scope: 'col', className: 'num', text: 'Arrive (min)' }),
        el('th', { scope: 'col', text: 'Through' }))),
      el('tbody', null, shown.map(function (m) {
        var through = (m.nodes || []).slice(1, -1).map(nodeName).join(' → ');
        return el('tr', null,
          el('th', { scope: 'row', text: nodeName(m.from) + ' → ' + nodeName(m.to) }),
          el('td', { className: 'num', text: G.count(m.count) }),
          el('td', { className: 'num', text: m.depart_min }),
          el('td', { className: 'num', text: m.arrive_min }),
          el('td', { text: through || 'direct' }));
      })));
    // Long schedules stay folded: the corridor summary above is what people read first.
    out.appendChild(el('details', { className: 'movements', open: movements.length <= 20 },
      el('summary', { text: 'All ' + movements.length + ' movements' }),
      el('div', { className: 'table-wrap' }, table)));
    var bottlenecks = p.bottlenecks || [];
    out.appendChild(el('div', { className: 'table-wrap' }, el('table', { id: 'bottlenecks-table' },
      el('caption', { text: 'Bottlenecks (' + bottlenecks.length + ')' }),
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', text: 'Road' }),
        el('th', { scope: 'col', className: 'num', text: 'Minutes at capacity' }))),
      el('tbody', null, bottlenecks.length ? bottlenecks.map(function (b) {
        return el('tr', null, el('th', { scope: 'row', text: roadLabel(b.edge) }), el('td', { className: 'num', text: b.saturated_minutes }));
      }) : el('tr', null, el('td', { colspan: 2, text: 'No road is used at full capacity.' }))))));
    if (p.assumptions) out.appendChild(assumptionsList(p.assumptions, 'plan-assumptions', 'Assumed figures'));
    if (p.concessions) out.appendChild(concessionsTable(p.concessions));
    out.appendChild(el('div', { className: 'row' }, el('button', { type: 'button', id: 'export-plan', onclick: exportPlan }, 'Download plan (GeoJSON)')));
  }

  /** A fleet plan on the map: the drives that carried people (pickup → safe zone, width by
   * people), and the queue at each checkpoint (circle area: the longest wait). */
  function drawFleetPlan(plan) {
    var byPath = {};
    var order = [];
    plan.trips.forEach(function (t) {
      var key = t.nodes.join('>');
      if (!byPath[key]) { byPath[key] = { nodes: t.nodes, trips: 0, people: 0, fleets: {} }; order.push(key); }
      var p = byPath[key];
      p.trips += 1;
      p.people += t.count;
      p.fleets[t.fleet] = (p.fleets[t.fleet] || 0) + 1;
    });
    var paths = order.map(function (k) { return byPath[k]; });
    var most = Math.max.apply(null, [1].concat(paths.map(function (p) { return p.people; })));
    var drawn = [];
    paths.forEach(function (p) {
      var coords = p.nodes.map(nodeLonLat).filter(Boolean);
      if (coords.length < 2) return;
      var line = latLngs(coords);
      drawn = drawn.concat(line);
      var byFleet = Object.keys(p.fleets).map(function (f) { return p.fleets[f] + ' by ' + fleetName(f); }).join(', ');
      L.polyline(line, { color: FLEET_TRIP.color, weight: 2 + 8 * (p.people / most), opacity: 0.8, className: 'fleet-path' })
        .bindTooltip(tooltipLines([
          G.count(p.people) + ' people in ' + p.trips + (p.trips === 1 ? ' trip' : ' trips') + ' (' + byFleet + ')',
          p.nodes.map(nodeName).join(' → '),
        ]), { sticky: true })
        .addTo(layers.plan);
    });
    var checkpoints = plan.checkpoints || [];
    var longest = Math.max.apply(null, [1].concat(checkpoints.map(function (c) { return c.longest_wait_min; })));
    checkpoints.forEach(function (c) {
      var coords = roadCoords(c.edge);
      if (!coords) return;
      var at = midpoint(coords);
      var ll = [at[1], at[0]];
      var text = 'Queue at ' + roadLabel(c.edge) + ' (' + partyName(c.party) + '): ' + c.vehicles + ' vehicles, ' +
        G.count(c.people) + ' people screened; ' + G.count(c.waiting_min) + ' vehicle-minutes waiting, longest wait ' +
        G.duration(c.longest_wait_min);
      L.circleMarker(ll, {
        radius: 6 + 14 * Math.sqrt(c.longest_wait_min / longest), color: QUEUE.color, weight: 2,
        fillColor: QUEUE.fillColor, fillOpacity: 0.55, className: 'queue-marker',
      }).bindTooltip(text, { sticky: true }).addTo(layers.plan);
      L.marker(ll, {
        interactive: false, keyboard: false, title: text,
        icon: L.divIcon({ className: 'queue-icon', html: el('span', { text: 'wait ≤ ' + G.duration(c.longest_wait_min) }), iconSize: null, iconAnchor: [-10, 24] }),
      }).addTo(layers.plan);
      drawn.push(ll);
    });
    if (drawn.length >= 2) map.fitBounds(L.latLngBounds(drawn).pad(0.2), { maxZoom: 16, animate: false });
  }

  /** A fleet plan in words and tables: totals, the bottleneck, people by group (priority
   * order), the queue at the checkpoints, vehicles' time, sizing, trips, assumptions. */
  function renderFleetPlan(out, p, asked) {
    var start = p.window ? p.window.start : null;
    var atClock = function (m) {
      if (m === null || m === undefined) return '—';
      var c = G.clock(start, m);
      return m + '\u00a0min' + (c ? ' (' + c + ')' : '');
    };
    out.appendChild(el('h3', { text: 'Fleet plan' }));
    var figure = function (key, label, text) {
      return [el('dt', { text: label }), el('dd', { 'data-key': key, 'data-value': JSON.stringify(p[key] === undefined ? null : p[key]), text: text })];
    };
    var bound = p.lower_bound_min !== null && p.lower_bound_min !== undefined;
    out.appendChild(el('dl', { className: 'plan-summary' },
      figure('vehicles', 'Vehicles', vehiclesText(p.vehicles)),
      figure('evacuated', 'Evacuated', G.count(p.evacuated) + ' of ' + G.count(p.total_population)),
      figure('stranded', 'Left behind', G.count(p.stranded)),
      figure('egress_time_min', 'Last arrival', atClock(p.egress_time_min)),
      figure('upper_bound_evacuated', 'No plan in this model carries more than', G.count(p.upper_bound_evacuated)),
      bound ? figure('lower_bound_min', 'No plan clears everyone sooner than', G.duration(p.lower_bound_min)) : null,
      figure('trips', 'Trips', String(p.trips.length)),
      figure('fleet_utilisation', 'Vehicles busy', G.percent(p.fleet_utilisation, 0) + ' of the time'),
      figure('expected_harm', 'Expected harmed on the roads', G.expected(p.expected_harm) + ' people'),
      figure('method', 'Method', methodLabel(p) + (p.method === 'fast' && asked.method === 'optimal' ? ' (the exact plan is for small questions)' : '')),
      el('dt', { text: 'Avoiding' }), el('dd', { text: (asked.avoid_parties || []).map(partyName).join('; ') || 'no party' }),
      el('dt', { text: 'Consents needed' }), el('dd', { text: partyList(p.consents_needed) })));
    out.appendChild(el('p', { id: 'fleet-bottleneck', className: 'bottleneck', 'data-kind': p.bottleneck.kind },
      el('b', { text: 'Bottleneck (' + p.bottleneck.kind + '): ' }), p.bottleneck.explanation + '.'));
    if (p.note) out.appendChild(el('p', { className: 'note', text: p.note }));
    out.appendChild(el('div', { className: 'table-wrap' }, el('table', { id: 'groups-table' },
      el('caption', { text: 'People by group, in the order vehicles carry them' }),
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', text: 'Group' }),
        el('th', { scope: 'col', text: 'Needs' }),
        el('th', { scope: 'col', className: 'num', text: 'People' }),
        el('th', { scope: 'col', className: 'num', text: 'Evacuated' }),
        el('th', { scope: 'col', className: 'num', text: 'Left behind' }),
        el('th', { scope: 'col', className: 'num', text: 'Last arrival' }))),
      el('tbody', null, p.by_group.map(function (g) {
        return el('tr', { 'data-group': g.group },
          el('th', { scope: 'row', text: g.name || g.group }),
          el('td', { text: g.needs }),
          el('td', { className: 'num', text: G.count(g.population) }),
          el('td', { className: 'num', text: G.count(g.evacuated) }),
          el('td', { className: 'num', text: G.count(g.stranded) }),
          el('td', { className: 'num', text: atClock(g.last_arrival_min) }));
      })))));
    var checkpoints = p.checkpoints || [];
    out.appendChild(el('div', { className: 'table-wrap' }, el('table', { id: 'queue-table' },
      el('caption', { text: 'Queue at the checkpoints (' + checkpoints.length + ')' }),
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', text: 'Checkpoint (road, held by)' }),
        el('th', { scope: 'col', className: 'num', text: 'Vehicles' }),
        el('th', { scope: 'col', className: 'num', text: 'People' }),
        el('th', { scope: 'col', className: 'num', text: 'Screening (min)' }),
        el('th', { scope: 'col', className: 'num', text: 'Waiting (vehicle-min)' }),
        el('th', { scope: 'col', className: 'num', text: 'Longest wait' }))),
      el('tbody', null, checkpoints.length ? checkpoints.map(function (c) {
        return el('tr', { 'data-edge': c.edge },
          el('th', { scope: 'row', text: roadLabel(c.edge) + ' (' + partyName(c.party) + ')' }),
          el('td', { className: 'num', text: G.count(c.vehicles) }),
          el('td', { className: 'num', text: G.count(c.people) }),
          el('td', { className: 'num', text: G.count(c.screening_min) }),
          el('td', { className: 'num', text: G.count(c.waiting_min) }),
          el('td', { className: 'num', text: G.duration(c.longest_wait_min) }));
      }) : el('tr', null, el('td', { colspan: 6, text: 'No vehicle passes a checkpoint.' }))))));
    var use = p.time_use_vehicle_min || {};
    var USE = [['driving', 'Driving'], ['loading', 'Loading and unloading'], ['queueing', 'Queueing at checkpoints'],
      ['screening', 'Being screened'], ['road_waits', 'Waiting for room on roads'], ['idle', 'Idle']];
    out.appendChild(el('div', { className: 'table-wrap' }, el('table', { id: 'time-use-table' },
      el('caption', { text: 'Vehicles\u2019 time (vehicle-minutes)' }),
      el('tbody', null, USE.map(function (u) {
        return el('tr', { 'data-key': u[0] }, el('th', { scope: 'row', text: u[1] }), el('td', { className: 'num', text: G.count(use[u[0]]) }));
      })))));
    if (p.sizing) out.appendChild(sizingList(p.sizing));
    var shown = p.trips.slice(0, 500);
    out.appendChild(el('details', { className: 'movements', open: p.trips.length <= 20 },
      el('summary', { text: 'All ' + p.trips.length + ' trips' }),
      el('div', { className: 'table-wrap' }, el('table', { id: 'trips-table' },
        el('caption', { text: 'Trips, vehicle by vehicle (' + p.trips.length +
          (shown.length < p.trips.length ? ', first ' + shown.length + ' listed' : '') + ')' }),
        el('thead', null, el('tr', null,
          el('th', { scope: 'col', text: 'Vehicle' }),
          el('th', { scope: 'col', className: 'num', text: 'Trip' }),
          el('th', { scope: 'col', text: 'Pickup → safe zone' }),
          el('th', { scope: 'col', className: 'num', text: 'Loaded (min)' }),
          el('th', { scope: 'col', className: 'num', text: 'Screened (min)' }),
          el('th', { scope: 'col', className: 'num', text: 'Arrives (min)' }),
          el('th', { scope: 'col', text: 'People' }))),
        el('tbody', null, shown.map(function (t) {
          var people = Object.keys(t.people).map(function (g) { return t.people[g] + ' ' + g; }).join(', ');
          var screened = t.screened.map(function (x) { return x.start_min + '–' + x.end_min; }).join(', ');
          return el('tr', null,
            el('th', { scope: 'row', text: t.vehicle }),
            el('td', { className: 'num', text: t.trip }),
            el('td', { text: nodeName(t.pickup) + ' → ' + nodeName(t.to) }),
            el('td', { className: 'num', text: t.loaded_min }),
            el('td', { className: 'num', text: screened || '—' }),
            el('td', { className: 'num', text: t.arrive_min }),
            el('td', { text: people || '—' }));
        }))))));
    out.appendChild(assumptionsList(p.assumptions, 'plan-assumptions', 'Assumed figures'));
    out.appendChild(el('div', { className: 'row' }, el('button', { type: 'button', id: 'export-plan', onclick: exportPlan }, 'Download plan (GeoJSON)')));
  }

  /** The sizing answers (each a fast re-plan): what one more of something gains. */
  function sizingList(s) {
    var gain = function (row) {
      return G.count(row.evacuated) + ' evacuated (' + (row.gained >= 0 ? '+' : '−') + G.count(Math.abs(row.gained)) + ')';
    };
    var items = [];
    Object.keys(s.one_more_vehicle || {}).forEach(function (f) {
      items.push(el('li', { 'data-key': 'one_more_vehicle', 'data-fleet': f }, 'One more of ' + fleetName(f) + ': ' + gain(s.one_more_vehicle[f])));
    });
    var lane = s.one_more_lane;
    items.push(el('li', { 'data-key': 'one_more_lane' }, lane ? 'One more screening lane at ' + roadLabel(lane.checkpoint) + ': ' + gain(lane)
      : 'One more screening lane: no checkpoint on the way'));
    if (s.one_more_hour) items.push(el('li', { 'data-key': 'one_more_hour' }, 'One more hour of the window: ' + gain(s.one_more_hour)));
    var floor = s.shortest_window_lower_bound_min;
    items.push(el('li', { 'data-key': 'shortest_window_min' }, 'Shortest window that clears everyone: ' +
      (s.shortest_window_min === null ? 'none with these vehicles' : G.duration(s.shortest_window_min)) +
      (floor !== null && floor !== undefined ? ' (no plan does it in under ' + G.duration(floor) + ')' : '')));
    Object.keys(s.vehicles_to_clear || {}).forEach(function (f) {
      var need = s.vehicles_to_clear[f];
      items.push(el('li', { 'data-key': 'vehicles_to_clear', 'data-fleet': f }, 'Fewest of ' + fleetName(f) + ' to move ' +
        G.count(need.people) + ' people in this window (others as asked): ' +
        (need.vehicles === null ? 'more than ' + G.count(need.tried_up_to) : G.count(need.vehicles))));
    });
    return el('section', { id: 'sizing', 'aria-label': 'Sizing the fleet' },
      el('h4', { text: 'Sizing the fleet (' + s.method + ' re-plans)' }), el('ul', null, items));
  }

  /** Who is left behind, place by place (most first). */
  function strandedTable(list) {
    var rows = list.slice().sort(function (a, b) { return b.count - a.count; });
    return el('div', { className: 'table-wrap' }, el('table', { id: 'stranded-table' },
      el('caption', { text: 'Stranded by place (' + rows.length + ')' }),
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', text: 'Place' }),
        el('th', { scope: 'col', className: 'num', text: 'People stranded' }))),
      el('tbody', null, rows.length ? rows.map(function (x) {
        return el('tr', { 'data-node': x.node },
          el('th', { scope: 'row', text: nodeName(x.node) }),
          el('td', { className: 'num', text: G.count(x.count) }));
      }) : el('tr', null, el('td', { colspan: 2, text: 'Nobody is left behind.' })))));
  }

  function signedNumber(x, show) {
    if (x === undefined || x === null || Number.isNaN(x)) return '—';
    if (x === 0) return '0';
    return (x > 0 ? '+' : x < 0 ? '−' : '') + show(Math.abs(x));
  }

  /** Concessions ranked (rank_openings): the `concessions` answer, rows best first. */
  function concessionsTable(c) {
    var rows = c.rows || [];
    var counts = c.priced + ' priced by planning again, ' + c.skipped + ' skipped (they cannot change who gets out or when)' +
      (c.not_priced ? ', ' + c.not_priced + ' not priced' : '');
    return el('details', { className: 'openings', open: rows.length <= 15 },
      el('summary', { text: 'What to negotiate first: ' + rows.length + ' concessions, ' + c.order }),
      el('p', { className: 'hint', text: counts + '.' }),
      c.nothing_gains ? el('p', { id: 'nothing-gains', className: 'warning', text: c.nothing_gains }) : null,
      el('div', { className: 'table-wrap' }, el('table', { id: 'openings-table' },
      el('caption', { text: 'Concessions ranked, best first (' + rows.length + ')' }),
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', className: 'num', text: '#' }),
        el('th', { scope: 'col', text: 'Kind' }),
        el('th', { scope: 'col', text: 'What' }),
        el('th', { scope: 'col', className: 'num', text: 'People gained' }),
        el('th', { scope: 'col', className: 'num', text: 'Minutes sooner' }),
        el('th', { scope: 'col', className: 'num', text: 'Expected harm change' }),
        el('th', { scope: 'col', className: 'num', text: 'Expected detained change' }),
        el('th', { scope: 'col', text: 'What it means' }))),
      el('tbody', null, rows.length ? rows.map(function (o, i) {
        var what = o.kind === 'party' ? partyName(o.what) : o.kind === 'road' || o.kind === 'crossing' || o.kind === 'checkpoint' || o.kind === 'capacity' ? roadLabel(o.what) : o.what;
        return el('tr', { 'data-kind': o.kind, 'data-id': o.what },
          el('td', { className: 'num', text: i + 1 }),
          el('td', { text: o.kind }),
          el('th', { scope: 'row', text: what }),
          el('td', { className: 'num gained', 'data-value': JSON.stringify(o.people_gained),
            text: signedNumber(o.people_gained, G.count) }),
          el('td', { className: 'num', text: String(-o.egress_change_min) }),
          el('td', { className: 'num harm-change', 'data-value': JSON.stringify(o.harm_change),
            text: signedNumber(o.harm_change, function (v) { return G.expected(v); }) }),
          el('td', { className: 'num detained-change', 'data-value': JSON.stringify(o.detained_change),
            text: signedNumber(o.detained_change, function (v) { return G.expected(v); }) }),
          el('td', { className: 'why', text: o.sentence || '—' }));
      }) : el('tr', null, el('td', { colspan: 8, text: 'Nothing to price.' }))))));
  }

  /* ---------- GeoJSON export (RFC 7946) ---------- */

  function download(collection, name) {
    var blob = new Blob([JSON.stringify(collection, null, 1)], { type: 'application/geo+json' });
    var url = URL.createObjectURL(blob);
    var a = el('a', { href: url, download: name });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  function context() {
    return {
      scenario: state.scenarioId,
      scenario_name: state.doc && state.doc.name,
      credits: (state.geo && state.geo.properties && state.geo.properties.credits) || [],
      exported_at: new Date().toISOString(),
    };
  }

  function exportRoutes() {
    var r = state.routes;
    if (!r) return;
    var ctx = Object.assign(context(), { from: r.from, to: r.to, profile: r.options.profile || 'default', request: r.options });
    download(G.routesCollection(r.items, ctx, routeCoords), state.scenarioId + '-routes-' + r.from + '-' + r.to + '.geojson');
    say('Routes saved as GeoJSON.');
  }

  function exportPlan() {
    if (!state.plan) return;
    var ctx = Object.assign(context(), { request: state.plan.request });
    download(G.planCollection(state.plan.plan, ctx, nodeLonLat, roadCoords), state.scenarioId + '-plan.geojson');
    say('Plan saved as GeoJSON.');
  }

  /* ---------- the negotiation loop: edits, versions, forks, comparisons (SPEC §5) ---------- */

  var STATUSES = ['open', 'restricted', 'damaged', 'blocked'];
  var COMPARE_STYLES = {
    a: { color: '#0b3d91', dashArray: null, mark: 'A' },
    b: { color: '#d95f02', dashArray: '12 8', mark: 'B' },
  };
  var TARGET = { color: '#ffbf47', weight: 14, opacity: 0.75, interactive: false };

  function hideBox(id) { var b = $(id); b.hidden = true; clear(b); }

  /** A problem document (detail and every error with its pointer) in the box near the control. */
  function problemInto(id, heading, res, describe) {
    var box = $(id);
    clear(box);
    var d = res.data || {};
    box.appendChild(el('h3', { text: heading }));
    if (d.detail || d.title) box.appendChild(el('p', { text: d.detail || d.title }));
    if (Array.isArray(d.errors) && d.errors.length) {
      box.appendChild(el('ul', null, d.errors.map(function (e) {
        var what = describe ? describe(e.pointer || '') : null;
        return el('li', null, el('code', { text: e.pointer || '/' }), ' ', e.detail, what ? ' (' + what + ')' : '');
      })));
    }
    box.hidden = false;
    return box;
  }

  function docRoad(id) {
    var roads = (state.doc && state.doc.edges) || [];
    for (var i = 0; i < roads.length; i++) if (roads[i].id === id) return roads[i];
    return null;
  }

  function field(id, label, control, hint) {
    return el('div', { className: 'field' }, el('label', { for: id, text: label }), control,
      hint ? el('p', { className: 'hint', text: hint }) : null);
  }

  function partyOptions(select, value, noneLabel) {
    clear(select);
    select.appendChild(el('option', { value: '', text: noneLabel }));
    Object.keys(state.parties).forEach(function (id) {
      select.appendChild(el('option', { value: id, text: partyName(id) }));
    });
    select.value = value || '';
    return select;
  }

  function fillConsentParties() {
    var select = $('consent-party');
    var before = select.value;
    clear(select);
    Object.keys(state.parties).forEach(function (id) {
      var p = state.parties[id];
      select.appendChild(el('option', { value: id, text: partyName(id) + ' (now ' + (p.consent || 'unknown') + ')' }));
    });
    if (state.parties[before]) select.value = before;
    $('consent-set').hidden = !select.options.length;
  }

  function editRoad(id) {
    if (state.readOnly || !docRoad(id)) return;
    state.target = { kind: 'road', id: id };
    renderTarget();
    $('edit-target').scrollIntoView({ block: 'nearest' });
    say('Road ' + roadLabel(id) + ' chosen: change it or report an incident on it, add the change, then save.');
  }

  function editPlace(id) {
    if (!state.nodes[id]) return;
    state.target = { kind: 'place', id: id };
    renderTarget();
    $('edit-target').scrollIntoView({ block: 'nearest' });
    say('Place ' + nodeName(id) + ' chosen: report an incident there, add it, then save.');
  }

  function highlightTarget() {
    layers.target.clearLayers();
    var t = state.target;
    if (!t) return;
    if (t.kind === 'road' && state.roads[t.id]) {
      L.polyline(latLngs(state.roads[t.id].geometry.coordinates), TARGET).addTo(layers.target);
    } else if (t.kind === 'place' && nodeLonLat(t.id)) {
      var ll = nodeLonLat(t.id);
      L.circleMarker([ll[1], ll[0]], { radius: 14, color: TARGET.color, weight: 5, fill: false, interactive: false }).addTo(layers.target);
    }
  }

  /** The time a new report defaults to: the time the map is drawn at (not the wall clock, which
   * would move every question of an old scenario to today). */
  function defaultObserved() {
    return (state.geo && state.geo.properties && state.geo.properties.at) || (state.doc && state.doc.as_of) ||
      new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  }

  function renderTarget() {
    var box = $('edit-target');
    clear(box);
    var t = state.target;
    if (t && t.kind === 'road' && !docRoad(t.id)) t = state.target = null;
    if (t && t.kind === 'place' && !state.nodes[t.id]) t = state.target = null;
    highlightTarget();
    if (!t) { box.hidden = true; return; }
    box.hidden = false;
    var road = t.kind === 'road';
    if (road) {
      var r = docRoad(t.id);
      var status = el('select', { id: 'road-status' }, STATUSES.map(function (v) {
        return el('option', { value: v, text: v === 'blocked' ? 'blocked (closed)' : v });
      }));
      status.value = r.status || 'open';
      box.appendChild(el('h3', { text: 'Road: ' + roadLabel(t.id) }));
      box.appendChild(el('p', { className: 'hint', text: nodeName(r.from) + ' – ' + nodeName(r.to) +
        '. Now: ' + (r.status || 'open') + ', risk ' + G.percent(r.risk || 0) +
        ', capacity ' + (r.capacity_per_min ? r.capacity_per_min + ' people/min' : 'not limited') +
        ', controlled by ' + partyName(r.controlled_by) + ', checkpoint: ' + (r.checkpoint ? partyName(r.checkpoint) : 'none') + '.' }));
      box.appendChild(field('road-status', 'Status', status));
      box.appendChild(field('road-risk', 'Risk of one passage (%)', el('input', {
        id: 'road-risk', type: 'number', min: 0, max: 99.99, step: 'any', inputmode: 'decimal',
        value: String(Number(((r.risk || 0) * 100).toPrecision(10))),
      })));
      box.appendChild(field('road-capacity', 'Capacity (people per minute)', el('input', {
        id: 'road-capacity', type: 'number', min: 1, step: 1, inputmode: 'numeric', placeholder: 'not limited',
        value: r.capacity_per_min === null || r.capacity_per_min === undefined ? '' : String(r.capacity_per_min),
      })));
      box.appendChild(field('road-controller', 'Controlled by', partyOptions(el('select', { id: 'road-controller' }), r.controlled_by, 'no party / contested')));
      box.appendChild(field('road-checkpoint', 'Checkpoint run by', partyOptions(el('select', { id: 'road-checkpoint' }), r.checkpoint, 'no checkpoint')));
      box.appendChild(el('div', { className: 'row' }, el('button', { type: 'button', id: 'road-add', onclick: addRoadChange }, 'Add road change')));
    } else {
      var n = state.nodes[t.id];
      box.appendChild(el('h3', { text: 'Place: ' + nodeTitle(n) }));
    }
    box.appendChild(el('fieldset', { className: 'field incident-set' },
      el('legend', { text: 'Report an incident ' + (road ? 'on this road' : 'at this place') }),
      field('inc-kind', 'What happened', el('input', { id: 'inc-kind', type: 'text', value: 'shelling' })),
      field('inc-severity', 'Severity (%)', el('input', { id: 'inc-severity', type: 'number', min: 0, max: 99.99, step: 'any', value: '20' }),
        'Added risk of one passage, before confidence and decay.'),
      field('inc-confidence', 'Confidence (%)', el('input', { id: 'inc-confidence', type: 'number', min: 0, max: 100, step: 'any', value: '80' })),
      road ? null : field('inc-radius', 'Radius (m)', el('input', { id: 'inc-radius', type: 'number', min: 0, step: 'any', value: '300' })),
      field('inc-observed', 'Seen at (ISO 8601 with offset)', el('input', { id: 'inc-observed', type: 'text', spellcheck: 'false', value: defaultObserved() })),
      field('inc-source', 'Source', el('input', { id: 'inc-source', type: 'text', placeholder: 'e.g. field team' })),
      el('div', { className: 'row' }, el('button', { type: 'button', id: 'incident-add', onclick: addIncident }, 'Add incident'))));
    box.appendChild(el('div', { className: 'row' }, el('button', {
      type: 'button', id: 'target-done', className: 'small',
      onclick: function () { state.target = null; renderTarget(); },
    }, 'Done with this ' + (road ? 'road' : 'place'))));
  }

  function numberOf(id) {
    var text = $(id).value.trim();
    return text === '' ? null : Number(text);
  }

  function tidy(x) { return Number(x.toPrecision(12)); }

  function addPending(edit, text) {
    state.pending.push({ edit: edit, text: text });
    hideBox('edit-problem');
    renderPending();
    say('Added: ' + text + '. ' + state.pending.length + ' change' + (state.pending.length === 1 ? '' : 's') +
      ' to save; give a reason and save.');
  }

  function editProblem(text) {
    problemInto('edit-problem', text, { data: {} });
  }

  function addRoadChange() {
    var id = state.target.id;
    var r = docRoad(id);
    var edit = { op: 'set_road', road: id };
    var said = [];
    var status = $('road-status').value;
    if (status !== (r.status || 'open')) { edit.status = status; said.push('status ' + (r.status || 'open') + ' → ' + status); }
    var risk = numberOf('road-risk');
    if (risk === null) risk = 0;
    risk = tidy(risk / 100);
    if (risk !== (r.risk || 0)) { edit.risk = risk; said.push('risk ' + G.percent(r.risk || 0) + ' → ' + G.percent(risk)); }
    var cap = numberOf('road-capacity');
    var capBefore = r.capacity_per_min === undefined ? null : r.capacity_per_min;
    if (cap !== capBefore) {
      edit.capacity_per_min = cap;
      said.push('capacity ' + (capBefore === null ? 'not limited' : capBefore) + ' → ' + (cap === null ? 'not limited' : cap + ' people/min'));
    }
    [['controlled_by', 'road-controller', 'controlled by'], ['checkpoint', 'road-checkpoint', 'checkpoint']].forEach(function (f) {
      var value = $(f[1]).value || null;
      var before = r[f[0]] || null;
      if (value !== before) { edit[f[0]] = value; said.push(f[2] + ' ' + partyName(before) + ' → ' + partyName(value)); }
    });
    if (!said.length) { editProblem('Nothing changed on this road: change a field first.'); return; }
    addPending(edit, 'Road ' + roadLabel(id) + ': ' + said.join(', '));
  }

  function addIncident() {
    var t = state.target;
    var kind = $('inc-kind').value.trim() || 'unspecified';
    var incident = {
      id: 'report-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 6),
      kind: kind,
      severity: tidy((numberOf('inc-severity') || 0) / 100),
      confidence: tidy((numberOf('inc-confidence') === null ? 100 : numberOf('inc-confidence')) / 100),
      observed_at: $('inc-observed').value.trim(),
    };
    var where;
    if (t.kind === 'road') {
      incident.edges = [t.id];
      where = 'on road ' + roadLabel(t.id);
    } else {
      var ll = nodeLonLat(t.id);
      if (ll) {
        incident.lat = ll[1];
        incident.lon = ll[0];
        incident.radius_m = numberOf('inc-radius') === null ? 0 : numberOf('inc-radius');
        where = 'within ' + G.distance(incident.radius_m) + ' of ' + nodeName(t.id);
      } else {
        // A place without coordinates: the report names the roads that touch it.
        incident.edges = ((state.doc && state.doc.edges) || []).filter(function (e) {
          return e.from === t.id || e.to === t.id;
        }).map(function (e) { return e.id; });
        where = 'on the roads of ' + nodeName(t.id);
      }
    }
    var source = $('inc-source').value.trim();
    if (source) incident.source = source;
    addPending({ op: 'add_incident', incident: incident }, 'Incident "' + kind + '" ' + where + ', severity ' +
      G.percent(incident.severity, 0) + ', confidence ' + G.percent(incident.confidence, 0) + ', seen ' + incident.observed_at);
  }

  function addConsent() {
    var id = $('consent-party').value;
    if (!id) return;
    var value = $('consent-value').value;
    var before = (state.parties[id] && state.parties[id].consent) || 'unknown';
    if (value === before) { editProblem(partyName(id) + ' already has consent "' + value + '".'); return; }
    addPending({ op: 'set_party', party: id, consent: value }, 'Consent of ' + partyName(id) + ': ' + before + ' → ' + value);
  }

  function renderPending() {
    var list = $('pending-list');
    clear(list);
    $('pending-h').textContent = 'Changes to save (' + state.pending.length + ')';
    $('pending-empty').hidden = state.pending.length > 0;
    state.pending.forEach(function (p, i) {
      list.appendChild(el('li', null, el('span', { text: p.text }), ' ', el('button', {
        type: 'button', className: 'small', 'aria-label': 'Remove change ' + (i + 1),
        onclick: function () { state.pending.splice(i, 1); renderPending(); },
      }, 'Remove')));
    });
  }

  /** "change 2: Road …" for a pointer into the edits sent (/edits/1/risk). */
  function describePointer(ptr) {
    var m = /^\/edits\/(\d+)/.exec(ptr);
    if (!m || !state.pending[Number(m[1])]) return null;
    return 'change ' + (Number(m[1]) + 1) + ': ' + state.pending[Number(m[1])].text;
  }

  function readyToSave() {
    hideBox('edit-problem');
    if (!state.pending.length) { editProblem('No changes to save: click a road or a place, or change a consent, and add the change.'); return null; }
    var reason = $('edit-reason').value.trim();
    if (!reason) { editProblem('Say why (the news or report behind the change) before saving.'); $('edit-reason').focus(); return null; }
    return { reason: reason, edits: state.pending.map(function (p) { return p.edit; }) };
  }

  function afterSave(version) {
    state.pending = [];
    $('edit-reason').value = '';
    $('fork-name').value = '';
    renderPending();
    hideBox('edit-problem');
    hideBox('conflict');
    return 'version ' + version.version + ' of ' + version.id + ' by ' + (version.author || 'unknown') +
      (version.reason ? ' (' + version.reason + ')' : '');
  }

  function saveVersion() {
    var body = readyToSave();
    if (!body) return Promise.resolve();
    var had = state.version;
    var button = $('save-version');
    button.disabled = true;
    say('Saving ' + body.edits.length + ' change' + (body.edits.length === 1 ? '' : 's') + ' as a new version …');
    return api('POST', scenarioPath('/edits'), body, { 'If-Match': state.etag || '"' + had + '"' }).then(function (res) {
      button.disabled = false;
      if (res.ok) {
        var saved = afterSave(res.data);
        return loadScenario(state.scenarioId, true).then(function () { say('Saved as ' + saved + '.'); });
      }
      if (res.status === 412) return conflict(res, had);
      if (res.status === 403) setReadOnly(res);
      say('The changes were not saved.');
      problemInto('edit-problem', 'The changes were not saved', res, describePointer);
    });
  }

  /** Someone saved a version since this page read the scenario: say who, when, why and what,
   * show the current version and keep the changes not saved. */
  function conflict(res, had) {
    var current = res.data && res.data.current_version;
    var q = '/diff?from=' + had + (current ? '&to=' + current : '');
    return Promise.all([api('GET', scenarioPath(q)), api('GET', scenarioPath('/versions'))]).then(function (got) {
      var diff = got[0];
      var versions = got[1].ok ? got[1].data.versions || [] : [];
      var to = diff.ok ? diff.data.to : current;
      var box = $('conflict');
      clear(box);
      box.appendChild(el('h3', { text: 'Not saved: the scenario changed meanwhile' }));
      box.appendChild(el('p', { text: 'You were editing version ' + had + '; version ' + to +
        ' is now the current one. The map now shows it. Saved meanwhile:' }));
      box.appendChild(el('ul', null, versions.filter(function (v) { return v.version > had; }).map(function (v) {
        return el('li', { text: 'Version ' + v.version + ' by ' + (v.author || v.created_by || 'unknown') + ', ' +
          when(v.created_at) + ': ' + (v.reason || v.kind || v.change) });
      })));
      if (diff.ok) {
        // A list, not a table: the left column is narrow.
        var changes = diff.data.changes || [];
        box.appendChild(el('p', { text: 'What changed from version ' + had + ' to ' + to + ' (' + changes.length + '):' }));
        box.appendChild(el('ul', { id: 'conflict-changes' }, changes.slice(0, 200).map(function (c) {
          return el('li', { 'data-kind': c.kind, 'data-id': c.id, text: changeWhat(c) + ': ' + (c.change === 'changed'
            ? c.field + ' ' + valueText(c.before) + ' → ' + valueText(c.after) : c.change) });
        })));
      }
      else box.appendChild(el('p', { text: 'Could not read what changed: ' + ((diff.data && diff.data.detail) || diff.status) }));
      box.appendChild(el('p', { text: 'Your ' + state.pending.length + ' change' + (state.pending.length === 1 ? ' is' : 's are') +
        ' kept under "Changes to save" above: check them against version ' + to + ' and save again.' }));
      box.hidden = false;
      say('Not saved: version ' + to + ' was saved while you edited version ' + had + '. See what changed, then save again.');
      return loadScenario(state.scenarioId, true).then(function () {
        $('conflict').scrollIntoView({ block: 'nearest' });
        say('Not saved: version ' + to + ' was saved while you edited version ' + had + '. See what changed, then save again.');
      });
    });
  }

  function saveFork() {
    var body = readyToSave();
    if (!body) return Promise.resolve();
    var parent = state.scenarioId;
    var version = state.version;
    var name = $('fork-name').value.trim() || (state.doc.name || parent) + ' — what-if';
    var button = $('save-fork');
    button.disabled = true;
    say('Making the what-if "' + name + '" …');
    return api('POST', scenarioPath('/forks'), { name: name, version: version }).then(function (res) {
      if (!res.ok) {
        button.disabled = false;
        if (res.status === 403) setReadOnly(res);
        problemInto('edit-problem', 'The what-if was not made', res);
        return;
      }
      var fork = res.data.id;
      var forkPath = '/v1/scenarios/' + encodeURIComponent(fork);
      return api('POST', forkPath + '/edits', body, { 'If-Match': res.etag || '"1"' }).then(function (ed) {
        button.disabled = false;
        if (!ed.ok) {
          // A what-if without its changes would only mislead: it goes again.
          api('DELETE', forkPath);
          problemInto('edit-problem', 'The what-if was not made: its changes were refused', ed, describePointer);
          say('The what-if was not made.');
          return;
        }
        var saved = afterSave(ed.data);
        var q = new URLSearchParams(window.location.search);
        q.set('scenario', fork);
        history.replaceState(null, '', window.location.pathname + '?' + q.toString());
        return loadScenarios(fork).then(function () {
          say('What-if made from ' + parent + ' version ' + version + ': ' + saved + '. ' + parent + ' is unchanged.');
        });
      });
    });
  }

  /* History and diffs */

  function when(iso) {
    if (!iso) return '—';
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }

  function valueText(v) {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  function editText(e) {
    var rest = Object.keys(e).filter(function (k) { return k !== 'op' && k !== e.op.split('_').slice(1).join('_'); });
    var fields = function () { return rest.map(function (k) { return k + ' ' + valueText(e[k]); }).join(', '); };
    switch (e.op) {
      case 'set_road': return 'road ' + roadLabel(e.road) + ': ' + fields();
      case 'set_place': return 'place ' + nodeName(e.place) + ': ' + fields();
      case 'set_party': return 'party ' + partyName(e.party) + ': ' + fields();
      case 'add_incident': return 'incident "' + ((e.incident && e.incident.kind) || 'unspecified') + '" reported' +
        (e.incident && e.incident.edges ? ' on ' + e.incident.edges.map(roadLabel).join(', ') : '');
      default: {
        var target = e.road || e.place || e.incident || e.window;
        return e.op.replace('_', ' ') + ' ' + (target && typeof target === 'object' ? target.id : valueText(target));
      }
    }
  }

  function editsText(edits) {
    if (!edits || !edits.length) return '—';
    var shown = edits.slice(0, 4).map(editText);
    if (edits.length > 4) shown.push('and ' + (edits.length - 4) + ' more');
    return shown.join('; ');
  }

  function loadHistory() {
    var id = state.scenarioId;
    return api('GET', scenarioPath('/versions')).then(function (res) {
      if (id !== state.scenarioId) return;
      if (!res.ok) { problemInto('diff-problem', 'Could not list the versions', res); return; }
      state.versions = res.data.versions || [];
      renderHistory();
    });
  }

  function renderHistory() {
    var out = $('history-out');
    clear(out);
    var versions = state.versions.slice().reverse();
    out.appendChild(el('div', { className: 'table-wrap' }, el('table', { id: 'history-table' },
      el('caption', { text: 'Versions of ' + ((state.doc && state.doc.name) || state.scenarioId) + ' (' + versions.length + '), newest first' }),
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', className: 'num', text: 'Version' }),
        el('th', { scope: 'col', text: 'Who' }),
        el('th', { scope: 'col', text: 'When' }),
        el('th', { scope: 'col', text: 'Why' }),
        el('th', { scope: 'col', text: 'What' }))),
      el('tbody', null, versions.map(function (v) {
        var forked = v.forked_from && v.version === 1 ? 'what-if of ' + v.forked_from.scenario + ' version ' + v.forked_from.version : null;
        return el('tr', { 'data-version': v.version, className: v.version === state.version ? 'current' : null },
          el('th', { scope: 'row', className: 'num', text: v.version + (v.version === state.version ? ' (shown)' : '') }),
          el('td', { className: 'who-col', text: v.author || v.created_by || '—' }),
          el('td', { className: 'when-col', text: when(v.created_at) }),
          el('td', { className: 'why-col', text: v.reason || forked || v.change || '—' }),
          el('td', { className: 'what-col', text: (v.kind || '') + (v.edits && v.edits.length ? ': ' + editsText(v.edits) : '') }));
      })))));
    ['diff-from', 'diff-to'].forEach(function (which) {
      var select = $(which);
      clear(select);
      state.versions.forEach(function (v) { select.appendChild(el('option', { value: v.version, text: 'version ' + v.version })); });
    });
    var last = state.versions.length ? state.versions[state.versions.length - 1].version : 1;
    $('diff-from').value = String(Math.max(1, last - 1));
    $('diff-to').value = String(last);
  }

  function changeWhat(c) {
    var name = c.kind === 'road' ? roadLabel(c.id) : c.kind === 'place' ? nodeName(c.id) : c.kind === 'party' ? partyName(c.id) : c.id;
    return c.kind + ' ' + (name || '');
  }

  function changesTable(changes, id, caption) {
    var shown = changes.slice(0, 500);
    return el('div', { className: 'table-wrap' }, el('table', { id: id, className: 'changes' },
      el('caption', { text: caption + ' (' + changes.length + (shown.length < changes.length ? ', first 500 listed' : '') + ')' }),
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', text: 'What' }),
        el('th', { scope: 'col', text: 'Change' }),
        el('th', { scope: 'col', text: 'Field' }),
        el('th', { scope: 'col', text: 'Before' }),
        el('th', { scope: 'col', text: 'After' }))),
      el('tbody', null, shown.length ? shown.map(function (c) {
        return el('tr', { 'data-kind': c.kind, 'data-id': c.id },
          el('th', { scope: 'row', text: changeWhat(c) }),
          el('td', { text: c.change }),
          el('td', { text: c.field || '' }),
          el('td', { text: c.change === 'changed' ? valueText(c.before) : '' }),
          el('td', { text: c.change === 'changed' ? valueText(c.after) : '' }));
      }) : el('tr', null, el('td', { colspan: 5, text: 'No differences.' })))));
  }

  function showDiff() {
    hideBox('diff-problem');
    var from = $('diff-from').value;
    var to = $('diff-to').value;
    if (!from || !to) return Promise.resolve();
    return api('GET', scenarioPath('/diff?from=' + encodeURIComponent(from) + '&to=' + encodeURIComponent(to))).then(function (res) {
      var out = $('diff-out');
      clear(out);
      if (!res.ok) { problemInto('diff-problem', 'Could not compare the versions', res); return; }
      out.appendChild(changesTable(res.data.changes || [], 'diff-table', 'Changes from version ' + res.data.from + ' to ' + res.data.to));
    });
  }

  /* Comparisons */

  function listing(id) {
    for (var i = 0; i < state.scenarios.length; i++) if (state.scenarios[i].id === id) return state.scenarios[i];
    return null;
  }

  function fillCompareSides() {
    var me = listing(state.scenarioId);
    var parent = me && me.forked_from;
    fillSide('a', parent ? parent.scenario : state.scenarioId, parent ? parent.version : Math.max(1, (state.version || 1) - 1));
    fillSide('b', state.scenarioId, state.version);
  }

  function fillSide(side, scenarioId, version) {
    var select = $('cmp-' + side + '-scenario');
    clear(select);
    var ids = state.scenarios.map(function (s) { return s.id; });
    if (ids.indexOf(scenarioId) < 0) ids.unshift(scenarioId);
    ids.forEach(function (id) {
      var s = listing(id);
      select.appendChild(el('option', { value: id, text: id + (s && s.name ? ' — ' + s.name : '') }));
    });
    select.value = scenarioId;
    return fillVersions(side, scenarioId, version);
  }

  function fillVersions(side, scenarioId, version) {
    var select = $('cmp-' + side + '-version');
    return api('GET', '/v1/scenarios/' + encodeURIComponent(scenarioId) + '/versions').then(function (res) {
      if ($('cmp-' + side + '-scenario').value !== scenarioId) return;
      clear(select);
      var versions = res.ok ? res.data.versions || [] : [];
      versions.slice().reverse().forEach(function (v) {
        var why = v.reason || v.kind || v.change || '';
        select.appendChild(el('option', { value: v.version, text: 'version ' + v.version + (why ? ' — ' + (why.length > 40 ? why.slice(0, 39) + '…' : why) : '') }));
      });
      var wanted = versions.some(function (v) { return v.version === version; });
      if (wanted) select.value = String(version);
    });
  }

  function sideOf(side) {
    return { scenario: $('cmp-' + side + '-scenario').value, version: Number($('cmp-' + side + '-version').value) || undefined };
  }

  function sideLabel(v) {
    return v.scenario + ', version ' + v.version;
  }

  function runCompare() {
    hideBox('compare-problem');
    var kind = $('cmp-kind').value;
    var question;
    if (kind === 'route') {
      if (!state.from || !state.to) {
        problemInto('compare-problem', 'Choose From and To first (click two places or use the lists on the left).', { data: {} });
        return Promise.resolve();
      }
      question = Object.assign({ kind: 'route', from: state.from, to: state.to }, routeOptions());
    } else {
      question = Object.assign({ kind: 'plan' }, planQuestion());
    }
    var body = { a: sideOf('a'), b: sideOf('b'), question: question };
    var button = $('compare-run');
    button.disabled = true;
    say('Comparing …');
    return api('POST', '/v1/compare', body).then(function (res) {
      button.disabled = false;
      if (!res.ok) {
        if (res.status === 403) setReadOnly(res);
        say('No comparison.');
        problemInto('compare-problem', 'No comparison', res);
        return;
      }
      state.compare = res.data;
      state.routes = null;
      layers.routes.clearLayers();
      layers.plan.clearLayers();
      clear($('routes-out'));
      clear($('steps-out'));
      drawCompare();
      renderCompare();
      say('Compared A (' + sideLabel(res.data.versions.a) + ') with B (' + sideLabel(res.data.versions.b) + ').');
    });
  }

  function answered(answer) { return answer && !answer.type; }

  function drawCompare() {
    layers.compare.clearLayers();
    var c = state.compare;
    if (!c) return;
    var all = [];
    ['a', 'b'].forEach(function (side, k) {
      var answer = c[side];
      if (!answered(answer)) return;
      var style = COMPARE_STYLES[side];
      var label = side.toUpperCase() + ' (' + sideLabel(c.versions[side]) + ')';
      var paths = [];
      if (c.kind === 'route') {
        var first = (answer.routes || [])[0];
        if (first) paths.push({ coords: routeCoords(first), weight: 6, tip: label + ': survival ' + G.percent(first.survival_probability) + ', ' + G.duration(first.travel_time_min) });
      } else {
        var byPath = {};
        // A plan on foot moves people by movements; a fleet plan by trips (both have nodes).
        (answer.movements || answer.trips || []).forEach(function (m) {
          var nodes = m.nodes || [m.from, m.to];
          var key = nodes.join('>');
          byPath[key] = byPath[key] || { nodes: nodes, count: 0 };
          byPath[key].count += m.count;
        });
        Object.keys(byPath).forEach(function (key) {
          var p = byPath[key];
          paths.push({ coords: p.nodes.map(nodeLonLat).filter(Boolean), weight: 5, tip: label + ': ' + G.count(p.count) + ' people, ' + p.nodes.map(nodeName).join(' → ') });
        });
      }
      paths.forEach(function (p) {
        if (p.coords.length < 2) return;
        var line = latLngs(p.coords);
        all = all.concat(line);
        L.polyline(line, { pane: 'routes', color: '#fff', weight: p.weight + 4, opacity: 0.8, interactive: false }).addTo(layers.compare);
        L.polyline(line, { pane: 'routes', color: style.color, weight: p.weight, dashArray: style.dashArray, lineCap: 'butt', className: 'compare-line compare-' + side })
          .bindTooltip(p.tip, { sticky: true }).addTo(layers.compare);
        L.marker(pointAlong(line, k === 0 ? 0.33 : 0.66), {
          pane: 'pins', interactive: false, keyboard: false,
          icon: L.divIcon({ className: 'pin compare-pin compare-pin-' + side, html: el('span', { text: style.mark }), iconSize: [20, 20] }),
        }).addTo(layers.compare);
      });
    });
    if (all.length >= 2) map.fitBounds(L.latLngBounds(all).pad(0.25), { maxZoom: 16, animate: false });
  }

  function signed(x, digits, unit) {
    if (x === null || x === undefined) return '—';
    var r = Number(x.toFixed(digits));
    if (r === 0) return '±' + (0).toFixed(digits) + unit;
    return (r > 0 ? '+' : '−') + Math.abs(r).toFixed(digits) + unit;
  }

  function renderCompare() {
    var out = $('compare-out');
    clear(out);
    var c = state.compare;
    if (!c) return;
    var d = c.difference || {};
    var head = el('tr', null, el('th', { scope: 'col', text: '' }),
      ['a', 'b'].map(function (side) {
        var style = COMPARE_STYLES[side];
        return el('th', { scope: 'col', className: 'num' }, lineSwatch(Object.assign({ weight: 4, casing: true }, style)), ' ' + style.mark,
          el('div', { className: 'side-name', text: sideLabel(c.versions[side]) }));
      }),
      el('th', { scope: 'col', className: 'num', text: 'B − A' }));
    var rows = [];
    function row(key, label, a, b, diff, aValue, bValue) {
      rows.push(el('tr', { 'data-key': key },
        el('th', { scope: 'row', text: label }),
        el('td', { className: 'num', 'data-side': 'a', 'data-value': aValue === undefined ? null : JSON.stringify(aValue), text: a }),
        el('td', { className: 'num', 'data-side': 'b', 'data-value': bValue === undefined ? null : JSON.stringify(bValue), text: b }),
        diff));
    }
    function diffCell(value, text) {
      return el('td', { className: 'num diff', 'data-side': 'diff', 'data-value': JSON.stringify(value === undefined ? null : value), text: text });
    }
    var problems = [];
    ['a', 'b'].forEach(function (side) {
      if (!answered(c[side])) problems.push(el('p', { className: 'note', text: side.toUpperCase() + ': ' + ((c[side] && (c[side].detail || c[side].title)) || 'no answer') }));
    });
    if (c.kind === 'route') {
      var ra = answered(c.a) ? (c.a.routes || [])[0] : null;
      var rb = answered(c.b) ? (c.b.routes || [])[0] : null;
      var sa = ra ? ra.survival_probability : null;
      var sb = rb ? rb.survival_probability : null;
      row('survival_probability', 'Survival probability', G.percent(sa), G.percent(sb),
        diffCell(d.survival_probability, signed(d.survival_probability === null || d.survival_probability === undefined ? null : d.survival_probability * 100, 2, '\u00a0points')), sa, sb);
      var ta = ra ? ra.travel_time_min : null;
      var tb = rb ? rb.travel_time_min : null;
      row('travel_time_min', 'Travel time', G.duration(ta), G.duration(tb), diffCell(d.travel_time_min, signed(d.travel_time_min, 1, '\u00a0min')), ta, tb);
      var consents = d.consents_needed || {};
      row('consents_needed', 'Parties to agree', consents.a ? partyList(consents.a) : '—', consents.b ? partyList(consents.b) : '—', el('td', null));
      var onlyA = d.roads_only_in_a || [];
      var onlyB = d.roads_only_in_b || [];
      row('roads_only', 'Roads only on this side', onlyA.length ? onlyA.map(roadLabel).join('; ') : 'none',
        onlyB.length ? onlyB.map(roadLabel).join('; ') : 'none', el('td', null), onlyA, onlyB);
    } else {
      [['evacuated', 'People evacuated', function (v) { return G.count(v); }, 0, ''],
        ['egress_time_min', 'Last evacuee safe after', function (v) { return v + '\u00a0min'; }, 0, '\u00a0min'],
        ['expected_harm', 'Expected harm (people)', function (v) { return v.toFixed(2); }, 2, '']].forEach(function (f) {
        var va = answered(c.a) ? c.a[f[0]] : null;
        var vb = answered(c.b) ? c.b[f[0]] : null;
        var show = function (v) { return v === null || v === undefined ? '—' : f[2](v); };
        row(f[0], f[1], show(va), show(vb), diffCell(d[f[0]], signed(d[f[0]], f[3], f[4])), va, vb);
      });
      // Fleet plans: the vehicles of each side, and people evacuated group by group.
      if (d.vehicles) {
        row('vehicles', 'Vehicles', d.vehicles.a ? vehiclesText(d.vehicles.a) : '—', d.vehicles.b ? vehiclesText(d.vehicles.b) : '—',
          el('td', null), d.vehicles.a, d.vehicles.b);
      }
      Object.keys(d.evacuated_by_group || {}).forEach(function (g) {
        var ofSide = function (side) {
          var found = answered(c[side]) ? (c[side].by_group || []).filter(function (x) { return x.group === g; })[0] : null;
          return found ? found.evacuated : null;
        };
        var va = ofSide('a');
        var vb = ofSide('b');
        var show = function (v) { return v === null ? '—' : G.count(v); };
        var change = d.evacuated_by_group[g];
        row('evacuated_by_group.' + g, 'Evacuated: ' + g, show(va), show(vb), diffCell(change, signed(change, 0, '')), va, vb);
      });
    }
    out.appendChild(el('div', { className: 'table-wrap' }, el('table', { id: 'compare-table' },
      el('caption', { text: (c.kind === 'route' ? 'Safest route' : 'Evacuation plan') + ': A and B side by side' }),
      el('thead', null, head), el('tbody', null, rows))));
    append(out, problems);
  }

  /* ---------- loading ---------- */

  /** Who the token is: viewers see no editing controls at all (GET /v1/whoami). */
  function learnRole() {
    return api('GET', '/v1/whoami').then(function (res) {
      // A service without /v1/whoami: the controls show, and a 403 makes the page read only.
      if (res.status === 404) document.body.classList.remove('role-unknown');
      if (!res.ok) return;
      state.role = res.data.role;
      state.name = res.data.name;
      if (res.data.role !== 'viewer') document.body.classList.remove('role-unknown');
      $('who').textContent = (res.data.name || 'unnamed token') + ' (' + res.data.role + ')';
      if (res.data.role === 'viewer') {
        setReadOnly({ data: { detail: 'the token is a viewer token' } });
      }
    });
  }

  function loadScenarios(wanted) {
    return learnRole().then(function () {
      return api('GET', '/v1/scenarios?limit=200');
    }).then(function (res) {
      if (!res.ok) {
        if (res.status !== 401) showProblem('Could not list scenarios', res);
        return;
      }
      $('token-panel').hidden = true;
      $('forget-token').hidden = false;
      if (!state.readOnly && !state.name) $('who').textContent = 'Token set for this tab';
      var select = $('scenario');
      clear(select);
      var items = res.data.items || [];
      state.scenarios = items;
      items.forEach(function (s) {
        select.appendChild(el('option', { value: s.id, text: (s.name || s.id) + ' (' + s.nodes + ' places, ' + s.edges + ' roads)' }));
      });
      select.disabled = !items.length;
      if (!items.length) { say('No scenarios stored yet: POST one to /v1/scenarios.'); return; }
      wanted = wanted || new URLSearchParams(window.location.search).get('scenario');
      var chosen = items.some(function (s) { return s.id === wanted; }) ? wanted : items[0].id;
      select.value = chosen;
      return loadScenario(chosen);
    });
  }

  /** Read a scenario and draw it. keep: the same scenario again (after an edit): From, To
   * and the changes not yet saved stay, and the routes shown are asked again. */
  function loadScenario(id, keep) {
    var again = keep && state.routes && state.from && state.to;
    if (!keep) {
      state.from = '';
      state.to = '';
      state.pending = [];
      state.target = null;
      renderPending();
      renderTarget();
      hideBox('conflict');
    }
    state.scenarioId = id;
    state.plan = null;
    layers.plan.clearLayers();
    clear($('plan-out'));
    clearResults();
    say('Loading ' + id + ' …');
    return api('GET', scenarioPath('')).then(function (res) {
      if (!res.ok) { showProblem('Could not read the scenario', res); return; }
      state.etag = res.etag;
      state.version = res.etag ? Number(res.etag.replace(/^W\//, '').replace(/"/g, '')) : null;
      state.doc = res.data;
      state.nodes = {};
      (state.doc.nodes || []).forEach(function (n) { state.nodes[n.id] = n; });
      state.parties = {};
      state.partyIndex = {};
      (state.doc.parties || []).forEach(function (p, i) { state.parties[p.id] = p; state.partyIndex[p.id] = i; });
      buildPatterns();
      fillNodeSelects();
      fillProfiles();
      fillParties();
      describePlanUses();
      fillWindows();
      fillFleets();
      describePlanUses();
      $('at').placeholder = state.doc.as_of || 'ISO 8601, e.g. 2016-12-15T10:00:00+02:00';
      renderAbout();
      fillConsentParties();
      if (state.target) renderTarget();
      loadHistory();
      fillCompareSides();
      return loadMap(!keep).then(function () {
        say((state.doc.name || id) + ' loaded (version ' + state.version + '): ' + Object.keys(state.nodes).length +
          ' places. ' + (keep ? '' : 'Click a place to start.'));
        if (again) return findRoutes();
      });
    });
  }

  function loadMap(fit) {
    var q = new URLSearchParams();
    var profile = $('profile').value;
    var at = $('at').value.trim();
    if (profile) q.set('profile', profile);
    if (at) q.set('at', at);
    var qs = q.toString();
    return api('GET', scenarioPath('/map.geojson') + (qs ? '?' + qs : '')).then(function (res) {
      if (!res.ok) { showProblem('Could not draw the map', res); return; }
      state.geo = res.data;
      (state.geo.properties && state.geo.properties.parties || []).forEach(function (p) {
        if (!state.parties[p.id]) state.parties[p.id] = p;
      });
      $('credits').textContent = ((state.geo.properties && state.geo.properties.credits) || []).join(' · ') || 'none given';
      drawScenario();
      if (fit) fitToScenario();
    });
  }

  function fillProfiles() {
    var select = $('profile');
    var before = select.value;
    clear(select);
    var profiles = {};
    var order = [];
    ((state.config && state.config.profiles) || []).concat((state.doc && state.doc.profiles) || []).forEach(function (p) {
      if (!profiles[p.id]) order.push(p.id);
      profiles[p.id] = p;
    });
    if (!order.length) order = ['general'];
    order.forEach(function (id) {
      var p = profiles[id] || { id: id };
      select.appendChild(el('option', { value: id, text: (p.name || id) + ' (' + id + ')' }));
    });
    var dflt = (state.config && state.config.default_profile) || order[0];
    select.value = profiles[before] ? before : dflt;
    select._profiles = profiles;
    describeProfile();
    describePlanUses();
  }

  function describeProfile() {
    var select = $('profile');
    var p = (select._profiles || {})[select.value];
    $('profile-desc').textContent = p && p.description ? p.description : '';
  }

  function fillParties() {
    var box = $('avoid-parties');
    clear(box);
    var ids = Object.keys(state.parties);
    if (!ids.length) { box.appendChild(el('p', { className: 'hint', text: 'No parties in this scenario.' })); return; }
    ids.forEach(function (id) {
      var p = state.parties[id];
      box.appendChild(el('label', { className: 'check' },
        el('input', { type: 'checkbox', value: id, name: 'avoid_parties' }),
        el('span', { text: (p.name || id) + (p.consent ? ' (consent ' + p.consent + ')' : '') })));
    });
  }

  function renderAbout() {
    var body = $('about-body');
    clear(body);
    var d = state.doc || {};
    body.appendChild(el('p', null, el('b', { text: d.name || state.scenarioId }), d.as_of ? ' — as of ' + d.as_of : ''));
    if (d.description) body.appendChild(el('p', { text: d.description }));
    (Array.isArray(d.notes) ? d.notes : d.notes ? [d.notes] : []).forEach(function (n) {
      body.appendChild(el('p', { text: n }));
    });
  }

  /* ---------- wiring ---------- */

  $('token-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = $('token-input').value.trim();
    if (!t) return;
    sessionStorage.setItem(TOKEN_KEY, t);
    state.token = t;
    state.readOnly = false;
    state.role = null;
    state.name = null;
    document.body.classList.remove('read-only');
    document.body.classList.add('role-unknown');
    $('find-routes').disabled = false;
    $('make-plan').disabled = false;
    $('readonly-note').hidden = true;
    loadScenarios();
  });
  $('forget-token').addEventListener('click', function () { askForToken('Enter another token.'); });
  $('scenario').addEventListener('change', function () {
    var id = $('scenario').value;
    var q = new URLSearchParams(window.location.search);
    q.set('scenario', id);
    history.replaceState(null, '', window.location.pathname + '?' + q.toString());
    loadScenario(id);
  });
  $('route-form').addEventListener('submit', function (ev) { ev.preventDefault(); findRoutes(); });
  $('plan-form').addEventListener('submit', function (ev) { ev.preventDefault(); makePlan(); });
  $('from').addEventListener('change', function () { state.from = $('from').value; drawPins(); });
  $('to').addEventListener('change', function () { state.to = $('to').value; drawPins(); });
  $('swap').addEventListener('click', function () {
    var f = state.from;
    state.from = state.to;
    state.to = f;
    syncSelects();
    drawPins();
  });
  $('clear').addEventListener('click', function () {
    state.from = '';
    state.to = '';
    syncSelects();
    drawPins();
    clearResults();
    say('Cleared. Click a place to choose From.');
  });
  $('profile').addEventListener('change', function () { describeProfile(); describePlanUses(); loadMap(false); });
  $('unknown-mode').addEventListener('change', function () {
    var value = $('unknown-mode').value === 'value';
    $('unknown-value').hidden = !value;
    if (value) $('unknown-value').focus();
    describePlanUses();
  });
  ['unknown-value', 'consenting-only'].forEach(function (id) { $(id).addEventListener('change', describePlanUses); });
  $('avoid-parties').addEventListener('change', describePlanUses);
  $('fleet-choices').addEventListener('change', describePlanUses);
  $('at').addEventListener('change', function () { loadMap(false); });
  $('consent-add').addEventListener('click', addConsent);
  $('save-version').addEventListener('click', saveVersion);
  $('save-fork').addEventListener('click', saveFork);
  $('diff-run').addEventListener('click', showDiff);
  $('compare-run').addEventListener('click', runCompare);
  ['a', 'b'].forEach(function (side) {
    $('cmp-' + side + '-scenario').addEventListener('change', function () {
      fillVersions(side, $('cmp-' + side + '-scenario').value, null);
    });
  });
  $('place-mode').addEventListener('change', function () {
    say($('place-mode').checked ? 'Click a place to report an incident there.' : 'Click a place to choose From and To.');
  });
  $('window').addEventListener('change', function () {
    document.querySelector('.custom-window').hidden = $('window').value !== '';
  });

  takeTokenFromAddress();
  state.token = sessionStorage.getItem(TOKEN_KEY);
  api('GET', '/v1/config').then(function (res) {
    state.config = res.ok ? res.data : null;
    if (state.config && state.config.tile_url) {
      var origin = state.config.tile_url.replace(/^(https?:\/\/[^/]+).*$/, '$1');
      L.tileLayer(state.config.tile_url, { attribution: 'Tiles: ' + origin.replace(/[<>&"]/g, ''), maxZoom: 19 }).addTo(map);
    }
    if (!state.token) {
      askForToken('The map reads and computes through the API, which needs a token.');
      return;
    }
    loadScenarios();
  });
})();
