// page.js — what the inbox page and the admin console share: text-only DOM building and sign-in.
// Everything from the server goes into the page as text (textContent), never as HTML.
import { element, fillNode } from "./dom.js";

export { element };
export const TOKEN_KEY = "inapp-token";
const LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]"];

export const $ = (id) => document.getElementById(id);

/** The token from `#token=…` (then kept out of the address bar) or from this tab's session. */
export function tokenFromPage() {
  return tokenFromHash() || sessionStorage.getItem(TOKEN_KEY);
}

/** A `#token=…` in the address bar: kept for this tab's session and taken out of the address bar. */
function tokenFromHash() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (!token) return null;
  sessionStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, "", location.pathname + location.search);
  return token;
}

/** `signIn(token)` whenever a `#token=…` link is pasted into this open tab (no reload: only the hash changed). */
export function onTokenPasted(signIn) {
  window.addEventListener("hashchange", () => {
    const token = tokenFromHash();
    if (token) signIn(token);
  });
}

const isLocal = () => LOCAL_HOSTS.includes(location.hostname);

/**
 * "token invalid or expired", and where a new one comes from (locally: `command`, a make target), in the words
 * of `t` (a translator of the console's catalogues: the sign-in's keys).
 */
export function expiredNotice(command, t) {
  return fillNode(t(isLocal() ? "signin.expiredLocal" : "signin.expiredRemote"), "command", element("code", { text: command }));
}

/** Under the sign-in form on the local stack: the command that prints a token, as typed in the project's folder. */
export function showTokenHint(command, t) {
  const hint = $("signin-hint");
  hint.hidden = !isLocal();
  if (isLocal()) hint.replaceChildren(...fillNode(t("signin.hint"), "command", element("code", { text: command })));
}

/**
 * A list filled a page at a time from `{items, nextCursor}`, with its "Load more" button and its
 * "nothing here" note (element ids). `fetchPage(cursor)` asks for one page; `row(item)` builds one entry.
 */
export class PagedList {
  constructor({ list, more, empty, row, fetchPage }) {
    Object.assign(this, { list, more, empty, row, fetchPage });
    this.cursor = null;
    this.seq = 0;
  }

  /**
   * The next page, or with `reset` the first one again. An answer overtaken by a newer load is dropped,
   * and while a reset is on its way there is no next page to ask for (the old list's cursor is gone).
   */
  async load(reset) {
    if (reset) {
      this.cursor = null;
      $(this.more).hidden = true;
    } else if (!this.cursor) {
      return;
    }
    const seq = ++this.seq;
    const page = await this.fetchPage(this.cursor || undefined);
    if (seq !== this.seq) return;
    const list = $(this.list);
    if (reset) list.replaceChildren();
    page.items.forEach((item) => list.append(this.row(item)));
    this.cursor = page.nextCursor;
    $(this.more).hidden = !page.nextCursor;
    $(this.empty).hidden = list.children.length > 0;
  }
}
