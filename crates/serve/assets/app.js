// mnemo viewer. Plain JavaScript, no dependencies, no build step.
//
// Safety rule: every piece of data reaches the page as text (text nodes,
// textContent, attribute values set one by one). Nothing here assigns HTML;
// the Content-Security-Policy's Trusted Types would make any such sink throw.
"use strict";

const TYPES = [
  ["bugfix", "●", "Bugfix"],
  ["feature", "◆", "Feature"],
  ["refactor", "↻", "Refactor"],
  ["change", "✓", "Change"],
  ["discovery", "○", "Discovery"],
  ["decision", "⚖", "Decision"],
  ["security_alert", "⚠", "Security alert"],
  ["security_note", "⚷", "Security note"],
];
const TYPE = Object.fromEntries(TYPES.map(([id, symbol, label]) => [id, { symbol, label }]));
const CONCEPTS = ["how-it-works", "why-it-exists", "what-changed", "problem-solution", "gotcha", "pattern", "trade-off"];
const PAGE = 50;
const DETAILS_KEPT = 200; // opened observations kept in memory

const state = {
  view: "timeline",        // timeline | sessions
  mode: "browse",          // browse | search | around
  query: "",
  terms: [],
  around: null,
  filters: { project: "", author: "", types: new Set(), concept: "", file: "", since: "", until: "", session: null },
  entries: [],             // what the feed shows, in order
  sessions: new Map(),     // session id -> overview
  next: null,              // cursor of the next page
  loading: false,
  selected: null,          // selected observation id
  expanded: new Set(),
  details: new Map(),      // observation id -> detail (cached)
  cards: new Map(),        // observation id -> card element (reused across renders)
  forgotten: [],           // undo stack of entries
  sessionList: [],
  sessionNext: null,
  openSessions: new Set(),
  fresh: new Set(),        // ids that arrived live (highlighted once)
  projectLabels: new Map(), // project root -> the shortest path suffix that tells it apart
  generation: 0,           // bumps on every reload; stale answers are dropped
};

// ---------- DOM helpers ----------

const $ = (id) => document.getElementById(id);

// h("div", {class: "x", "aria-label": "y", onclick: fn}, "text", node, null)
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

function icon(path) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 20 20");
  svg.setAttribute("aria-hidden", "true");
  for (const d of [].concat(path)) {
    const p = document.createElementNS("http://www.w3.org/2000/svg", "path");
    p.setAttribute("d", d);
    svg.append(p);
  }
  return svg;
}

// Text with the search terms wrapped in <mark> (terms match word starts).
function highlighted(text, terms) {
  const frag = document.createDocumentFragment();
  if (!terms.length || !text) {
    frag.append(text || "");
    return frag;
  }
  const stems = terms.map(stem).filter((t) => t.length > 1).map(escapeRegExp);
  if (!stems.length) {
    frag.append(text);
    return frag;
  }
  const re = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${stems.join("|")})[\\p{L}\\p{N}_]*`, "giu");
  let last = 0;
  for (const m of text.matchAll(re)) {
    frag.append(text.slice(last, m.index), h("mark", null, m[0]));
    last = m.index + m[0].length;
  }
  frag.append(text.slice(last));
  return frag;
}

// Text in which `code` spans (Markdown's backticks) become <code> elements,
// each part as text, with the search terms highlighted.
function richText(text, terms) {
  const frag = document.createDocumentFragment();
  const parts = String(text || "").split(/`([^`\n]+)`/u);
  parts.forEach((part, i) => {
    if (!part) return;
    frag.append(i % 2 ? h("code", null, highlighted(part, terms)) : highlighted(part, terms));
  });
  return frag;
}

// The same text as words alone, for labels that cannot hold markup.
function plainText(text) {
  return String(text || "").replace(/`([^`\n]+)`/gu, "$1");
}

function stem(term) {
  return term.replace(/(ing|ed|es|s|ly)$/u, "") || term;
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// ---------- formatting ----------

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
const shortFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
const numberFmt = new Intl.NumberFormat();

// Times are shown in local time with their offset from UTC, as the CLI
// prints them: 2026-11-23 15:03 +01:00.
const pad = (n) => String(n).padStart(2, "0");

function utcOffset(ms) {
  const minutes = -new Date(ms).getTimezoneOffset();
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function fullTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())} ${utcOffset(ms)}`;
}

// A time element: `text` shown, the full local time with its offset on hover.
function timeEl(ms, text, props = {}) {
  return h("time", { datetime: new Date(ms).toISOString(), title: fullTime(ms), ...props }, text);
}

// The sticky heading of a day, naming the UTC offset its times are in.
function dayHeading(ms) {
  return h("h2", { class: "day" }, h("span", { class: "day-label" }, dayLabel(ms)),
    h("span", { class: "day-zone", title: "Times are local, with this offset from UTC" }, `UTC${utcOffset(ms)}`));
}

function dayKey(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

function dayLabel(ms) {
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(ms) === dayKey(today.getTime())) return "Today";
  if (dayKey(ms) === dayKey(yesterday.getTime())) return "Yesterday";
  return dayFmt.format(new Date(ms));
}

function relative(ms) {
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return shortFmt.format(new Date(ms));
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

function baseName(path) {
  const parts = String(path).split("/").filter(Boolean);
  return parts[parts.length - 1] || path;
}

function projectName(root) {
  if (!root) return "no project";
  return state.projectLabels.get(root) || baseName(root);
}

// For each root, its last path component, or as many last components as it
// takes to tell it apart from every other root with the same name
// (`/a/shop` and `/b/shop` become `a/shop` and `b/shop`).
function projectLabels(roots) {
  const byName = new Map(); // last component -> the roots' components
  for (const root of roots) {
    const parts = String(root).split("/").filter(Boolean);
    const name = parts[parts.length - 1] || root;
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name).push([root, parts]);
  }
  const labels = new Map();
  for (const namesakes of byName.values()) {
    for (const [root, own] of namesakes) {
      const suffix = (parts, n) => parts.slice(-n).join("/");
      let n = 1;
      while (n < own.length && namesakes.some(([other, theirs]) => other !== root && suffix(theirs, n) === suffix(own, n))) n++;
      labels.set(root, suffix(own, n) || root);
    }
  }
  return labels;
}

// ---------- API ----------

class LockedError extends Error {}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Accept: "application/json", ...(options.headers || {}) },
    credentials: "same-origin",
  });
  if (response.status === 401) throw new LockedError("locked");
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

// The URL `mnemo serve` prints carries the token once, in the fragment;
// it becomes an HttpOnly cookie and leaves the address bar.
async function login() {
  const match = location.hash.match(/token=([0-9a-f]{64})/);
  if (!match) return;
  history.replaceState(null, "", location.pathname + location.search);
  await fetch("/api/session", { method: "POST", headers: { Authorization: `Bearer ${match[1]}` }, credentials: "same-origin" });
}

function filterParams(extra = {}) {
  const f = state.filters;
  const p = new URLSearchParams();
  if (f.project) p.set("project", f.project);
  if (f.author) p.set("author", f.author);
  if (f.types.size) p.set("type", [...f.types].join(","));
  if (f.concept) p.set("concept", f.concept);
  if (f.file.trim()) p.set("file", f.file.trim());
  const since = dateBound(f.since, false);
  const until = dateBound(f.until, true);
  if (since !== null) p.set("since", since);
  if (until !== null) p.set("until", until);
  for (const [k, v] of Object.entries(extra)) if (v !== null && v !== undefined && v !== "") p.set(k, v);
  return p;
}

function dateBound(value, endOfDay) {
  if (!value) return null;
  const [y, m, d] = value.split("-").map(Number);
  const t = endOfDay ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d);
  return t.getTime();
}

function matchesFilters(e) {
  const f = state.filters;
  if (f.project && e.project !== f.project) return false;
  if (f.author && (e.author || "").toLowerCase() !== f.author.toLowerCase()) return false;
  if (f.types.size && !f.types.has(e.type)) return false;
  if (f.concept && !(e.concepts || []).includes(f.concept)) return false;
  if (f.session !== null && e.session_id !== f.session) return false;
  const file = f.file.trim();
  if (file) {
    const files = [...(e.files_read || []), ...(e.files_modified || [])];
    if (!files.some((p) => p === file || p.endsWith(`/${file}`))) return false;
  }
  const since = dateBound(f.since, false);
  const until = dateBound(f.until, true);
  if (since !== null && e.created_at < since) return false;
  if (until !== null && e.created_at > until) return false;
  return true;
}

// ---------- loading ----------

async function reload() {
  const generation = ++state.generation;
  state.cards.clear(); // built again on demand; open ones reopen from `details`
  state.entries = [];
  state.next = null;
  state.loading = false;
  setBusy(true);
  renderSkeleton();
  try {
    if (state.view === "sessions") {
      state.sessionList = [];
      state.sessionNext = null;
      await loadSessions(generation);
    } else if (state.mode === "search") {
      const params = filterParams({ q: state.query, limit: 100 });
      const answer = await api(`/api/search?${params}`);
      if (generation !== state.generation) return;
      state.entries = answer.items;
      state.terms = answer.terms;
      renderFeed();
    } else if (state.mode === "around") {
      const answer = await api(`/api/timeline?around=${state.around}&before=12&after=12`);
      if (generation !== state.generation) return;
      state.entries = answer.items.slice().reverse();
      renderFeed();
    } else {
      await loadPage(generation);
    }
  } catch (err) {
    if (generation === state.generation) fail(err);
  } finally {
    if (generation === state.generation) setBusy(false);
  }
}

async function loadPage(generation = state.generation) {
  if (state.loading) return;
  state.loading = true;
  try {
    const params = filterParams({ limit: PAGE, before: state.next, session: state.filters.session });
    const answer = await api(`/api/observations?${params}`);
    if (generation !== state.generation) return;
    for (const [id, overview] of Object.entries(answer.sessions)) state.sessions.set(Number(id), overview);
    const known = new Set(state.entries.map((e) => e.id));
    state.entries.push(...answer.items.filter((e) => !known.has(e.id)));
    state.next = answer.next;
    renderFeed();
  } finally {
    state.loading = false;
  }
}

async function loadSessions(generation = state.generation) {
  if (state.loading) return;
  state.loading = true;
  try {
    const p = new URLSearchParams({ limit: 30 });
    if (state.filters.project) p.set("project", state.filters.project);
    if (state.sessionNext) p.set("before", state.sessionNext);
    const answer = await api(`/api/sessions?${p}`);
    if (generation !== state.generation) return;
    state.sessionList.push(...answer.items);
    for (const s of answer.items) state.sessions.set(s.id, s);
    state.sessionNext = answer.next;
    renderSessions();
  } finally {
    state.loading = false;
  }
}

async function loadMore() {
  if (state.loading) return;
  try {
    if (state.view === "sessions" && state.sessionNext) await loadSessions();
    else if (state.view === "timeline" && state.mode === "browse" && state.next) await loadPage();
  } catch (err) {
    fail(err);
  }
}

function fail(err) {
  if (err instanceof LockedError) return showLocked();
  toast(`Could not load: ${err.message}`);
}

function setBusy(busy) {
  $("feed").setAttribute("aria-busy", busy ? "true" : "false");
}

// ---------- rendering: the feed ----------

function renderSkeleton() {
  const feed = clear($("feed"));
  for (let i = 0; i < 4; i++) {
    feed.append(h("div", { class: "skeleton", "aria-hidden": "true" }, h("span"), h("span"), h("span")));
  }
}

function renderBar() {
  const bar = clear($("bar"));
  const chips = [];
  if (state.mode === "search") {
    chips.push(h("span", { class: "bar-title" },
      `${state.entries.length}${state.entries.length === 100 ? "+" : ""} result${state.entries.length === 1 ? "" : "s"} for `,
      h("q", null, state.query)));
  } else if (state.mode === "around") {
    chips.push(h("span", { class: "bar-title" }, "What happened around ", h("strong", null, `#${state.around}`)));
    chips.push(h("button", { class: "chip chip-action", type: "button", onclick: () => { state.mode = "browse"; state.around = null; reload(); } }, "Back to timeline"));
  }
  if (state.filters.session !== null) {
    const s = state.sessions.get(state.filters.session);
    chips.push(h("button", {
      class: "chip chip-filter", type: "button", "aria-label": "Show all sessions",
      onclick: () => { state.filters.session = null; reload(); },
    }, `Session ${s ? s.agent_session_id.slice(0, 8) : state.filters.session}`, h("span", { "aria-hidden": "true" }, " ×")));
  }
  append(bar, chips);
  bar.hidden = chips.length === 0;
}

function renderFeed() {
  renderBar();
  const feed = clear($("feed"));
  $("more").hidden = true;
  if (!state.entries.length) {
    feed.append(emptyState());
    return;
  }
  if (state.mode === "browse") {
    let day = null;
    let group = null;
    let groupKey = null;
    for (const e of state.entries) {
      const d = dayKey(e.created_at);
      if (d !== day) {
        day = d;
        groupKey = null;
        feed.append(dayHeading(e.created_at));
      }
      // Notes and imports have no session: one group per project and day.
      const key = e.session_id === null ? `notes-${e.project}-${d}` : `s${e.session_id}-${d}`;
      if (key !== groupKey) {
        groupKey = key;
        group = sessionGroup(e);
        feed.append(group);
      }
      group.querySelector(".group-cards").append(card(e));
    }
    $("more").hidden = !state.next;
  } else {
    const list = h("div", { class: "group-cards flat" });
    for (const e of state.entries) list.append(card(e));
    feed.append(list);
  }
  state.fresh.clear();
  if (state.selected !== null) markSelected(state.selected, false);
}

function emptyState() {
  const filtered = state.filters.project || state.filters.author || state.filters.types.size || state.filters.concept || state.filters.file ||
    state.filters.since || state.filters.until || state.filters.session !== null;
  let title = "No memories yet";
  let text = "mnemo turns your Claude Code sessions into memories as you work. They will appear here, live.";
  if (state.mode === "search") {
    title = "Nothing found";
    text = `No memory matches “${state.query}”${filtered ? " with these filters" : ""}.`;
  } else if (filtered) {
    title = "No memories match these filters";
    text = "Clear a filter or pick another project.";
  }
  return h("div", { class: "empty" },
    h("img", { src: "/icon.svg", alt: "", width: 40, height: 40 }),
    h("h2", null, title), h("p", null, text));
}

function sessionGroup(e) {
  const s = e.session_id === null ? null : state.sessions.get(e.session_id);
  const header = h("div", { class: "group-head" });
  if (!s) {
    header.append(h("span", { class: "group-kind" }, e.generated_by === "user" ? "Notes" : "Imported"),
      h("span", { class: "group-meta" }, h("span", { title: e.project || null }, projectName(e.project))));
    return h("section", { class: "group", "aria-label": "Notes" }, header, h("div", { class: "group-cards" }));
  }
  const when = s.ended_at ? `${timeFmt.format(new Date(s.started_at))} – ${timeFmt.format(new Date(s.ended_at))}` : `since ${timeFmt.format(new Date(s.started_at))}`;
  header.append(
    h("button", {
      class: "group-kind link", type: "button", title: "Only this session",
      onclick: () => { state.filters.session = s.id; state.mode = "browse"; setQuery(""); reload(); },
    }, "Session ", h("span", { class: "mono" }, s.agent_session_id.slice(0, 8))),
    h("span", { class: "group-meta" },
      h("span", { title: s.project || null }, projectName(s.project)),
      s.branch ? h("span", { class: "branch" }, s.branch) : null,
      h("span", null, when),
      s.status === "active" ? h("span", { class: "badge-active" }, "active") : null),
  );
  const summary = s.latest_summary;
  const section = h("section", { class: "group", "aria-label": `Session ${s.agent_session_id.slice(0, 8)}` }, header);
  if (s.first_prompt) section.append(h("p", { class: "group-prompt" }, h("span", { class: "sr-only" }, "First prompt: "), s.first_prompt));
  section.append(h("div", { class: "group-cards" }));
  if (summary) section.append(summaryBlock(summary, "Latest summary"));
  return section;
}

function summaryBlock(summary, label) {
  const rows = [
    ["Asked", summary.request],
    ["Looked at", summary.investigated],
    ["Learned", summary.learned],
    ["Done", summary.completed],
    ["Next", summary.next_steps],
  ].filter(([, v]) => v);
  if (!rows.length) return null;
  return h("details", { class: "summary" },
    h("summary", null, label),
    h("dl", null, rows.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])));
}

function typeBadge(type) {
  const t = TYPE[type] || { symbol: "·", label: type };
  return h("span", { class: `type type-${type}`, title: t.label }, h("span", { class: "type-symbol", "aria-hidden": "true" }, t.symbol), t.label);
}

// The card of `e`: the one already built (keeping its open state and
// details) unless what it shows has changed.
function card(e) {
  let el = state.cards.get(e.id);
  if (!el || el.dataset.stamp !== stamp(e)) {
    el = buildCard(e);
    state.cards.set(e.id, el);
    if (state.expanded.has(e.id)) fillDetails(el, e.id);
  } else {
    refreshHighlights(el, e);
  }
  if (state.fresh.has(e.id)) {
    el.dataset.live = "true";
    el.classList.add("fresh");
    el.addEventListener("animationend", () => el.classList.remove("fresh"), { once: true });
  }
  return el;
}

function stamp(e) {
  return JSON.stringify([e.title, e.subtitle, e.type, state.mode]);
}

function buildCard(e) {
  const expanded = state.expanded.has(e.id);
  const files = [...new Set([...(e.files_modified || []), ...(e.files_read || [])])];
  const title = h("h3", { class: "card-title" }, richText(e.title, state.mode === "search" ? state.terms : []));
  const subtitle = e.subtitle ? h("p", { class: "card-subtitle" }, richText(e.subtitle, state.mode === "search" ? state.terms : [])) : null;
  const head = h("div", { class: "card-head" },
    typeBadge(e.type),
    title,
    timeEl(e.created_at, state.mode === "browse" ? timeFmt.format(new Date(e.created_at)) : relative(e.created_at)));
  const meta = h("div", { class: "card-meta" },
    state.mode !== "browse" && e.project ? h("span", { class: "meta-project", title: e.project }, projectName(e.project)) : null,
    files.slice(0, 3).map((f) => h("span", { class: "file", title: f }, baseName(f))),
    files.length > 3 ? h("span", { class: "muted" }, `+${files.length - 3}`) : null,
    (e.concepts || []).slice(0, 2).map((c) => h("span", { class: "concept" }, c)),
    e.author ? h("span", { class: "meta-author", title: "from the team" }, `by ${e.author}`) : null,
    h("span", { class: "meta-right" }, h("span", { class: "mono" }, `#${e.id}`), ` · ~${e.tokens} tokens`));
  const details = h("div", { class: "card-details", id: `details-${e.id}` });
  details.hidden = !expanded;
  const el = h("article", {
    class: `card card-${e.type}`,
    tabindex: "0",
    "aria-expanded": expanded ? "true" : "false",
    "aria-controls": `details-${e.id}`,
    "aria-label": `${(TYPE[e.type] || {}).label || e.type}: ${plainText(e.title)}`,
    dataset: { id: e.id, stamp: stamp(e) },
    onclick: (ev) => {
      if (ev.target.closest("button, a, summary, .card-details")) return;
      select(e.id);
      toggle(e.id);
    },
    onfocus: () => { if (state.selected !== e.id) markSelected(e.id, false); },
  }, head, subtitle, meta, details);
  return el;
}

function refreshHighlights(el, e) {
  if (state.mode !== "search") return;
  const title = el.querySelector(".card-title");
  clear(title).append(richText(e.title, state.terms));
  const subtitle = el.querySelector(".card-subtitle");
  if (subtitle) clear(subtitle).append(richText(e.subtitle, state.terms));
}

async function toggle(id) {
  const el = state.cards.get(id);
  if (!el) return;
  const open = !state.expanded.has(id);
  if (open) state.expanded.add(id);
  else state.expanded.delete(id);
  el.setAttribute("aria-expanded", open ? "true" : "false");
  el.querySelector(".card-details").hidden = !open;
  if (open) {
    clearStickyHeading(el);
    await fillDetails(el, id);
  }
}

// Scrolls `el` down so that no sticky day heading covers its top.
function clearStickyHeading(el) {
  const top = el.getBoundingClientRect().top;
  let covered = 0;
  for (const day of $("feed").querySelectorAll("h2.day")) {
    const r = day.getBoundingClientRect();
    if (r.top <= top && r.bottom > top) covered = Math.max(covered, r.bottom);
  }
  if (covered) window.scrollBy({ top: top - covered - 8 });
}

async function fillDetails(el, id) {
  const box = el.querySelector(".card-details");
  let detail = state.details.get(id);
  if (!detail) {
    clear(box).append(h("p", { class: "muted" }, "Loading…"));
    try {
      detail = await api(`/api/observations/${id}`);
      state.details.set(id, detail);
      if (state.details.size > DETAILS_KEPT) state.details.delete(state.details.keys().next().value);
    } catch (err) {
      clear(box).append(h("p", { class: "error" }, err instanceof LockedError ? "Locked." : err.message));
      return;
    }
  }
  clear(box).append(detailView(detail));
}

function detailView(d) {
  const frag = document.createDocumentFragment();
  if (d.narrative) frag.append(h("p", { class: "narrative" }, richText(d.narrative, [])));
  if (d.facts && d.facts.length) {
    frag.append(h("h4", null, "Facts"), h("ul", { class: "facts" }, d.facts.map((f) => h("li", null, richText(f, [])))));
  }
  const fileRows = [
    ["Modified", d.files_modified],
    ["Read", d.files_read],
  ].filter(([, list]) => list && list.length);
  if (fileRows.length) {
    frag.append(h("h4", null, "Files"), h("dl", { class: "files" },
      fileRows.map(([label, list]) => [h("dt", null, label), h("dd", null, list.map((f) => h("code", { class: "path" }, f)))])));
  }
  if (d.concepts && d.concepts.length) {
    frag.append(h("div", { class: "concepts" }, d.concepts.map((c) => h("span", { class: "concept" }, c))));
  }
  const prompt = d.prompt_item;
  if (prompt && prompt.text) {
    frag.append(h("h4", null, "Prompt"),
      h("blockquote", { class: "prompt" }, prompt.text,
        h("footer", null, `Prompt ${prompt.n} · `, timeEl(prompt.created_at, shortFmt.format(new Date(prompt.created_at))))));
  }
  const diffs = (d.events || []).filter((ev) => ev.diff);
  if (diffs.length) {
    frag.append(h("h4", null, diffs.length === 1 ? "Change" : `Changes (${diffs.length})`));
    for (const ev of diffs) frag.append(diffView(ev));
  }
  const calls = d.tool_calls || [];
  if (calls.length) {
    const failed = calls.filter((c) => c.failed).length;
    frag.append(h("h4", null, `Tool calls (${calls.length}${failed ? `, ${failed} failed` : ""})`),
      h("ul", { class: "calls" }, calls.map(callItem)));
  }
  if (prompt && prompt.summary) {
    const block = summaryBlock(prompt.summary, "Episode summary");
    if (block) frag.append(block);
  }
  frag.append(h("div", { class: "card-actions" },
    h("button", { class: "btn btn-danger", type: "button", onclick: () => forget(d.id) }, icon("M5 6h10M8 6V4h4v2M6 6l1 10h6l1-10"), "Forget"),
    h("button", { class: "btn", type: "button", onclick: () => showAround(d.id) }, icon("M10 3v14M4 7l6-4 6 4"), "Around this"),
    h("span", { class: "muted small", title: d.project || null }, `${madeBy(d)} · ${projectName(d.project)}`)));
  return frag;
}

// Who made a memory: you or a teammate (pulled from the team), by hand,
// by the rules or enriched by a model.
function madeBy(d) {
  if (d.generated_by === "user") return `written by ${d.author || "you"}`;
  const how = d.generated_by.startsWith("llm") ? `enriched by ${d.generated_by.slice(4)}` : "by rules";
  return d.author ? `${how} · from ${d.author}` : how;
}

// One tool call: the tool, what it was about, a mark when it failed, and
// its output folded away.
function callItem(c) {
  return h("li", { class: c.failed ? "call failed" : "call" },
    h("div", { class: "call-line" },
      h("span", { class: "tool" }, c.tool_name),
      c.target ? h("code", null, c.target) : null,
      c.failed ? h("span", { class: "call-failed" }, "failed") : null),
    c.output ? h("details", { class: "call-output" },
      h("summary", null, c.failed ? "Error" : "Output"),
      h("pre", { tabindex: "0" }, c.output)) : null);
}

function diffView(ev) {
  const pre = h("pre", { class: "diff", tabindex: "0", "aria-label": `Diff of ${ev.target}` });
  for (const line of ev.diff.split("\n")) {
    const kind = line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "ctx";
    pre.append(h("span", { class: `line ${kind}` }, line), "\n");
  }
  return h("figure", { class: "diff-box" }, h("figcaption", null, h("span", { class: "tool" }, ev.tool_name), h("code", null, ev.target)), pre);
}

// ---------- rendering: sessions ----------

function renderSessions() {
  renderBar();
  const feed = clear($("feed"));
  $("more").hidden = !state.sessionNext;
  if (!state.sessionList.length) {
    feed.append(h("div", { class: "empty" }, h("img", { src: "/icon.svg", alt: "", width: 40, height: 40 }),
      h("h2", null, "No sessions yet"), h("p", null, "Sessions appear here as soon as Claude Code starts one.")));
    return;
  }
  let day = null;
  for (const s of state.sessionList) {
    const d = dayKey(s.started_at);
    if (d !== day) {
      day = d;
      feed.append(dayHeading(s.started_at));
    }
    feed.append(sessionCard(s));
  }
}

function sessionCard(s) {
  const open = state.openSessions.has(s.id);
  const prompts = h("div", { class: "session-prompts" });
  prompts.hidden = !open;
  const el = h("article", { class: "session", "aria-label": `Session ${s.agent_session_id.slice(0, 8)}` },
    h("div", { class: "session-head" },
      h("span", { class: `status-dot ${s.status}`, title: s.status }),
      h("h3", { title: s.project || null }, projectName(s.project)),
      s.branch ? h("span", { class: "branch" }, s.branch) : null,
      h("span", { class: "muted" }, `${timeFmt.format(new Date(s.started_at))}${s.ended_at ? ` – ${timeFmt.format(new Date(s.ended_at))}` : ""}`),
      h("span", { class: "meta-right muted" }, `${s.prompts} prompt${s.prompts === 1 ? "" : "s"} · ${s.observations} memor${s.observations === 1 ? "y" : "ies"}`)),
    s.first_prompt ? h("p", { class: "group-prompt" }, s.first_prompt) : null,
    s.latest_summary && s.latest_summary.completed ? h("p", { class: "session-done" }, h("strong", null, "Done: "), s.latest_summary.completed) : null,
    h("div", { class: "card-actions" },
      h("button", {
        class: "btn", type: "button", "aria-expanded": open ? "true" : "false",
        onclick: async (ev) => {
          const now = !state.openSessions.has(s.id);
          if (now) state.openSessions.add(s.id);
          else state.openSessions.delete(s.id);
          ev.currentTarget.setAttribute("aria-expanded", now ? "true" : "false");
          prompts.hidden = !now;
          if (now) await fillSession(s.id, prompts);
        },
      }, "Prompts and summaries"),
      s.observations ? h("button", {
        class: "btn", type: "button",
        onclick: () => { state.filters.session = s.id; setView("timeline"); },
      }, "Memories →") : null,
      h("span", { class: "muted small mono" }, s.agent_session_id)),
    prompts);
  if (open) fillSession(s.id, prompts);
  return el;
}

async function fillSession(id, box) {
  clear(box).append(h("p", { class: "muted" }, "Loading…"));
  try {
    const detail = await api(`/api/sessions/${id}`);
    clear(box).append(h("ol", { class: "prompt-list" }, detail.prompt_list.map((p) =>
      h("li", null,
        h("div", { class: "prompt-line" }, h("span", { class: "muted mono" }, `${p.n}`), h("span", { class: "prompt-text" }, p.private ? "(private)" : p.text),
          timeEl(p.created_at, timeFmt.format(new Date(p.created_at)), { class: "muted" })),
        p.summary ? summaryBlock(p.summary, "Summary") : null))));
  } catch (err) {
    clear(box).append(h("p", { class: "error" }, err.message));
  }
}

// ---------- selection and keyboard ----------

function visibleCards() {
  return [...$("feed").querySelectorAll(".card")];
}

function markSelected(id, focus) {
  for (const el of $("feed").querySelectorAll(".card.selected")) el.classList.remove("selected");
  state.selected = id;
  const el = state.cards.get(id);
  if (!el || !el.isConnected) return;
  el.classList.add("selected");
  if (focus) {
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }
}

function select(id) {
  markSelected(id, true);
}

function move(step) {
  const cards = visibleCards();
  if (!cards.length) return;
  const at = cards.findIndex((c) => Number(c.dataset.id) === state.selected);
  const next = at < 0 ? 0 : Math.min(cards.length - 1, Math.max(0, at + step));
  select(Number(cards[next].dataset.id));
  if (next >= cards.length - 3) loadMore();
}

function onKey(ev) {
  if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const typing = ev.target.closest("input, select, textarea");
  if (ev.key === "Escape") {
    if (!$("help").hidden) return closeHelp();
    if (document.body.classList.contains("drawer-open")) return closeDrawer();
    if (!$("context-panel").hidden) return closeContext();
    if (ev.target === $("q")) {
      if ($("q").value) setQuery("");
      else $("q").blur();
      return;
    }
    return;
  }
  if (typing) return;
  switch (ev.key) {
    case "/": ev.preventDefault(); $("q").focus(); $("q").select(); break;
    case "j": move(1); break;
    case "k": move(-1); break;
    case "Enter": case "o":
      if (state.selected === null || ev.target.closest("button, a, summary")) return;
      ev.preventDefault();
      toggle(state.selected);
      break;
    case "d": if (state.selected !== null) forget(state.selected); break;
    case "u": undo(); break;
    case "c": toggleContext(); break;
    case "t": setView("timeline"); break;
    case "s": setView("sessions"); break;
    case "?": openHelp(); break;
    default: return;
  }
}

function openHelp() {
  $("help").hidden = false;
  $("help-close").focus();
}

function closeHelp() {
  $("help").hidden = true;
}

// ---------- forget / undo ----------

async function forget(id) {
  const entry = state.entries.find((e) => e.id === id);
  try {
    await api(`/api/observations/${id}`, { method: "DELETE" });
  } catch (err) {
    return fail(err);
  }
  if (entry) state.forgotten.push(entry);
  const cards = visibleCards();
  const at = cards.findIndex((c) => Number(c.dataset.id) === id);
  removeEntries([id]);
  const neighbour = cards[at + 1] || cards[at - 1];
  if (neighbour && neighbour.isConnected) markSelected(Number(neighbour.dataset.id), document.activeElement && document.activeElement.closest(".card"));
  toast(`Forgot #${id}: “${entry ? plainText(entry.title) : ""}”`, { label: "Undo", run: undo });
  refreshStats();
}

async function undo() {
  const entry = state.forgotten.pop();
  if (!entry) return;
  try {
    await api(`/api/observations/${entry.id}/restore`, { method: "POST" });
  } catch (err) {
    return fail(err);
  }
  insertEntry(entry, false);
  select(entry.id);
  toast(`Restored #${entry.id}`);
  refreshStats();
}

function removeEntries(ids) {
  const gone = new Set(ids);
  const before = state.entries.length;
  state.entries = state.entries.filter((e) => !gone.has(e.id));
  for (const id of ids) {
    state.cards.delete(id);
    state.expanded.delete(id);
  }
  if (state.entries.length !== before) rerender();
}

function insertEntry(entry, fresh) {
  if (state.entries.some((e) => e.id === entry.id)) return;
  if (state.view !== "timeline" || state.mode !== "browse" || !matchesFilters(entry)) return;
  const at = state.entries.findIndex((e) => e.created_at < entry.created_at || (e.created_at === entry.created_at && e.id < entry.id));
  if (at < 0 && state.next) return; // older than everything loaded: its page will bring it
  state.entries.splice(at < 0 ? state.entries.length : at, 0, entry);
  if (fresh) state.fresh.add(entry.id);
  rerender();
}

function rerender() {
  if (state.view === "timeline") renderFeed();
}

// ---------- live stream ----------

let stream = null;
let statsTimer = null;
let contextTimer = null;

function connect() {
  if (stream) stream.close();
  stream = new EventSource("/api/stream");
  setLive("connecting");
  stream.addEventListener("hello", (ev) => {
    setLive("live", JSON.parse(ev.data).processing);
  });
  stream.addEventListener("observation", async (ev) => {
    const entry = JSON.parse(ev.data);
    if (entry.session_id !== null && !state.sessions.has(entry.session_id)) await fetchSession(entry.session_id);
    insertEntry(entry, true);
    soon();
  });
  stream.addEventListener("episode", async (ev) => {
    const episode = JSON.parse(ev.data);
    const keep = new Set(episode.observation_ids);
    const stale = state.entries.filter((e) => e.prompt_id === episode.prompt_id && !keep.has(e.id)).map((e) => e.id);
    if (stale.length) removeEntries(stale);
    await fetchSession(episode.session_id);
    rerender();
    soon();
  });
  stream.addEventListener("prompt", (ev) => {
    const prompt = JSON.parse(ev.data);
    fetchSession(prompt.session_id).then(rerender);
  });
  stream.addEventListener("forgotten", (ev) => removeEntries(JSON.parse(ev.data).ids));
  stream.addEventListener("restored", async (ev) => {
    for (const id of JSON.parse(ev.data).ids) {
      if (state.entries.some((e) => e.id === id)) continue;
      try {
        const d = await api(`/api/observations/${id}`);
        insertEntry(entryFromDetail(d), false);
      } catch { /* gone again */ }
    }
  });
  stream.addEventListener("status", (ev) => setLive("live", JSON.parse(ev.data)));
  stream.addEventListener("resync", () => reload());
  stream.onerror = () => setLive(stream.readyState === EventSource.CLOSED ? "offline" : "connecting");
  stream.onopen = () => setLive("live");
}

async function fetchSession(id) {
  try {
    state.sessions.set(id, await api(`/api/sessions/${id}`));
  } catch { /* shown without a header */ }
}

function entryFromDetail(d) {
  return {
    id: d.id, type: d.type, title: d.title, subtitle: d.subtitle, project: d.project, session_id: d.session_id,
    prompt_id: d.prompt_item ? d.prompt_item.id : null, created_at: d.created_at, concepts: d.concepts,
    files_read: d.files_read, files_modified: d.files_modified, generated_by: d.generated_by,
    tokens: Math.ceil((d.title.length + d.subtitle.length + d.narrative.length + JSON.stringify(d.facts).length) / 4) + 1,
  };
}

// Stats, projects and the context preview follow changes, at most about
// once a second.
function soon() {
  clearTimeout(statsTimer);
  statsTimer = setTimeout(() => { refreshStats(); loadProjects().catch(fail); loadAuthors().catch(fail); }, 800);
  if (!$("context-panel").hidden) {
    clearTimeout(contextTimer);
    contextTimer = setTimeout(refreshContext, 800);
  }
}

function setLive(mode, processing) {
  const el = $("live");
  el.dataset.state = mode;
  let label = { live: "Live", connecting: "Connecting", offline: "Offline" }[mode];
  if (mode === "live" && processing) {
    const busy = processing.events_pending + processing.enrich_pending;
    if (busy) label = `Live · ${busy} pending`;
  }
  el.querySelector(".live-label").textContent = label;
  el.title = mode === "live" ? "New memories appear as they are made" : "Not receiving updates";
}

// ---------- sidebar: filters and stats ----------

function buildFilters() {
  const types = $("f-types");
  for (const [id, symbol, label] of TYPES) {
    types.append(h("button", {
      class: `type-toggle type-${id}`, type: "button", "aria-pressed": "false", dataset: { type: id },
      onclick: (ev) => {
        const on = !state.filters.types.has(id);
        if (on) state.filters.types.add(id);
        else state.filters.types.delete(id);
        ev.currentTarget.setAttribute("aria-pressed", on ? "true" : "false");
        reload();
      },
    }, h("span", { class: "type-symbol", "aria-hidden": "true" }, symbol), label));
  }
  const concept = $("f-concept");
  for (const c of CONCEPTS) concept.append(h("option", { value: c }, c));
  concept.addEventListener("change", () => { state.filters.concept = concept.value; reload(); });
  $("f-project").addEventListener("change", () => {
    state.filters.project = $("f-project").value;
    state.filters.session = null;
    reload();
    if (!$("context-panel").hidden) refreshContext();
  });
  $("f-author").addEventListener("change", () => { state.filters.author = $("f-author").value; reload(); });
  let fileTimer = null;
  $("f-file").addEventListener("input", () => {
    clearTimeout(fileTimer);
    fileTimer = setTimeout(() => { state.filters.file = $("f-file").value; reload(); }, 250);
  });
  for (const [id, key] of [["f-since", "since"], ["f-until", "until"]]) {
    $(id).addEventListener("change", () => { state.filters[key] = $(id).value; reload(); });
  }
  $("f-clear").addEventListener("click", () => {
    Object.assign(state.filters, { project: "", author: "", concept: "", file: "", since: "", until: "", session: null });
    state.filters.types.clear();
    for (const b of types.querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
    for (const id of ["f-project", "f-author", "f-concept", "f-file", "f-since", "f-until"]) $(id).value = "";
    reload();
  });
}

async function loadProjects() {
  const answer = await api("/api/projects");
  const select = $("f-project");
  const current = select.value;
  for (const option of [...select.options].slice(1)) option.remove();
  const labels = projectLabels(answer.items.map((p) => p.root));
  const changed = [...labels].some(([root, label]) => projectName(root) !== label);
  state.projectLabels = labels;
  for (const p of answer.items) {
    select.append(h("option", { value: p.root, title: p.root }, `${projectName(p.root)} (${numberFmt.format(p.observations)})`));
  }
  select.value = current;
  if (changed && $("feed").getAttribute("aria-busy") !== "true") {
    // Cards name projects by these labels: build them again (a page still
    // loading is drawn with them anyway).
    state.cards.clear();
    if (state.view === "sessions") renderSessions();
    else rerender();
  }
}

// The author menu lists the teammates whose memories were pulled; with none
// (team memory unused) it stays hidden.
async function loadAuthors() {
  const answer = await api("/api/authors");
  const select = $("f-author");
  const current = select.value;
  for (const option of [...select.options].slice(1)) option.remove();
  for (const a of answer.items) {
    select.append(h("option", { value: a.name }, `${a.name} (${numberFmt.format(a.observations)})`));
  }
  select.value = current;
  $("f-author-field").hidden = answer.items.length === 0 && !current;
}

async function refreshStats() {
  let s;
  try {
    s = await api("/api/stats");
  } catch (err) {
    return fail(err);
  }
  const rows = [
    ["Memories", numberFmt.format(s.observations)],
    ["Sessions", numberFmt.format(s.sessions)],
    ["Prompts", numberFmt.format(s.prompts)],
    ["Projects", numberFmt.format(s.projects)],
    ["Events", numberFmt.format(s.events)],
    ["Database", bytes(s.db_bytes)],
  ];
  if (s.events_pending) rows.push(["Uncompressed", numberFmt.format(s.events_pending)]);
  if (s.enrich_pending) rows.push(["Awaiting LLM", numberFmt.format(s.enrich_pending)]);
  if (s.spooled) rows.push(["Spooled", numberFmt.format(s.spooled)]);
  clear($("stats")).append(...rows.map(([k, v]) => h("div", null, h("dt", null, k), h("dd", null, v))));
  const spend = clear($("spend"));
  const budget = s.llm_daily_token_budget;
  const share = budget ? Math.min(1, s.llm_tokens_today / budget) : 0;
  const meter = h("div", { class: "meter", role: "meter", "aria-valuemin": "0", "aria-valuemax": String(budget), "aria-valuenow": String(s.llm_tokens_today), "aria-label": "LLM tokens used today" }, h("span"));
  meter.firstChild.style.width = `${(share * 100).toFixed(1)}%`;
  spend.append(
    h("div", { class: "spend-head" }, h("span", null, "LLM spend"), h("span", { class: "muted" }, s.llm_backend === "off" ? "off" : s.llm_backend)),
    meter,
    h("p", { class: "muted small" }, `Today ${numberFmt.format(s.llm_tokens_today)} of ${numberFmt.format(budget)} tokens · total ${numberFmt.format(s.llm_tokens_total)} in ${numberFmt.format(s.llm_calls_total)} calls`));
}

// ---------- context preview ----------

function toggleContext() {
  if ($("context-panel").hidden) openContext();
  else closeContext();
}

function openContext() {
  $("context-panel").hidden = false;
  $("context-toggle").setAttribute("aria-expanded", "true");
  document.body.classList.add("context-open");
  refreshContext();
}

function closeContext() {
  $("context-panel").hidden = true;
  $("context-toggle").setAttribute("aria-expanded", "false");
  document.body.classList.remove("context-open");
}

async function refreshContext() {
  const p = new URLSearchParams();
  if (state.filters.project) p.set("project", state.filters.project);
  try {
    const c = await api(`/api/context?${p}`);
    $("ctx-project").textContent = c.project ? projectName(c.project) : c.name;
    $("ctx-project").title = c.project;
    $("ctx-text").textContent = c.text;
    $("ctx-tokens").textContent = `${numberFmt.format(c.tokens)} of ${numberFmt.format(c.max_tokens)} tokens${c.enabled ? "" : " · injection is off ([context] enabled = false)"}`;
    $("ctx-meter").style.width = `${Math.min(100, (100 * c.tokens) / c.max_tokens).toFixed(1)}%`;
  } catch (err) {
    if (err instanceof LockedError) return showLocked();
    $("ctx-project").textContent = "—";
    $("ctx-text").textContent = err.message;
    $("ctx-tokens").textContent = "";
    $("ctx-meter").style.width = "0";
  }
}

// ---------- views, search, misc ----------

function setView(view) {
  state.view = view;
  for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-pressed", tab.dataset.view === view ? "true" : "false");
  $("feed").setAttribute("aria-label", view === "sessions" ? "Sessions" : "Memories");
  if (view === "sessions") {
    setQuery("", false);
    state.mode = "browse";
  }
  reload();
}

function setQuery(text, load = true) {
  $("q").value = text;
  state.query = text.trim();
  state.mode = state.query ? "search" : state.mode === "search" ? "browse" : state.mode;
  if (load) reload();
}

function showAround(id) {
  state.view = "timeline";
  state.mode = "around";
  state.around = id;
  $("q").value = "";
  state.query = "";
  state.selected = id;
  reload().then(() => select(id));
}

let toastTimer = null;
function toast(text, action) {
  const el = clear($("toast"));
  el.append(h("span", null, text));
  if (action) {
    el.append(h("button", { class: "link", type: "button", onclick: () => { el.hidden = true; action.run(); } }, action.label));
  }
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, action ? 8000 : 3000);
}

function showLocked() {
  setLive("offline");
  const banner = clear($("banner"));
  banner.append(h("strong", null, "This viewer is locked. "),
    "Open the URL that ", h("code", null, "mnemo serve"), " printed, with its ", h("code", null, "#token=…"),
    " ending: the token does not expire (it is kept in ", h("code", null, "serve.token"),
    " in mnemo's data directory). Running ", h("code", null, "mnemo serve"),
    " again prints that URL, also while a server is running.");
  banner.hidden = false;
  clear($("feed"));
  setBusy(false);
}

function openDrawer() {
  document.body.classList.add("drawer-open");
  $("menu").setAttribute("aria-expanded", "true");
  $("scrim").hidden = false;
}

function closeDrawer() {
  document.body.classList.remove("drawer-open");
  $("menu").setAttribute("aria-expanded", "false");
  $("scrim").hidden = true;
}

function wire() {
  buildFilters();
  let searchTimer = null;
  $("q").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      if (state.view !== "timeline") {
        state.view = "timeline";
        for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-pressed", tab.dataset.view === "timeline" ? "true" : "false");
      }
      setQuery($("q").value);
    }, 120);
  });
  $("q").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === "ArrowDown") {
      ev.preventDefault();
      const first = visibleCards()[0];
      if (first) select(Number(first.dataset.id));
    }
  });
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => setView(tab.dataset.view));
  $("context-toggle").addEventListener("click", toggleContext);
  $("context-close").addEventListener("click", closeContext);
  $("menu").addEventListener("click", () => (document.body.classList.contains("drawer-open") ? closeDrawer() : openDrawer()));
  $("scrim").addEventListener("click", closeDrawer);
  $("help-close").addEventListener("click", closeHelp);
  $("help").addEventListener("click", (ev) => { if (ev.target === $("help")) closeHelp(); });
  document.addEventListener("keydown", onKey);
  new IntersectionObserver((seen) => {
    if (seen.some((s) => s.isIntersecting)) loadMore();
  }, { rootMargin: "600px" }).observe($("more"));
}

async function start() {
  wire();
  renderSkeleton();
  try {
    await login();
    // Listen first: whatever is written after this is either in the first
    // page or arrives on the stream.
    connect();
    const firstPage = reload();
    const sidebar = Promise.all([loadProjects(), loadAuthors(), refreshStats()]);
    await firstPage;
    performance.mark("mnemo:ready");
    await sidebar;
  } catch (err) {
    return fail(err);
  }
  document.documentElement.dataset.ready = "true";
}

start();
