// <inapp-inbox>: the whole inbox as one framework-free custom element (bell and badge, the panel, toasts) in
// an open shadow root, styled by a constructed stylesheet that host pages theme through custom properties and
// ::part. /inapp-inbox.js defines it, with the server's WebSocket URL as the default of `ws`.
//
// Attributes: api, ws, token, locale, layout ("popover", the default, or "page"). Property: tokenProvider.
// Events (CustomEvent, bubbles, composed; payload in `detail`):
//   inapp:message     {message, silent, unsnoozed}  a new message (each id once; silent: no toast, a muted channel;
//                                                unsnoozed: a snoozed one back, its id again once per snooze)
//   inapp:counts      {total, unseen, channels, tags}  the badge's counts changed (tags: unread per tag)
//   inapp:view        {message, url, action}     View (action null) or an action {label, url} was clicked;
//                                                cancelable: preventDefault() and the element opens nothing
//   inapp:connection  {state, attempt, code?, reason?}  connecting | open | reconnecting | closed
//   inapp:unauthorized {message}                 the API refused the token: set a new one
import { pickLocale, translator } from "./i18n.js";
import { InboxClient } from "./inbox-client.js";
import { Popover } from "./inbox-popover.js";
import { STYLES } from "./inbox-styles.js";
import { skeleton } from "./inbox-template.js";
import { InboxView } from "./inbox-view.js";

const API_BASE = new URL("..", import.meta.url).href; // this file is <api>/static/inbox-element.js
const REFLECTED = ["api", "ws", "token", "locale", "layout"];

let sheet = null; // one stylesheet shared by every instance

function styles() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLES);
  }
  return sheet;
}

export class InappInbox extends HTMLElement {
  static observedAttributes = REFLECTED;
  static defaultWsUrl = "";

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).adoptedStyleSheets = [styles()];
    this._provider = null;
    this._view = null;
    this._popover = null;
    this._missing = new Set();
    this._restarting = false;
    this._leaving = () => this._view && this._view.deletes.flush(true); // the page goes: send the waiting deletes
  }

  /** An async function returning a fresh token (asked again before each one expires); it wins over `token`. */
  get tokenProvider() {
    return this._provider;
  }

  set tokenProvider(provider) {
    this._provider = typeof provider === "function" ? provider : null;
    this._restart();
  }

  /** Where the API is: `api`, else where this module was loaded from. */
  get apiUrl() {
    return this.getAttribute("api") || API_BASE;
  }

  get wsUrl() {
    return this.getAttribute("ws") || InappInbox.defaultWsUrl;
  }

  /** Every catalogue key a rendering asked for and the locale lacked (en's text was shown instead). */
  get missingKeys() {
    return [...this._missing];
  }

  connectedCallback() {
    // A property set before this module defined the element sits on the instance, hiding the accessor: move it.
    ["tokenProvider", ...REFLECTED].forEach((name) => {
      if (!Object.prototype.hasOwnProperty.call(this, name)) return;
      const value = this[name];
      delete this[name];
      this[name] = value;
    });
    window.addEventListener("pagehide", this._leaving);
    this._restart();
  }

  disconnectedCallback() {
    window.removeEventListener("pagehide", this._leaving);
    this._restart();
  }

  attributeChangedCallback(name, old, value) {
    if (old !== value) this._restart();
  }

  /** Start again from scratch, once for every change made in one go (a framework sets several attributes). */
  _restart() {
    if (this._restarting) return;
    this._restarting = true;
    queueMicrotask(() => {
      this._restarting = false;
      this._stop();
      if (this.isConnected) this._start();
    });
  }

  _start() {
    const t = translator(pickLocale(this.getAttribute("locale")), (key) => this._missing.add(key));
    const layout = this.getAttribute("layout") === "page" ? "page" : "popover";
    const root = skeleton(t, layout);
    this.shadowRoot.replaceChildren(root);
    this._popover = layout === "page" ? null : new Popover(this, root);
    const token = this._provider || this.getAttribute("token");
    if (!token) return; // the bell, empty, until a token comes
    const client = new InboxClient({ apiUrl: this.apiUrl, wsUrl: this.wsUrl, token });
    this._view = new InboxView(root, client, t, { emit: (...args) => this._emit(...args), popover: this._popover });
    this._view.start();
  }

  _stop() {
    if (this._popover) this._popover.close(false);
    if (this._view) this._view.stop(false);
    this._view = null;
  }

  /** Dispatch `type` from the element, out of its shadow root; false when a listener cancelled it. */
  _emit(type, detail, cancelable = false) {
    return this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true, cancelable }));
  }
}

// `api`, `ws`, `token`, `locale` and `layout` as properties too (a framework may set either).
REFLECTED.forEach((name) => {
  Object.defineProperty(InappInbox.prototype, name, {
    get() {
      return this.getAttribute(name);
    },
    set(value) {
      if (value === null || value === undefined || value === "") this.removeAttribute(name);
      else this.setAttribute(name, String(value));
    },
  });
});
