"use strict";
// Scan map: a scan's trees on a map in local metres (works offline), with
// its photos' footprints, a scale bar and a north arrow; an optional tile
// URL ({z}/{x}/{y}, Web Mercator) puts a basemap under it. Uses $, el and
// json from app.js, which calls updateScanMap after each refresh.
const svgNS = "http://www.w3.org/2000/svg";
let mapScan = localStorage.getItem("canopyMapScan") || "";

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text != null) e.textContent = text;
  return e;
}

// niceLength is the largest of 1, 2 or 5 times a power of ten at most m.
function niceLength(m) {
  const p = Math.pow(10, Math.floor(Math.log10(m)));
  for (const f of [5, 2, 1]) if (f * p <= m) return f * p;
  return p;
}

async function updateScanMap(scans) {
  const sel = $("mapScan");
  const ids = scans.map((s) => s.scan_id);
  if (!ids.includes(mapScan)) mapScan = ids[0] || "";
  sel.replaceChildren(...ids.map((id) => {
    const o = el("option", { value: id }, id);
    if (id === mapScan) o.selected = true;
    return o;
  }));
  if (!mapScan) { drawScanMap(null, null); return; }
  const s = await json("/v1/scans/" + encodeURIComponent(mapScan));
  const fc = await json("/v1/scans/" + encodeURIComponent(mapScan) + "/trees.geojson");
  const view = drawScanMap(s, fc);
  if (typeof updateChange === "function") await updateChange(s, scans, view); // change.js
  if (typeof drawMosaic === "function") await drawMosaic(s); // mosaic.js
}

function drawScanMap(s, fc) {
  const svg = $("scanMap");
  const W = 640, H = 440, M = 30;
  svg.replaceChildren();
  const stats = $("mapStats");
  if (!s) { stats.textContent = "no scans yet"; return null; }
  const perHa = s.trees_per_ha != null ? s.trees_per_ha.toFixed(0) : "–";
  stats.textContent = `${s.total_trees} trees (${s.placed_trees} on the map, ${s.unplaced_trees} not placed; ` +
    `${s.sum_of_counts} counted in ${s.counted} images) · ${(s.area_ha || 0).toFixed(3)} ha · ${perHa} trees/ha`;
  const feet = (s.images || []).map((i) => (i.count && i.count.footprint) || []).filter((f) => f.length >= 3);
  const trees = fc.features || [];
  const pts = feet.flat().concat(trees.map((f) => f.geometry.coordinates));
  if (!pts.length) {
    svg.append(svgEl("text", { x: 20, y: H / 2 }, "no placed trees in this scan (its images have no GPS position or georeferencing)"));
    return null;
  }
  const lon0 = pts.reduce((a, p) => a + p[0], 0) / pts.length;
  const lat0 = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  const kx = 111320 * Math.cos(lat0 * Math.PI / 180), ky = 110574;
  const xy = (p) => [(p[0] - lon0) * kx, (p[1] - lat0) * ky];
  const mxy = pts.map(xy);
  const x0 = Math.min(...mxy.map((p) => p[0])), x1 = Math.max(...mxy.map((p) => p[0]));
  const y0 = Math.min(...mxy.map((p) => p[1])), y1 = Math.max(...mxy.map((p) => p[1]));
  const scale = Math.min((W - 2 * M) / Math.max(x1 - x0, 1), (H - 2 * M) / Math.max(y1 - y0, 1)); // px per metre
  const ox = M + ((W - 2 * M) - (x1 - x0) * scale) / 2, oy = M + ((H - 2 * M) - (y1 - y0) * scale) / 2;
  const sx = (x) => ox + (x - x0) * scale, sy = (y) => H - oy - (y - y0) * scale;
  const screen = (p) => { const q = xy(p); return [sx(q[0]), sy(q[1])]; };

  const tiles = ($("tileURL").value || "").trim();
  if (tiles) drawTiles(svg, tiles, lat0, scale, screen, [x0, y0, x1, y1], lon0, kx, ky);

  for (const f of feet) {
    svg.append(svgEl("polygon", { class: "footprint", points: f.map((p) => screen(p).join(",")).join(" ") }));
  }
  for (const f of trees) {
    const [cx, cy] = screen(f.geometry.coordinates);
    const p = f.properties || {};
    const c = svgEl("circle", { class: "tree", cx, cy, r: Math.max(2, (p.crown_m || 2) / 2 * scale) });
    c.append(svgEl("title", {}, `tree ${p.tree}: score ${p.score}, crown ${p.crown_m} m, seen in ${p.seen_in} image(s), ` +
      `image ${p.image_id} (${p.method}${p.model ? " " + p.model : ""})\n${f.geometry.coordinates[1].toFixed(6)}, ${f.geometry.coordinates[0].toFixed(6)}`));
    svg.append(c);
  }
  // Scale bar (bottom left) and north arrow (top right): north is up.
  const len = niceLength(120 / scale);
  const g = svgEl("g", { id: "scaleBar", transform: `translate(${M},${H - 12})` });
  g.append(svgEl("rect", { x: 0, y: -6, width: len * scale, height: 6, class: "bar" }));
  g.append(svgEl("text", { id: "scaleText", x: len * scale + 6, y: 0 }, `${len} m`));
  svg.append(g);
  const n = svgEl("g", { id: "north", transform: `translate(${W - 24},${M})` });
  n.append(svgEl("path", { d: "M0,-18 L8,6 L0,0 L-8,6 Z", class: "arrow" }));
  n.append(svgEl("text", { x: -5, y: 20 }, "N"));
  svg.append(n);
  return { screen, scale }; // for what is drawn over the map (change.js)
}

// drawTiles lays Web Mercator tiles under the map at the zoom whose pixels
// are nearest the map's, each tile placed by its corners' positions.
function drawTiles(svg, url, lat0, scale, screen, box, lon0, kx, ky) {
  const mpp = 1 / scale;
  const z = Math.max(0, Math.min(21, Math.round(Math.log2(156543.03 * Math.cos(lat0 * Math.PI / 180) / mpp))));
  const n = Math.pow(2, z);
  const tx = (lon) => Math.floor((lon + 180) / 360 * n);
  const ty = (lat) => { const r = lat * Math.PI / 180; return Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n); };
  const lonOf = (x) => x / n * 360 - 180;
  const latOf = (y) => Math.atan(Math.sinh(Math.PI * (1 - 2 * y / n))) * 180 / Math.PI;
  const [x0, y0, x1, y1] = box;
  const w = lon0 + x0 / kx, e = lon0 + x1 / kx, so = lat0 + y0 / ky, no = lat0 + y1 / ky;
  const g = svgEl("g", { id: "tiles" });
  for (let x = tx(w); x <= tx(e); x++) {
    for (let y = ty(no); y <= ty(so); y++) {
      const [ax, ay] = screen([lonOf(x), latOf(y)]), [bx, by] = screen([lonOf(x + 1), latOf(y + 1)]);
      const href = url.replace("{z}", z).replace("{x}", x).replace("{y}", y);
      g.append(svgEl("image", { href, x: ax, y: ay, width: bx - ax, height: by - ay, preserveAspectRatio: "none" }));
      if (g.childNodes.length > 64) break;
    }
  }
  svg.append(g);
}

$("mapScan").addEventListener("change", (ev) => {
  mapScan = ev.target.value;
  localStorage.setItem("canopyMapScan", mapScan);
  refresh();
});
$("tileURL").value = localStorage.getItem("canopyTiles") || "";
$("tileURL").addEventListener("change", (ev) => {
  localStorage.setItem("canopyTiles", ev.target.value.trim());
  refresh();
});
