// chart.js: a small hand-drawn canvas line chart of per-second series over the last minutes.

/** Per-second buckets over a sliding window: add(name, n) counts into the current second. */
export class Series {
  constructor(names, seconds = 300) {
    this.names = names;
    this.seconds = seconds;
    this.data = Object.fromEntries(names.map(n => [n, new Array(seconds).fill(0)]));
    this.second = Math.floor(Date.now() / 1000);
  }

  _advance(now = Date.now()) {
    const second = Math.floor(now / 1000);
    const steps = Math.min(this.seconds, second - this.second);
    for (let i = 0; i < steps; i++) for (const n of this.names) { this.data[n].shift(); this.data[n].push(0); }
    if (steps > 0) this.second = second;
  }

  add(name, n = 1) { this._advance(); this.data[name][this.seconds - 1] += n; }

  /** Sets the current second's value (a gauge, such as viewers). */
  set(name, v) { this._advance(); this.data[name][this.seconds - 1] = v; }

  /** The value of the last complete second. */
  last(name) { this._advance(); return this.data[name][this.seconds - 2]; }
}

/**
 * Draws `series` on `canvas`: one line per {name, color, label}, the y axis from 0 to the
 * highest value shown, the x axis the last `series.seconds` seconds. Returns the y axis' top.
 */
export function drawChart(canvas, series, lines) {
  series._advance();
  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  const rect = canvas.getBoundingClientRect();
  const w = Math.max(1, Math.round(rect.width)), h = Math.max(1, Math.round(rect.height));
  if (canvas.width !== Math.round(w * ratio)) { canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio); }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const left = 44, right = 8, top = 8, bottom = 20;
  const pw = w - left - right, ph = h - top - bottom;
  const n = series.seconds - 1; // the current, incomplete second is left out
  let max = 1;
  for (const line of lines) for (let i = 0; i < n; i++) max = Math.max(max, series.data[line.name][i]);
  max = Math.max(4, niceCeil(max)); // whole numbers on the axis for small rates
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#8b90a0";
  ctx.strokeStyle = "#262a34";
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let k = 0; k <= 4; k++) {
    const y = top + ph - (ph * k) / 4;
    ctx.beginPath(); ctx.moveTo(left, y + .5); ctx.lineTo(left + pw, y + .5); ctx.stroke();
    ctx.fillText(formatTick((max * k) / 4), left - 6, y);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let m = 0; m * 60 <= n; m++) {
    const x = left + pw - (pw * m * 60) / n;
    ctx.fillText(m === 0 ? "now" : `-${m} min`, x, top + ph + 4);
  }
  for (const line of lines) {
    const values = series.data[line.name];
    ctx.strokeStyle = line.color;
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      const x = left + (pw * i) / (n - 1), y = top + ph - (ph * values[i]) / max;
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    }
    ctx.stroke();
  }
  return max;
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function formatTick(v) { return v >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 0 : 1) + "k" : String(Math.round(v * 10) / 10); }
