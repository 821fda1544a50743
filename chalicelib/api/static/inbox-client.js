// inbox-client.js — a dependency-free client for the in-app message service.
//
//   import { InboxClient } from "./inbox-client.js";
//   const client = new InboxClient({ apiUrl, wsUrl, token });           // a JWT, or a token provider:
//   const client = new InboxClient({ apiUrl, wsUrl, token: () => fetchToken() }); // a function returning
//                                        // a JWT or a promise of one, asked again before the token expires
//   client.addEventListener("message", (e) => show(e.detail.message));
//   client.connect();
//
// Events (CustomEvent, payload in `detail`):
//   message     {message, silent, unsnoozed}  a new message (live or caught up), each id once: one that arrived
//                                        after connect() began, never one already stored; silent: its
//                                        channel is muted and it is not critical (show no toast); unsnoozed:
//                                        a snoozed message back (its id again, once per snooze)
//   update      {message}                its status, seen, archived, pinned or snoozed state changed (from any
//                                        device); `snoozedUntil`: it left the lists until then
//   delete      {id}                     it was deleted (from any device)
//   counts      {total, unseen, channels, tags} the badge's counts (tags: unread per tag): fetched once per (re)connect and after each
//                                        change made through this client (its answer shows it at once),
//                                        else from frames (a new message's carries them)
//   preferences {channels}               mutes: {name: {muted}}, after any change on any device
//   connection  {state, attempt, code?, reason?}  "connecting" | "open" | "reconnecting" | "closed"; code and
//                                        reason when the server closed it for good (4008: a newer connection
//                                        of this user took its place; reconnecting would close that one)
//   unauthorized {message}               the API refused the token (invalid or expired); the client has closed
//
// The socket pings every `pingIntervalMs` (8 minutes: API Gateway drops sockets
// idle for 10 minutes, and a background tab's timers may run a minute late),
// reconnects with exponential backoff and full jitter, and after every
// (re)connect catches up with GET /me/messages?after=<last id seen> and the
// counts, so nothing sent while away is lost. API Gateway also closes every
// socket after 2 hours: `rotateAfterMs` (115 minutes) after it opened, the
// client opens a new socket and closes the old one once the new one is open.
// A socket opened while the one it replaces is still open (this, and a token
// refresh) needs no catch-up: every frame reaches one of them, and repeats
// are de-duplicated.
//
// A connection lives no longer than its token: the server closes it once the token's `exp` has passed
// (a {"type":"close","code":4001} frame, since API Gateway's close carries no code of ours). With a token
// provider the client asks for a fresh token `tokenRefreshMs` before `exp` (a quarter of the token's
// lifetime when that is shorter) and opens a new socket with it before it closes the old one, and after
// a 4001 reconnects at once with the provider's next token. With a plain token there is nothing fresher:
// a 4001 ends in "unauthorized".
//
// One socket per browser and user: the clients of one origin's tabs that talk to the same API and WebSocket
// URL for the same user (the token's `iss`, `sub` and its other claims but times: a tenant's too) share one socket. A Web Lock elects the leader, which
// holds the socket; a BroadcastChannel of the same name carries to the other tabs every frame it receives,
// the counts it fetches and its connection state, and from any tab the new messages its catch-ups find. The
// other tabs' clients emit the same events as if the socket were theirs (each id once per tab). Nothing
// needs the leader besides: the client sends the server only the leader's pings, and HTTP calls stay in each
// tab, with its own token. A tab that joins catches up once itself. When the leader's client closes or its
// page goes, the browser passes the lock to the next tab, which opens the socket and catches up after the
// newest id it has seen: every tab has seen what any tab delivered, so nothing is lost, and nothing shows
// twice. A follower's plain token ends in "unauthorized" at its `exp`, as the server would have closed a
// socket of its own (4001), and no tab shows what others pass on once its plain token has expired. A 4008
// closes every tab of the group for good; a tab opened afterwards connects in their place. Without Web Locks
// (secure origins only) or BroadcastChannel, or with `shareSocket: false`, each client opens its own socket.
// `client.role` says which it is: "leader", "follower" or "alone".

const LOWEST_ID = "0".repeat(26);
const SEEN_AT_START = 100; // the newest messages taken as seen when the client connects (a page), with their catch-up

const DEFAULTS = {
  pingIntervalMs: 8 * 60 * 1000,
  rotateAfterMs: 115 * 60 * 1000, // a new socket before API Gateway's 2-hour limit closes this one
  backoffBaseMs: 500,
  backoffMaxMs: 30 * 1000,
  rememberIds: 5000,
  bulkMaxCalls: 50, // calls of one bulk change while the server answers `more` (at 1,000 each: 50,000 messages)
  bulkBusyRetries: 5, // 429s in a row a bulk change waits out before it gives up
  tokenRefreshMs: 60 * 1000, // how long before the token's `exp` a token provider is asked for a fresh one
  shareSocket: true, // one socket for the tabs of this origin and user (false: one per client)
};
const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's ceiling (~24.8 days)
const TOKEN_EXPIRED = 4001;
const TOO_MANY_CONNECTIONS = 4008;
// Claims that change with each token of the same user (OIDC's, and Cognito's per sign-in or refresh).
const TOKEN_TIMES = new Set(["exp", "iat", "nbf", "jti", "auth_time", "event_id", "origin_jti", "at_hash", "nonce"]);
const TABS_PROTOCOL = "inapp-inbox-tabs/1"; // in the group's name: tabs running another version of the notes never group

export class InboxClient extends EventTarget {
  constructor({ apiUrl, wsUrl, token, tokenProvider, ...options }) {
    super();
    this.apiUrl = apiUrl.replace(/\/$/, "");
    this.wsUrl = wsUrl;
    const provider = tokenProvider || token;
    this._provider = typeof provider === "function" ? provider : null;
    this.token = typeof token === "string" ? token : null; // the token in use; a provider's, once asked
    this.options = { ...DEFAULTS, ...options };
    this.lastSeenId = null;
    this.state = "closed";
    this._seen = new Set();
    this._snoozed = new Set(); // ids known to be snoozed: their wake-up is a new message again
    this._socket = null;
    this._group = null; // the tabs sharing one socket (TabGroup), or null: a socket of its own
    this._replaced = null; // the open socket a fresher one is about to replace
    this._attempt = 0;
    this._timers = {};
    this._stopped = true;
    this._countsFrames = 0;
    this.counts = { total: 0, unseen: 0, channels: {}, tags: {} };
    this._countsVersion = -1; // the version of the newest counts a frame carried (it grows with every counts update)
    this.preferences = { channels: {} };
  }

  // --- HTTP API ---------------------------------------------------------------

  async api(method, path, body, headers = {}, { keepalive = false } = {}) {
    const token = await this._currentToken();
    const response = await fetch(this.apiUrl + path, {
      method,
      keepalive,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    const data = parseJson(text);
    if (!response.ok) {
      const error = new Error((data && data.Message) || `HTTP ${response.status}`);
      error.status = response.status;
      error.retryAfterMs = 1000 * (Number(response.headers.get("Retry-After")) || 0);
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

  /**
   * Live messages (newest first; a first page starts with the pinned ones), of one `tag` too; with
   * `archived: true` the archive, with `snoozed: true` the snoozed ones (of every channel).
   */
  async listMessages({ channel, status = "all", archived = false, snoozed = false, tag, limit = 20, cursor } = {}) {
    const filter = archived ? { archived: "true", channel } : snoozed ? { snoozed: "true" } : { status, tag, channel };
    const page = await this.api("GET", `/me/messages?${query({ ...filter, limit, cursor })}`);
    if (snoozed) page.items.forEach((message) => this._snoozed.add(message.id));
    return page;
  }

  listSnoozed({ limit = 20, cursor } = {}) {
    return this.listMessages({ snoozed: true, limit, cursor });
  }

  /** Every change below answers once it is made, and the counts are fetched again then (they show it already). */
  setStatus(id, status) {
    return this._patch(id, { status });
  }

  markRead(id) {
    return this.setStatus(id, "read");
  }

  /** Archiving also marks read; `archived: false` brings it back to the inbox. */
  setArchived(id, archived) {
    return this._patch(id, { archived });
  }

  /** Pinned messages come first in their lists, for this user only (at most 20: the 21st is a 409). */
  setPinned(id, pinned) {
    return this._patch(id, { pinned });
  }

  /** Out of every list and count until `until` (a Date or an ISO time with its zone, 1 minute to 90 days ahead). */
  async snooze(id, until) {
    const message = await this._patch(id, { snoozedUntil: until instanceof Date ? until.toISOString() : until });
    this._snoozed.add(id);
    return message;
  }

  /** A snoozed message back at once, unread: its frame is then an update here, not a new message (no toast). */
  async wake(id) {
    this._snoozed.delete(id); // before the answer: the wake-up's frame may come first
    try {
      return await this._patch(id, { snoozedUntil: null });
    } catch (error) {
      this._snoozed.add(id);
      throw error;
    }
  }

  /** Permanent. `keepalive` lets the request outlive the page (a pending delete flushed on pagehide). */
  deleteMessage(id, { keepalive = false } = {}) {
    const deleted = this.api("DELETE", `/me/messages/${encodeURIComponent(id)}`, undefined, {}, { keepalive });
    return keepalive ? deleted : this._counted(deleted); // keepalive: the page is going, nobody sees the counts
  }

  /**
   * The bulk changes below resolve to `{updated, more}` summed over their calls: the server changes a
   * bounded number per call and answers `more` while some are left, and they call again until it does not
   * (at most `bulkMaxCalls`; `more: true` then: call once more to go on).
   */
  markAllRead(channel) {
    return this._bulk("/me/messages/read", channel ? { channel } : {});
  }

  /** "The user has seen them in a list": clears the unseen badge (of one channel, or everywhere). */
  markAllSeen(channel) {
    return this._bulk("/me/messages/seen", channel ? { channel } : {});
  }

  /** Archive every message (`status: "read"`: every read one) of a channel, or everywhere. */
  archiveAll({ channel, status } = {}) {
    return this._bulk("/me/messages/archive", { ...(channel ? { channel } : {}), ...(status ? { status } : {}) });
  }

  unreadCount() {
    return this.api("GET", "/me/unread-count");
  }

  async loadPreferences() {
    this._setPreferences(await this.api("GET", "/me/preferences"));
    return this.preferences;
  }

  async setMuted(channel, muted) {
    const result = await this._counted(this.api("PUT", `/me/preferences/channels/${encodeURIComponent(channel)}`, { muted }));
    this._setPreferences({ channels: { ...this.preferences.channels, [channel]: { muted: result.muted } } });
    return result;
  }

  isMuted(channel) {
    return Boolean(this.preferences.channels[channel] && this.preferences.channels[channel].muted);
  }

  _patch(id, body) {
    return this._counted(this.api("PATCH", `/me/messages/${encodeURIComponent(id)}`, body));
  }

  /**
   * A change's answer, once the counts have been asked for again: the server counts a user's own change in
   * the same write, so the next read shows it — no need to wait for the counts frame the stream sends later.
   */
  async _counted(change) {
    const answer = await change;
    this._fetchCounts().catch(() => {}); // a failure leaves the counts to the next frame
    return answer;
  }

  /** The same POST while it answers `more` (a 429 waits: `Retry-After`, else backoff with full jitter), then the counts. */
  _bulk(path, body) {
    return this._counted(this._bulkCalls(path, body));
  }

  async _bulkCalls(path, body) {
    let updated = 0;
    let busy = 0;
    for (let calls = 0; calls < this.options.bulkMaxCalls; ) {
      let answer;
      try {
        answer = await this.api("POST", path, body);
      } catch (error) {
        if (error.status !== 429 || busy >= this.options.bulkBusyRetries) throw error;
        const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** busy);
        busy += 1;
        await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs || Math.random() * ceiling));
        continue;
      }
      calls += 1;
      busy = 0;
      updated += answer.updated;
      if (!answer.more) return { updated, more: false };
    }
    return { updated, more: true };
  }

  // --- the socket -------------------------------------------------------------

  async connect() {
    this._stopped = false;
    // The mutes first: what catch-up delivers is silent or not by them.
    const preferences = this.loadPreferences().catch(() => this.preferences); // no mutes known: nothing silenced by us
    if (this.lastSeenId === null) await this._busyRetried(() => this._storedAlready());
    await preferences;
    const name = await this._groupName();
    if (this._stopped) return;
    if (name) await this._join(name);
    else await this._open();
  }

  /** "leader" (it holds the socket the group shares), "follower" (the leader's frames reach it), or "alone". */
  get role() {
    if (!this._group) return "alone";
    return this._group.leading ? "leader" : "follower";
  }

  /** The lock and channel name of the tabs that may share this client's socket; null: a socket of its own. */
  async _groupName() {
    if (!this.options.shareSocket || !tabsCanShare()) return null;
    let claims;
    try {
      claims = jwtClaims(await this._currentToken());
    } catch {
      return null; // the provider failed: a socket of its own, which tries again with backoff
    }
    if (!claims || typeof claims.sub !== "string") return null;
    // Every claim that names who the caller is, not when the token was made: with tenants on, the same `sub`
    // in two tenants is two users (the tenant's claim, whatever its name, is among them), and never one group.
    const who = Object.keys(claims).filter((k) => !TOKEN_TIMES.has(k)).sort().map((k) => [k, claims[k]]);
    return JSON.stringify([TABS_PROTOCOL, this.apiUrl, this.wsUrl, claims.iss || null, claims.sub, who]);
  }

  /** Lead the group's socket if no tab does, else follow the leader: catch up once, then hear its frames. */
  async _join(name) {
    const group = new TabGroup(name, { lead: () => this._lead(), hear: (note) => this._hear(note) });
    this._group = group;
    if ((await group.join()) || group.leading || this._stopped) return;
    this._setState("connecting");
    group.post({ kind: "hello" });
    this._expireFollower();
    // Like a socket's open (no socket here: `_untilDone` goes on while this tab has none): what arrived
    // between the first list and joining, and the counts; once leading, its own socket's open does this.
    this._untilDone(null, "catchUp", () => this.catchUp());
    this._untilDone(null, "counts", () => this._fetchCounts());
  }

  /** The lock is this tab's: the leader before it closed or its page went. Open the socket the group shares. */
  _lead() {
    clearTimeout(this._timers.expiry); // the server ends a leader's token (4001)
    this._open();
  }

  /**
   * A note from another tab of the group: frames, counts and states from the leader, new messages a catch-up
   * found from any tab, a newcomer's hello. A leader takes frames too: the one before it may have relayed its
   * last ones after the lock had passed. A plain token past its `exp` takes no message from other tabs, as the
   * server sends it none: a leader's socket is closed at the next frame (4001), a follower ends at once.
   */
  _hear(note) {
    if (!this._group) return;
    if (this._stopped) {
      if (note.kind === "hello") this._leave(); // closed for good (4008): the newcomer leads in this tab's place
      return;
    }
    const leading = this._group.leading;
    const expired = !this._provider && expiresInMs(this.token) <= 0;
    if (expired && (note.kind === "frame" || note.kind === "caught")) return;
    if (note.kind === "frame") this._onFrame(note.data);
    else if (note.kind === "caught") this._deliver(note.message, note.silent, note.unsnoozed);
    else if (note.kind === "counts") this._takeCounts(note);
    else if (note.kind === "state" && !leading) this._follow(note);
    else if (note.kind === "hello" && leading) this._group.post({ kind: "state", state: this.state, attempt: this._attempt });
  }

  /** The leader's connection state, as this tab's: a 4008 closes every tab of the group (its one socket went). */
  _follow({ state, attempt, code, reason }) {
    if (state === this.state && attempt === this._attempt && !code) return; // an answer to another tab's hello
    this._attempt = attempt;
    if (code) {
      this._stopped = true;
      this._leave();
    }
    this._setState(state, code ? { code, reason } : {});
  }

  /** A follower's plain token: the socket is the leader's, so the client ends at its `exp` as the server would (4001). */
  _expireFollower() {
    const leftMs = expiresInMs(this.token);
    if (this._provider || leftMs === Infinity) return; // a provider's tokens are asked for when needed
    this._timers.expiry = setTimeout(() => {
      if (this._stopped || this.role !== "follower") return;
      if (expiresInMs(this.token) > 0) return this._expireFollower(); // a timer's ceiling came first
      this.close();
      this._emit("unauthorized", { message: "the token has expired" });
    }, Math.min(MAX_TIMER_MS, Math.max(0, leftMs)));
  }

  /** For the other tabs of the group, if any. */
  _tell(note) {
    if (this._group) this._group.post(note);
  }

  _leave() {
    if (this._group) this._group.close(); // a leader's lock passes to the next tab
    this._group = null;
  }

  /**
   * What is stored already is not new here, whatever its channel: the newest page, and what the catch-up
   * after its newest id returns now — the seconds before that id (two sends at once land in either order)
   * and messages stored late with older ids (an audience send's chunks, a retried send). The catch-up on
   * open then emits only what was stored since.
   */
  async _storedAlready() {
    const newest = await this.api("GET", `/me/messages?limit=${SEEN_AT_START}`);
    // An empty inbox: everything that arrives later is newer than the lowest id.
    this.lastSeenId = newest.items.length ? newest.items[0].id : LOWEST_ID;
    newest.items.forEach((message) => this._seen.add(message.id));
    await this._catchUp((message) => this._remember(message.id));
  }

  /** `task`, again after a 429 or 5xx (`Retry-After`, else backoff with full jitter) up to `bulkBusyRetries` times. */
  async _busyRetried(task) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await task();
      } catch (error) {
        const busy = error.status === 429 || error.status >= 500;
        if (!busy || attempt >= this.options.bulkBusyRetries || this._stopped) throw error;
        const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** attempt);
        await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs || Math.random() * ceiling));
      }
    }
  }

  close() {
    this._stopped = true;
    Object.values(this._timers).forEach(clearTimeout);
    this._leave();
    if (this._socket) this._socket.close(1000, "client closed");
    if (this._replaced) this._replaced.close(1000, "client closed");
    this._setState("closed");
  }

  /** The token to use: the provider's next one when none is held or the held one has expired. */
  async _currentToken() {
    if (this._provider && (!this.token || expiresInMs(this.token) <= 0)) this.token = await this._provider();
    return this.token;
  }

  /**
   * Open a socket. `previous`: the open socket it replaces with a fresher token, closed once this one is
   * open (frames that reach both are de-duplicated like any repeat); it stays open if this one fails.
   */
  async _open(previous = null) {
    if (!previous) this._setState(this._attempt ? "reconnecting" : "connecting");
    let token;
    try {
      token = await this._currentToken();
    } catch {
      token = null; // the provider failed: the refused handshake below goes the usual way (backoff)
    }
    if (this._stopped || (previous && this._socket !== previous)) return;
    const socket = new WebSocket(`${this.wsUrl}${this.wsUrl.includes("?") ? "&" : "?"}token=${encodeURIComponent(token || "")}`);
    this._socket = socket;
    this._replaced = previous;
    let opened = false;
    let closing = null; // the server's close frame: why it is about to close this socket
    socket.addEventListener("open", () => {
      opened = true;
      if (previous) previous.close(1000, "replaced");
      this._replaced = null;
      this._attempt = 0;
      this._setState("open");
      this._schedulePing();
      this._scheduleRefresh(socket, token);
      this._scheduleRotation(socket);
      if (previous) return; // it took over from an open socket: no frame was missed
      // Also on the first open: what was sent between the first list fetch and the end of
      // $connect reached no socket of ours, and would otherwise wait for the next reconnect.
      // The counts too: frames sent while away are lost; from now on frames bring them.
      this._untilDone(socket, "catchUp", () => this.catchUp());
      this._untilDone(socket, "counts", () => this._fetchCounts());
    });
    socket.addEventListener("message", (event) => {
      this._tell({ kind: "frame", data: event.data }); // only a leader (or a tab alone) has a socket
      const frame = this._onFrame(event.data);
      if (!frame || frame.type !== "close") return;
      closing = frame;
      // API Gateway closes it next with 1000: close it first with the server's code, which its $disconnect then hears.
      socket.close(Number.isInteger(frame.code) && frame.code >= 4000 && frame.code <= 4999 ? frame.code : 1000);
    });
    socket.addEventListener("close", () => {
      if (this._socket !== socket) return; // replaced by a fresher one
      clearTimeout(this._timers.ping);
      clearTimeout(this._timers.refresh);
      clearTimeout(this._timers.rotate);
      if (this._stopped) return;
      if (previous && !opened && previous.readyState === WebSocket.OPEN) {
        this._socket = previous; // a refresh's socket was refused: the old one goes on until the server closes it
        this._replaced = null;
        this._schedulePing();
        return;
      }
      if (closing && closing.code === TOO_MANY_CONNECTIONS) {
        this._stopped = true;
        this._setState("closed", { code: closing.code, reason: closing.reason });
        return;
      }
      if (closing && closing.code === TOKEN_EXPIRED) {
        if (!this._provider) {
          this.close(); // a plain token: nothing fresher to reconnect with
          this._emit("unauthorized", { message: "the token has expired" });
          return;
        }
        this.token = null; // the provider's next one, at once
        this._attempt = 0;
        this._timers.reconnect = setTimeout(() => this._open(), 0);
        return;
      }
      this._attempt += 1;
      this._setState("reconnecting");
      const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** this._attempt);
      this._timers.reconnect = setTimeout(() => this._open(), Math.random() * ceiling);
      // A refused handshake looks like any other close to a browser: ask the API whether
      // the token still holds (a 401 emits "unauthorized" and stops the reconnecting).
      if (!opened) this.unreadCount().catch(() => {});
    });
  }

  /** A new socket, overlapping this one, before API Gateway closes it at its 2-hour limit. */
  _scheduleRotation(socket) {
    clearTimeout(this._timers.rotate);
    this._timers.rotate = setTimeout(() => {
      if (!this._stopped && this._socket === socket && socket.readyState === WebSocket.OPEN) this._open(socket);
    }, Math.min(MAX_TIMER_MS, this.options.rotateAfterMs));
  }

  /** With a token provider: a fresh token and a new socket before this one's token expires. */
  _scheduleRefresh(socket, token) {
    clearTimeout(this._timers.refresh);
    if (!this._provider || !token) return; // a plain token: the server closes the socket at its exp (4001)
    const lifetimeMs = tokenLifetimeMs(token);
    const marginMs = Math.min(this.options.tokenRefreshMs, lifetimeMs === null ? Infinity : lifetimeMs / 4);
    const delayMs = Math.min(MAX_TIMER_MS, Math.max(0, expiresInMs(token) - marginMs)); // longer overflows to 0
    this._timers.refresh = setTimeout(() => this._refresh(socket, token), delayMs);
  }

  async _refresh(socket, current) {
    let token;
    try {
      token = await this._provider();
    } catch {
      return; // no fresh token: this socket goes on until the server closes it (4001), then the provider is asked again
    }
    if (this._stopped || this._socket !== socket) return;
    if (!(expiresInMs(token) > expiresInMs(current))) return; // nothing fresher yet: the same, until the server closes it
    this.token = token;
    this._open(socket);
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

  /** Act on one frame; returns it (or null when it is not JSON). */
  _onFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return null;
    }
    if (frame.type === "message.created") {
      const message = frame.message;
      const silent = frame.broadcast ? this.isMuted(message.channel) && message.severity !== "critical" : frame.silent;
      const fresh = this._deliver(message, silent, frame.unsnoozed);
      if (frame.counts) this._takeCounts(frame); // the user's new counts ride on the message's frame
      else if (frame.broadcast && fresh) this._countBroadcast(message);
    } else if (frame.type === "message.updated") this._updated(frame.message);
    else if (frame.type === "message.deleted") {
      this._snoozed.delete(frame.id);
      this._emit("delete", { id: frame.id });
    }
    else if (frame.type === "counts.updated") this._takeCounts(frame);
    else if (frame.type === "inbox.changed") {
      if (frame.counts) this._takeCounts(frame);
      this._emit("changed", { changed: frame.changed }); // many messages changed at once (a bulk change): reload
    }
    else if (frame.type === "preferences.updated") this._setPreferences(frame.preferences);
    return frame;
  }

  /**
   * A broadcast's frame carries no counts (the server would read every online holder's): the message is
   * one more unread, unseen one of its channel and tags, on the badge unless its channel is muted (and it
   * is not critical), as the server counts it.
   */
  _countBroadcast(message) {
    const next = { ...this.counts, channels: { ...this.counts.channels }, tags: { ...this.counts.tags } };
    if (!this.isMuted(message.channel) || message.severity === "critical") {
      next.total += 1;
      next.unseen += 1;
    }
    next.channels[message.channel] = (next.channels[message.channel] || 0) + 1;
    for (const tag of message.tags || []) next.tags[tag] = (next.tags[tag] || 0) + 1;
    this._setCounts(next);
  }

  /** The counts a frame carries (`counts.updated`, or `message.created` with `counts`), unless older than shown. */
  _takeCounts(frame) {
    this._countsFrames += 1;
    // Two stream shards' batches post at once: keep the newest counts, not the last to arrive.
    if (typeof frame.version === "number" && frame.version <= this._countsVersion) return;
    if (typeof frame.version === "number") this._countsVersion = frame.version;
    this._setCounts(frame.counts);
  }

  /** Fetch everything newer than the last id seen (oldest first) and emit it. */
  catchUp() {
    return this._catchUp((message) => {
      const silent = this.isMuted(message.channel) && message.severity !== "critical";
      const unsnoozed = this._snoozed.has(message.id); // listed live again: woken while this client was away
      // Every tab sees what one delivered, so whichever leads next catches up after an id all have seen.
      if (this._deliver(message, silent, unsnoozed)) this._tell({ kind: "caught", message, silent, unsnoozed });
    });
  }

  async _catchUp(each) {
    if (this.lastSeenId === null) return;
    const after = this.lastSeenId;
    let cursor;
    do {
      const page = await this.api("GET", `/me/messages?${query({ after, limit: 100, cursor })}`);
      page.items.forEach(each);
      cursor = page.nextCursor;
    } while (cursor);
  }

  /**
   * Emit a message once: true when it was new here. A snoozed message woken (`unsnoozed`) is new again once per
   * snooze known here; a repeat of its wake-up, or one this client woke itself, is only an update.
   */
  _deliver(message, silent, unsnoozed = false) {
    if (this._seen.has(message.id) && !(unsnoozed && this._snoozed.has(message.id))) {
      if (unsnoozed) this._emit("update", { message }); // at-least-once delivery: de-duplicate by id
      return false;
    }
    this._snoozed.delete(message.id);
    this._remember(message.id);
    this._emit("message", { message, silent: Boolean(silent), unsnoozed: Boolean(unsnoozed) });
    return true;
  }

  /** A state change from any device; one with `snoozedUntil` took the message out of the lists until then. */
  _updated(message) {
    if (message.snoozedUntil) this._snoozed.add(message.id);
    else this._snoozed.delete(message.id);
    this._emit("update", { message });
  }

  _remember(id) {
    this._seen.add(id);
    if (this._seen.size > this.options.rememberIds) this._seen.delete(this._seen.values().next().value);
    if (this.lastSeenId === null || id > this.lastSeenId) this.lastSeenId = id;
  }

  /** Once per open. A counts frame that arrives while it runs is newer than its answer (counts lag the stream). */
  async _fetchCounts() {
    const framesBefore = this._countsFrames;
    const counts = await this.unreadCount();
    if (this._countsFrames !== framesBefore) return;
    this._setCounts(counts);
    if (this.role === "leader") this._tell({ kind: "counts", counts });
  }

  /**
   * Run `task` (the catch-up, the counts) until it succeeds, with exponential backoff and full
   * jitter, while `socket` stays the open one: a 429 or a 5xx on reconnect must not hide what
   * arrived while away until the next reconnect. A 401 has closed the client; a new socket
   * runs its own.
   */
  async _untilDone(socket, name, task) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await task();
        return;
      } catch (error) {
        if (this._stopped || this._socket !== socket || error.status === 401) return;
        const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** attempt);
        await new Promise((resolve) => {
          this._timers[name] = setTimeout(resolve, Math.random() * ceiling);
        });
        if (this._stopped || this._socket !== socket) return;
      }
    }
  }

  _setCounts(counts) {
    this.counts = { total: counts.total || 0, unseen: counts.unseen || 0, channels: counts.channels || {}, tags: counts.tags || {} };
    this._emit("counts", this.counts);
  }

  _setPreferences(preferences) {
    this.preferences = { channels: { ...((preferences && preferences.channels) || {}) } };
    this._emit("preferences", this.preferences);
  }

  _setState(state, why = {}) {
    this.state = state;
    if (this.role === "leader") this._tell({ kind: "state", state, attempt: this._attempt, ...why });
    this._emit("connection", { state, attempt: this._attempt, ...why });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/**
 * The tabs of one origin that share a socket: a Web Lock of `name` elects the leader (its holder, until it
 * closes the group or its page goes: the browser releases the lock then), and a BroadcastChannel of the same
 * name carries notes between the tabs (never back to the sender). `lead()` runs when this tab becomes the
 * leader; `hear(note)` for each note of another tab.
 */
class TabGroup {
  constructor(name, { lead, hear }) {
    this.name = name;
    this.leading = false;
    this._lead = lead;
    this._release = null;
    this._closed = false;
    this._waiting = new AbortController();
    this._channel = new BroadcastChannel(name);
    this._channel.onmessage = (event) => hear(event.data);
  }

  /** True when this tab leads at once (no tab held the lock); else it queues to lead when the leader goes. */
  async join() {
    const now = await new Promise((resolve) => {
      navigator.locks.request(this.name, { ifAvailable: true }, (lock) => {
        resolve(Boolean(lock));
        return lock && this._hold();
      });
    });
    if (!now && !this._closed) {
      navigator.locks.request(this.name, { signal: this._waiting.signal }, () => this._hold()).catch(() => {}); // aborted: closed
    }
    return now;
  }

  /** With the lock: lead until close() (the promise the lock is held for). */
  _hold() {
    if (this._closed) return null; // closed meanwhile: released at once
    this.leading = true;
    this._lead();
    return new Promise((resolve) => {
      this._release = resolve;
    });
  }

  post(note) {
    if (!this._closed) this._channel.postMessage(note);
  }

  close() {
    this._closed = true;
    this._waiting.abort();
    if (this._release) this._release();
    this._channel.close();
  }
}

/** Web Locks (secure origins only) and BroadcastChannel: what tabs need to share a socket. */
function tabsCanShare() {
  return typeof navigator !== "undefined" && Boolean(navigator.locks) && typeof BroadcastChannel === "function";
}

/** Milliseconds until a JWT's `exp` (negative once passed; Infinity without one). Unverified: only for timing. */
function expiresInMs(token) {
  const claims = jwtClaims(token);
  return claims && typeof claims.exp === "number" ? claims.exp * 1000 - Date.now() : Infinity;
}

/** A JWT's lifetime from `iat` to `exp` in milliseconds, or null. */
function tokenLifetimeMs(token) {
  const claims = jwtClaims(token);
  return claims && typeof claims.exp === "number" && typeof claims.iat === "number" ? (claims.exp - claims.iat) * 1000 : null;
}

function jwtClaims(token) {
  try {
    const part = String(token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return null;
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
