"use strict";
// Canopy dashboard: plain JS, no external resources. The token is kept in
// localStorage and sent as a bearer token; images are fetched with it and
// shown through object URLs.
const $ = (id) => document.getElementById(id);
let token = localStorage.getItem("canopyToken") || "";
$("token").value = token;

async function api(path) {
  const r = await fetch(path, { headers: token ? { Authorization: "Bearer " + token } : {} });
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r;
}
async function json(path) { return (await api(path)).json(); }

const objURLs = new Map();
async function objectURL(link) {
  if (!link) return "";
  if (!link.startsWith("/")) return link; // presigned
  if (objURLs.has(link)) return objURLs.get(link);
  const b = await (await api(link)).blob();
  const u = URL.createObjectURL(b);
  objURLs.set(link, u);
  return u;
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}

async function loadDevices() {
  const d = await json("/v1/devices");
  const tb = $("devices").querySelector("tbody");
  if (!d.devices.length) {
    tb.replaceChildren(el("tr", {}, el("td", { colspan: "6" }, "no devices have reported yet")));
    return;
  }
  tb.replaceChildren(...d.devices.map((x) => el("tr", {},
    el("td", {}, x.id),
    el("td", { class: x.online ? "online" : "offline" }, x.online ? "online" : "offline"),
    el("td", {}, new Date(x.last_seen).toLocaleString()),
    el("td", {}, String(x.outbox_depth) +
      (x.evictions ? ` · ${x.evictions} evicted` : "") + (x.refused ? ` · ${x.refused} refused (full)` : "")),
    el("td", {}, String(x.images)),
    desiredCell(x))));
}

// desiredCell says whether a device runs its desired document: current,
// behind (and how far its download is), or failed (and why).
function desiredCell(x) {
  const d = x.desired, r = x.reported, sha = (s) => (s ? s.slice(0, 8) : "own model");
  if (x.desired_sync === "none") return el("td", {}, "—");
  if (x.desired_sync === "current") return el("td", { class: "current" }, `v${r.version} ✓ ${sha(r.model_sha256)}`);
  if (x.desired_sync === "failed") {
    return el("td", { class: "behind", title: r.last_error || "" },
      `v${d.version} failed; runs v${r.version} ${sha(r.model_sha256)}: ${r.last_error || ""}`);
  }
  const got = r.fetch_size ? ` · ${Math.floor((100 * (r.fetched_bytes || 0)) / r.fetch_size)}% fetched` : "";
  return el("td", { class: "behind" }, `behind: v${d.version} wanted, runs v${r.version || 0}` +
    (r.state ? ` (${r.state}${got})` : ""));
}

function drawMap(images) {
  const svg = $("map");
  const pts = images.filter((i) => i.lat != null && i.lon != null);
  svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  if (!pts.length) {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", 20); t.setAttribute("y", 160); t.textContent = "no GPS positions yet";
    svg.append(t); return;
  }
  const lats = pts.map((p) => p.lat), lons = pts.map((p) => p.lon);
  const [a0, a1, o0, o1] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const sx = (o) => 20 + (o1 > o0 ? (o - o0) / (o1 - o0) : 0.5) * 440;
  const sy = (a) => 300 - (a1 > a0 ? (a - a0) / (a1 - a0) : 0.5) * 280;
  for (const p of pts) {
    const c = document.createElementNS(ns, "circle");
    c.setAttribute("cx", sx(p.lon)); c.setAttribute("cy", sy(p.lat));
    c.setAttribute("r", 4 + Math.min(10, Math.sqrt(p.count ? p.count.count : 0)));
    c.setAttribute("fill", "#2f5d34a0");
    const t = document.createElementNS(ns, "title");
    t.textContent = `${p.item_id} ${p.lat.toFixed(5)}, ${p.lon.toFixed(5)}`;
    c.append(t); svg.append(c);
  }
}

// loadScans lists the newest scans (GET /v1/scans, with their totals)
// by place, each place's scans in time order.
async function loadScans() {
  const scans = (await json("/v1/scans?limit=20")).scans;
  const places = new Map();
  for (const s of scans) {
    const p = s.address_id || "";
    if (!places.has(p)) places.set(p, []);
    places.get(p).push(s);
  }
  $("scans").replaceChildren(...[...places].map(([p, ss]) => el("div", { class: "place", "data-place": p },
    el("h3", {}, p || "scans with no place"),
    ...ss.reverse().map((s) => el("div", { class: "scan", "data-scan": s.scan_id },
      el("b", {}, s.scan_id), ` — ${new Date(s.started_at).toLocaleDateString()} ${s.tree_type || ""} — `,
      el("span", { class: "total" }, String(s.total_trees)), ` trees in ${s.counted}/${s.image_count} images`,
      s.trees_per_ha != null ? el("span", { class: "perha" }, ` · ${s.trees_per_ha.toFixed(0)} trees/ha`) : "",
      s.evicted ? el("span", { class: "evicted" }, ` · ${s.evicted} evicted on the device (not counted)`) : "")))));
  if (typeof updateScanMap === "function") await updateScanMap(scans); // map.js
}

async function loadImages() {
  const list = await json("/v1/images?limit=100");
  const imgs = list.images;
  drawMap(imgs);
  const cards = [];
  for (const i of imgs) {
    const v = await json("/v1/images/" + encodeURIComponent(i.item_id));
    const evicted = v.state === "image_evicted";
    // Browsers show no TIFF: an orthophoto's raw view is its annotated overview.
    const tiff = /\.tiff?$/i.test(v.raw_key || "");
    const raw = el("div", { class: "view" }, evicted || !v.links.raw
      ? el("div", { class: "evicted" }, v.raw_deleted_at ? "raw image deleted (retention): count, masks and annotated image kept"
        : "image evicted on the device: metadata and mask only")
      : tiff ? el("span", { class: "note" }, "GeoTIFF (" + v.width + "×" + v.height + ")")
      : el("img", { src: await objectURL(v.links.raw), alt: "raw" }));
    const proc = el("div", { class: "view" });
    if (v.links.annotated) proc.append(el("img", { src: await objectURL(v.links.annotated), alt: "processed" }));
    if (v.links.mask) proc.append(el("img", { class: "mask", src: await objectURL(v.links.mask), alt: "mask" }));
    const count = v.count ? String(v.count.count) : evicted ? "not counted" : "…";
    cards.push(el("div", { class: "card", "data-item": v.item_id },
      el("div", {}, el("span", { class: "count" }, count), " trees · ", el("span", { class: "state" }, v.state)),
      el("div", {}, `${v.item_id} · scan ${v.scan_id || "-"} · ${v.device || v.origin}`),
      el("div", { class: "views" }, raw, proc)));
  }
  $("images").replaceChildren(...cards);
}

async function refresh() {
  try {
    await Promise.all([loadDevices(), loadScans(), loadImages()]);
    $("status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("status").textContent = String(e.message).includes("401") ? "enter a valid token" : String(e);
  }
}

$("tokenForm").addEventListener("submit", (ev) => {
  ev.preventDefault();
  token = $("token").value.trim();
  localStorage.setItem("canopyToken", token);
  refresh();
});
$("maskToggle").addEventListener("change", (ev) => document.body.classList.toggle("masks", ev.target.checked));
refresh();
setInterval(refresh, 5000);
