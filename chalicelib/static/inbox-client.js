// inbox-client.js — a dependency-free client for the in-app message service.
//
//   import { InboxClient } from "./inbox-client.js";
//   const client = new InboxClient({ apiUrl, wsUrl, token });
//   client.addEventListener("message", (e) => show(e.detail.message));
//   client.connect();
//
// Events (CustomEvent, payload in `detail`):
//   message    {message}          a new message (live or caught up), each id once
//   update     {message}          a message's status changed (from any device)
//   unread     {total, channels}  unread counts after any change
//   connection {state, attempt}   "connecting" | "open" | "reconnecting" | "closed"
//   unauthorized {message}        the API refused the token (invalid or expired); the client has closed
//
// The socket pings every `pingIntervalMs` (API Gateway drops sockets idle for
// 10 minutes, and every socket after 2 hours), reconnects with exponential
// backoff and full jitter, and after every (re)connect catches up with
// GET /me/messages?after=<last id seen>, so nothing sent while away is lost.

const LOWEST_ID = "0".repeat(26);

const DEFAULTS = {
  pingIntervalMs: 5 * 60 * 1000,
  backoffBaseMs: 500,
  backoffMaxMs: 30 * 1000,
  rememberIds: 5000,
};

export class InboxClient extends EventTarget {
  constructor({ apiUrl, wsUrl, token, ...options }) {
    super();
    this.apiUrl = apiUrl.replace(/\/$/, "");
    this.wsUrl = wsUrl;
    this.token = token;
    this.options = { ...DEFAULTS, ...options };
    this.lastSeenId = null;
    this.state = "closed";
    this._seen = new Set();
    this._socket = null;
    this._attempt = 0;
    this._timers = {};
    this._stopped = true;
  }

  // --- HTTP API ---------------------------------------------------------------

  async api(method, path, body, headers = {}) {
    const response = await fetch(this.apiUrl + path, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, ...(body ? { "Content-Type": "application/json" } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    const data = parseJson(text);
    if (!response.ok) {
      const error = new Error((data && data.Message) || `HTTP ${response.status}`);
      error.status = response.status;
      if (response.status === 401) {
        // A new token is needed; retrying or reconnecting with this one cannot succeed.
        this.close();
        this._emit("unauthorized", { message: error.message });
      }
      throw error;
    }
    return data;
  }

  listChannels({ status = "all", limit = 20, cursor } = {}) {
    return this.api("GET", `/me/channels?${query({ status, limit, cursor })}`);
  }

  listMessages({ channel, status = "all", limit = 20, cursor } = {}) {
    return this.api("GET", `/me/messages?${query({ channel, status, limit, cursor })}`);
  }

  async setStatus(id, status) {
    const message = await this.api("PATCH", `/me/messages/${encodeURIComponent(id)}`, { status });
    this._refreshUnread();
    return message;
  }

  markRead(id) {
    return this.setStatus(id, "read");
  }

  async markAllRead(channel) {
    const result = await this.api("POST", "/me/messages/read", channel ? { channel } : {});
    this._refreshUnread();
    return result;
  }

  unreadCount() {
    return this.api("GET", "/me/unread-count");
  }

  // --- the socket -------------------------------------------------------------

  async connect() {
    this._stopped = false;
    if (this.lastSeenId === null) {
      const newest = await this.api("GET", "/me/messages?limit=1");
      // An empty inbox: everything that arrives later is newer than the lowest id.
      this.lastSeenId = newest.items.length ? newest.items[0].id : LOWEST_ID;
      newest.items.forEach((message) => this._seen.add(message.id));
    }
    this._open();
    this._refreshUnread();
  }

  close() {
    this._stopped = true;
    Object.values(this._timers).forEach(clearTimeout);
    if (this._socket) this._socket.close(1000, "client closed");
    this._setState("closed");
  }

  _open() {
    this._setState(this._attempt ? "reconnecting" : "connecting");
    const socket = new WebSocket(`${this.wsUrl}${this.wsUrl.includes("?") ? "&" : "?"}token=${encodeURIComponent(this.token)}`);
    this._socket = socket;
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      this._attempt = 0;
      this._setState("open");
      this._schedulePing();
      // Also on the first open: what was sent between the first list fetch and the end of
      // $connect reached no socket of ours, and would otherwise wait for the next reconnect.
      this.catchUp().catch(() => {});
    });
    socket.addEventListener("message", (event) => this._onFrame(event.data));
    socket.addEventListener("close", () => {
      if (this._socket !== socket) return;
      clearTimeout(this._timers.ping);
      if (this._stopped) return;
      this._attempt += 1;
      this._setState("reconnecting");
      const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** this._attempt);
      this._timers.reconnect = setTimeout(() => this._open(), Math.random() * ceiling);
      // A refused handshake looks like any other close to a browser: ask the API whether
      // the token still holds (a 401 emits "unauthorized" and stops the reconnecting).
      if (!opened) this.unreadCount().catch(() => {});
    });
  }

  _schedulePing() {
    clearTimeout(this._timers.ping);
    this._timers.ping = setTimeout(() => {
      if (this._socket && this._socket.readyState === WebSocket.OPEN) {
        this._socket.send(JSON.stringify({ action: "ping" }));
      }
      this._schedulePing();
    }, this.options.pingIntervalMs);
  }

  _onFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.type === "message.created") this._deliver(frame.message);
    else if (frame.type === "message.updated") {
      this._emit("update", { message: frame.message });
      this._refreshUnread();
    }
  }

  /** Fetch everything newer than the last id seen (oldest first) and emit it. */
  async catchUp() {
    if (this.lastSeenId === null) return;
    const after = this.lastSeenId;
    let cursor;
    do {
      const page = await this.api("GET", `/me/messages?${query({ after, limit: 100, cursor })}`);
      page.items.forEach((message) => this._deliver(message));
      cursor = page.nextCursor;
    } while (cursor);
  }

  _deliver(message) {
    if (this._seen.has(message.id)) return; // at-least-once delivery: de-duplicate by id
    this._remember(message.id);
    this._emit("message", { message });
    this._refreshUnread();
  }

  _remember(id) {
    this._seen.add(id);
    if (this._seen.size > this.options.rememberIds) this._seen.delete(this._seen.values().next().value);
    if (this.lastSeenId === null || id > this.lastSeenId) this.lastSeenId = id;
  }

  _refreshUnread() {
    clearTimeout(this._timers.unread);
    this._timers.unread = setTimeout(async () => {
      try {
        this._emit("unread", await this.unreadCount());
      } catch {
        /* the next change retries */
      }
    }, 100);
  }

  _setState(state) {
    this.state = state;
    this._emit("connection", { state, attempt: this._attempt });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

function parseJson(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null; // not from the API (a proxy's error page): the status still says what happened
  }
}

/** A query string of the params that have a value: `query({ limit: 20, cursor: undefined })` → "limit=20". */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  return search.toString();
}
