// DOM and formatting helpers of the dashboard: building elements (text only, never HTML),
// times and durations as people read them, the toast.

export const $ = (selector) => document.querySelector(selector);

/** An element with attributes / properties and children (strings become text nodes). */
export function el(tag, props = {}, ...children) {
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
export function toSeconds(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return value > 1e12 ? value / 1000 : value;
  const parsed = Date.parse(String(value).replace(" ", "T"));
  return Number.isNaN(parsed) ? null : parsed / 1000;
}

export function ago(value) {
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

export function stamp(value) {
  const seconds = toSeconds(value);
  return seconds === null ? "" : new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${+(seconds / 60).toFixed(1)}m`;
  return `${+(seconds / 3600).toFixed(1)}h`;
}

export const shortId = (id) => String(id).slice(0, 8);
export const json = (value) => JSON.stringify(value, null, 2);

/** A short message at the bottom right (an error stays longer). */
export function toast(text, isError = false) {
  const box = $("#toast");
  box.textContent = text;
  box.classList.toggle("error", isError);
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, isError ? 6000 : 2500);
}
