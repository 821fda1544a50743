// The inbox's message list: the open channel's messages under the filter (or the archive), newest first,
// kept in step with frames from every device, and what View and the action buttons do.
import { messageItem } from "./inbox-message.js";
import { messageToast } from "./inbox-toasts.js";

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
    const archived = view.inArchive();
    const load = ++this.loads;
    const page = await view.client.listMessages({
      channel: archived ? undefined : view.channel, status: view.status, archived, limit: view.pageSize, cursor: this.cursor || undefined,
    });
    if (load !== this.loads) return;
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
    empty.textContent = view.t(view.inArchive() ? "empty.archived" : "empty.channel");
    const nothingOpen = !view.channel && !view.inArchive(); // the title already says so
    empty.hidden = nothingOpen || [...this.list.children].some((item) => !item.hidden);
  }

  itemOf(id) {
    return this.list.querySelector(`[data-id="${CSS.escape(id)}"]`);
  }

  itemFor(message) {
    const view = this.view;
    return messageItem(message, view.client, view.t, { archive: view.inArchive(), hidden: view.deletes.has(message.id) }, {
      changed: (item, change) => view.guarded(async () => this.render(item, await change))(),
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

  /** An item the server changed: redrawn where it belongs, or taken out of a list it no longer belongs in. */
  render(item, message) {
    if (this.belongsHere(message)) item.replaceWith(this.itemFor(message));
    else item.remove();
    this.showEmpty();
  }

  belongsHere(message) {
    const view = this.view;
    if (view.inArchive()) return Boolean(message.archived);
    return !message.archived && message.channel === view.channel && (view.status === "all" || view.status === message.status);
  }

  /** Newest first, by id; an item older than every shown one waits for "Load more" if there is more. */
  insertInOrder(message) {
    const after = [...this.list.children].find((node) => node.dataset.id < message.id);
    if (after) after.before(this.itemFor(message));
    else if (!this.cursor) this.list.append(this.itemFor(message));
    this.showEmpty();
  }

  onNew(message, silent) {
    const view = this.view;
    if (!silent) messageToast(view.$("toasts"), message, view.t, view.guarded((shown) => view.openFromToast(shown)));
    if (this.belongsHere(message) && !this.itemOf(message.id)) this.insertInOrder(message);
    view.refreshChannels();
  }

  onUpdated(message) {
    const item = this.itemOf(message.id);
    if (item) this.render(item, message);
    else if (this.belongsHere(message)) this.insertInOrder(message);
    this.view.refreshChannels();
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
