// The throughput chart: tasks finished per bucket (succeeded and failed stacked) over the last
// few minutes, drawn on a <canvas> with the page's colours. No library.

export class Throughput {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{bucketSeconds?: number, buckets?: number}} options
   */
  constructor(canvas, { bucketSeconds = 5, buckets = 60 } = {}) {
    this.canvas = canvas;
    this.bucketSeconds = bucketSeconds;
    this.buckets = buckets;
    this.counts = new Map(); // bucket number -> {succeeded, failed}
    this.seen = new Set(); // task ids already counted from a listing (a finished task counts once)
  }

  bucketOf(seconds) {
    return Math.floor(seconds / this.bucketSeconds);
  }

  /** Count one end (`kind` "succeeded" or "failed") at `seconds` since the epoch. */
  add(kind, seconds, taskId) {
    if (taskId) {
      const key = `${taskId}:${kind}:${Math.round(seconds)}`;
      if (this.seen.has(key)) {
        return;
      }
      this.seen.add(key);
    }
    const bucket = this.bucketOf(seconds);
    const entry = this.counts.get(bucket) || { succeeded: 0, failed: 0 };
    entry[kind === "failed" ? "failed" : "succeeded"] += 1;
    this.counts.set(bucket, entry);
  }

  /** Forget buckets older than the window. */
  trim(nowSeconds) {
    const oldest = this.bucketOf(nowSeconds) - this.buckets;
    for (const bucket of this.counts.keys()) {
      if (bucket <= oldest) {
        this.counts.delete(bucket);
      }
    }
    if (this.seen.size > 5000) {
      this.seen.clear();
    }
  }

  /** Tasks finished in the last minute. */
  perMinute(nowSeconds) {
    const last = this.bucketOf(nowSeconds);
    const span = Math.ceil(60 / this.bucketSeconds);
    let total = 0;
    for (let b = last - span + 1; b <= last; b += 1) {
      const entry = this.counts.get(b);
      total += entry ? entry.succeeded + entry.failed : 0;
    }
    return total;
  }

  draw(nowSeconds) {
    this.trim(nowSeconds);
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const style = getComputedStyle(document.documentElement);
    const colour = (name) => style.getPropertyValue(name).trim();
    const last = this.bucketOf(nowSeconds);
    let peak = 1;
    for (let i = 0; i < this.buckets; i += 1) {
      const entry = this.counts.get(last - i);
      if (entry) {
        peak = Math.max(peak, entry.succeeded + entry.failed);
      }
    }
    const top = 14;
    const bottom = height - 16;
    const plot = bottom - top;
    const slot = width / this.buckets;

    ctx.strokeStyle = colour("--grid");
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(0, bottom + 0.5);
    ctx.lineTo(width, bottom + 0.5);
    ctx.moveTo(0, top + 0.5);
    ctx.lineTo(width, top + 0.5);
    ctx.stroke();

    for (let i = 0; i < this.buckets; i += 1) {
      const entry = this.counts.get(last - (this.buckets - 1 - i));
      if (!entry) {
        continue;
      }
      const x = i * slot + 1;
      const w = Math.max(1, slot - 2);
      const okHeight = (entry.succeeded / peak) * plot;
      const failHeight = (entry.failed / peak) * plot;
      ctx.fillStyle = colour("--succeeded");
      ctx.fillRect(x, bottom - okHeight, w, okHeight);
      ctx.fillStyle = colour("--failed");
      ctx.fillRect(x, bottom - okHeight - failHeight, w, failHeight);
    }

    ctx.fillStyle = colour("--muted");
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "top";
    ctx.fillText(`${peak} / ${this.bucketSeconds}s`, 2, 0);
    ctx.textBaseline = "bottom";
    const minutes = Math.round((this.buckets * this.bucketSeconds) / 60);
    ctx.fillText(`−${minutes} min`, 2, height);
    const nowLabel = "now";
    ctx.fillText(nowLabel, width - ctx.measureText(nowLabel).width - 2, height);
  }
}
