// One message of the inbox page's list, as text: title, content, severity, its links and its buttons.
import { element, timeNode } from "./page.js";
import { severityLabel } from "./inbox-toasts.js";

const NARROW = window.matchMedia("(max-width: 640px)");

/**
 * The list item of `message`. `view.archive`: shown in the Archive view (its channel instead of the
 * read toggle); `view.hidden`: waiting for its delete. `on.changed(item, change)` runs a change (a
 * promise of the changed message); `on.delete(id)` starts a delete.
 */
export function messageItem(message, client, view, on) {
  const read = message.status === "read";
  const severity = message.severity || "normal";
  const item = element("li", { class: `message ${read ? "read" : "unread"} severity-${severity}`, "data-id": message.id });
  if (message.seen === false) item.classList.add("unseen");
  item.hidden = view.hidden;
  const meta = element("div", { class: "meta" }, [
    ...severityLabel(severity),
    ...(message.seen === false ? [element("span", { class: "new", text: "New" })] : []),
    timeNode(message.createdAt),
  ]);
  if (view.archive) meta.append(element("span", { class: "in-channel", text: message.channelTitle || message.channel }));
  else {
    meta.append(element("button", {
      type: "button", class: "tag", "aria-pressed": String(read),
      "aria-label": read ? "Read — mark as unread" : "Unread — mark as read",
      text: read ? "Read" : "Unread",
      onclick: () => on.changed(item, client.setStatus(message.id, read ? "unread" : "read")),
    }));
  }
  const link = linkOf(message);
  if (link) meta.append(linkControl(client, message, link, "View", "view"));
  (message.actions || []).forEach((action, index) => {
    meta.append(linkControl(client, message, action.url, action.label, `action ${index ? "secondary-action" : "primary-action"}`));
  });
  meta.append(
    element("button", { type: "button", class: "archive", text: message.archived ? "Unarchive" : "Archive",
      onclick: () => on.changed(item, client.setArchived(message.id, !message.archived)) }),
    element("button", { type: "button", class: "delete", text: "Delete", onclick: () => on.delete(message.id) }),
  );
  item.replaceChildren(
    element("h3", { class: "title", text: message.title }),
    ...(message.content ? [element("p", { class: "content", text: message.content })] : []),
    meta,
  );
  return item;
}

/** Where View leads: the phone link on a narrow screen when the message has one. */
function linkOf(message) {
  return (NARROW.matches && message.mobileUrl) || message.url;
}

/** View or an action: marks the message read and opens the url (an app path here, an absolute URL in a new tab). */
function linkControl(client, message, url, label, className) {
  const markRead = () => (message.status === "read" ? Promise.resolve() : client.markRead(message.id));
  if (url.startsWith("/")) {
    // In-app path: the PATCH must finish before navigating, or navigation cancels it.
    return element("button", { type: "button", class: className, text: label, onclick: async () => {
      await markRead().catch(() => {});
      location.assign(url);
    } });
  }
  return element("a", {
    class: className, href: url, target: "_blank", rel: "noopener noreferrer", text: label,
    onclick: () => { markRead().catch(() => {}); },
  });
}
