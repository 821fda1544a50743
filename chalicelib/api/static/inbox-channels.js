// The inbox's channel list: a page of channels at a time, each with its latest message, unread count and
// "muted" flag, the open one marked. Its counts come from the client once known, else from the list.
import { element, timeNode } from "./dom.js";

export class ChannelList {
  /** `view`: the InboxView it belongs to (its root, client, words, status and open channel). */
  constructor(view) {
    this.view = view;
    this.items = new Map(); // name → channel, in the server's order (newest latest message first)
    this.cursor = null;
    this.loads = 0; // bumped by every load: a slower, older answer is dropped
    this.countsKnown = false; // the client's counts have arrived (they are newer than the list's)
  }

  get size() {
    return this.items.size;
  }

  has(name) {
    return this.items.has(name);
  }

  get(name) {
    return this.items.get(name);
  }

  clear() {
    this.items.clear();
    this.cursor = null;
  }

  /** The next page (or with `reset` the first) under `status`; the page, or null when a newer load overtook it. */
  async load(status, reset) {
    if (reset) this.cursor = null;
    const load = ++this.loads;
    const page = await this.view.client.listChannels({ status, limit: this.view.pageSize, cursor: this.cursor || undefined });
    if (load !== this.loads) return null;
    if (reset) this.items.clear();
    page.items.forEach((channel) => this.items.set(channel.name, channel));
    this.cursor = page.nextCursor;
    this.render();
    return page;
  }

  render() {
    this.view.$("channel-list").replaceChildren(...[...this.items.values()].map((channel) => this._item(channel)));
    this.markCurrent();
  }

  markCurrent() {
    const current = this.view.acrossChannels() ? null : this.view.channel;
    this.view.root.querySelectorAll(".channel").forEach((node) => {
      node.setAttribute("aria-current", String(node.dataset.channel === current));
    });
  }

  /** Unread per channel: the client's counts once known (a frame's, or fetched after an own change), else the list's. */
  unreadOf(name) {
    if (this.countsKnown) return this.view.client.counts.channels[name] || 0;
    const channel = this.items.get(name);
    return channel ? channel.unread : 1; // not listed: assume something to mark
  }

  /** New counts, in place: redrawing the list under the pointer could swallow a click. */
  showCounts() {
    this.countsKnown = true;
    this.view.root.querySelectorAll(".channel").forEach((node) => {
      if (this.items.has(node.dataset.channel)) node.children[1].replaceWith(this._count(node.dataset.channel));
    });
  }

  _count(name) {
    const unread = this.unreadOf(name);
    const t = this.view.t;
    return unread ? element("span", { class: "count", "aria-label": t("channel.unread", { count: unread }), text: String(unread) }) : element("span");
  }

  _item(channel) {
    const { client, t } = this.view;
    const muted = client.isMuted(channel.name);
    const name = element("span", { class: "name" }, [channel.title || channel.name]);
    if (muted) name.append(element("span", { class: "muted-flag", text: t("channel.muted") }));
    const button = element("button", {
      type: "button", class: "channel", part: "channel", "data-channel": channel.name,
      onclick: this.view.guarded(() => this.view.openChannel(channel.name)),
    }, [name, this._count(channel.name), element("span", { class: "latest", text: channel.latest.title }), timeNode(channel.latest.createdAt, t.relativeTime)]);
    return element("li", {}, [button]);
  }
}
