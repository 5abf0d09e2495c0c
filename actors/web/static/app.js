// The live dashboard: counts, throughput, the task list with filters, a task's detail, the
// actions, queues, schedules, nodes and workers. Plain DOM, no framework; every value from the
// server is put in the page as text (never as HTML).

import { Api, ApiError, initialToken, keepToken, listOf } from "./api.js";
import { Throughput } from "./chart.js";

const STATES = ["pending", "running", "succeeded", "failed", "cancelled", "paused"];
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const PAGE_SIZE = 50;
const RATE_UNITS = { 1: "s", 60: "min", 3600: "h" };
const FRESH_MAX = 25;

const $ = (selector) => document.querySelector(selector);

/** An element with attributes / properties and children (strings become text nodes). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// --- time ---------------------------------------------------------------------------------------

/** Seconds since the epoch from an ISO string (a space instead of "T" too) or a number. */
function toSeconds(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return value > 1e12 ? value / 1000 : value;
  const parsed = Date.parse(String(value).replace(" ", "T"));
  return Number.isNaN(parsed) ? null : parsed / 1000;
}

function ago(value) {
  const seconds = toSeconds(value);
  if (seconds === null) return "";
  const delta = Date.now() / 1000 - seconds;
  const future = delta < 0;
  const d = Math.abs(delta);
  const text = d < 1 ? "now" : d < 60 ? `${Math.round(d)}s` : d < 3600 ? `${Math.round(d / 60)}m`
    : d < 86400 ? `${Math.round(d / 3600)}h` : `${Math.round(d / 86400)}d`;
  if (text === "now") return text;
  return future ? `in ${text}` : `${text} ago`;
}

function stamp(value) {
  const seconds = toSeconds(value);
  return seconds === null ? "" : new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${+(seconds / 60).toFixed(1)}m`;
  return `${+(seconds / 3600).toFixed(1)}h`;
}

const shortId = (id) => String(id).slice(0, 8);
const json = (value) => JSON.stringify(value, null, 2);

// --- the app ------------------------------------------------------------------------------------

let token = "";
const api = new Api(() => token);
const chart = new Throughput($("#chart"));
const view = {
  filters: { status: "", name: "", queue: "", tag: "", q: "" },
  offset: 0,
  page: [], // the server's page for the filter
  fresh: new Map(), // id -> task created while the page is open (shown on top while they match)
  freshIds: new Set(), // created events not fetched yet
  detailId: null,
  source: null,
  refreshTimer: null,
  lastRefresh: 0,
};

function toast(text, isError = false) {
  const box = $("#toast");
  box.textContent = text;
  box.classList.toggle("error", isError);
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, isError ? 6000 : 2500);
}

/** Run `fn`; a 401 asks for the token again, any other failure is shown. */
async function guarded(fn) {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      showLogin(token ? "That token was refused." : "");
      return undefined;
    }
    toast(error.message || String(error), true);
    return undefined;
  }
}

// --- sign-in ------------------------------------------------------------------------------------

function showLogin(message = "") {
  if (view.source) {
    view.source.close();
    view.source = null;
  }
  $("#app").hidden = true;
  $("#sign-out").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message;
  setLive("down", "signed out");
  $("#token-input").focus();
}

async function tryStart() {
  try {
    await api.get("/api/stats");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      keepToken("");
      const refused = token !== "";
      token = "";
      showLogin(refused ? "That token was refused." : "");
      return;
    }
    toast(error.message || String(error), true);
  }
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#sign-out").hidden = !token;
  await seedChart();
  drawChart();
  connect();
  route();
  refreshAll();
  refreshSchedules();
}

$("#login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("#token-input").value.trim();
  keepToken(token);
  $("#token-input").value = "";
  tryStart();
});

$("#sign-out").addEventListener("click", () => {
  token = "";
  keepToken("");
  showLogin();
});

// --- live ---------------------------------------------------------------------------------------

function setLive(state, text) {
  const pill = $("#live");
  pill.dataset.state = state;
  pill.textContent = text || (state === "live" ? "live" : "reconnecting…");
}

function connect() {
  if (view.source) view.source.close();
  view.source = api.events(onEvent, (state) => {
    const was = $("#live").dataset.state;
    setLive(state);
    if (state === "live" && was === "down") refreshAll(); // what happened while the stream was down
  });
}

function drawChart() {
  const now = Date.now() / 1000;
  chart.draw(now);
  $("#per-minute").textContent = `${chart.perMinute(now)} finished in the last minute`;
}

function onEvent(event) {
  if (!event || !event.kind) return;
  const pill = $("#live");
  const seen = Number(pill.dataset.events || 0) + 1;
  pill.dataset.events = String(seen);
  pill.title = `The event stream (/api/events): ${seen} event${seen === 1 ? "" : "s"} received`;
  if (event.kind === "succeeded" || event.kind === "failed") {
    chart.add(event.kind, toSeconds(event.at) ?? Date.now() / 1000, event.task_id);
    drawChart();
  }
  if (event.kind === "created" && event.task_id) {
    view.freshIds.add(event.task_id);
  }
  scheduleRefresh();
}

/** One refresh shortly after a burst of events (at most two a second). */
function scheduleRefresh() {
  if (view.refreshTimer) return;
  const wait = Math.max(150, 500 - (Date.now() - view.lastRefresh));
  view.refreshTimer = setTimeout(() => {
    view.refreshTimer = null;
    view.lastRefresh = Date.now();
    refreshAll();
  }, wait);
}

function refreshAll() {
  refreshStats();
  refreshQueues();
  if (view.detailId) refreshDetail();
  else refreshTasks();
}

async function seedChart() {
  const now = Date.now() / 1000;
  for (const status of ["succeeded", "failed"]) {
    const data = await guarded(() => api.get(`/api/tasks?status=${status}&limit=200`));
    for (const task of listOf(data, "tasks")) {
      const at = toSeconds(task.finished_at || task.updated_at);
      if (at !== null && now - at < chart.buckets * chart.bucketSeconds) chart.add(status, at, task.id);
    }
  }
}

// --- counts, workers, nodes ---------------------------------------------------------------------

async function refreshStats() {
  const stats = await guarded(() => api.get("/api/stats"));
  if (!stats) return;
  const counts = stats.tasks || {};
  const box = $("#state-counts");
  box.replaceChildren(...STATES.map((state) => el("button", {
    type: "button",
    class: `count ${state}${view.filters.status === state ? " active" : ""}`,
    dataset: { state },
    title: `Show ${state} tasks`,
    onclick: () => setFilter("status", view.filters.status === state ? "" : state),
  }, el("span", { class: "n" }, String(counts[state] ?? 0)), el("span", { class: "label" }, state))));

  $("#node").textContent = stats.node_id ? `node ${stats.node_id}${stats.leader ? " · leader" : ""}` : "";
  const workers = stats.workers || {};
  $("#workers").textContent = `Workers: ${workers.busy ?? 0} busy, ${workers.idle ?? 0} idle on this node`
    + (workers.registered && workers.registered.length ? ` · serving ${workers.registered.join(", ")}` : "");
  const names = new Set(workers.registered || []);
  $("#worker-names").replaceChildren(...[...names].sort().map((name) => el("option", { value: name })));

  const nodes = listOf(stats.nodes, "nodes");
  $("#nodes").replaceChildren(...(nodes.length ? nodes : [{ node_id: stats.node_id, alive: true, info: {} }]).map((node) => {
    const info = node.info || {};
    const bits = [info.host && `${info.host}:${info.pid}`, info.workers !== undefined && `${info.workers} process workers`,
      node.heartbeat_at && `heartbeat ${ago(node.heartbeat_at)}`].filter(Boolean);
    return el("li", {}, el("span", { class: `dot ${node.alive === false ? "off" : "on"}` }),
      el("code", {}, node.node_id || "this node"), node.node_id === stats.node_id ? " (this one)" : "",
      el("div", { class: "muted small" }, bits.join(" · ")));
  }));

  const health = stats.health || {};
  if (health.ok === false) setLive("down", "store failing");
}

// --- queues -------------------------------------------------------------------------------------

async function refreshQueues() {
  const data = await guarded(() => api.get("/api/queues"));
  if (!data) return;
  const queues = listOf(data, "queues");
  const select = $("#filters select[name=queue]");
  const chosen = view.filters.queue;
  const names = new Set(queues.map((q) => q.name));
  if (chosen) names.add(chosen);
  select.replaceChildren(el("option", { value: "" }, "any"),
    ...[...names].sort().map((name) => el("option", { value: name }, name)));
  select.value = chosen;

  // A concurrency field being edited (focused, or changed and not set yet) survives the refresh.
  const editing = new Map();
  for (const input of document.querySelectorAll("#queues tbody input")) {
    if (input === document.activeElement || input.value !== input.dataset.shown) editing.set(input.dataset.queue, input);
  }
  $("#queues tbody").replaceChildren(...queues.map((queue) => {
    const counts = queue.counts || {};
    const shown = queue.concurrency === null || queue.concurrency === undefined ? "" : String(queue.concurrency);
    const input = editing.get(queue.name) || el("input", {
      type: "number", min: "1", class: "narrow", "aria-label": `Concurrency of ${queue.name}`,
      placeholder: "∞", value: shown, dataset: { queue: queue.name, shown },
    });
    const setLimit = () => guarded(async () => {
      const value = input.value.trim();
      await api.patch(`/api/queues/${encodeURIComponent(queue.name)}`, { concurrency: value === "" ? null : Number(value) });
      input.dataset.shown = value;
      input.blur();
      toast(`${queue.name}: concurrency ${value === "" ? "unlimited" : value}`);
      refreshQueues();
    });
    input.onkeydown = (event) => { if (event.key === "Enter") setLimit(); };
    const toggle = queue.paused
      ? el("button", { type: "button", onclick: () => pauseQueue(queue.name, false) }, "Resume")
      : el("button", { type: "button", onclick: () => pauseQueue(queue.name, true) }, "Pause");
    const limits = [
      Array.isArray(queue.rate_limit) ? `${queue.rate_limit[0]}/${RATE_UNITS[queue.rate_limit[1]] || duration(queue.rate_limit[1])}` : "",
      queue.key_concurrency ? `${queue.key_concurrency} per key` : "",
    ].filter(Boolean).join(" · ");
    return el("tr", { dataset: { queue: queue.name }, class: queue.paused ? "paused-row" : "" },
      el("td", {}, el("a", { href: "#/", onclick: () => setFilter("queue", queue.name) }, queue.name),
        queue.paused ? el("span", { class: "state paused" }, "paused") : "",
        limits ? el("div", { class: "muted small" }, limits) : ""),
      el("td", { class: "num" }, String(counts.pending ?? 0)),
      el("td", { class: "num" }, String(queue.running ?? counts.running ?? 0)),
      el("td", { class: "nowrap" }, input, el("button", { type: "button", class: "quiet small", onclick: setLimit }, "Set")),
      el("td", { class: "end" }, toggle));
  }));
}

async function pauseQueue(name, paused) {
  await guarded(async () => {
    await api.patch(`/api/queues/${encodeURIComponent(name)}`, { paused });
    toast(`${name} ${paused ? "paused" : "resumed"}`);
  });
  refreshQueues();
}

// --- schedules ----------------------------------------------------------------------------------

async function refreshSchedules() {
  const data = await guarded(() => api.get("/api/schedules"));
  if (data) {
    const schedules = listOf(data, "schedules");
    $("#no-schedules").hidden = schedules.length > 0;
    $("#schedules").hidden = schedules.length === 0;
    $("#schedules tbody").replaceChildren(...schedules.map((s) => el("tr", {},
      el("td", { title: s.name }, s.key), el("td", {}, s.cron ? el("code", {}, s.cron) : duration(s.every)),
      el("td", { title: stamp(s.next_fire) }, ago(s.next_fire)))));
  }
  clearTimeout(refreshSchedules.timer);
  refreshSchedules.timer = setTimeout(refreshSchedules, 15000);
}

// --- the task list ------------------------------------------------------------------------------

/** The filter as the server's query string (the text search stays in the page). */
function serverQuery(extra = {}) {
  const params = new URLSearchParams();
  for (const key of ["status", "name", "queue"]) {
    if (view.filters[key]) params.set(key, view.filters[key]);
  }
  if (view.filters.tag) params.append("tag", view.filters.tag);
  for (const [key, value] of Object.entries(extra)) params.set(key, String(value));
  return params.toString();
}

/** The filter as a bulk route's body (the same keywords as the listing). */
function bulkBody() {
  const body = {};
  for (const key of ["status", "name", "queue"]) {
    if (view.filters[key]) body[key] = view.filters[key];
  }
  if (view.filters.tag) body.tags = [view.filters.tag];
  return body;
}

function matchesServerFilter(task) {
  const f = view.filters;
  return (!f.status || task.status === f.status) && (!f.name || task.name === f.name)
    && (!f.queue || (task.queue || "default") === f.queue) && (!f.tag || (task.tags || []).includes(f.tag));
}

function matchesSearch(task) {
  const q = view.filters.q.toLowerCase();
  if (!q) return true;
  return [task.id, task.name, task.description, task.queue, task.error, ...(task.tags || [])]
    .some((value) => value && String(value).toLowerCase().includes(q));
}

async function refreshTasks() {
  const data = await guarded(() => api.get(`/api/tasks?${serverQuery({ limit: PAGE_SIZE, offset: view.offset })}`));
  if (data === undefined) return;
  view.page = listOf(data, "tasks");
  const pageIds = new Set(view.page.map((t) => t.id));
  // Tasks created while the page is open: shown on top (newest first) while they match.
  const wanted = [...new Set([...view.freshIds, ...view.fresh.keys()])].filter((id) => !pageIds.has(id)).slice(-FRESH_MAX);
  view.freshIds.clear();
  const fetched = await Promise.all(wanted.map((id) => api.get(`/api/tasks/${encodeURIComponent(id)}`).catch(() => null)));
  view.fresh = new Map();
  for (const task of fetched) {
    if (task && matchesServerFilter(task)) view.fresh.set(task.id, task);
  }
  renderTasks();
}

function renderTasks() {
  const fresh = [...view.fresh.values()].reverse();
  const rows = [...fresh, ...view.page].filter(matchesSearch);
  $("#tasks tbody").replaceChildren(...rows.map(taskRow));
  $("#empty").hidden = rows.length > 0;
  $("#tasks").hidden = rows.length === 0;
  const first = view.offset + 1;
  const last = view.offset + view.page.length;
  $("#page").textContent = view.page.length ? `${first}–${last}` : "";
  $("#matching").textContent = `${rows.length} shown${view.filters.q ? " (searched in this page)" : ""}`;
  $("#prev").disabled = view.offset === 0;
  $("#next").disabled = view.page.length < PAGE_SIZE;
  const searching = Boolean(view.filters.q);
  for (const button of document.querySelectorAll("[data-bulk]")) {
    button.disabled = searching;
    button.title = searching ? "Clear the text search: bulk actions apply to the state, name, queue and tag filter" : "";
  }
}

function progressBar(value) {
  if (value === null || value === undefined) return "";
  const pct = Math.max(0, Math.min(100, Number(value)));
  return el("span", { class: "bar-mini", title: `${pct}%` }, el("span", { style: `width:${pct}%` }));
}

function taskRow(task) {
  const open = () => { window.location.hash = `#/tasks/${encodeURIComponent(task.id)}`; };
  return el("tr", { class: "clickable", dataset: { id: task.id }, onclick: open },
    el("td", {}, el("a", { href: `#/tasks/${encodeURIComponent(task.id)}`, title: task.id }, el("code", {}, shortId(task.id)))),
    el("td", { class: "name" }, task.name,
      (task.tags || []).length ? el("span", { class: "tags" }, task.tags.map((tag) => el("span", { class: "tag" }, tag))) : "",
      task.description ? el("div", { class: "muted small" }, task.description) : ""),
    el("td", {}, el("span", { class: `state ${task.status}` }, task.status)),
    el("td", {}, task.queue || "default"),
    el("td", {}, task.max_attempts ? `${task.attempts} / ${task.max_attempts}` : String(task.attempts ?? 0)),
    el("td", {}, progressBar(task.progress)),
    el("td", { title: stamp(task.updated_at) }, ago(task.updated_at || task.created_at)));
}

function setFilter(key, value) {
  view.filters[key] = value;
  const field = $(`#filters [name=${key}]`);
  if (field) field.value = value;
  view.offset = 0;
  view.fresh.clear();
  if (view.detailId) window.location.hash = "#/";
  else refreshTasks();
  refreshStats();
}

const filterForm = $("#filters");
let typing = null;
filterForm.addEventListener("input", (event) => {
  const { name, value } = event.target;
  if (!(name in view.filters)) return;
  if (name === "q") {
    view.filters.q = value.trim();
    renderTasks();
    return;
  }
  clearTimeout(typing);
  typing = setTimeout(() => setFilter(name, value.trim()), event.target.tagName === "SELECT" ? 0 : 300);
});
filterForm.addEventListener("submit", (event) => event.preventDefault());
filterForm.addEventListener("reset", () => {
  setTimeout(() => {
    for (const key of Object.keys(view.filters)) view.filters[key] = "";
    setFilter("status", "");
  }, 0);
});
$("#prev").addEventListener("click", () => { view.offset = Math.max(0, view.offset - PAGE_SIZE); refreshTasks(); });
$("#next").addEventListener("click", () => { view.offset += PAGE_SIZE; refreshTasks(); });

for (const button of document.querySelectorAll("[data-bulk]")) {
  button.addEventListener("click", () => bulk(button.dataset.bulk));
}

async function bulk(action) {
  const body = bulkBody();
  if (action === "delete" && !window.confirm(Object.keys(body).length
    ? "Delete every task matching the filter?" : "No filter is set: delete EVERY task?")) {
    return;
  }
  const answer = await guarded(() => api.post(`/api/tasks/${action}`, body));
  if (answer !== undefined) {
    const count = answer && typeof answer === "object" ? answer.count ?? answer.changed ?? answer[action] : answer;
    const done = { retry: "Retried", cancel: "Cancelled", delete: "Deleted" }[action];
    toast(`${done} ${count ?? ""} task${count === 1 ? "" : "s"}`.replace("  ", " "));
  }
  refreshAll();
}

// --- a task's detail ----------------------------------------------------------------------------

function field(label, value) {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) return [];
  return [el("dt", {}, label), el("dd", {}, value)];
}

async function refreshDetail() {
  const id = view.detailId;
  const task = await guarded(async () => {
    try {
      return await api.get(`/api/tasks/${encodeURIComponent(id)}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  });
  if (id !== view.detailId || task === undefined) return;
  if (task === null) {
    $("#d-id").textContent = shortId(id);
    $("#d-name").textContent = "— no such task (deleted?)";
    $("#d-state").textContent = "";
    $("#d-actions").hidden = true;
    return;
  }
  const [logs, children] = await Promise.all([
    guarded(() => api.get(`/api/tasks/${encodeURIComponent(id)}/logs`)),
    guarded(() => api.get(`/api/tasks?parent_id=${encodeURIComponent(id)}&limit=100`)),
  ]);
  if (id !== view.detailId) return;
  renderDetail(task, listOf(logs, "logs"), listOf(children, "tasks"));
}

function renderDetail(task, logs, children) {
  $("#d-id").textContent = shortId(task.id);
  $("#d-id").title = task.id;
  $("#d-name").textContent = task.name;
  const badge = $("#d-state");
  badge.className = `state ${task.status}`;
  badge.textContent = task.status;

  const actions = $("#d-actions");
  actions.hidden = false;
  const can = {
    retry: task.status === "failed" || task.status === "cancelled",
    cancel: !FINISHED.has(task.status),
    pause: task.status === "pending",
    resume: task.status === "paused",
    delete: true,
  };
  for (const button of actions.querySelectorAll("[data-act]")) button.hidden = !can[button.dataset.act];

  const bar = $("#d-progress");
  bar.hidden = task.progress === null || task.progress === undefined;
  if (!bar.hidden) bar.firstElementChild.style.width = `${Math.max(0, Math.min(100, task.progress))}%`;

  const parent = task.parent_id
    ? el("a", { href: `#/tasks/${encodeURIComponent(task.parent_id)}`, title: task.parent_id }, el("code", {}, shortId(task.parent_id)))
    : null;
  $("#d-fields").replaceChildren(
    ...field("ID", el("code", {}, task.id)),
    ...field("Description", task.description),
    ...field("Queue", task.queue || "default"),
    ...field("Priority", task.priority),
    ...field("Tags", (task.tags || []).map((tag) => el("span", { class: "tag" }, tag))),
    ...field("Attempts", task.max_attempts ? `${task.attempts} of ${task.max_attempts}` : String(task.attempts ?? 0)),
    ...field("Failures", task.failure_count ? String(task.failure_count) : ""),
    ...field("Iteration", task.iteration ? String(task.iteration) : ""),
    ...field("Progress", task.progress !== null && task.progress !== undefined ? `${task.progress}%` : ""),
    ...field("Runs at", task.run_at ? `${stamp(task.run_at)} (${ago(task.run_at)})` : ""),
    ...field("Every", task.update_interval ? duration(task.update_interval) : ""),
    ...field("Timeout", task.timeout ? duration(task.timeout) : ""),
    ...field("Concurrency key", task.concurrency_key),
    ...field("Idempotency key", task.idempotency_key),
    ...field("Room / world / entity", [task.room_id, task.world_id, task.entity_id].filter(Boolean).join(" / ")),
    ...field("Parent", parent),
    ...field("Created", stamp(task.created_at)),
    ...field("Updated", stamp(task.updated_at)),
    ...field("Finished", stamp(task.finished_at)),
  );

  const outcomeBox = $("#d-outcome-box");
  const failed = task.error !== null && task.error !== undefined && task.error !== "";
  const hasResult = task.result !== null && task.result !== undefined;
  outcomeBox.hidden = !failed && !hasResult;
  outcomeBox.classList.toggle("failed", failed);
  $("#d-outcome-title").textContent = failed ? (task.status === "failed" ? "Error" : "Last error") : "Result";
  $("#d-outcome").textContent = failed ? task.error : json(task.result);
  $("#d-metadata").textContent = json(task.metadata || {});

  const steps = task.steps && typeof task.steps === "object" ? Object.entries(task.steps) : [];
  $("#d-steps-box").hidden = steps.length === 0;
  $("#d-steps tbody").replaceChildren(...steps.map(([key, value]) => el("tr", {},
    el("td", {}, el("code", {}, Array.isArray(task.steps) ? (value.key ?? key) : key)),
    el("td", {}, el("pre", { class: "inline" }, json(Array.isArray(task.steps) ? (value.value ?? value) : value))))));

  renderLogs(logs);

  $("#d-children-box").hidden = children.length === 0;
  $("#d-children tbody").replaceChildren(...children.map((child) => el("tr", {
    class: "clickable", onclick: () => { window.location.hash = `#/tasks/${encodeURIComponent(child.id)}`; },
  }, el("td", {}, el("a", { href: `#/tasks/${encodeURIComponent(child.id)}` }, el("code", {}, shortId(child.id)))),
  el("td", {}, child.name), el("td", {}, el("span", { class: `state ${child.status}` }, child.status)))));
}

/** Logs grouped by iteration (when the server says) and attempt, oldest first. */
function renderLogs(logs) {
  const box = $("#d-logs");
  if (!logs.length) {
    box.replaceChildren(el("p", { class: "muted" }, "No log lines."));
    return;
  }
  const groups = new Map();
  for (const line of logs) {
    const key = line.iteration ? `Iteration ${line.iteration} · attempt ${line.attempt}` : `Attempt ${line.attempt}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(line);
  }
  box.replaceChildren(...[...groups].map(([title, lines]) => el("details", { open: true, class: "log-group" },
    el("summary", {}, title, el("span", { class: "muted small" }, ` ${lines.length} line${lines.length === 1 ? "" : "s"}`)),
    el("ol", { class: "log" }, lines.map((line) => el("li", { class: `lvl-${String(line.level).toLowerCase()}` },
      el("time", {}, stamp(line.created).slice(11, 19)), el("b", {}, line.level), " ", line.message))))));
}

for (const button of document.querySelectorAll("#d-actions [data-act]")) {
  button.addEventListener("click", () => act(button.dataset.act));
}

async function act(action) {
  const id = view.detailId;
  const done = await guarded(async () => {
    if (action === "delete") await api.del(`/api/tasks/${encodeURIComponent(id)}`);
    else await api.post(`/api/tasks/${encodeURIComponent(id)}/${action}`);
    return true;
  });
  if (!done) return;
  const words = { retry: "Retried", cancel: "Cancelled", pause: "Paused", resume: "Resumed", delete: "Deleted" };
  toast(`${words[action]} ${shortId(id)}`);
  if (action === "delete") {
    view.fresh.delete(id);
    window.location.hash = "#/";
  } else {
    refreshDetail();
  }
  refreshStats();
}

// --- routing ------------------------------------------------------------------------------------

function route() {
  const match = window.location.hash.match(/^#\/tasks\/(.+)$/);
  view.detailId = match ? decodeURIComponent(match[1]) : null;
  $("#tasks-view").hidden = Boolean(view.detailId);
  $("#detail-view").hidden = !view.detailId;
  if (view.detailId) {
    $("#d-logs").replaceChildren();
    refreshDetail();
  } else {
    refreshTasks();
  }
}

window.addEventListener("hashchange", () => { if (!$("#app").hidden) route(); });

// The chart moves with time even when nothing happens; the counts catch what events missed.
setInterval(() => { if (!$("#app").hidden) drawChart(); }, 1000);
setInterval(() => { if (!$("#app").hidden && !document.hidden) refreshAll(); }, 5000);

token = initialToken();
tryStart();
