// What each client event and each control of the inbox does: client events redraw the view and reach the host
// page as DOM events (inapp:…); the filter tabs, bulk buttons, mute and bell call the view.

/** The client's events: the view redrawn, and the host told (`inapp:connection`, `inapp:counts`, …). */
export function wireClient(view) {
  const on = (type, handler) => view.client.addEventListener(type, (e) => handler(e.detail));
  on("connection", (detail) => {
    view.showConnection(detail.state, detail.reason);
    view.host.emit("inapp:connection", detail);
  });
  on("counts", (counts) => {
    view.showCounts(counts);
    view.host.emit("inapp:counts", counts);
  });
  on("preferences", () => view.showMutes());
  on("message", ({ message, silent, unsnoozed }) => {
    view.messages.onNew(message, silent, unsnoozed);
    view.host.emit("inapp:message", { message, silent, unsnoozed });
  });
  on("update", ({ message }) => view.messages.onUpdated(message));
  on("delete", ({ id }) => view.messages.onDeleted(id));
  on("changed", () => view.reloadSoon());
  on("unauthorized", (detail) => view.host.emit("inapp:unauthorized", detail));
}

/** The panel's own controls (a message's buttons are inbox-message.js's, the tag tabs inbox-tags.js's). */
export function wireControls(view) {
  const click = (id, action) => view.$(id).addEventListener("click", view.guarded(action));
  const client = view.client;
  view.root.querySelectorAll('[role="tab"][data-status]').forEach((tab) => {
    tab.addEventListener("click", view.guarded(() => view.setStatus(tab.dataset.status)));
  });
  click("channels-more", () => view.loadChannels(false));
  click("messages-more", () => view.messages.load(false));
  click("mark-channel", () => view.reloadAfter(() => client.markAllRead(view.channel)));
  click("mark-everything", () => view.reloadAfter(() => client.markAllRead()));
  click("archive-channel", () => view.reloadAfter(() => client.archiveAll({ channel: view.channel, status: "read" })));
  click("archive-everything", () => view.reloadAfter(() => client.archiveAll({ status: "read" })));
  click("mute", () => client.setMuted(view.channel, !client.isMuted(view.channel)));
  click("bell", () => view.ring());
}
