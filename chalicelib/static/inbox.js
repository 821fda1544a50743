// The inbox page. Everything from the server is put in the page as text
// (textContent), never as HTML: a title like <img onerror=…> shows as text.
import { InboxClient } from "./inbox-client.js";
import { $, TOKEN_KEY, element, expiredNotice, refreshTimes, timeNode, tokenFromPage } from "./page.js";

const PAGE = 20;
const NOTHING_TO_SHOW = { all: "No messages yet.", unread: "Nothing unread.", read: "Nothing read yet." };

const state = {
  client: null,
  status: "all",
  channel: null,
  channelsCursor: null,
  messagesCursor: null,
  channels: new Map(),
};

// --- sign in and out ------------------------------------------------------------

function start(token) {
  $("signin").hidden = true;
  $("inbox").hidden = false;
  $("mark-everything").hidden = false;
  $("sign-out").hidden = false;
  const wsUrl = document.querySelector('meta[name="inapp-ws-url"]').content;
  const client = new InboxClient({ apiUrl: new URL(".", location.href).href, wsUrl, token });
  state.client = client;
  client.addEventListener("connection", (e) => showConnection(e.detail.state));
  client.addEventListener("unread", (e) => showUnread(e.detail));
  client.addEventListener("message", (e) => onNewMessage(e.detail.message));
  client.addEventListener("update", (e) => onUpdatedMessage(e.detail.message));
  client.addEventListener("unauthorized", () => signOut(expiredNotice(["make token USER=alice", "python -m infra.local token alice"])));
  guarded(async () => {
    await loadChannels(true);
    await client.connect();
  })();
}

function showConnection(connection) {
  const node = $("connection");
  node.dataset.state = connection;
  node.textContent = { open: "connected", connecting: "connecting…", reconnecting: "reconnecting…", error: "cannot reach the server" }[connection] || "offline";
}

/** Back to the sign-in form, forgetting the token (and everything shown with it). */
function signOut(notice) {
  if (state.client) state.client.close();
  state.client = null;
  sessionStorage.removeItem(TOKEN_KEY);
  Object.assign(state, { channel: null, channelsCursor: null, messagesCursor: null });
  state.channels.clear();
  selectTab("all");
  ["channel-list", "message-list", "toasts"].forEach((id) => $(id).replaceChildren());
  showUnread({ total: 0 });
  showConnection("offline");
  ["inbox", "mark-everything", "sign-out"].forEach((id) => { $(id).hidden = true; });
  $("signin-notice").replaceChildren(...(notice || []));
  $("signin-notice").hidden = !notice;
  $("signin").hidden = false;
  $("token-input").value = "";
}

/** Run an async UI action; a refused token is handled by "unauthorized", anything else shows as the connection state. */
function guarded(action) {
  return (...args) => action(...args).catch((error) => {
    if (error.status !== 401) showConnection("error");
  });
}

// --- channels ---------------------------------------------------------------------

async function loadChannels(reset) {
  if (reset) state.channelsCursor = null;
  const page = await state.client.listChannels({ status: state.status, limit: PAGE, cursor: state.channelsCursor || undefined });
  const list = $("channel-list");
  if (reset) {
    list.replaceChildren();
    state.channels.clear();
  }
  page.items.forEach((channel) => {
    state.channels.set(channel.name, channel);
    list.append(channelItem(channel));
  });
  state.channelsCursor = page.nextCursor;
  $("channels-more").hidden = !page.nextCursor;
  $("channels-empty").textContent = NOTHING_TO_SHOW[state.status];
  $("channels-empty").hidden = state.channels.size > 0;
  const complete = reset && !page.nextCursor;
  if (complete && state.channel && !state.channels.has(state.channel)) state.channel = null; // e.g. nothing unread left
  if (state.channel) markCurrentChannel();
  else if (page.items.length) await selectChannel(page.items[0].name);
  else clearMessages();
}

/** No channel to show: an empty right pane, without the last channel's messages or buttons. */
function clearMessages() {
  state.messagesCursor = null;
  $("channel-title").textContent = NOTHING_TO_SHOW[state.status];
  $("message-list").replaceChildren();
  $("mark-channel").hidden = true;
  $("messages-more").hidden = true;
  $("messages-empty").hidden = true;
}

function channelItem(channel) {
  const button = element("button", { type: "button", class: "channel", "data-channel": channel.name, onclick: guarded(() => selectChannel(channel.name)) }, [
    element("span", { class: "name", text: channel.title || channel.name }),
    channel.unread ? element("span", { class: "count", "aria-label": `${channel.unread} unread`, text: String(channel.unread) }) : element("span"),
    element("span", { class: "latest", text: channel.latest.title }),
    timeNode(channel.latest.createdAt),
  ]);
  return element("li", {}, [button]);
}

function markCurrentChannel() {
  document.querySelectorAll(".channel").forEach((node) => {
    node.setAttribute("aria-current", String(node.dataset.channel === state.channel));
  });
}

// --- messages ---------------------------------------------------------------------

async function selectChannel(name) {
  state.channel = name;
  const channel = state.channels.get(name);
  $("channel-title").textContent = channel ? channel.title || name : name;
  $("mark-channel").hidden = false;
  markCurrentChannel();
  await loadMessages(true);
}

async function loadMessages(reset) {
  if (reset) state.messagesCursor = null;
  const page = await state.client.listMessages({
    channel: state.channel, status: state.status, limit: PAGE, cursor: state.messagesCursor || undefined,
  });
  const list = $("message-list");
  if (reset) list.replaceChildren();
  page.items.forEach((message) => {
    if (!list.querySelector(`[data-id="${message.id}"]`)) list.append(messageItem(message));
  });
  state.messagesCursor = page.nextCursor;
  $("messages-more").hidden = !page.nextCursor;
  $("messages-empty").hidden = list.children.length > 0;
}

function messageItem(message) {
  const read = message.status === "read";
  const item = element("li", { class: `message ${read ? "read" : "unread"}`, "data-id": message.id });
  const tag = element("button", {
    type: "button", class: "tag", "aria-pressed": String(read),
    "aria-label": read ? "Read — mark as unread" : "Unread — mark as read",
    text: read ? "Read" : "Unread",
    onclick: guarded(async () => render(item, await state.client.setStatus(message.id, read ? "unread" : "read"))),
  });
  const meta = element("div", { class: "meta" }, [timeNode(message.createdAt), tag]);
  if (message.url) meta.append(viewControl(message));
  item.replaceChildren(
    element("h3", { class: "title", text: message.title }),
    ...(message.content ? [element("p", { class: "content", text: message.content })] : []),
    meta,
  );
  return item;
}

function render(item, message) {
  item.replaceWith(messageItem(message));
}

function viewControl(message) {
  const markRead = () => state.client.markRead(message.id);
  if (message.url.startsWith("/")) {
    // In-app path: the PATCH must finish before navigating, or navigation cancels it.
    return element("button", { type: "button", class: "view", text: "View", onclick: async () => {
      await markRead().catch(() => {});
      location.assign(message.url);
    } });
  }
  return element("a", {
    class: "view", href: message.url, target: "_blank", rel: "noopener noreferrer", text: "View",
    onclick: () => { markRead().catch(() => {}); },
  });
}

function matchesFilter(message) {
  return state.status === "all" || state.status === message.status;
}

function onNewMessage(message) {
  toast(message);
  if (message.channel === state.channel && matchesFilter(message)) {
    const list = $("message-list");
    if (!list.querySelector(`[data-id="${message.id}"]`)) list.prepend(messageItem(message));
    $("messages-empty").hidden = true;
  }
  guarded(loadChannels)(true);
}

function onUpdatedMessage(message) {
  const item = $("message-list").querySelector(`[data-id="${message.id}"]`);
  if (item) {
    if (matchesFilter(message)) render(item, message);
    else item.remove();
  }
  guarded(loadChannels)(true);
}

function showUnread({ total }) {
  const badge = $("badge");
  badge.hidden = total === 0;
  badge.textContent = total > 99 ? "99+" : String(total);
  $("bell").setAttribute("aria-label", `Unread messages: ${total}`);
}

// --- toasts -------------------------------------------------------------------------

function toast(message) {
  const preview = message.content.length > 120 ? `${message.content.slice(0, 120)}…` : message.content;
  const node = element("div", { class: "toast", role: "status" });
  const close = () => node.remove();
  node.append(
    element("button", { type: "button", class: "open", "aria-label": `Open ${message.title}`, onclick: guarded(async () => {
      close();
      await selectChannel(message.channel);
    }) }, [element("strong", { text: message.title }), element("span", { text: preview })]),
    element("button", { type: "button", class: "close", "aria-label": "Close notification", text: "×", onclick: close }),
  );
  $("toasts").append(node);
  if (message.duration > 0) setTimeout(close, message.duration * 1000);
}

// --- wiring -------------------------------------------------------------------------

function selectTab(status) {
  state.status = status;
  document.querySelectorAll('[role="tab"]').forEach((tab) => tab.setAttribute("aria-selected", String(tab.dataset.status === status)));
}

function setStatus(status) {
  selectTab(status);
  state.channel = null;
  return loadChannels(true);
}

document.querySelectorAll('[role="tab"]').forEach((tab) => tab.addEventListener("click", guarded(() => setStatus(tab.dataset.status))));
$("channels-more").addEventListener("click", guarded(() => loadChannels(false)));
$("messages-more").addEventListener("click", guarded(() => loadMessages(false)));
$("mark-channel").addEventListener("click", guarded(async () => {
  await state.client.markAllRead(state.channel);
  await loadMessages(true);
  await loadChannels(true);
}));
$("mark-everything").addEventListener("click", guarded(async () => {
  await state.client.markAllRead();
  if (state.channel) await loadMessages(true);
  await loadChannels(true);
}));
$("bell").addEventListener("click", guarded(() => setStatus("unread")));
$("sign-out").addEventListener("click", () => signOut(null));
$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token-input").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  start(token);
});
setInterval(refreshTimes, 30_000);

const token = tokenFromPage();
if (token) start(token);
else signOut(null);
