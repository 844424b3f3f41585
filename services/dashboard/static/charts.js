/* Bars and time series drawn as inline SVG (no chart library, nothing loaded from elsewhere). */
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

const Charts = {
  /** Horizontal bars of [label, value] pairs, the largest first, at most ``limit`` of them. */
  bars(container, pairs, options) {
    const opts = Object.assign({ limit: 12, warn: false }, options || {});
    container.replaceChildren();
    const rows = pairs.filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0]))).slice(0, opts.limit);
    if (!rows.length) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = I18N.t("no_data");
      container.append(p);
      return;
    }
    const width = 420, row = 18, labelW = 170, valueW = 60;
    const max = Math.max(...rows.map(([, v]) => v));
    const svg = svgEl("svg", { viewBox: `0 0 ${width} ${rows.length * row + 4}`, role: "img", class: "bars" });
    rows.forEach(([label, value], i) => {
      const y = i * row + 2;
      const w = Math.max(1, ((width - labelW - valueW) * value) / max);
      const g = svgEl("g", { "data-label": label, "data-value": value });
      g.append(svgEl("text", { x: 0, y: y + 12 }, String(label).slice(0, 28)));
      g.append(svgEl("rect", { x: labelW, y, width: w, height: row - 5, rx: 2, class: opts.warn ? "bar warn" : "bar" }));
      g.append(svgEl("text", { x: labelW + w + 4, y: y + 12 }, I18N.number(value)));
      svg.append(g);
    });
    container.append(svg);
  },

  /** One line per domain over the minutes (oldest first), with the minute axis labelled every 15. */
  series(container, minutes, byDomain) {
    container.replaceChildren();
    const width = 900, height = 170, left = 40, bottom = 20, top = 8, right = 110;
    const domains = Object.keys(byDomain);
    const max = Math.max(1, ...domains.flatMap((d) => byDomain[d]));
    const n = Math.max(1, minutes.length - 1);
    const x = (i) => left + ((width - left - right) * i) / n;
    const y = (v) => top + (height - top - bottom) * (1 - v / max);
    const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
    svg.append(svgEl("line", { x1: left, y1: y(0), x2: width - right, y2: y(0), class: "axis" }));
    svg.append(svgEl("line", { x1: left, y1: top, x2: left, y2: y(0), class: "axis" }));
    svg.append(svgEl("text", { x: 2, y: top + 10, class: "tick" }, I18N.number(max)));
    svg.append(svgEl("text", { x: 2, y: y(0), class: "tick" }, "0"));
    minutes.forEach((m, i) => {
      if (i % 15 === 0 || i === minutes.length - 1) {
        svg.append(svgEl("text", { x: x(i) - 14, y: height - 4, class: "tick" }, I18N.time(m)));
      }
    });
    domains.forEach((domain, k) => {
      const values = byDomain[domain];
      const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      svg.append(svgEl("polyline", { points, class: `line d-${domain}`, "data-domain": domain }));
      const last = values.length - 1;
      svg.append(svgEl("circle", { cx: x(last), cy: y(values[last] || 0), r: 3, class: `dot d-${domain}` }));
      svg.append(svgEl("rect", { x: width - right + 12, y: top + k * 18, width: 10, height: 10, class: `dot d-${domain}` }));
      svg.append(svgEl("text", { x: width - right + 28, y: top + k * 18 + 9 }, I18N.t(`domain_${domain}`)));
    });
    container.append(svg);
  },
};
