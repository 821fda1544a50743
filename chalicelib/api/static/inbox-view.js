// The inbox inside the element's shadow root: the filters, the open channel (or a tag, the archive, the snoozed
// messages), the counts, the bulk buttons and every frame's effect. Its lists are inbox-channels.js,
// inbox-messages.js and inbox-tags.js.
import { refreshTimes } from "./dom.js";
import { ChannelList } from "./inbox-channels.js";
import { MessageList } from "./inbox-messages.js";
import { TagTabs } from "./inbox-tags.js";
import { PendingDeletes } from "./inbox-undo.js";
import { wireClient, wireControls } from "./inbox-wiring.js";

const UNDO_MS = 5000;
const ARCHIVE = "archived";
const SNOOZED = "snoozed";
const NOTHING_TO_SHOW = { all: "empty.all", unread: "empty.unread", read: "empty.read", archived: "empty.archived", snoozed: "empty.snoozed" };
const CHANNEL_CONTROLS = ["mark-channel", "archive-channel", "mute"];
const CONNECTION = { open: "connection.open", connecting: "connection.connecting", reconnecting: "connection.reconnecting",
  error: "connection.error" };

export class InboxView {
  /**
   * `root`: the skeleton (inbox-template.js), this view's own: a view stopped while an answer was on its way
   * writes into its old, detached skeleton, never into the next one. `host.emit(type, detail, cancelable)`
   * dispatches a DOM event from the element and answers false when a listener cancelled it;
   * `host.popover`: the panel's opener in the popover layout, else null.
   */
  constructor(root, client, t, host) {
    Object.assign(this, { root, client, t, host, pageSize: 20 });
    this.status = "all"; // a status filter, or ARCHIVE or SNOOZED for those views
    this.channel = null;
    this.tag = null; // a tag's messages of every channel are shown (under the status filter) instead of a channel's
    this.lastChannel = null; // the channel open before the Archive, Snoozed or a tag's view: open again when leaving it
    this.refreshTimer = null;
    this.reloadTimer = null;
    this.stopped = false;
    this.channels = new ChannelList(this);
    this.messages = new MessageList(this);
    this.tags = new TagTabs(this);
    this.deletes = new PendingDeletes(client, UNDO_MS, { toasts: this.$("toasts"), t }, {
      hide: (id) => this.messages.hide(id), restore: (id) => this.messages.restore(id), deleted: (id) => this.messages.onDeleted(id),
    });
    this.timesTimer = setInterval(() => {
      refreshTimes(root, t.relativeTime);
      this.messages.dropExpired();
    }, 30_000);
  }

  $(id) {
    return this.root.querySelector(`#${id}`);
  }

  inArchive() {
    return this.status === ARCHIVE;
  }

  inSnoozed() {
    return this.status === SNOOZED;
  }

  /** The Archive and Snoozed views: every channel's messages, whatever the status. */
  byState() {
    return this.inArchive() || this.inSnoozed();
  }

  /** No channel open: the messages of every channel (the archive, the snoozed ones, a tag's). */
  acrossChannels() {
    return this.byState() || this.tag !== null;
  }

  /** Run an async UI action; a refused token is handled by "unauthorized", anything else shows as the connection state. */
  guarded(action) {
    return (...args) => action(...args).catch((error) => {
      if (error.status !== 401) this.showConnection("error");
    });
  }

  /** Wire the client and the controls, list the channels, then connect. */
  start() {
    wireClient(this);
    wireControls(this);
    this.guarded(async () => {
      await this.loadChannels(true);
      await this.client.connect();
    })();
  }

  /** Send the deletes still waiting (`keepalive`: the page is being left), close the socket, stop the timers. */
  stop(keepalive) {
    this.stopped = true;
    this.deletes.flush(keepalive);
    this.client.close();
    clearInterval(this.timesTimer);
    clearTimeout(this.refreshTimer);
    clearTimeout(this.reloadTimer);
  }

  /** The connection's state; `reason` when the server closed it for good (a newer tab or device took its place). */
  showConnection(connection, reason) {
    const node = this.$("connection");
    node.dataset.state = connection;
    const key = CONNECTION[connection];
    node.textContent = key ? this.t(key) : reason ? this.t("connection.closed", { reason }) : this.t("connection.offline");
  }

  // --- channels ---------------------------------------------------------------------

  async loadChannels(reset) {
    const status = this.byState() ? "all" : this.status;
    const page = await this.channels.load(status, reset);
    if (!page) return;
    this.$("channels-more").hidden = !page.nextCursor;
    this.$("channels-empty").textContent = this.t(NOTHING_TO_SHOW[status]);
    this.$("channels-empty").hidden = this.channels.size > 0;
    if (this.acrossChannels()) return; // the right pane shows the archive, the snoozed or a tag's, not a channel
    const complete = reset && !page.nextCursor;
    if (complete && this.channel && !this.channels.has(this.channel)) this.channel = null; // e.g. nothing unread left
    if (!this.channel && page.items.length) await this.selectChannel(page.items[0].name);
    else if (!this.channel) this.clearMessages();
    this.enableMarkButtons();
  }

  /** After a frame: the channel list again (order, latest), at most once per burst of frames. */
  refreshChannels() {
    clearTimeout(this.refreshTimer);
    if (this.stopped) return; // e.g. a delete sent on the way out was answered
    this.refreshTimer = setTimeout(this.guarded(() => this.loadChannels(true)), 150);
  }

  /** No channel to show: an empty right pane, without the last channel's messages or buttons. */
  clearMessages() {
    this.messages.clear();
    this.$("channel-title").textContent = this.t(NOTHING_TO_SHOW[this.status]);
    this.showChannelControls(false);
    this.$("messages-more").hidden = true;
    this.$("messages-empty").hidden = true;
  }

  showChannelControls(shown) {
    CHANNEL_CONTROLS.forEach((id) => { this.$(id).hidden = !shown; });
  }

  showMutes() {
    this.channels.render();
    this.$("mute").setAttribute("aria-pressed", String(Boolean(this.channel) && this.client.isMuted(this.channel)));
  }

  /** A channel opened by the user: its list is seen (the badge counts what was never shown in a list). */
  async openChannel(name) {
    const across = this.acrossChannels();
    this.tag = null;
    this.tags.markCurrent();
    if (this.byState()) this.selectTab("all");
    if (across) {
      this.channel = name;
      await this.loadChannels(true);
    }
    await this.selectChannel(name);
    await this.client.markAllSeen(name);
  }

  /** A toast clicked: its channel, opened (and the panel, in a popover). */
  async openFromToast(message) {
    if (this.host.popover) this.host.popover.open();
    await this.openChannel(message.channel);
  }

  async selectChannel(name) {
    this.channel = name;
    const channel = this.channels.get(name);
    this.$("channel-title").textContent = channel ? channel.title || name : name;
    this.showChannelControls(true);
    this.showMutes();
    this.enableMarkButtons();
    await this.messages.load(true);
  }

  /** The Archive, Snoozed or a tag's view: its title, no channel marked, its messages. */
  async showAcross() {
    this.lastChannel = this.channel || this.lastChannel;
    this.channel = null;
    const title = this.inArchive() ? this.t("archive.title") : this.inSnoozed() ? this.t("snoozed.title") : this.t("tag.title", { tag: this.tag });
    this.$("channel-title").textContent = title;
    this.showChannelControls(false);
    this.channels.markCurrent();
    this.tags.markCurrent();
    await this.messages.load(true);
  }

  /** A tag tab: its messages of every channel under the status filter (from the Archive or Snoozed: under All); again: back. */
  async toggleTag(tag) {
    const kept = this.acrossChannels() ? this.lastChannel : this.channel;
    const fromState = this.byState();
    this.tag = this.tag === tag ? null : tag;
    this.messages.loads += 1; // as in selectTab
    this.tags.markCurrent();
    if (fromState) this.selectTab("all");
    this.channel = this.tag ? null : kept;
    this.lastChannel = kept;
    if (fromState || !this.tag) await this.loadChannels(true); // back to a channel: the first, if none was open
    if (this.tag) await this.showAcross();
    else if (this.channel && this.channel === kept) await this.selectChannel(kept);
  }

  // --- counts and tabs ----------------------------------------------------------------

  /** The badge shows what was never seen in a list; channel counts show unread. From frames, and after each own change. */
  showCounts({ total, unseen, channels }) {
    const badge = this.$("badge");
    badge.hidden = unseen === 0;
    badge.textContent = unseen > 99 ? "99+" : String(unseen);
    this.$("bell").setAttribute("aria-label", this.t("bell.label", { unseen, total }));
    if (channels) this.channels.showCounts();
    this.tags.render();
    this.enableMarkButtons();
  }

  /** "Mark … read" only when there is something unread to mark (per channel: muted ones too). */
  enableMarkButtons() {
    const unread = this.channels.countsKnown ? this.client.counts.channels : null;
    this.$("mark-everything").disabled = unread ? !Object.values(unread).some((n) => n > 0) : false;
    this.$("mark-channel").disabled = !this.channel || this.channels.unreadOf(this.channel) === 0;
  }

  selectTab(status) {
    this.status = status;
    this.messages.loads += 1; // a list on its way was asked for under the filter before: dropped when it comes
    this.root.querySelectorAll('[role="tab"][data-status]').forEach((tab) => tab.setAttribute("aria-selected", String(tab.dataset.status === status)));
  }

  /** Another tab: the open channel stays open when it has messages there (else the first channel opens). */
  async setStatus(status) {
    const kept = this.acrossChannels() ? this.lastChannel : this.channel;
    this.selectTab(status);
    if (this.byState()) this.tag = null; // the archive and the snoozed list are of every tag
    this.channel = this.acrossChannels() ? null : kept;
    if (this.acrossChannels()) this.lastChannel = kept;
    this.showChannelControls(false); // until a channel is open again: they act on it
    await this.loadChannels(true);
    if (this.acrossChannels()) await this.showAcross();
    else if (this.channel && this.channel === kept) await this.selectChannel(kept); // its messages, filtered anew
  }

  /** Many messages changed elsewhere at once (`inbox.changed`): the list and channels again, once per burst. */
  reloadSoon() {
    clearTimeout(this.reloadTimer);
    if (this.stopped) return;
    this.reloadTimer = setTimeout(this.guarded(() => this.reloadAfter(async () => {})), 300);
  }

  async reloadAfter(change) {
    await change();
    if (this.channel || this.acrossChannels()) await this.messages.load(true);
    await this.loadChannels(true);
  }

  /** The bell: the unread list (opening the panel in a popover), everything in it seen, so the badge clears. */
  async ring() {
    if (this.host.popover && !this.host.popover.toggle()) return; // it closed the panel
    await this.setStatus("unread");
    await this.client.markAllSeen();
  }
}
