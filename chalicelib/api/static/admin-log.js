// admin-log.js — the send log, newest first; sends still queued or sending are polled until they finish.
import { query } from "./inbox-client.js";
import { t, withNode } from "./admin-words.js";
import { timeNode } from "./dom.js";
import { $, PagedList, element } from "./page.js";

const PAGE = 20;
const POLL_MS = 1000;
const RUNNING = ["queued", "sending"];

export class SendLog {
  constructor(client, onError) {
    this.client = client;
    this.onError = onError;
    this.polls = new Map(); // send id → timer
    this.pages = new PagedList({
      list: "log-list", more: "log-more", empty: "log-empty", row: (entry) => this.row(entry),
      fetchPage: (cursor) => client.api("GET", `/messages?${query({ channel: $("log-channel").value, limit: PAGE, cursor })}`),
    });
    $("log-more").addEventListener("click", () => this.load(false).catch(onError));
    $("log-refresh").addEventListener("click", () => this.load(true).catch(onError));
    $("log-channel").addEventListener("change", () => this.load(true).catch(onError));
  }

  setChannels(channels) {
    const select = $("log-channel");
    const chosen = select.value;
    select.replaceChildren(
      element("option", { value: "", text: t("log.all") }),
      ...channels.map((c) => element("option", { value: c.name, text: `${c.title} (${c.name})` })),
    );
    if (channels.some((c) => c.name === chosen)) select.value = chosen;
  }

  stop() {
    this.polls.forEach(clearTimeout);
    this.polls.clear();
  }

  load(reset) {
    if (reset) this.stop();
    return this.pages.load(reset);
  }

  row(entry) {
    const to = entry.audience ? t("log.toAll") : t.plural("log.receivers", entry.receivers);
    const item = element("li", { class: "row send", "data-id": entry.id, "data-status": entry.status }, [
      element("strong", { class: "send-title", text: entry.title }),
      element("span", { class: "status", "data-status": entry.status, text: t(`status.${entry.status}`) }),
      element("span", { class: "muted" }, [
        element("span", { class: "send-channel", text: entry.channel }),
        ` · ${t("log.to", { to })} · `,
        ...withNode("log.by", "sender", element("span", { class: "send-sender", text: entry.sender })),
        " · ",
        timeNode(entry.createdAt, t.relativeTime),
      ]),
      element("span", { class: "progress", text: entry.status === "queued" ? t("log.notStarted") : t("log.progress", { stored: t.number(entry.stored), total: t.number(entry.recipients) }) }),
      ...extras(entry),
    ]);
    if (RUNNING.includes(entry.status)) this.poll(entry.id);
    return item;
  }

  /** Follow a running audience send: GET /messages/{id} until it is done (or failed). */
  poll(id) {
    clearTimeout(this.polls.get(id));
    this.polls.set(id, setTimeout(async () => {
      this.polls.delete(id);
      const shown = $("log-list").querySelector(`[data-id="${id}"]`);
      if (!shown) return;
      try {
        shown.replaceWith(this.row(await this.client.api("GET", `/messages/${encodeURIComponent(id)}`)));
      } catch (error) {
        if (error.status !== 401) this.poll(id); // e.g. busy: try again on the next tick
      }
    }, POLL_MS));
  }

  /** A send just made: show it at the top (and follow it) without reloading the page of sends. */
  async prepend(id) {
    const entry = await this.client.api("GET", `/messages/${encodeURIComponent(id)}`);
    const channel = $("log-channel").value;
    if (channel && channel !== entry.channel) return;
    $("log-list").querySelector(`[data-id="${id}"]`)?.remove();
    $("log-list").prepend(this.row(entry));
    $("log-empty").hidden = true;
  }
}

/** A send's tags and own expiry, when it had them. */
function extras(entry) {
  const shown = [];
  if (entry.tags && entry.tags.length) {
    shown.push(element("span", { class: "muted send-tags" }, withNode("log.tags", "tags", element("span", { class: "tags", text: entry.tags.join(", ") }))));
  }
  if (entry.expiresAt) {
    const when = timeNode(entry.expiresAt, t.relativeTime);
    when.title = new Date(entry.expiresAt).toLocaleString(t.locale);
    shown.push(element("span", { class: "muted send-expires" }, withNode("log.expires", "when", when)));
  }
  return shown;
}
