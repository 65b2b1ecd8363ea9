// danmaku-overlay.js: draws bullet comments on a canvas over the video stage.
// Text only: every comment is drawn with fillText into its own small sprite, never parsed as HTML.
// Scrolling comments get a lane where they can neither overlap the comment ahead nor catch it up;
// top and bottom comments stay fixed, centred, for a few seconds. What finds no room waits a
// moment in a bounded queue, then is dropped (counted): the density setting says how much of the
// stage comments may use and how long they may wait.
// The "all" density drops nothing for lack of room: every comment gets a lane at the next frame,
// a free one when there is one, else the lane whose last comment is furthest along (comments may
// then overlap, as on the big sites' full density); it uses the whole stage, smaller text and a
// shorter crossing, so that more lanes are free and fewer comments are on screen at once.

/**
 * Density levels: share of the stage's height for scrolling lanes, queue bound, longest wait;
 * `overlap`: place every comment (reuse the least busy lane when none is free); `fontScale` and
 * `durationMs`: the text size (times the overlay's) and crossing time, when they differ.
 */
export const DENSITY = {
  low:    {area: 0.25, maxQueue: 20,  maxWaitMs: 300},
  normal: {area: 0.5,  maxQueue: 100, maxWaitMs: 1000},
  high:   {area: 1.0,  maxQueue: 400, maxWaitMs: 2000},
  // the queue is drained at every frame; its bound only matters when frames stop coming
  all:    {area: 1.0,  maxQueue: 5000, maxWaitMs: Infinity, overlap: true, fontScale: 5 / 6, durationMs: 6000},
};

const GAP = 24;               // px between comments in a lane
const FIXED_MS = 4000;        // how long a top/bottom comment stays

export class Overlay {
  /**
   * @param canvas the overlay canvas (transparent, over the stage)
   * @param options {fontSize, durationMs, density}
   */
  constructor(canvas, {fontSize = 24, durationMs = 8000, density = "normal", logLimit = 2000} = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.baseFontSize = fontSize;
    this.baseDurationMs = durationMs;
    this.logLimit = logLimit;
    this.density = DENSITY[density] ? density : "normal";
    this.items = [];          // on screen
    this.pending = [];        // waiting for a lane
    // received: offered; shown: given a lane; drawn: drawn on the canvas at least once;
    // overlapped: given a lane that was not free (density "all"); dropped: never shown
    this.stats = {received: 0, shown: 0, drawn: 0, overlapped: 0, dropped: 0, onScreen: 0};
    this.log = [];            // the latest placed comments: {id, text, mode, lane, own, waited} (tests, a11y)
    this.frames = 0;          // frames drawn: a comment's wait for a lane is counted in frames
    this.measure = document.createElement("canvas").getContext("2d");
    this.resize();
  }

  setDensity(level) { if (DENSITY[level]) { this.density = level; this._layout(); } }

  /** Call when the canvas' CSS size changed. */
  resize() {
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    const rect = this.canvas.getBoundingClientRect();
    this.width = Math.max(1, Math.round(rect.width));
    this.height = Math.max(1, Math.round(rect.height));
    this.ratio = ratio;
    this.canvas.width = Math.round(this.width * ratio);
    this.canvas.height = Math.round(this.height * ratio);
    this._dirty = true;
    this._layout();
  }

  _layout() {
    const density = DENSITY[this.density];
    this.fontSize = Math.round(this.baseFontSize * (density.fontScale || 1));
    this.durationMs = density.durationMs || this.baseDurationMs;
    this.font = `600 ${this.fontSize}px system-ui, "Noto Sans CJK SC", sans-serif`;
    this.measure.font = this.font;
    this.laneHeight = Math.round(this.fontSize * 1.35);
    const all = Math.max(1, Math.floor(this.height / this.laneHeight));
    this.scrollLanes = Math.max(1, Math.floor(all * density.area));
    this.fixedLanes = Math.max(1, Math.floor(all / 3));
    this.scrollTail = new Array(this.scrollLanes).fill(null);  // the last comment put in each lane
    this.topUntil = new Array(this.fixedLanes).fill(0);
    this.bottomUntil = new Array(this.fixedLanes).fill(0);
  }

  /** Removes everything from the screen and the queue. */
  clear() {
    for (const item of this.items) this._release(item);
    this.items = []; this.pending = []; this.stats.onScreen = 0; this._dirty = true; this._layout();
  }

  /**
   * Offers a comment: {id, text, color, mode, own}. Own comments jump the queue.
   * @param now performance.now()
   */
  add(comment, now = performance.now()) {
    this.stats.received++;
    const item = {...comment, mode: comment.mode || "scroll", queuedAt: now, queuedFrame: this.frames, sprite: null, drawn: false};
    if (item.own) this.pending.unshift(item); else this.pending.push(item);
    const max = DENSITY[this.density].maxQueue;
    while (this.pending.length > max) { this._drop(this.pending.pop()); }
  }

  _drop() { this.stats.dropped++; }

  /** The comment's size, measured once (cheap: no sprite yet); again if the text size changed. */
  _measure(item) {
    if (item.w && item.fontSize === this.fontSize) return;
    item.fontSize = this.fontSize;
    item.pad = item.own ? 6 : 2;
    item.w = Math.ceil(this.measure.measureText(item.text).width) + item.pad * 2 + 4;
    item.h = this.laneHeight;
  }

  /** Draws the comment once into a sprite of its own: each frame then only copies it. */
  _sprite(item) {
    const ctx = document.createElement("canvas").getContext("2d");
    const r = this.ratio;
    const pad = item.pad, w = item.w, h = item.h;
    ctx.canvas.width = Math.ceil(w * r);
    ctx.canvas.height = Math.ceil(h * r);
    ctx.scale(r, r);
    ctx.font = this.font;
    ctx.textBaseline = "middle";
    ctx.lineJoin = "round";
    ctx.lineWidth = 3;
    ctx.strokeStyle = "rgba(0,0,0,0.75)";
    ctx.strokeText(item.text, pad + 2, h / 2);
    ctx.fillStyle = /^#[0-9a-fA-F]{6}$/.test(item.color || "") ? item.color : "#ffffff";
    ctx.fillText(item.text, pad + 2, h / 2);
    if (item.own) {
      // the viewer's own comment: outlined, so one finds it in the stream
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#7ee0ff";
      ctx.strokeRect(1, 1, w - 2, h - 2);
    }
    item.sprite = ctx.canvas;
    if (window.createImageBitmap) {
      // an ImageBitmap is ready to copy: drawing a canvas would snapshot it on every frame
      createImageBitmap(ctx.canvas).then(bitmap => {
        if (item.sprite) item.sprite = bitmap; else bitmap.close(); // gone meanwhile
      }, () => {});
    }
  }

  _place(item, now) {
    if (this._placeLane(item, now)) {
      this._sprite(item);
      return true;
    }
    return false;
  }

  _placeLane(item, now) {
    this._measure(item);
    const overlap = DENSITY[this.density].overlap;
    if (item.mode === "top" || item.mode === "bottom") {
      const until = item.mode === "top" ? this.topUntil : this.bottomUntil;
      let soonest = 0; // with overlap: the lane that frees first
      for (let lane = 0; lane < until.length; lane++) {
        if (until[lane] <= now) return this._fix(item, lane, until, now);
        if (until[lane] < until[soonest]) soonest = lane;
      }
      if (!overlap) return false;
      this.stats.overlapped++;
      return this._fix(item, soonest, until, now);
    }
    const speed = (this.width + item.w) / this.durationMs; // px per ms: long comments move faster
    let furthest = 0, furthestRight = Infinity; // with overlap: the lane whose last comment is furthest along
    for (let lane = 0; lane < this.scrollLanes; lane++) {
      const ahead = this.scrollTail[lane];
      if (!ahead || this._fits(ahead, item, speed, now)) return this._scroll(item, lane, speed, now);
      const right = this.width - (now - ahead.start) * ahead.speed + ahead.w;
      if (right < furthestRight) { furthestRight = right; furthest = lane; }
    }
    if (!overlap) return false;
    this.stats.overlapped++;
    return this._scroll(item, furthest, speed, now);
  }

  _fix(item, lane, until, now) {
    until[lane] = now + FIXED_MS;
    item.lane = lane;
    item.until = now + FIXED_MS;
    item.x = (this.width - item.w) / 2;
    item.y = item.mode === "top" ? lane * this.laneHeight : this.height - (lane + 1) * this.laneHeight;
    return true;
  }

  _scroll(item, lane, speed, now) {
    item.lane = lane;
    item.start = now;
    item.speed = speed;
    item.y = lane * this.laneHeight;
    this.scrollTail[lane] = item;
    return true;
  }

  /** May `item` enter the lane whose last comment is `ahead`? Neither overlap now nor later. */
  _fits(ahead, item, speed, now) {
    const aheadX = this.width - (now - ahead.start) * ahead.speed;
    if (aheadX + ahead.w + GAP > this.width) return false;              // not fully in yet
    if (speed <= ahead.speed) return true;                               // cannot catch it up
    const aheadGoneAt = ahead.start + (this.width + ahead.w) / ahead.speed; // its tail leaves the left edge
    const itemReachesLeftAt = now + this.width / speed;                  // our head reaches the left edge
    return itemReachesLeftAt >= aheadGoneAt;
  }

  /** Advances and draws one frame. Allocates nothing unless a comment gets a lane. */
  frame(now = performance.now()) {
    const maxWait = DENSITY[this.density].maxWaitMs;
    this.frames++;
    // place what waits, oldest first; give up on what waited too long (compacted in place)
    const pending = this.pending;
    if (pending.length) {
      let still = 0;
      let scrollFull = false; // one scrolling comment found no lane: the next ones will not either
      for (let i = 0; i < pending.length; i++) {
        const item = pending[i];
        const scroll = item.mode !== "top" && item.mode !== "bottom";
        const placed = !(scroll && scrollFull) && this._place(item, now);
        if (!placed && scroll) scrollFull = true;
        if (placed) {
          this.items.push(item);
          this.stats.shown++;
          this.log.push({id: item.id, text: item.text, mode: item.mode, lane: item.lane, own: !!item.own,
                         waited: this.frames - 1 - item.queuedFrame}); // frames that passed it over
        } else if (now - item.queuedAt > maxWait) {
          this._drop(item);
        } else {
          pending[still++] = item;
        }
      }
      pending.length = still;
      if (this.log.length > this.logLimit) this.log.splice(0, this.log.length - this.logLimit);
    }
    const items = this.items;
    // An empty stage that was empty last frame too: leave the canvas alone (no damage to composite).
    if (items.length === 0 && this.stats.onScreen === 0 && !this._dirty) return;
    this._dirty = false;
    const ctx = this.ctx;
    ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    let kept = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      let x;
      if (item.mode === "scroll") {
        x = this.width - (now - item.start) * item.speed;
        if (x + item.w < 0) { this._release(item); continue; }
      } else {
        if (now >= item.until) { this._release(item); continue; }
        x = item.x;
      }
      // whole pixels: the sprite is copied, not resampled
      ctx.drawImage(item.sprite, Math.round(x * this.ratio) / this.ratio, item.y, item.w, item.h);
      if (!item.drawn) { item.drawn = true; this.stats.drawn++; }
      items[kept++] = item;
    }
    items.length = kept;
    this.stats.onScreen = kept;
  }

  /** A comment left the stage: its bitmap's memory goes back now, not at the next GC. */
  _release(item) {
    if (item.sprite && item.sprite.close) item.sprite.close();
    item.sprite = null;
  }
}
