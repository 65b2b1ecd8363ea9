// danmaku-client.js: the browser client of the danmaku wire protocol v1 (docs/client.md).
// An ES module with no dependencies. It owns one WebSocket to /ws and keeps it alive:
// heartbeat, dead-connection detection, reconnect with backoff and jitter following the close
// codes, resume of every room with `since`, a bounded queue of sends while disconnected, and
// the page's life (hidden pages keep the connection, unload closes it cleanly).

/** Close codes after which the client does not reconnect by itself (PROTOCOL.md). */
const FINAL_CODES = new Set([1000, 1008, 4001]);

const DEFAULTS = {
  url: null,                 // ws(s)://host/ws; default: /ws on the page's own origin
  token: null,               // JWT; null: an anonymous, watch-only viewer
  protocol: "danmaku.v1.json",
  baseDelayMs: 500,          // backoff: the first retry waits up to this long
  maxDelayMs: 30000,         // backoff cap
  stableAfterMs: 60000,      // a connection open this long resets the backoff
  restartJitterMs: 1000,     // 1012 (service restart): reconnect at once, within this jitter
  longPauseMs: 60000,        // 4029 (too many requests): wait at least this long, plus jitter
  queueLimit: 50,            // sends kept while disconnected (and sent but not yet acknowledged)
  lifecycle: true,           // follow the page: pagehide closes, pageshow reconnects
  random: Math.random,       // for tests
};

/** A client-chosen id for an idempotent send: 1..64 of [A-Za-z0-9_-]. */
export function newId(prefix = "c") {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  let s = "";
  for (const b of bytes) s += b.toString(36).padStart(2, "0");
  return prefix + "-" + s;
}

/** The backoff delay before retry number `attempt` (0-based): full jitter, capped. */
export function backoffDelay(attempt, baseMs, capMs, random = Math.random) {
  const ceiling = Math.min(capMs, baseMs * Math.pow(2, Math.min(attempt, 30)));
  return Math.floor(random() * ceiling);
}

/** Asks a gateway in dev mode for a token: resolves {token, user}; rejects when dev mode is off. */
export async function devToken(name, role = "viewer", rooms = [], base = "") {
  const response = await fetch(base + "/api/dev/tokens", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({name, role, rooms}),
  });
  if (!response.ok) throw new Error("no dev token (HTTP " + response.status + "): is dev mode on?");
  return response.json();
}

/**
 * A connection to the gateway that survives drops.
 *
 * Events (client.on(name, fn)): "state" {state, attempt, delayMs, retryAt, code, reason},
 * "welcome", "joined", "batch", "ack", "error", "pong", "left" (the server's frames, as parsed
 * JSON), "visibility" {hidden}. States: "idle", "connecting", "open", "reconnecting" (with
 * delayMs/retryAt), "closed" (no reconnect: code says why; 4001 wants a new token).
 */
export class DanmakuClient {
  constructor(options = {}) {
    this.options = {...DEFAULTS, ...options};
    this.token = this.options.token;
    this.state = "idle";
    this.user = null;            // from welcome
    this.heartbeat = null;       // {interval, timeout} from welcome
    this.limits = null;          // from welcome
    this.hidden = typeof document !== "undefined" && document.visibilityState === "hidden";
    this.stats = {connects: 0, reconnects: 0, duplicatesSkipped: 0, deadDetected: 0, queueRejected: 0};
    this._listeners = new Map();
    this._rooms = new Map();     // room -> {lastSeq: number|null, joined: boolean}
    this._pending = new Map();   // id -> {frame, resolve, reject, sent}  (id-sends awaiting ack)
    this._queue = [];            // frames without id (likes, mutes) waiting for a connection
    this._ws = null;
    this._attempt = 0;
    this._timers = {};
    this._lastPongAt = 0;
    this._pingOutstandingSince = 0;
    if (this.options.lifecycle && typeof window !== "undefined") this._watchPage();
  }

  on(event, fn) {
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(fn);
    return () => this._listeners.get(event).delete(fn);
  }

  _emit(event, payload) {
    for (const fn of this._listeners.get(event) || []) {
      try { fn(payload); } catch (e) { console.error("danmaku listener for", event, e); }
    }
  }

  /** Uses this token from the next connection on (e.g. after a 4001 close). */
  setToken(token) { this.token = token; }

  /** Opens the connection (again, after a final close). */
  connect() {
    this._stopped = false;
    this._clearTimer("retry");
    if (this._ws) return;
    this._open();
  }

  /** Drops the current connection and opens a new one at once (e.g. with a new token); rooms resume. */
  restart() {
    this._stopped = false;
    this._clearTimers();
    const ws = this._ws;
    this._ws = null;
    if (ws) { this._detach(ws); try { ws.close(1000, "restart"); } catch (e) { /* already closed */ } }
    for (const entry of this._pending.values()) entry.sent = false;
    this._open();
  }

  /** Closes for good (code 1000); sends still queued are rejected. */
  close() {
    this._stopped = true;
    this._clearTimers();
    const ws = this._ws;
    this._ws = null;
    if (ws) { this._detach(ws); try { ws.close(1000, "bye"); } catch (e) { /* already closed */ } }
    this._rejectAll(1000);
    this._setState("closed", {code: 1000, reason: "closed by the client"});
  }

  /** Joins a room; with a known seq (a rejoin) it resumes from there. */
  join(room) {
    if (!this._rooms.has(room)) this._rooms.set(room, {lastSeq: null, joined: false});
    if (this._isOpen()) this._sendJoin(room);
  }

  leave(room) {
    this._rooms.delete(room);
    if (this._isOpen()) this._raw({type: "leave", room});
  }

  /** The last seq seen in a room, or null. */
  lastSeq(room) { const r = this._rooms.get(room); return r ? r.lastSeq : null; }

  /** Sends a comment; resolves with the ack, rejects with the error frame. The promise has .id */
  comment(room, text, {color, mode, id} = {}) {
    const frame = {type: "comment", room, id: id || newId("c"), text};
    if (color) frame.color = color;
    if (mode) frame.mode = mode;
    return this._sendWithId(frame);
  }

  /** Sends a gift; resolves with the ack, rejects with the error frame. */
  gift(room, gift, count = 1, {id} = {}) {
    return this._sendWithId({type: "gift", room, id: id || newId("g"), gift, count});
  }

  /** Sends likes (1..50, coalesced by the caller); no ack exists for likes. */
  like(room, count = 1) { this._sendWithoutId({type: "like", room, count}); }

  /** Mutes a user in a room (streamers and moderators). */
  mute(room, user, seconds = 600) { this._sendWithoutId({type: "mute", room, user, seconds}); }

  /**
   * Puts a room in slow mode: each viewer may send one comment every `seconds` (0..3600; 0 ends
   * it). The room's streamer and admins only (docs/protocol.md); no ack, a refusal comes as `error`.
   */
  slowMode(room, seconds) { this._sendWithoutId({type: "slow_mode", room, seconds}); }

  // --- sending ---------------------------------------------------------------------------

  _sendWithId(frame) {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    promise.id = frame.id;
    if (this._pending.size + this._queue.length >= this.options.queueLimit) {
      this.stats.queueRejected++;
      reject({type: "error", id: frame.id, code: "queue_full", message: "too many sends waiting for a connection"});
      return promise;
    }
    const entry = {frame, resolve, reject, sent: false};
    this._pending.set(frame.id, entry);
    if (this._isOpen()) { entry.sent = this._raw(frame); }
    return promise;
  }

  _sendWithoutId(frame) {
    if (this._isOpen()) { this._raw(frame); return; }
    if (this._pending.size + this._queue.length >= this.options.queueLimit) {
      this.stats.queueRejected++;
      this._emit("error", {type: "error", code: "queue_full", message: "too many sends waiting for a connection"});
      return;
    }
    this._queue.push(frame);
  }

  /** After welcome: every send not acknowledged yet goes again, with its same id. */
  _flush() {
    const frames = [];
    for (const entry of this._pending.values()) frames.push(entry);
    const queued = this._queue.splice(0);
    // Paced under the server's comment rate (bursts of 10): a burst, then one per interval.
    const perSecond = (this.limits && this.limits.commentsPerSecond) || 5;
    const all = frames.map(e => ({entry: e, frame: e.frame})).concat(queued.map(f => ({frame: f})));
    let i = 0;
    const step = () => {
      this._timers.flush = null;
      const burst = i === 0 ? 8 : 1;
      for (let n = 0; n < burst && i < all.length; n++, i++) {
        if (!this._isOpen()) return;
        const {entry, frame} = all[i];
        if (entry && !this._pending.has(frame.id)) continue; // acknowledged meanwhile
        const ok = this._raw(frame);
        if (entry) entry.sent = ok;
      }
      if (i < all.length) this._timers.flush = setTimeout(step, Math.ceil(1000 / perSecond));
    };
    step();
  }

  _raw(frame) {
    const ws = this._ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  _sendJoin(room) {
    const r = this._rooms.get(room);
    const frame = {type: "join", room};
    if (r && r.lastSeq !== null) frame.since = r.lastSeq;
    this._raw(frame);
  }

  _isOpen() { return this.state === "open" && this._ws && this._ws.readyState === WebSocket.OPEN; }

  // --- connection ------------------------------------------------------------------------

  _url() {
    const url = new URL(this.options.url || "/ws", location.href);
    if (url.protocol === "http:") url.protocol = "ws:";
    if (url.protocol === "https:") url.protocol = "wss:";
    if (this.token) url.searchParams.set("token", this.token);
    return url.toString();
  }

  _open() {
    this._setState("connecting", {attempt: this._attempt});
    let ws;
    try {
      ws = new WebSocket(this._url(), this.options.protocol);
    } catch (e) {
      this._scheduleReconnect(1006, String(e));
      return;
    }
    this._ws = ws;
    this._welcomed = false;
    ws.onmessage = event => this._onFrame(event.data);
    ws.onclose = event => { if (this._ws === ws) this._onClose(event.code, event.reason); };
    ws.onerror = () => { /* onclose follows with the code */ };
  }

  _detach(ws) { ws.onmessage = null; ws.onclose = null; ws.onerror = null; }

  _onFrame(data) {
    let frame;
    try { frame = JSON.parse(data); } catch (e) { return; }
    switch (frame.type) {
      case "welcome": return this._onWelcome(frame);
      case "joined": {
        const r = this._rooms.get(frame.room);
        // recovered: the missed batches (seq <= joined.seq) follow and advance lastSeq
        // themselves; otherwise the client continues from live, after joined.seq.
        if (r) { if (!(frame.recovered && r.lastSeq !== null)) r.lastSeq = frame.seq; r.joined = true; }
        break;
      }
      case "batch": {
        const r = this._rooms.get(frame.room);
        if (!r) return; // left meanwhile
        if (r.lastSeq !== null && frame.seq <= r.lastSeq) { this.stats.duplicatesSkipped++; return; }
        r.lastSeq = frame.seq;
        break;
      }
      case "pong":
        this._lastPongAt = Date.now();
        this._pingOutstandingSince = 0;
        break;
      case "ack": {
        const entry = this._pending.get(frame.id);
        if (entry) { this._pending.delete(frame.id); entry.resolve(frame); }
        break;
      }
      case "error": {
        const entry = frame.id ? this._pending.get(frame.id) : null;
        if (entry) { this._pending.delete(frame.id); entry.reject(frame); }
        break;
      }
      case "left": this._rooms.delete(frame.room); break;
    }
    this._emit(frame.type, frame);
  }

  _onWelcome(frame) {
    this._welcomed = true;
    this.user = frame.user;
    this.heartbeat = frame.heartbeat || {interval: 25000, timeout: 60000};
    this.limits = frame.limits || null;
    this.stats.connects++;
    this._lastPongAt = Date.now();
    this._pingOutstandingSince = 0;
    this._setState("open", {attempt: this._attempt});
    this._emit("welcome", frame);
    for (const room of this._rooms.keys()) this._sendJoin(room);
    this._flush();
    this._startHeartbeat();
    // Only a connection that stays up this long proves the trouble is over.
    this._clearTimer("stable");
    this._timers.stable = setTimeout(() => { this._attempt = 0; }, this.options.stableAfterMs);
  }

  _startHeartbeat() {
    this._clearTimer("ping");
    this._clearTimer("watch");
    const {interval, timeout} = this.heartbeat;
    this._timers.ping = setInterval(() => {
      if (!this._isOpen()) return;
      if (!this._pingOutstandingSince) this._pingOutstandingSince = Date.now();
      this._raw({type: "ping", ts: Date.now()});
    }, interval);
    // A ping unanswered for `timeout` means the connection is dead, even if the socket has not
    // noticed (a lost network keeps a TCP connection "open" for minutes). Measured from the
    // first unanswered ping, so timers throttled in a hidden page cannot cause a false alarm.
    this._timers.watch = setInterval(() => {
      const since = this._pingOutstandingSince;
      if (since && Date.now() - since > timeout) this._dead();
    }, Math.min(1000, interval));
  }

  _dead() {
    this.stats.deadDetected++;
    const ws = this._ws;
    this._ws = null;
    if (ws) { this._detach(ws); try { ws.close(4000, "no pong"); } catch (e) { /* ignore */ } }
    this._onClose(4000, "no pong within the heartbeat timeout");
  }

  _onClose(code, reason) {
    const ws = this._ws;
    this._ws = null;
    if (ws) this._detach(ws);
    this._clearTimer("ping");
    this._clearTimer("watch");
    this._clearTimer("stable");
    this._clearTimer("flush");
    for (const r of this._rooms.values()) r.joined = false;
    for (const entry of this._pending.values()) entry.sent = false;
    if (this._stopped) return;
    if (code === 1006 && !this._welcomed && this.token && !this._probing) {
      // The handshake failed. A browser cannot see why; a gateway refuses a bad or expired token
      // with HTTP 401 before upgrading, so ask it once over plain HTTP: 401 means "get a new token"
      // (as close 4001 does), anything else is an ordinary failure to back off from.
      this._probing = true;
      const url = this._url().replace(/^ws/, "http");
      fetch(url, {cache: "no-store"}).then(r => r.status, () => 0).then(status => {
        this._probing = false;
        if (this._stopped || this._ws) return;
        if (status === 401) this._onClose(4001, "the token was refused");
        else this._scheduleReconnect(code, reason);
      });
      return;
    }
    if (FINAL_CODES.has(code)) {
      this._rejectAll(code);
      this._setState("closed", {code, reason, needsToken: code === 4001});
      return;
    }
    this._scheduleReconnect(code, reason);
  }

  _scheduleReconnect(code, reason) {
    const o = this.options;
    let delay;
    if (code === 1012) {
      delay = Math.floor(o.random() * o.restartJitterMs);
    } else if (code === 4029) {
      delay = o.longPauseMs + Math.floor(o.random() * o.longPauseMs);
    } else {
      delay = backoffDelay(this._attempt, o.baseDelayMs, o.maxDelayMs, o.random);
      this._attempt++;
    }
    this.stats.reconnects++;
    this._setState("reconnecting", {code, reason, delayMs: delay, retryAt: Date.now() + delay, attempt: this._attempt});
    this._clearTimer("retry");
    this._timers.retry = setTimeout(() => { this._timers.retry = null; if (!this._stopped) this._open(); }, delay);
  }

  _rejectAll(code) {
    const error = {type: "error", code: code === 4001 ? "unauthorized" : "closed", message: "connection closed (" + code + ")"};
    for (const entry of this._pending.values()) entry.reject({...error, id: entry.frame.id});
    this._pending.clear();
    this._queue.length = 0;
  }

  _setState(state, detail = {}) {
    this.state = state;
    this._emit("state", {state, ...detail});
  }

  _clearTimer(name) {
    const t = this._timers[name];
    if (t) { clearTimeout(t); clearInterval(t); }
    this._timers[name] = null;
  }

  _clearTimers() { for (const name of Object.keys(this._timers)) this._clearTimer(name); }

  _watchPage() {
    document.addEventListener("visibilitychange", () => {
      this.hidden = document.visibilityState === "hidden";
      this._emit("visibility", {hidden: this.hidden});
    });
    // pagehide, not unload: it also fires when the page goes into the back-forward cache.
    window.addEventListener("pagehide", () => {
      if (this._ws) { const ws = this._ws; this._ws = null; this._detach(ws); ws.close(1000, "page closed"); }
      this._clearTimers();
      this._suspended = !this._stopped;
      this._stopped = true;
    });
    window.addEventListener("pageshow", event => {
      if (event.persisted && this._suspended) { this._suspended = false; this._stopped = false; this._open(); }
    });
    // Back online while waiting: try now (still jittered) rather than at the end of a long backoff.
    window.addEventListener("online", () => {
      if (this.state === "reconnecting" && !this._stopped) {
        this._clearTimer("retry");
        const delay = Math.floor(this.options.random() * this.options.restartJitterMs);
        this._timers.retry = setTimeout(() => this._open(), delay);
      }
    });
  }
}
