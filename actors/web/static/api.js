// The dashboard's only door to the server: the token, JSON requests and the event stream.
//
// Token handling (API.md, "HTTP API and live dashboard"): a `?token=` in the address is taken
// once, kept in sessionStorage for the browser session and removed from the address bar; every
// request sends it as `Authorization: Bearer TOKEN`. EventSource cannot send headers, so the
// event stream passes it as `?token=` (accepted on `/api/events` only).

const TOKEN_KEY = "actors.token";

/** A route of the API relative to the page, so the app works mounted under a prefix
 * (`outer.mount("/actors", create_app(sup))` serves the page at `/actors/` and the API below it). */
const routeUrl = (path) => path.replace(/^\//, "");

/** The token for this session: from `?token=` (then kept and removed from the address) or storage. */
export function initialToken() {
  const url = new URL(window.location.href);
  const given = url.searchParams.get("token");
  if (given !== null) {
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    if (given) {
      sessionStorage.setItem(TOKEN_KEY, given);
    }
  }
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function keepToken(token) {
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  } else {
    sessionStorage.removeItem(TOKEN_KEY);
  }
}

/** An HTTP error with the server's JSON body (`{"field", "value", "error"}` on a 422). */
export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && (body.error || body.detail) ? `${body.field ? body.field + ": " : ""}${body.error || body.detail}` : "";
    super(`HTTP ${status}${detail ? " — " + detail : ""}`);
    this.status = status;
    this.body = body;
  }
}

export class Api {
  /** @param {() => string} getToken */
  constructor(getToken) {
    this.getToken = getToken;
  }

  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    const token = this.getToken();
    if (token) {
      headers.Authorization = `Bearer ${token}`;
    }
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(routeUrl(path), init);
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { error: text };
      }
    }
    if (!response.ok) {
      throw new ApiError(response.status, data);
    }
    return data;
  }

  get(path) { return this.request("GET", path); }
  post(path, body) { return this.request("POST", path, body === undefined ? {} : body); }
  patch(path, body) { return this.request("PATCH", path, body); }
  del(path) { return this.request("DELETE", path); }

  /** Open the event stream; `onEvent(event)` for each `actors.Event`, `onState("live"|"down")`. */
  events(onEvent, onState) {
    const token = this.getToken();
    const events = routeUrl("/api/events");
    const source = new EventSource(token ? `${events}?token=${encodeURIComponent(token)}` : events);
    source.onopen = () => onState("live");
    source.onerror = () => onState("down");
    source.onmessage = (message) => {
      try {
        onEvent(JSON.parse(message.data));
      } catch {
        // a line that is not JSON (a keep-alive) carries no event
      }
    };
    return source;
  }
}

/** The list of a listing route's answer: a bare list, or the first list under a known key. */
export function listOf(data, ...keys) {
  if (Array.isArray(data)) {
    return data;
  }
  for (const key of [...keys, "items", "results"]) {
    if (data && Array.isArray(data[key])) {
      return data[key];
    }
  }
  return [];
}
