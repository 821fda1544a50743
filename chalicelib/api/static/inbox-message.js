// One message of the inbox's list, as text: title, content, severity, pin, tags, expiry, its links and buttons.
import { element, fillNode, timeNode } from "./dom.js";
import { snoozeMenu } from "./inbox-snooze.js";
import { severityLabel } from "./inbox-toasts.js";

const NARROW = window.matchMedia("(max-width: 640px)");

/**
 * The list item of `message`, its words by `t`. `view.archive`: shown in the Archive view (its channel instead
 * of the read toggle); `view.snoozed`: in the Snoozed view (until when, and Wake now instead of the toggle);
 * `view.across`: a list of every channel's messages (a tag's), which names the channel; `view.hidden`: waiting
 * for its delete. `on.changed(item, change)` runs a change (a
 * promise of the changed message); `on.delete(id)` starts a delete; `on.follow(message, url, action, event)`
 * handles View (action null) or an action's click, and answers whether to open the url here.
 */
export function messageItem(message, client, t, view, on) {
  const read = message.status === "read";
  const severity = message.severity || "normal";
  const item = element("li", {
    class: `message ${read ? "read" : "unread"} severity-${severity}`,
    part: `message message-${read ? "read" : "unread"} message-${severity}`,
    "data-id": message.id,
    ...(message.pinned ? { "data-pinned": "true" } : {}),
    ...(message.expiresAt ? { "data-expires": message.expiresAt } : {}),
  });
  const live = !message.archived && !message.snoozedUntil;
  if (message.seen === false) item.classList.add("unseen");
  item.hidden = view.hidden;
  const meta = element("div", { class: "meta" }, [
    ...severityLabel(severity, t),
    ...(message.pinned && live ? [element("span", { class: "pinned", part: "pinned", text: t("message.pinned") })] : []),
    ...(message.seen === false ? [element("span", { class: "new", text: t("message.new") })] : []),
    timeNode(message.createdAt, t.relativeTime),
    ...stateNotes(message, t),
  ]);
  if (view.archive || view.snoozed || view.across) {
    meta.append(element("span", { class: "in-channel", text: message.channelTitle || message.channel }));
  }
  if (view.snoozed) {
    meta.append(element("button", { type: "button", class: "wake", part: "button wake", text: t("message.wake"),
      onclick: () => on.changed(item, client.wake(message.id)) }));
  } else if (!view.archive) {
    meta.append(element("button", {
      type: "button", class: "tag", part: "button", "aria-pressed": String(read),
      "aria-label": t(read ? "message.markUnread" : "message.markRead"),
      text: t(read ? "message.read" : "message.unread"),
      onclick: () => on.changed(item, client.setStatus(message.id, read ? "unread" : "read")),
    }));
  }
  const link = linkOf(message);
  if (link) meta.append(linkControl(message, link, null, t("message.view"), "view", on.follow));
  (message.actions || []).forEach((action, index) => {
    const kind = index ? "secondary" : "primary";
    meta.append(linkControl(message, action.url, action, action.label, `action ${kind}-action`, on.follow, `action action-${kind}`));
  });
  if (live) {
    meta.append(
      element("button", { type: "button", class: "pin", part: "button pin", "aria-pressed": String(Boolean(message.pinned)),
        text: t(message.pinned ? "message.unpin" : "message.pin"), onclick: () => on.changed(item, client.setPinned(message.id, !message.pinned)) }),
      snoozeMenu(t, (until) => on.changed(item, client.snooze(message.id, until))),
    );
  }
  meta.append(
    element("button", { type: "button", class: "archive", part: "button", text: t(message.archived ? "message.unarchive" : "message.archive"),
      onclick: () => on.changed(item, client.setArchived(message.id, !message.archived)) }),
    element("button", { type: "button", class: "delete", part: "button", text: t("message.delete"), onclick: () => on.delete(message.id) }),
  );
  item.replaceChildren(
    element("h3", { class: "title", text: message.title }),
    ...(message.content ? [element("p", { class: "content", text: message.content })] : []),
    ...(message.tags && message.tags.length ? [tagList(message.tags, t)] : []),
    meta,
  );
  return item;
}

/** When it expires (relative, kept current like every time), and until when it is snoozed (the local time). */
function stateNotes(message, t) {
  const notes = [];
  if (message.expiresAt) {
    notes.push(element("span", { class: "expires", part: "expires" }, fillNode(t("message.expires"), "when", timeNode(message.expiresAt, t.relativeTime))));
  }
  if (message.snoozedUntil) {
    const until = new Date(message.snoozedUntil).toLocaleString(t.locale, { dateStyle: "medium", timeStyle: "short" });
    notes.push(element("span", { class: "snoozed-until", part: "snoozed-until", title: message.snoozedUntil },
      fillNode(t("message.snoozedUntil"), "when", until)));
  }
  return notes;
}

function tagList(tags, t) {
  return element("ul", { class: "message-tags", "aria-label": t("message.tags") },
    tags.map((tag) => element("li", { class: "message-tag", part: "message-tag", text: tag })));
}

/** Where View leads: the phone link on a narrow screen when the message has one. */
function linkOf(message) {
  return (NARROW.matches && message.mobileUrl) || message.url;
}

/**
 * View or an action: an app path (`/…`, the embedding app's) is a button that opens it in this tab once
 * `follow` allows it; an absolute URL is a link to a new tab, which `follow` may cancel.
 */
function linkControl(message, url, action, label, className, follow, part = className) {
  if (url.startsWith("/")) {
    return element("button", { type: "button", class: className, part, text: label, onclick: async (event) => {
      if (await follow(message, url, action, event)) location.assign(url);
    } });
  }
  return element("a", {
    class: className, part, href: url, target: "_blank", rel: "noopener noreferrer", text: label,
    onclick: (event) => follow(message, url, action, event),
  });
}
