/* safe-passage map page: pure helpers (no DOM, no network) shared by app.js.
 * Formatting of the figures users read, district cells, and the GeoJSON export. */
(function () {
  'use strict';

  /** Probability as a percentage: 0.991538 -> "99.15 %"; small risks keep three decimals. */
  function percent(p, digits) {
    if (p === null || p === undefined || Number.isNaN(p)) return '—';
    var d = digits === undefined ? (p > 0 && p < 0.001 ? 3 : 2) : digits;
    return (p * 100).toFixed(d) + '\u00a0%';
  }

  /**
   * A probability as a plain number with its range: 0.990351, [0.971333, 0.996774] ->
   * "0.990 (0.971–0.997)". Two decimals, more (up to four) while a figure that is not exactly
   * 0 or 1 would read as 0 or 1, or while the two ends of the range would read the same.
   * Exactly 0 and 1 read "0" and "1"; beyond four decimals "<0.0001" and ">0.9999".
   */
  function probability(p, range) {
    if (p === null || p === undefined || Number.isNaN(p)) return '—';
    var ends = Array.isArray(range) && range.length === 2 ? range : null;
    var values = ends ? [p, ends[0], ends[1]] : [p];
    var unclear = function (d) {
      var blurred = values.some(function (v) {
        var r = Number(v.toFixed(d));
        return (r === 0 && v !== 0) || (r === 1 && v !== 1);
      });
      return blurred || (ends !== null && ends[0] !== ends[1] && ends[0].toFixed(d) === ends[1].toFixed(d));
    };
    var d = 2;
    while (d < 4 && unclear(d)) d++;
    var show = function (v) {
      if (v === 0 || v === 1) return String(v);
      var text = v.toFixed(d);
      if (Number(text) === 0) return '<' + Math.pow(10, -d).toFixed(d);
      if (Number(text) === 1) return '>' + (1 - Math.pow(10, -d)).toFixed(d);
      return text;
    };
    return show(p) + (ends ? ' (' + show(ends[0]) + '\u2013' + show(ends[1]) + ')' : '');
  }

  /** An expected number of people (not a whole count), three significant figures at most:
   * 174.16 -> "174", 52.2 -> "52.2", 0.354 -> "0.35", 0 -> "0"; a range's ends likewise. */
  function expected(x, range) {
    if (x === null || x === undefined || Number.isNaN(x)) return '—';
    var show = function (v) {
      if (v === 0) return '0';
      var d = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
      return Number(v.toFixed(d)).toLocaleString('en', { minimumFractionDigits: d, maximumFractionDigits: d });
    };
    var ends = Array.isArray(range) && range.length === 2 ? range : null;
    return show(x) + (ends ? ' (' + show(ends[0]) + '\u2013' + show(ends[1]) + ')' : '');
  }

  /** Minutes as "45 min" or "1 h 59 min" (rounded to whole minutes). */
  function duration(minutes) {
    if (minutes === null || minutes === undefined) return '—';
    var m = Math.round(minutes);
    if (m < 60) return m + '\u00a0min';
    var h = Math.floor(m / 60);
    var rest = m % 60;
    return h + '\u00a0h' + (rest ? ' ' + rest + '\u00a0min' : '');
  }

  /** Metres as "850 m" or "7.6 km". */
  function distance(metres) {
    if (metres === null || metres === undefined) return '—';
    return metres < 1000 ? Math.round(metres) + '\u00a0m' : (metres / 1000).toFixed(1) + '\u00a0km';
  }

  /** Age of an incident in hours as words: "40 min ago", "5 h ago", "3 days ago", "in 2 h". */
  function age(hours) {
    if (hours === null || hours === undefined) return 'time unknown';
    var future = hours < 0;
    var h = Math.abs(hours);
    var text;
    if (h < 1) text = Math.round(h * 60) + ' min';
    else if (h < 48) text = Math.round(h) + ' h';
    else text = Math.round(h / 24) + ' days';
    return future ? 'in ' + text + ' (after the time shown)' : text + ' ago';
  }

  /**
   * The clock time `minutes` after an ISO 8601 time, in that time's own UTC offset (the
   * scenario's local time, whatever the browser's): ("2016-12-15T10:00:00+02:00", 172) ->
   * "12:52"; on another day, with the date: "16 Dec 00:10". Null without a start.
   */
  function clock(startIso, minutes) {
    if (!startIso || minutes === null || minutes === undefined) return null;
    var m = /([+-])(\d\d):(\d\d)$/.exec(startIso);
    var offset = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
    var local = function (ms) { return new Date(ms + offset * 60000); };
    var start = local(Date.parse(startIso));
    var t = local(Date.parse(startIso) + minutes * 60000);
    var two = function (n) { return (n < 10 ? '0' : '') + n; };
    var hm = two(t.getUTCHours()) + ':' + two(t.getUTCMinutes());
    if (t.getUTCFullYear() === start.getUTCFullYear() && t.getUTCMonth() === start.getUTCMonth() &&
      t.getUTCDate() === start.getUTCDate()) return hm;
    var months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    return t.getUTCDate() + ' ' + months[t.getUTCMonth()] + ' ' + hm;
  }

  function count(n) {
    return n === null || n === undefined ? '—' : Number(n).toLocaleString('en');
  }

  /** Local flat projection in metres around (lat0, lon0); good to a few metres over a city. */
  function projection(lat0, lon0) {
    var kx = 111320 * Math.cos((lat0 * Math.PI) / 180);
    var ky = 110540;
    return {
      forward: function (lat, lon) { return [(lon - lon0) * kx, (lat - lat0) * ky]; },
      inverse: function (x, y) { return [lat0 + y / ky, lon0 + x / kx]; },
    };
  }

  /** Keep the part of polygon `poly` ([[x, y], ...]) where nx*x + ny*y <= c (Sutherland–Hodgman). */
  function clipHalfPlane(poly, nx, ny, c) {
    var out = [];
    for (var k = 0; k < poly.length; k++) {
      var a = poly[(k + poly.length - 1) % poly.length];
      var b = poly[k];
      var fa = nx * a[0] + ny * a[1] - c;
      var fb = nx * b[0] + ny * b[1] - c;
      if (fb <= 0) {
        if (fa > 0) out.push(cross(a, b, fa, fb));
        out.push(b);
      } else if (fa <= 0) {
        out.push(cross(a, b, fa, fb));
      }
    }
    return out;
  }

  function cross(a, b, fa, fb) {
    var t = fa / (fa - fb);
    return [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
  }

  /**
   * Nearest-centroid cells: for each site, the points closer to it than to any other site,
   * and within `radius` metres of it. Scenarios hold district centroids, not boundaries, so
   * this is the area the map shades for a district. Returns one [[lat, lon], ...] per site.
   * O(n^2) half-plane clips; n is a few hundred districts at most.
   */
  function districtCells(sites, radius) {
    if (!sites.length) return [];
    var lat0 = 0;
    var lon0 = 0;
    sites.forEach(function (s) { lat0 += s.lat; lon0 += s.lon; });
    var proj = projection(lat0 / sites.length, lon0 / sites.length);
    var pts = sites.map(function (s) { return proj.forward(s.lat, s.lon); });
    var sides = 32;
    return pts.map(function (p, i) {
      var poly = [];
      for (var k = 0; k < sides; k++) {
        var t = (2 * Math.PI * k) / sides;
        poly.push([p[0] + radius * Math.cos(t), p[1] + radius * Math.sin(t)]);
      }
      for (var j = 0; j < pts.length && poly.length; j++) {
        if (j === i) continue;
        var q = pts[j];
        var nx = q[0] - p[0];
        var ny = q[1] - p[1];
        if (nx * nx + ny * ny > 4 * radius * radius || (nx === 0 && ny === 0)) continue;
        var c = (nx * (p[0] + q[0])) / 2 + (ny * (p[1] + q[1])) / 2;
        poly = clipHalfPlane(poly, nx, ny, c);
      }
      return poly.map(function (xy) { return proj.inverse(xy[0], xy[1]); });
    });
  }

  function lineFeature(coordinates, properties) {
    return {
      type: 'Feature',
      geometry: coordinates.length >= 2 ? { type: 'LineString', coordinates: coordinates } : null,
      properties: properties,
    };
  }

  /** Round to 7 decimals (about 1 cm), as RFC 7946 §11.2 suggests. */
  function position(lonLat) {
    return [Math.round(lonLat[0] * 1e7) / 1e7, Math.round(lonLat[1] * 1e7) / 1e7];
  }

  /**
   * A FeatureCollection (RFC 7946: WGS 84 lon/lat, no "crs") for the routes shown:
   * one LineString feature per route, properties flat enough for QGIS's attribute table.
   * `items`: [{label, kind, route}], `coordsOf(route)` gives its [[lon, lat], ...].
   */
  function routesCollection(items, context, coordsOf) {
    return {
      type: 'FeatureCollection',
      features: items.map(function (item, i) {
        var r = item.route;
        return lineFeature(coordsOf(r).map(position), {
          label: item.label,
          kind: item.kind,
          rank: i + 1,
          from: context.from,
          to: context.to,
          profile: context.profile,
          survival_probability: r.survival_probability,
          survival_low: r.survival_range ? r.survival_range[0] : null,
          survival_high: r.survival_range ? r.survival_range[1] : null,
          harm_probability: r.harm_probability === undefined ? null : r.harm_probability,
          detention_probability: r.detention_probability === undefined ? null : r.detention_probability,
          unknown_roads: r.unknown_risk ? r.unknown_risk.roads : null,
          risk: r.risk,
          travel_time_min: r.travel_time_min,
          length_m: r.length_m === undefined ? null : r.length_m,
          consents_needed: (r.consents_needed || []).join(', '),
          parties: (r.parties || []).join(', '),
          checkpoints: (r.checkpoints || []).join(', '),
          nodes: (r.nodes || []).join(' > '),
          edges: (r.edges || []).join(' > '),
        });
      }),
      properties: context,
    };
  }

  /** A FeatureCollection for a PLAN: one LineString per movement and per bottleneck road, one
   * Point per place where people are left behind (stranded_at); for a fleet plan one
   * LineString per trip and per checkpoint with its queue, and the vehicles. */
  function planCollection(plan, context, nodeLonLat, roadCoords) {
    var features = [];
    (plan.movements || []).forEach(function (m, i) {
      var coords = (m.nodes || [m.from, m.to]).map(nodeLonLat).filter(Boolean);
      features.push(lineFeature(coords.map(position), {
        kind: 'movement',
        rank: i + 1,
        from: m.from,
        to: m.to,
        count: m.count,
        depart_min: m.depart_min,
        arrive_min: m.arrive_min,
        nodes: (m.nodes || []).join(' > '),
      }));
    });
    (plan.bottlenecks || []).forEach(function (b) {
      var coords = roadCoords(b.edge) || [];
      features.push(lineFeature(coords.map(position), {
        kind: 'bottleneck',
        edge: b.edge,
        saturated_minutes: b.saturated_minutes,
      }));
    });
    // A fleet plan: one LineString per trip (pickup to safe zone) and per checkpoint queued at.
    (plan.trips || []).forEach(function (t) {
      features.push(lineFeature(t.nodes.map(nodeLonLat).filter(Boolean).map(position), {
        kind: 'trip',
        vehicle: t.vehicle,
        fleet: t.fleet,
        trip: t.trip,
        pickup: t.pickup,
        to: t.to,
        count: t.count,
        people: Object.keys(t.people).map(function (g) { return g + ': ' + t.people[g]; }).join(', '),
        loaded_min: t.loaded_min,
        arrive_min: t.arrive_min,
        nodes: t.nodes.join(' > '),
      }));
    });
    (plan.trips ? plan.checkpoints || [] : []).forEach(function (c) {
      features.push(lineFeature((roadCoords(c.edge) || []).map(position), {
        kind: 'checkpoint_queue',
        edge: c.edge,
        party: c.party,
        vehicles: c.vehicles,
        people: c.people,
        screening_min: c.screening_min,
        waiting_min: c.waiting_min,
        longest_wait_min: c.longest_wait_min,
      }));
    });
    (plan.stranded_at || []).forEach(function (x) {
      var at = nodeLonLat(x.node);
      features.push({
        type: 'Feature',
        geometry: at ? { type: 'Point', coordinates: position(at) } : null,
        properties: { kind: 'stranded', node: x.node, count: x.count },
      });
    });
    var summary = {};
    ['egress_time_min', 'total_population', 'evacuated', 'stranded', 'method', 'profile',
      'expected_harm', 'expected_detained'].forEach(function (k) {
      summary[k] = plan[k] === undefined ? null : plan[k];
    });
    summary.consents_needed = plan.consents_needed || [];
    if (plan.trips) summary.vehicles = Object.keys(plan.vehicles || {}).map(function (f) { return f + ': ' + plan.vehicles[f]; }).join(', ');
    return {
      type: 'FeatureCollection',
      features: features,
      properties: Object.assign({}, context, summary),
    };
  }

  window.SafePassageGeo = {
    percent: percent,
    probability: probability,
    expected: expected,
    duration: duration,
    distance: distance,
    age: age,
    count: count,
    clock: clock,
    districtCells: districtCells,
    routesCollection: routesCollection,
    planCollection: planCollection,
  };
})();
