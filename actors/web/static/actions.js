// The actions on one task (Retry, Cancel, Pause, Resume, Delete): which apply to a task in its
// state, and running one through the API. Used by the list's rows and by a task's detail.

import { shortId, toast } from "./dom.js";
import { api, guarded, hooks, view } from "./shared.js";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const DONE = { retry: "Retried", cancel: "Cancelled", pause: "Paused", resume: "Resumed", delete: "Deleted" };

/** Whether `action` applies to `task` now (the server decides; this only hides what it would refuse). */
export function applies(action, task) {
  switch (action) {
    case "retry": return task.status === "failed" || task.status === "cancelled";
    case "cancel": return !FINISHED.has(task.status);
    case "pause": return task.status === "pending";
    case "resume": return task.status === "paused";
    default: return action === "delete";
  }
}

/** Run `action` on the task `id`; says so in a toast and refreshes the page. True when done. */
export async function runAction(action, id) {
  const done = await guarded(async () => {
    if (action === "delete") await api.del(`/api/tasks/${encodeURIComponent(id)}`);
    else await api.post(`/api/tasks/${encodeURIComponent(id)}/${action}`);
    return true;
  });
  if (!done) return false;
  toast(`${DONE[action]} ${shortId(id)}`);
  if (action === "delete") view.fresh.delete(id);
  hooks.refreshAll();
  return true;
}
