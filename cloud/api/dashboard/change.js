"use strict";
// Re-survey comparison on the scan map: the trees lost since the chosen
// earlier scan in red, the new ones in blue (GET /v1/scans/{id}/change).
// Uses $, el, json from app.js and svgEl from map.js, which calls
// updateChange after drawing a scan.
let mapBase = localStorage.getItem("canopyMapBase");

// updateChange fills the "changes since" choice (by default the scan of
// the same place just before this one) and draws the change.
async function updateChange(s, scans, view) {
  const sel = $("mapBase");
  const others = scans.filter((x) => x.scan_id !== s.scan_id);
  if (mapBase === null || (mapBase !== "" && !others.some((x) => x.scan_id === mapBase))) {
    const before = others.filter((x) => x.address_id && x.address_id === s.address_id && x.started_at < s.started_at);
    mapBase = before.length ? before.reduce((a, b) => (a.started_at > b.started_at ? a : b)).scan_id : "";
  }
  sel.replaceChildren(el("option", { value: "" }, "(none)"), ...others.map((x) => {
    const o = el("option", { value: x.scan_id }, `${x.scan_id} (${new Date(x.started_at).toLocaleDateString()})`);
    if (x.scan_id === mapBase) o.selected = true;
    return o;
  }));
  const out = $("changeStats");
  if (!mapBase || !view) { out.replaceChildren(); return; }
  const c = await json("/v1/scans/" + encodeURIComponent(s.scan_id) + "/change?base=" + encodeURIComponent(mapBase));
  const svg = $("scanMap");
  for (const [trees, cls] of [[c.lost, "lost"], [c.new, "new"]]) {
    for (const t of trees) {
      const [cx, cy] = view.screen([t.lon, t.lat]);
      const circle = svgEl("circle", { class: "change " + cls, cx, cy, r: Math.max(4, (t.crown_m || 2) / 2 * view.scale) });
      circle.append(svgEl("title", {}, `${cls} since ${mapBase}: crown ${t.crown_m.toFixed(1)} m, image ${t.image_id}\n${t.lat.toFixed(6)}, ${t.lon.toFixed(6)}`));
      svg.append(circle);
    }
  }
  const perHa = c.trees_per_ha ? `, ${c.trees_per_ha.change >= 0 ? "+" : ""}${c.trees_per_ha.change.toFixed(0)} trees/ha` : "";
  const cover = c.forest_cover ? `, forest cover ${(100 * c.forest_cover.base).toFixed(0)}% → ${(100 * c.forest_cover.scan).toFixed(0)}%` : "";
  out.replaceChildren(`since ${mapBase}: ${c.kept} kept, `, el("span", { class: "lost" }, `${c.lost.length} lost`), ", ",
    el("span", { class: "new" }, `${c.new.length} new`), ` over ${c.common_area_ha.toFixed(3)} ha both cover${perHa}${cover}`);
}

$("mapBase").addEventListener("change", (ev) => {
  mapBase = ev.target.value;
  localStorage.setItem("canopyMapBase", mapBase);
  refresh();
});
