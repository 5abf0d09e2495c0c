// A task's detail (#/tasks/ID): its fields, result or error, metadata, steps, logs per
// attempt / iteration, children, and the actions on it.

import { applies, runAction } from "./actions.js";
import { ApiError, listOf } from "./api.js";
import { $, ago, duration, el, json, shortId, stamp } from "./dom.js";
import { api, guarded, view } from "./shared.js";

// --- a task's detail ----------------------------------------------------------------------------

function field(label, value) {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) return [];
  return [el("dt", {}, label), el("dd", {}, value)];
}

export async function refreshDetail() {
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

/** The task's worker as its definition names it (title — description), when it has either. */
function workerLine(worker) {
  if (!worker || (!worker.title && !worker.description)) return "";
  return [worker.title, worker.description].filter(Boolean).join(" — ");
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
  for (const button of actions.querySelectorAll("[data-act]")) button.hidden = !applies(button.dataset.act, task);

  const bar = $("#d-progress");
  bar.hidden = task.progress === null || task.progress === undefined;
  if (!bar.hidden) bar.firstElementChild.style.width = `${Math.max(0, Math.min(100, task.progress))}%`;

  const parent = task.parent_id
    ? el("a", { href: `#/tasks/${encodeURIComponent(task.parent_id)}`, title: task.parent_id }, el("code", {}, shortId(task.parent_id)))
    : null;
  $("#d-fields").replaceChildren(
    ...field("ID", el("code", {}, task.id)),
    ...field("Worker", workerLine(view.workers.get(task.name))),
    ...field("Description", task.description),
    ...field("Queue", task.queue || "default"),
    ...field("Priority", task.priority),
    ...field("Tags", (task.tags || []).map((tag) => el("span", { class: "tag" }, tag))),
    ...field("Attempts", task.max_attempts ? `${task.attempts} of ${task.max_attempts}` : String(task.attempts ?? 0)),
    ...field("Failures", task.failure_count ? String(task.failure_count) : ""),
    ...field("Iteration", task.iteration > 1 || task.max_iterations
      ? `${task.iteration ?? 1}${task.max_iterations ? ` of at most ${task.max_iterations}` : ""}` : ""),
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

/** Logs grouped by attempt, and by iteration once the task has run more than one, oldest first. */
function renderLogs(logs) {
  const box = $("#d-logs");
  if (!logs.length) {
    box.replaceChildren(el("p", { class: "muted" }, "No log lines."));
    return;
  }
  const iterated = logs.some((line) => line.iteration > 1);
  const groups = new Map();
  for (const line of logs) {
    const key = iterated ? `Iteration ${line.iteration ?? 1} · attempt ${line.attempt}` : `Attempt ${line.attempt}`;
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
  if (action === "delete") {
    if (!(await runAction(action, id))) return;
    view.detailId = null;
    window.location.hash = "#/"; // the route shows the list
    return;
  }
  await runAction(action, id);
}
