/* The dashboard: log in, then follow /api/live (server-sent events) and draw each panel the role may see. */
"use strict";

const $ = (id) => document.getElementById(id);
const state = { me: null, source: null, figures: null, retry: null };

function setStatus(which) {
  const el = $("live-status");
  el.dataset.state = which;
  el.dataset.i18n = which;
  el.textContent = I18N.t(which);
}

function setNumber(id, value) {
  const el = $(id);
  el.dataset.value = String(value);
  el.textContent = I18N.number(value);
}

const entries = (obj) => Object.entries(obj || {});
const sum = (values) => values.reduce((a, b) => a + b, 0);

function showLogin(message) {
  stopLive();
  state.me = null;
  $("board").hidden = true;
  $("logout").hidden = true;
  $("who").hidden = true;
  $("login").hidden = false;
  const error = $("login-error");
  error.hidden = !message;
  error.textContent = message ? I18N.t(message) : "";
  setStatus("offline");
}

async function whoAmI() {
  const answer = await fetch("/api/me", { credentials: "same-origin" });
  if (answer.status !== 200) return null;
  return answer.json();
}

async function start() {
  const me = await whoAmI();
  if (!me) { showLogin(null); return; }
  state.me = me;
  $("login").hidden = true;
  $("board").hidden = false;
  $("logout").hidden = false;
  $("who").hidden = false;
  $("who").textContent = `${me.username} · ${me.scope}`;
  const note = $("scope-note");
  note.hidden = false;
  note.textContent = me.scope === "central" ? I18N.t("scope_central") : `${I18N.t("scope_office")} ${me.scope}`;
  startLive();
}

function stopLive() {
  if (state.source) { state.source.close(); state.source = null; }
  if (state.retry) { clearTimeout(state.retry); state.retry = null; }
}

function startLive() {
  stopLive();
  setStatus("connecting");
  const source = new EventSource("/api/live");
  state.source = source;
  source.addEventListener("figures", (event) => {
    setStatus("live");
    state.figures = JSON.parse(event.data);
    render(state.figures);
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      // refused (401: logged out; 503: figures not read yet): look again shortly
      setStatus("offline");
      state.retry = setTimeout(start, 3000);
    } else {
      setStatus("connecting");
    }
  };
}

function render(f) {
  $("as-of").textContent = `${I18N.t("as_of")} ${I18N.time(f.as_of)}`;
  const panels = ["traffic", "citizens", "protection", "passport", "deadletters", "lag"];
  for (const name of panels) $(`panel-${name}`).hidden = f[name] === null;
  $("nothing").hidden = panels.some((name) => f[name] !== null);
  if (f.traffic) renderTraffic(f.traffic);
  if (f.citizens) renderCitizens(f.citizens);
  if (f.protection) renderProtection(f.protection);
  if (f.passport) renderPassport(f.passport);
  if (f.deadletters) renderDeadLetters(f.deadletters);
  if (f.lag) renderLag(f.lag);
}

function renderTraffic(t) {
  setNumber("traffic-heard", t.heard_last_hour);
  setNumber("traffic-offices", t.offices_in_scope);
  for (const domain of ["citizen", "passport", "protection"]) {
    setNumber(`traffic-hour-${domain}`, sum(t.series[domain] || []));
  }
  setNumber("traffic-minute", sum(Object.values(t.series).map((s) => s[s.length - 1] || 0)));
  Charts.series($("traffic-chart"), t.minutes, t.series);
  Charts.bars($("traffic-offices-chart"), t.offices.map((o) => [o.office, sum(Object.values(o.last_hour))]), { limit: 15 });
}

function renderCitizens(c) {
  setNumber("citizens-abroad", c.abroad);
  Charts.bars($("citizens-office-chart"), entries(c.by_office));
  $("citizens-country-block").hidden = Object.keys(c.by_country).length === 0 && state.me && state.me.scope !== "central";
  Charts.bars($("citizens-country-chart"), entries(c.by_country));
}

function renderProtection(p) {
  setNumber("protection-open", p.open_cases);
  setNumber("protection-overdue", p.overdue_cases);
  Charts.bars($("protection-open-chart"), entries(p.open_by_office));
  Charts.bars($("protection-overdue-chart"), entries(p.overdue_by_office), { warn: true });
}

function renderPassport(p) {
  setNumber("passport-quota", sum(Object.values(p.quota_used_by_office)));
  setNumber("passport-refusals", sum(Object.values(p.refusals_by_reason)));
  Charts.bars($("passport-quota-chart"), entries(p.quota_used_by_office));
  Charts.bars($("passport-refusals-chart"), entries(p.refusals_by_reason), { warn: true });
}

function renderDeadLetters(d) {
  setNumber("deadletters-total", d.total);
  Charts.bars($("deadletters-reason-chart"), entries(d.by_reason), { warn: true });
  Charts.bars($("deadletters-component-chart"), entries(d.by_component), { warn: true });
}

function renderLag(l) {
  const body = $("lag-table").querySelector("tbody");
  body.replaceChildren();
  for (const row of l.partitions) {
    const tr = document.createElement("tr");
    if (row.lag > 0) tr.className = "behind";
    tr.dataset.processor = row.processor;
    tr.dataset.stage = row.stage;
    tr.dataset.partition = String(row.partition);
    tr.dataset.progress = String(row.progress);
    tr.dataset.lag = String(row.lag);
    const cells = [row.processor, row.stage, row.partition, I18N.number(row.progress), I18N.number(row.end), I18N.number(row.lag), I18N.t(row.ready ? "yes" : "no")];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i >= 2 && i <= 5) td.className = "num";
      td.textContent = String(text);
      tr.append(td);
    });
    body.append(tr);
  }
  const missing = $("lag-unanswered");
  missing.hidden = l.unanswered.length === 0;
  missing.textContent = `${I18N.t("not_answering")} ${l.unanswered.join(", ")}`;
}

async function login(event) {
  event.preventDefault();
  const answer = await fetch("/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: $("username").value, password: $("password").value }),
  });
  $("password").value = "";
  if (answer.status === 200) { await start(); return; }
  showLogin(answer.status === 429 ? "login_limited" : "login_failed");
}

async function logout() {
  const csrf = state.me && state.me.csrf_token;
  await fetch("/logout", { method: "POST", credentials: "same-origin", headers: csrf ? { "X-CSRF-Token": csrf } : {} });
  showLogin(null);
}

document.addEventListener("DOMContentLoaded", () => {
  I18N.use(I18N.initial());
  for (const b of document.querySelectorAll(".lang button")) {
    b.addEventListener("click", () => {
      I18N.use(b.dataset.lang);
      if (state.me) $("scope-note").textContent = state.me.scope === "central" ? I18N.t("scope_central") : `${I18N.t("scope_office")} ${state.me.scope}`;
      if (state.figures) render(state.figures);
    });
  }
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  start();
});
