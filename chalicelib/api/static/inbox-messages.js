// The inbox's message list: the open channel's (or a tag's) messages under the filter, the archive or the
// snoozed ones, newest first (pinned ones first in live lists), kept in step with frames from every device,
// and what View and the action buttons do.
import { messageItem } from "./inbox-message.js";
import { messageToast, noticeToast } from "./inbox-toasts.js";

export class MessageList {
  /** `view`: the InboxView it belongs to (its root, client, words, filter, open channel and pending deletes). */
  constructor(view) {
    this.view = view;
    this.cursor = null;
    this.loads = 0; // bumped by every load: the view changed meanwhile (another channel, tab or reload)
  }

  get list() {
    return this.view.$("message-list");
  }

  clear() {
    this.cursor = null;
    this.list.replaceChildren();
  }

  async load(reset) {
    const view = this.view;
    if (reset) this.cursor = null;
    const load = ++this.loads;
    const page = await view.client.listMessages({
      channel: view.acrossChannels() ? undefined : view.channel, status: view.status, archived: view.inArchive(),
      snoozed: view.inSnoozed(), tag: view.tag || undefined, limit: view.pageSize, cursor: this.cursor || undefined,
    });
    if (load !== this.loads) return;
    view.tags.learn(page.items);
    if (reset) this.list.replaceChildren();
    page.items.forEach((message) => {
      if (!this.itemOf(message.id)) this.list.append(this.itemFor(message));
    });
    this.cursor = page.nextCursor;
    view.$("messages-more").hidden = !page.nextCursor;
    this.showEmpty();
  }

  showEmpty() {
    const view = this.view;
    const empty = view.$("messages-empty");
    empty.textContent = view.t(view.inArchive() ? "empty.archived" : view.inSnoozed() ? "empty.snoozed" : "empty.channel");
    const nothingOpen = !view.channel && !view.acrossChannels(); // the title already says so
    empty.hidden = nothingOpen || [...this.list.children].some((item) => !item.hidden);
  }

  itemOf(id) {
    return this.list.querySelector(`[data-id="${CSS.escape(id)}"]`);
  }

  itemFor(message) {
    const view = this.view;
    const shown = { archive: view.inArchive(), snoozed: view.inSnoozed(), across: Boolean(view.tag), hidden: view.deletes.has(message.id) };
    return messageItem(message, view.client, view.t, shown, {
      changed: (item, change) => view.guarded(() => this.changed(item, change))(),
      delete: (id) => view.deletes.start(id),
      follow: (...args) => this.follow(...args),
    });
  }

  /**
   * View or an action: the host hears of it first (`inapp:view`, cancelable: a single-page app routes the url
   * itself); the message is marked read, and the answer says whether to open the url here. In-app paths wait
   * for the PATCH (navigating would cancel it); a cancelled link opens nothing.
   */
  follow(message, url, action, event) {
    const view = this.view;
    const allowed = view.host.emit("inapp:view", { message, url, action }, true);
    if (!allowed) event.preventDefault();
    if (view.host.popover) view.host.popover.close(false);
    const marked = message.status === "read" ? Promise.resolve() : view.client.markRead(message.id);
    return marked.then(() => allowed, () => allowed);
  }

  /**
   * A change's answer drawn; a refusal (409: a 21st pin, or archived elsewhere meanwhile) says why in a toast.
   * The change's own frame may have come first and redrawn the item (or taken it out): the answer is then no
   * newer than what a frame drew, and is left out (a later change's frame may already be drawn too).
   */
  async changed(item, change) {
    let message;
    try {
      message = await change;
    } catch (error) {
      if (error.status !== 409) throw error;
      noticeToast(this.view.$("toasts"), this.view.t("message.refused", { reason: error.message }), this.view.t);
      return;
    }
    if (item.isConnected) this.render(item, message);
  }

  /**
   * An item the server changed: redrawn where it belongs (moved when it was pinned or unpinned), or taken out of
   * a list it no longer belongs in (archived, snoozed, woken, another status).
   */
  render(item, message) {
    const moved = this.pinsFirst() && (item.dataset.pinned === "true") !== Boolean(message.pinned);
    if (!this.belongsHere(message) || moved) item.remove();
    else item.replaceWith(this.redrawn(item, message));
    if (moved && this.belongsHere(message)) this.insertInOrder(message);
    this.view.tags.learn([message]);
    this.showEmpty();
  }

  /** `message`'s new item in place of `item`, its Snooze menu still open if it was (a seen frame must not close it). */
  redrawn(item, message) {
    const fresh = this.itemFor(message);
    const menu = fresh.querySelector(".snooze");
    if (menu && item.querySelector(".snooze[open]")) menu.open = true;
    return fresh;
  }

  belongsHere(message) {
    const view = this.view;
    if (view.inArchive()) return Boolean(message.archived);
    if (view.inSnoozed()) return Boolean(message.snoozedUntil) && !message.archived;
    if (message.archived || message.snoozedUntil) return false;
    const where = view.tag ? (message.tags || []).includes(view.tag) : message.channel === view.channel;
    return where && (view.status === "all" || view.status === message.status);
  }

  /** Live lists show the pinned messages first; the archive and the snoozed list keep plain id order. */
  pinsFirst() {
    return !this.view.inArchive() && !this.view.inSnoozed();
  }

  /**
   * Newest first, by id, after the pinned ones; a message pinned just now goes on top (the newest pinned). An
   * item older than every shown one waits for "Load more" if there is more.
   */
  insertInOrder(message) {
    const pinned = this.pinsFirst() && Boolean(message.pinned);
    const nodes = [...this.list.children];
    const after = pinned ? nodes[0] : nodes.find((node) => !(this.pinsFirst() && node.dataset.pinned) && node.dataset.id < message.id);
    if (after) after.before(this.itemFor(message));
    else if (!this.cursor || pinned) this.list.append(this.itemFor(message));
    this.showEmpty();
  }

  /** A new message, or a snoozed one back (`unsnoozed`): a toast unless silent, and in the list if it belongs. */
  onNew(message, silent, unsnoozed) {
    const view = this.view;
    if (!silent) messageToast(view.$("toasts"), message, view.t, view.guarded((shown) => view.openFromToast(shown)), unsnoozed);
    this.onUpdated(message);
  }

  onUpdated(message) {
    const item = this.itemOf(message.id);
    if (item) this.render(item, message);
    else if (this.belongsHere(message)) this.insertInOrder(message);
    this.view.tags.learn([message]);
    this.view.refreshChannels();
  }

  /** Messages past their `expiresAt` are gone for everyone: out of the list without waiting for a frame. */
  dropExpired(now = Date.now()) {
    this.list.querySelectorAll("[data-expires]").forEach((item) => {
      if (Date.parse(item.dataset.expires) <= now) item.remove();
    });
    this.showEmpty();
  }

  onDeleted(id) {
    this.view.deletes.forget(id);
    const item = this.itemOf(id);
    if (item) item.remove();
    this.showEmpty();
    this.view.refreshChannels();
  }

  hide(id) {
    const item = this.itemOf(id);
    if (item) item.hidden = true;
    this.showEmpty();
  }

  restore(id) {
    const item = this.itemOf(id);
    if (item) {
      item.hidden = false;
      item.querySelector(".delete").focus();
    } else this.view.guarded(() => this.load(true))(); // the list was reloaded meanwhile without it
    this.showEmpty();
  }
}
