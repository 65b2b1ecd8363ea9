// pages.js: what the pages share: the room from the query, tokens kept in localStorage, the
// dev sign-in, and the connection-state line ("reconnecting in 3 s").

import {devToken} from "./danmaku-client.js";

export const $ = id => document.getElementById(id);

const ROOM = /^[A-Za-z0-9_-]{1,64}$/;

/** The ?room= of this page, or null when absent or not a valid room id. */
export function roomFromQuery() {
  const room = new URLSearchParams(location.search).get("room");
  return room && ROOM.test(room) ? room : null;
}

export function isRoom(room) { return ROOM.test(room || ""); }

/** Stored sign-in: {token, user} under a key ("viewer", or "streamer:<room>"). */
export function storedToken(key = "viewer") {
  try {
    const value = JSON.parse(localStorage.getItem("danmaku.token." + key) || "null");
    if (!value || !value.token) return null;
    // a token past its exp is useless: forget it rather than get 4001
    const payload = JSON.parse(atob(value.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    if (payload.exp && payload.exp * 1000 < Date.now()) return null;
    return value;
  } catch (e) {
    return null;
  }
}

export function storeToken(key, value) {
  localStorage.setItem("danmaku.token." + key, JSON.stringify(value));
}

export function forgetToken(key) { localStorage.removeItem("danmaku.token." + key); }

/** Gets a dev token and stores it; resolves {token, user}. */
export async function devSignIn(key, name, role, rooms) {
  const value = await devToken(name, role, rooms);
  storeToken(key, value);
  return value;
}

/**
 * Shows the client's connection state in `element`, counting down a reconnect. Returns a
 * function that renders the current state (the pages call it on each state event).
 */
export function stateLine(element, client) {
  let timer = null;
  let last = {state: "idle"};
  const render = () => {
    const s = last;
    let text, cls = s.state;
    switch (s.state) {
      case "connecting": text = "connecting…"; break;
      case "open": text = "live"; break;
      case "reconnecting": {
        const left = Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000));
        text = left > 0 ? `reconnecting in ${left} s` : "reconnecting…";
        break;
      }
      case "closed":
        text = s.code === 4001 ? "signed out: get a new token"
            : s.code === 1008 ? "refused by the server" : "disconnected";
        break;
      default: text = "not connected";
    }
    element.textContent = text;
    element.dataset.state = cls;
    element.title = s.code ? `last close code ${s.code}${s.reason ? ": " + s.reason : ""}` : "";
  };
  client.on("state", s => {
    last = s;
    clearInterval(timer);
    if (s.state === "reconnecting") timer = setInterval(render, 250);
    render();
  });
  render();
  return render;
}

/** Formats 12345 as "12,345". */
export const fmt = n => (n === null || n === undefined) ? "—" : Number(n).toLocaleString("en-US");

/** Text-only DOM: a <tag class> whose content is `text` as text, never HTML. */
export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}
