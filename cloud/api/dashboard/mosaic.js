"use strict";
// The scan's mosaic, under the scan map: its registered photos blended
// into one picture with the merged trees drawn, and how registration
// went. Uses $ and objectURL from app.js; map.js calls drawMosaic.
async function drawMosaic(s) {
  const img = $("scanMosaic"), stats = $("mosaicStats");
  const r = s && s.registration;
  if (!r) {
    img.hidden = true;
    stats.textContent = s ? "registration: waiting for counted photos" : "";
    return;
  }
  const st = r.stats || {};
  let text = `registration ${r.state}${r.pending ? " (new photos waiting)" : ""}: ` +
    `${st.photos_registered || 0} of ${st.photos || 0} photos registered in ${st.blocks || 0} block(s), ` +
    `${st.pairs_matched || 0} pairs matched, ${st.pairs_rejected || 0} rejected · ` +
    `${st.repeats_merged || 0} repeats merged · reprojection error ${(st.reprojection_error_m || 0).toFixed(2)} m · ` +
    `${Math.round(100 * (st.seen_more_than_once || 0))}% of the area seen twice or more`;
  if (r.note) text += ` · ${r.note}`;
  stats.textContent = text;
  if (!r.mosaic_url) { img.hidden = true; return; }
  img.src = await objectURL(r.mosaic_url + "?v=" + encodeURIComponent(r.updated_at));
  img.hidden = false;
}
