// The task list: the filter (state, name, queue, tag on the server; a text search in the
// page), paging, tasks created while the page is open, and the bulk actions on the filter.

import { applies, runAction } from "./actions.js";
import { listOf } from "./api.js";
import { $, ago, el, shortId, stamp, toast } from "./dom.js";
import { api, guarded, hooks, view } from "./shared.js";

const PAGE_SIZE = 50;
const ROW_ACTIONS = ["retry", "cancel", "delete"];
const ROW_LABELS = { retry: "Retry", cancel: "Cancel", delete: "Delete" };
const FRESH_MAX = 25;

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

let latest = 0; // the newest refresh: an older answer arriving after it is dropped

export async function refreshTasks() {
  const mine = ++latest;
  const data = await guarded(() => api.get(`/api/tasks?${serverQuery({ limit: PAGE_SIZE, offset: view.offset })}`));
  if (data === undefined || mine !== latest) return;
  view.page = listOf(data, "tasks");
  const pageIds = new Set(view.page.map((t) => t.id));
  // Tasks created while the page is open: shown on top (newest first) while they match.
  const wanted = [...new Set([...view.freshIds, ...view.fresh.keys()])].filter((id) => !pageIds.has(id)).slice(-FRESH_MAX);
  view.freshIds.clear();
  const fetched = await Promise.all(wanted.map((id) => api.get(`/api/tasks/${encodeURIComponent(id)}`).catch(() => null)));
  if (mine !== latest) {
    for (const id of wanted) view.freshIds.add(id); // the newer refresh shows them
    return;
  }
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
    el("td", { title: stamp(task.updated_at) }, ago(task.updated_at || task.created_at)),
    el("td", { class: "row-actions" }, ROW_ACTIONS.filter((action) => applies(action, task)).map((action) => el("button", {
      type: "button", class: `small${action === "delete" ? " quiet" : ""}`, dataset: { act: action },
      title: `${ROW_LABELS[action]} ${shortId(task.id)}`,
      onclick: (event) => { event.stopPropagation(); runAction(action, task.id); },
    }, ROW_LABELS[action]))));
}

export function setFilter(key, value) {
  view.filters[key] = value;
  const field = $(`#filters [name=${key}]`);
  if (field) field.value = value;
  view.offset = 0;
  view.fresh.clear();
  if (view.detailId) window.location.hash = "#/"; // the route shows the list
  hooks.refreshAll(); // the counts mark the chosen state
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
  if (event.target.tagName === "SELECT") setFilter(name, value); // at once: a refresh rebuilds the options
  else typing = setTimeout(() => setFilter(name, value.trim()), 300);
});
filterForm.addEventListener("submit", (event) => event.preventDefault());
filterForm.addEventListener("reset", (event) => {
  // Emptied here and now, not after the form's own reset: a clear deferred to later could undo a
  // filter chosen right after (the filters said "any" while the select showed the choice).
  event.preventDefault();
  clearTimeout(typing);
  for (const key of Object.keys(view.filters)) {
    view.filters[key] = "";
    const field = $(`#filters [name=${key}]`);
    if (field) field.value = "";
  }
  setFilter("status", "");
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
    const count = answer && typeof answer.count === "number" ? answer.count : "the matching";
    const done = { retry: "Retried", cancel: "Cancelled", delete: "Deleted" }[action];
    toast(`${done} ${count} task${count === 1 ? "" : "s"}`);
  }
  hooks.refreshAll();
}
