// The side panels and the counts: tasks per state, queues (Pause / Resume, concurrency),
// nodes and workers, schedules.

import { listOf } from "./api.js";
import { $, ago, duration, el, stamp, toast } from "./dom.js";
import { setFilter } from "./list.js";
import { api, guarded, view } from "./shared.js";

const STATES = ["pending", "running", "succeeded", "failed", "cancelled", "paused"];
const RATE_UNITS = { 1: "s", 60: "min", 3600: "h" };

// --- counts, workers, nodes ---------------------------------------------------------------------

export async function refreshStats() {
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
  $("#workers").textContent = `Worker slots: ${workers.busy ?? 0} busy, ${workers.idle ?? 0} idle on this node`;

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
  const failing = $("#health");
  failing.hidden = health.ok !== false;
  failing.title = health.ok === false ? "stats()['health']: a loop of the node is failing (it retries)" : "";
}

// --- task workers -------------------------------------------------------------------------------

/** The task workers registered on this node (`/api/workers`: name, title, description, queue, ...). */
export async function refreshWorkers() {
  const data = await guarded(() => api.get("/api/workers"));
  if (data === undefined) return;
  const workers = listOf(data, "workers").sort((a, b) => a.name.localeCompare(b.name));
  view.workers = new Map(workers.map((worker) => [worker.name, worker]));
  $("#worker-names").replaceChildren(...workers.map((w) => el("option", { value: w.name }, w.title || "")));
  $("#task-workers").replaceChildren(...workers.map((w) => el("li", { title: w.description || "" },
    el("a", { href: "#/", onclick: () => setFilter("name", w.name) }, el("code", {}, w.name)),
    w.title ? ` ${w.title}` : "",
    el("span", { class: "muted small" }, [w.queue && ` · ${w.queue}`, w.isolation && w.isolation !== "process" && ` · ${w.isolation}`,
      w.frequency && ` · every ${duration(w.frequency)}`, w.cron && ` · ${w.cron}`].filter(Boolean).join("")))));
}

// --- a test run (Trigger.dev's dashboard "Test"): create one task and open it --------------------

/** The "Test run" form: POST /api/tasks with the worker's name and the metadata typed as JSON,
 * then the new task's detail. Bad JSON, or a create the node refuses, is a toast. */
export function wireTestRun() {
  const form = $("#test-run");
  form.onsubmit = (event) => {
    event.preventDefault();
    const name = form.elements.name.value.trim();
    let metadata;
    try {
      metadata = JSON.parse(form.elements.metadata.value || "{}");
    } catch (error) {
      toast(`metadata: not JSON (${error.message})`, true);
      return;
    }
    guarded(async () => {
      const created = await api.post("/api/tasks", { name, metadata });
      toast(`${name}: task ${created.id.slice(0, 8)} created`);
      window.location.hash = `#/tasks/${encodeURIComponent(created.id)}`;
    });
  };
}

// --- queues -------------------------------------------------------------------------------------

export async function refreshQueues() {
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

export async function refreshSchedules() {
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
