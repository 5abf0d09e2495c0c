// The live dashboard: counts, throughput, the task list with filters, a task's detail, the
// actions, queues, schedules, nodes and workers. Plain DOM, no framework; every value from the
// server is put in the page as text (never as HTML). This module signs in, follows the event
// stream, refreshes and routes; the views are in list.js, detail.js and panels.js.

import { ApiError, initialToken, keepToken, listOf } from "./api.js";
import { Throughput } from "./chart.js";
import { refreshDetail } from "./detail.js";
import { $, toSeconds, toast } from "./dom.js";
import { refreshTasks } from "./list.js";
import { refreshQueues, refreshSchedules, refreshStats, refreshWorkers, wireTestRun } from "./panels.js";
import { api, guarded, hooks, session, view } from "./shared.js";

const chart = new Throughput($("#chart"));

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
      const refused = session.token !== "";
      session.token = "";
      showLogin(refused ? "That token was refused." : "");
      return;
    }
    toast(error.message || String(error), true);
  }
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#sign-out").hidden = !session.token;
  await seedChart();
  drawChart();
  connect();
  route(); // the list or a task's detail
  refreshStats();
  refreshQueues();
  refreshSchedules();
  refreshWorkers();
}

wireTestRun();

$("#login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  session.token = $("#token-input").value.trim();
  keepToken(session.token);
  $("#token-input").value = "";
  tryStart();
});

$("#sign-out").addEventListener("click", () => {
  session.token = "";
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
setInterval(() => { if (!$("#app").hidden && !document.hidden) refreshWorkers(); }, 15000);

hooks.refreshAll = refreshAll;
hooks.unauthorized = showLogin;
session.token = initialToken();
tryStart();
