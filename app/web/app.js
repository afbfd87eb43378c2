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

  function api(method, path, body) {
    var headers = { Accept: 'application/json' };
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
        return { ok: res.ok, status: res.status, data: data };
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
    var note = $('readonly-note');
    note.textContent = 'Read only: this token may look but not compute (' +
      ((res.data && res.data.detail) || 'forbidden') + '). Routes and plans need a planner token.';
    note.hidden = false;
    $('who').textContent = 'Read-only token';
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
    Object.keys(layers).forEach(function (k) { if (k !== 'routes' && k !== 'plan') layers[k].clearLayers(); });
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
      var line = L.polyline(latLngs(f.geometry.coordinates), Object.assign({ className: 'road road-' + p.status }, roadStyle(p)));
      line.bindTooltip(tooltipLines([
        p.name || p.id,
        'Status: ' + p.status + (p.usable ? '' : ' — not usable for this profile'),
        'Risk of one passage: ' + G.percent(p.risk) + (p.base_risk !== p.risk ? ' (base ' + G.percent(p.base_risk) + ')' : ''),
        'Travel time: ' + G.duration(p.travel_time_min),
        'Controlled by: ' + partyName(p.controlled_by),
        p.checkpoint ? 'Checkpoint: ' + partyName(p.checkpoint) : null,
        p.capacity_per_min ? 'Capacity: ' + p.capacity_per_min + ' people/min' : null,
      ]), { sticky: true });
      line.addTo(layers.roads);
      if (p.checkpoint) {
        var mid = midpoint(f.geometry.coordinates);
        L.marker([mid[1], mid[0]], {
          icon: L.divIcon({ className: 'checkpoint-icon', html: 'CP', iconSize: [20, 14] }),
          title: 'Checkpoint of ' + partyName(p.checkpoint) + ' on ' + (p.name || p.id),
          keyboard: false,
        }).addTo(layers.checkpoints);
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
  }

  function fitToScenario() {
    var pts = [];
    ((state.geo && state.geo.features) || []).forEach(function (f) {
      if (f.properties && f.properties.layer === 'node') pts.push([f.geometry.coordinates[1], f.geometry.coordinates[0]]);
    });
    map.invalidateSize();
    if (pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.02));
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
      el('li', null, el('span', { className: 'incident-icon sample', text: '⚠ 5 h ago' }), 'incident, its age'))));
    box.appendChild(el('div', null, el('h3', { text: 'Roads: risk per passage (wider = riskier)' }), el('ul', null,
      RISK_CLASSES.map(function (c) {
        return el('li', null, lineSwatch({ color: c.colour, weight: c.weight }), c.label);
      }),
      el('li', null, lineSwatch({ color: '#555', weight: 3, dashArray: LIMITED_DASH }), 'restricted / damaged: long dashes'),
      el('li', null, lineSwatch(UNUSABLE), 'unusable for profile: dots'),
      el('li', null, lineSwatch(BLOCKED), 'blocked: dark dashes'))));
    box.appendChild(el('div', null, el('h3', { text: 'Results' }), el('ul', null,
      el('li', null, lineSwatch(Object.assign({ weight: 5, casing: true }, ROUTE_STYLES.safest)), 'safest route (1)'),
      el('li', null, lineSwatch(Object.assign({ weight: 4, casing: true }, ROUTE_STYLES.alternative[0])), 'alternatives (2, 3 …)'),
      el('li', null, lineSwatch(Object.assign({ weight: 4, casing: true }, ROUTE_STYLES.pair[0])), 'disjoint pair (A, B)'),
      el('li', null, lineSwatch({ color: MOVEMENT.color, weight: 4 }), 'plan movement (width: people)'),
      el('li', null, lineSwatch(BOTTLENECK), 'bottleneck (road at capacity)'))));
  }

  /* ---------- choosing places ---------- */

  function pick(id) {
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

  function routeOptions() {
    var body = {};
    var profile = $('profile').value;
    if (profile) body.profile = profile;
    var avoid = Array.prototype.map.call(document.querySelectorAll('#avoid-parties input:checked'), function (c) { return c.value; });
    if (avoid.length) body.avoid_parties = avoid;
    if ($('consenting-only').checked) body.consenting_only = true;
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
    Promise.all(asks).then(function (answers) {
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
      if (wantPair) {
        var pair = answers[1];
        var pd = pair.data || {};
        if (pair.ok && (pd.routes || []).length >= 2) {
          pd.routes.slice(0, 2).forEach(function (r, i) {
            items.push({ route: r, kind: 'pair', label: 'Disjoint pair, corridor ' + 'AB'[i], mark: 'AB'[i], style: ROUTE_STYLES.pair[i] });
          });
          joint = typeof pd.joint_survival_probability === 'number' ? pd.joint_survival_probability
            : pd.routes[0].survival_probability * pd.routes[1].survival_probability;
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
      state.routes = { items: items, notes: notes, joint: joint, from: state.from, to: state.to, options: options };
      state.selected = 0;
      layers.cut.clearLayers();
      shared.forEach(function (r) { outlineRoad(r.edge); });
      drawRoutes(true);
      renderRoutes();
      var best = items[0].route;
      say(items[0].label + ' from ' + nodeName(state.from) + ' to ' + nodeName(state.to) + ': survival probability ' +
        G.percent(best.survival_probability) + ', ' + G.duration(best.travel_time_min) + ', parties to agree: ' +
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
      line.bindTooltip(item.label + ': survival ' + G.percent(item.route.survival_probability) + ', ' + G.duration(item.route.travel_time_min), { sticky: true });
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
    say('Showing steps of ' + item.label + ': survival probability ' + G.percent(item.route.survival_probability) + '.');
  }

  function renderRoutes() {
    var out = $('routes-out');
    clear(out);
    clear($('steps-out'));
    if (!state.routes) return;
    var r = state.routes;
    out.appendChild(el('h3', { text: 'Routes from ' + nodeName(r.from) + ' to ' + nodeName(r.to) }));
    r.items.forEach(function (item, i) {
      var route = item.route;
      var selected = i === state.selected;
      var roads = (route.edges || []).length;
      var details = selected ? el('dl', null,
        el('dt', { text: 'Risk' }), el('dd', { text: G.percent(route.risk) }),
        el('dt', { text: 'Parties crossed' }), el('dd', { text: (route.parties || []).map(partyName).join('; ') || 'none' }),
        el('dt', { text: 'Checkpoints' }), el('dd', { text: (route.checkpoints || []).map(partyName).join('; ') || 'none' }),
        el('dt', { text: 'Roads' }), el('dd', { text: roads + (roads === 1 ? ' road' : ' roads') + ' through ' + (route.nodes || []).length + ' places' }),
        typeof route.overlap_with_safer === 'number' && i > 0 ? [el('dt', { text: 'Shared with a safer route' }),
          el('dd', { text: G.percent(route.overlap_with_safer, 0) + ' of its travel time' })] : null) : null;
      var card = el('article', { className: 'route-card' + (selected ? ' selected' : ''), 'aria-label': item.label, 'data-kind': item.kind },
        el('h3', null, lineSwatch(Object.assign({ weight: 5, casing: true }, item.style)), item.mark + '. ' + item.label),
        el('p', { className: 'figures' },
          el('span', { className: 'survival', text: G.percent(route.survival_probability) }), ' survival · ',
          G.duration(route.travel_time_min), ' · ', G.distance(route.length_m)),
        el('p', { className: 'agree' }, el('span', { className: 'label', text: 'Parties to agree: ' }), partyList(route.consents_needed)),
        details,
        el('button', { type: 'button', className: 'small', 'aria-pressed': selected ? 'true' : 'false', onclick: function () { selectRoute(i); } },
          selected ? 'Steps shown below' : 'Show steps and details'));
      out.appendChild(card);
    });
    var pair = r.items.filter(function (it) { return it.kind === 'pair'; });
    if (pair.length === 2 && r.joint !== null) {
      out.appendChild(el('p', { className: 'pair-summary', id: 'pair-summary' },
        'Disjoint pair: corridors A and B share no road. Joint survival probability (both corridors, product): ',
        el('b', { text: G.percent(r.joint) }), '. Slower corridor: ',
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
      return el('tr', null,
        el('td', { className: 'num', text: i + 1 }),
        el('th', { scope: 'row', text: nodeName(s.from) + ' → ' + nodeName(s.to) }),
        el('td', { text: control }),
        el('td', { className: 'num', text: s.travel_time_min === undefined ? '—' : G.duration(s.travel_time_min) }),
        el('td', { className: 'num', text: s.risk === undefined ? '—' : G.percent(s.risk) }),
        el('td', { className: 'num', text: s.cumulative_survival === undefined ? '—' : G.percent(s.cumulative_survival) }));
    });
    out.appendChild(el('div', { className: 'table-wrap' }, el('table', { id: 'steps-table' },
      el('caption', { text: 'Steps of ' + item.mark + '. ' + item.label }),
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', className: 'num', text: '#' }),
        el('th', { scope: 'col', text: 'Road (from → to)' }),
        el('th', { scope: 'col', text: 'Controlled by' }),
        el('th', { scope: 'col', className: 'num', text: 'Time' }),
        el('th', { scope: 'col', className: 'num', text: 'Risk' }),
        el('th', { scope: 'col', className: 'num', text: 'Survival so far' }))),
      el('tbody', null, rows))));
  }

  function clearResults() {
    state.routes = null;
    layers.routes.clearLayers();
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

  function makePlan() {
    hideProblem();
    if (state.readOnly) { say('Plans need a planner token.'); return; }
    var body = { method: $('method').value };
    var windowId = $('window').value;
    if (windowId) body.window = windowId;
    else {
      body.start = $('plan-start').value.trim();
      body.end = $('plan-end').value.trim();
      if (!body.start || !body.end) { say('Give a start and an end, or choose a window.'); return; }
    }
    say('Planning the evacuation (' + body.method + ') …');
    $('make-plan').disabled = true;
    api('POST', scenarioPath('/plans'), body).then(function (res) {
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
      say('Plan: ' + G.count(p.evacuated) + ' of ' + G.count(p.total_population) + ' people reach a safe zone; the last after ' +
        p.egress_time_min + ' min; ' + G.count(p.stranded) + ' stranded.');
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

  function renderPlan() {
    var out = $('plan-out');
    clear(out);
    if (!state.plan) return;
    var p = state.plan.plan;
    out.appendChild(el('h3', { text: 'Evacuation plan' }));
    out.appendChild(el('dl', { className: 'plan-summary' },
      el('dt', { text: 'Last evacuee safe after' }), el('dd', { text: p.egress_time_min === null || p.egress_time_min === undefined ? '—' : p.egress_time_min + ' min' }),
      el('dt', { text: 'Evacuated' }), el('dd', { text: G.count(p.evacuated) + ' of ' + G.count(p.total_population) }),
      el('dt', { text: 'Stranded' }), el('dd', { text: G.count(p.stranded) }),
      el('dt', { text: 'Method' }), el('dd', { text: p.method || '—' }),
      el('dt', { text: 'Consents needed' }), el('dd', { text: partyList(p.consents_needed) })));
    var movements = p.movements || [];
    out.appendChild(corridorTable(movements));
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
    out.appendChild(el('div', { className: 'row' }, el('button', { type: 'button', id: 'export-plan', onclick: exportPlan }, 'Download plan (GeoJSON)')));
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

  /* ---------- loading ---------- */

  function loadScenarios() {
    return api('GET', '/v1/scenarios?limit=200').then(function (res) {
      if (!res.ok) {
        if (res.status !== 401) showProblem('Could not list scenarios', res);
        return;
      }
      $('token-panel').hidden = true;
      $('forget-token').hidden = false;
      if (!state.readOnly) $('who').textContent = 'Token set for this tab';
      var select = $('scenario');
      clear(select);
      var items = res.data.items || [];
      items.forEach(function (s) {
        select.appendChild(el('option', { value: s.id, text: (s.name || s.id) + ' (' + s.nodes + ' places, ' + s.edges + ' roads)' }));
      });
      select.disabled = !items.length;
      if (!items.length) { say('No scenarios stored yet: POST one to /v1/scenarios.'); return; }
      var wanted = new URLSearchParams(window.location.search).get('scenario');
      var chosen = items.some(function (s) { return s.id === wanted; }) ? wanted : items[0].id;
      select.value = chosen;
      return loadScenario(chosen);
    });
  }

  function loadScenario(id) {
    state.scenarioId = id;
    state.from = '';
    state.to = '';
    state.plan = null;
    layers.plan.clearLayers();
    clear($('plan-out'));
    clearResults();
    say('Loading ' + id + ' …');
    return api('GET', scenarioPath('')).then(function (res) {
      if (!res.ok) { showProblem('Could not read the scenario', res); return; }
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
      fillWindows();
      $('at').placeholder = state.doc.as_of || 'ISO 8601, e.g. 2016-12-15T10:00:00+02:00';
      renderAbout();
      return loadMap(true).then(function () {
        say((state.doc.name || id) + ' loaded: ' + Object.keys(state.nodes).length + ' places. Click a place to start.');
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
  $('profile').addEventListener('change', function () { describeProfile(); loadMap(false); });
  $('at').addEventListener('change', function () { loadMap(false); });
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
