// What the dashboard's views share: the API client (with the session's token), the view's
// state, and the hooks the app fills in (refresh everything; ask for the token again).

import { Api, ApiError } from "./api.js";
import { toast } from "./dom.js";

export const session = { token: "" };
export const api = new Api(() => session.token);

export const view = {
  filters: { status: "", name: "", queue: "", tag: "", q: "" },
  offset: 0,
  page: [], // the server's page for the filter
  fresh: new Map(), // id -> task created while the page is open (shown on top while they match)
  freshIds: new Set(), // created events not fetched yet
  detailId: null,
  workers: new Map(), // name -> the task worker's definition (/api/workers)
  source: null,
  refreshTimer: null,
  lastRefresh: 0,
};

/** Set by app.js: `refreshAll()` re-reads what the page shows; `unauthorized(message)` asks for the token. */
export const hooks = { refreshAll: () => {}, unauthorized: () => {} };

/** Run `fn`; a 401 asks for the token again, any other failure is shown. */
export async function guarded(fn) {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      hooks.unauthorized(session.token ? "That token was refused." : "");
      return undefined;
    }
    toast(error.message || String(error), true);
    return undefined;
  }
}
