// The inbox's tag tabs: one per tag that has unread messages (the counts' `tags`) or that a listed or arriving
// message carries, each with its unread count; one opens the tag's messages of every channel (`?tag=`).
import { element } from "./dom.js";

export class TagTabs {
  /** `view`: the InboxView it belongs to (its root, client, words and open tag). */
  constructor(view) {
    this.view = view;
    this.known = new Set(); // tags of messages seen in a list or a frame
    this.shown = ""; // the tags drawn, joined: redrawn only when they change (a redraw could swallow a click)
  }

  /** Tags of these messages; the tabs are drawn again when one is new. */
  learn(messages) {
    const before = this.known.size;
    messages.forEach((message) => (message.tags || []).forEach((tag) => this.known.add(tag)));
    if (this.known.size !== before) this.render();
  }

  tags() {
    return [...new Set([...this.known, ...Object.keys(this.view.client.counts.tags || {})])].sort();
  }

  /** The tabs, or only their counts when the tags are the same. */
  render() {
    const tags = this.tags();
    const box = this.view.$("tags");
    box.hidden = tags.length === 0;
    if (tags.join(" ") !== this.shown) {
      this.shown = tags.join(" ");
      box.replaceChildren(...tags.map((tag) => this._tab(tag)));
    }
    box.querySelectorAll("[data-tag]").forEach((tab) => tab.lastElementChild.replaceWith(this._count(tab.dataset.tag)));
    this.markCurrent();
  }

  markCurrent() {
    this.view.$("tags").querySelectorAll("[data-tag]").forEach((tab) => {
      tab.setAttribute("aria-selected", String(tab.dataset.tag === this.view.tag));
    });
  }

  _tab(tag) {
    return element("button", {
      role: "tab", type: "button", class: "tag-tab", part: "tag-tab", "data-tag": tag, "aria-selected": "false",
      onclick: this.view.guarded(() => this.view.toggleTag(tag)),
    }, [element("span", { class: "tag-name", text: tag }), this._count(tag)]);
  }

  _count(tag) {
    const unread = (this.view.client.counts.tags || {})[tag] || 0;
    const t = this.view.t;
    return unread
      ? element("span", { class: "count", part: "tag-count", "aria-label": t("channel.unread", { count: unread }), text: String(unread) })
      : element("span", { class: "count", part: "tag-count", hidden: "" });
  }
}
