// The inbox page. Everything from the server is put in the page as text
// (textContent), never as HTML: a title like <img onerror=…> shows as text.
import { InboxClient } from "./inbox-client.js";
import { $, TOKEN_KEY, element, expiredNotice, onTokenPasted, refreshTimes, showTokenHint, timeNode, tokenFromPage } from "./page.js";
import { messageItem } from "./inbox-message.js";
import { messageToast } from "./inbox-toasts.js";
import { PendingDeletes } from "./inbox-undo.js";

const PAGE = 20;
const UNDO_MS = 5000;
const ARCHIVE = "archived";
const NOTHING_TO_SHOW = { all: "No messages yet.", unread: "Nothing unread.", read: "Nothing read yet.", archived: "Nothing archived." };
const CHANNEL_CONTROLS = ["mark-channel", "archive-channel", "mute"];
const TOKEN_COMMAND = "make token USER=alice"; // what prints a token on the local stack (the sign-in hints)

const state = {
  client: null,
  status: "all", // a status filter, or ARCHIVE for the Archive view
  channel: null,
  lastChannel: null, // the channel open before the Archive view: open again when leaving it
  channelsCursor: null,
  messagesCursor: null,
  channels: new Map(),
  countsKnown: false,
  deletes: null, // PendingDeletes: hidden now, deleted after UNDO_MS unless undone
  refreshTimer: null,
  loads: { channels: 0, messages: 0 }, // bumped by every load: a slower, older answer is dropped
};

const inArchive = () => state.status === ARCHIVE;

// --- sign in and out ------------------------------------------------------------

function start(token) {
  $("signin").hidden = true;
  ["inbox", "mark-everything", "archive-everything", "sign-out"].forEach((id) => { $(id).hidden = false; });
  const wsUrl = document.querySelector('meta[name="inapp-ws-url"]').content;
  // A token provider: the page's newest token (a pasted one replaces it), asked again before it expires and
  // after the server closed an expired one's socket (4001); an expired one ends in "unauthorized".
  const tokenProvider = () => sessionStorage.getItem(TOKEN_KEY) || token;
  const client = new InboxClient({ apiUrl: new URL(".", location.href).href, wsUrl, tokenProvider });
  state.client = client;
  state.deletes = new PendingDeletes(client, UNDO_MS, { hide, restore, deleted: onDeletedMessage });
  client.addEventListener("connection", (e) => showConnection(e.detail.state, e.detail.reason));
  client.addEventListener("counts", (e) => showCounts(e.detail));
  client.addEventListener("preferences", () => showMutes());
  client.addEventListener("message", (e) => onNewMessage(e.detail.message, e.detail.silent));
  client.addEventListener("update", (e) => onUpdatedMessage(e.detail.message));
  client.addEventListener("delete", (e) => onDeletedMessage(e.detail.id));
  client.addEventListener("unauthorized", () => signOut(expiredNotice(TOKEN_COMMAND)));
  guarded(async () => {
    await loadChannels(true);
    await client.connect();
  })();
}

/** The connection's state; `reason` when the server closed it for good (a newer tab or device took its place). */
function showConnection(connection, reason) {
  const node = $("connection");
  node.dataset.state = connection;
  const text = { open: "connected", connecting: "connecting…", reconnecting: "reconnecting…", error: "cannot reach the server" }[connection];
  node.textContent = text || (reason ? `offline: ${reason} (reload to connect here)` : "offline");
}

/** Back to the sign-in form, forgetting the token (and everything shown with it). */
function signOut(notice) {
  if (state.deletes) state.deletes.flush(false);
  if (state.client) state.client.close();
  state.client = null;
  sessionStorage.removeItem(TOKEN_KEY);
  Object.assign(state, { channel: null, lastChannel: null, channelsCursor: null, messagesCursor: null, countsKnown: false });
  state.channels.clear();
  selectTab("all");
  ["channel-list", "message-list", "toasts"].forEach((id) => $(id).replaceChildren());
  showCounts({ total: 0, unseen: 0 });
  showConnection("offline");
  ["inbox", "mark-everything", "archive-everything", "sign-out"].forEach((id) => { $(id).hidden = true; });
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
  const status = inArchive() ? "all" : state.status;
  const load = ++state.loads.channels;
  const page = await state.client.listChannels({ status, limit: PAGE, cursor: state.channelsCursor || undefined });
  if (load !== state.loads.channels) return;
  if (reset) state.channels.clear();
  page.items.forEach((channel) => state.channels.set(channel.name, channel));
  state.channelsCursor = page.nextCursor;
  renderChannels();
  $("channels-more").hidden = !page.nextCursor;
  $("channels-empty").textContent = NOTHING_TO_SHOW[status];
  $("channels-empty").hidden = state.channels.size > 0;
  if (inArchive()) return; // the right pane shows the archive, not a channel
  const complete = reset && !page.nextCursor;
  if (complete && state.channel && !state.channels.has(state.channel)) state.channel = null; // e.g. nothing unread left
  if (!state.channel && page.items.length) await selectChannel(page.items[0].name);
  else if (!state.channel) clearMessages();
  enableMarkButtons();
}

/** After a frame: the channel list again (order, latest), at most once per burst of frames. */
function refreshChannels() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => state.client && guarded(() => loadChannels(true))(), 150); // none once signed out
}

function renderChannels() {
  $("channel-list").replaceChildren(...[...state.channels.values()].map(channelItem));
  markCurrentChannel();
}

/** No channel to show: an empty right pane, without the last channel's messages or buttons. */
function clearMessages() {
  state.messagesCursor = null;
  $("channel-title").textContent = NOTHING_TO_SHOW[state.status];
  $("message-list").replaceChildren();
  CHANNEL_CONTROLS.forEach((id) => { $(id).hidden = true; });
  $("messages-more").hidden = true;
  $("messages-empty").hidden = true;
}

/** Unread per channel: the client's counts once known (a frame's, or fetched after an own change), else the list's. */
function unreadOf(channel) {
  return state.countsKnown ? state.client.counts.channels[channel.name] || 0 : channel.unread;
}

function countNode(channel) {
  const unread = unreadOf(channel);
  return unread ? element("span", { class: "count", "aria-label": `${unread} unread`, text: String(unread) }) : element("span");
}

function channelItem(channel) {
  const muted = state.client.isMuted(channel.name);
  const button = element("button", { type: "button", class: "channel", "data-channel": channel.name, onclick: guarded(() => openChannel(channel.name)) }, [
    element("span", { class: "name" }, [channel.title || channel.name, ...(muted ? [element("span", { class: "muted-flag", text: "muted" })] : [])]),
    countNode(channel),
    element("span", { class: "latest", text: channel.latest.title }),
    timeNode(channel.latest.createdAt),
  ]);
  return element("li", {}, [button]);
}

function markCurrentChannel() {
  document.querySelectorAll(".channel").forEach((node) => {
    node.setAttribute("aria-current", String(!inArchive() && node.dataset.channel === state.channel));
  });
}

function showMutes() {
  renderChannels();
  $("mute").setAttribute("aria-pressed", String(Boolean(state.channel) && state.client.isMuted(state.channel)));
}

// --- messages ---------------------------------------------------------------------

/** A channel opened by the user: its list is seen (the badge counts what was never shown in a list). */
async function openChannel(name) {
  if (inArchive()) {
    selectTab("all");
    state.channel = name;
    await loadChannels(true);
  }
  await selectChannel(name);
  await state.client.markAllSeen(name);
}

async function selectChannel(name) {
  state.channel = name;
  const channel = state.channels.get(name);
  $("channel-title").textContent = channel ? channel.title || name : name;
  CHANNEL_CONTROLS.forEach((id) => { $(id).hidden = false; });
  showMutes();
  enableMarkButtons();
  await loadMessages(true);
}

async function showArchive() {
  state.lastChannel = state.channel || state.lastChannel;
  state.channel = null;
  $("channel-title").textContent = "Archive";
  CHANNEL_CONTROLS.forEach((id) => { $(id).hidden = true; });
  markCurrentChannel();
  await loadMessages(true);
}

async function loadMessages(reset) {
  if (reset) state.messagesCursor = null;
  const archived = inArchive();
  const load = ++state.loads.messages;
  const page = await state.client.listMessages({
    channel: archived ? undefined : state.channel, status: state.status, archived, limit: PAGE, cursor: state.messagesCursor || undefined,
  });
  if (load !== state.loads.messages) return; // the view changed meanwhile (another channel, tab or reload)
  const list = $("message-list");
  if (reset) list.replaceChildren();
  page.items.forEach((message) => {
    if (!itemOf(message.id)) list.append(itemFor(message));
  });
  state.messagesCursor = page.nextCursor;
  $("messages-more").hidden = !page.nextCursor;
  showEmpty();
}

function showEmpty() {
  $("messages-empty").textContent = inArchive() ? NOTHING_TO_SHOW[ARCHIVE] : "Nothing here.";
  const nothingOpen = !state.channel && !inArchive(); // the title already says so
  $("messages-empty").hidden = nothingOpen || [...$("message-list").children].some((item) => !item.hidden);
}

const itemOf = (id) => $("message-list").querySelector(`[data-id="${CSS.escape(id)}"]`);

function itemFor(message) {
  return messageItem(message, state.client, { archive: inArchive(), hidden: state.deletes.has(message.id) }, {
    changed: (item, change) => guarded(async () => render(item, await change))(),
    delete: (id) => state.deletes.start(id),
  });
}

/** An item the server changed: redrawn where it belongs, or taken out of a list it no longer belongs in. */
function render(item, message) {
  if (belongsHere(message)) item.replaceWith(itemFor(message));
  else item.remove();
  showEmpty();
}

function belongsHere(message) {
  if (inArchive()) return Boolean(message.archived);
  return !message.archived && message.channel === state.channel && (state.status === "all" || state.status === message.status);
}

/** Newest first, by id; an item older than every shown one waits for "Load more" if there is more. */
function insertInOrder(message) {
  const list = $("message-list");
  const after = [...list.children].find((node) => node.dataset.id < message.id);
  if (after) after.before(itemFor(message));
  else if (!state.messagesCursor) list.append(itemFor(message));
  showEmpty();
}

function onNewMessage(message, silent) {
  if (!silent) messageToast(message, guarded(() => openChannel(message.channel)));
  if (belongsHere(message) && !itemOf(message.id)) insertInOrder(message);
  refreshChannels();
}

function onUpdatedMessage(message) {
  const item = itemOf(message.id);
  if (item) render(item, message);
  else if (belongsHere(message)) insertInOrder(message);
  refreshChannels();
}

function onDeletedMessage(id) {
  state.deletes.forget(id);
  const item = itemOf(id);
  if (item) item.remove();
  showEmpty();
  refreshChannels();
}

function hide(id) {
  const item = itemOf(id);
  if (item) item.hidden = true;
  showEmpty();
}

function restore(id) {
  const item = itemOf(id);
  if (item) {
    item.hidden = false;
    item.querySelector(".delete").focus();
  } else guarded(() => loadMessages(true))(); // the list was reloaded meanwhile without it
  showEmpty();
}

// --- counts -------------------------------------------------------------------------

/** The badge shows what was never seen in a list; channel counts show unread. From frames, and after each own change. */
function showCounts({ total, unseen, channels }) {
  const badge = $("badge");
  badge.hidden = unseen === 0;
  badge.textContent = unseen > 99 ? "99+" : String(unseen);
  $("bell").setAttribute("aria-label", `New messages: ${unseen} (unread: ${total})`);
  if (channels && state.client) {
    state.countsKnown = true;
    // In place: redrawing the list under the pointer could swallow a click.
    document.querySelectorAll(".channel").forEach((node) => {
      const channel = state.channels.get(node.dataset.channel);
      if (channel) node.children[1].replaceWith(countNode(channel));
    });
  }
  enableMarkButtons();
}

/** "Mark … read" only when there is something unread to mark (per channel: muted ones too). */
function enableMarkButtons() {
  const unread = state.countsKnown ? state.client.counts.channels : null;
  const channelUnread = (name) => (unread ? unread[name] || 0 : (state.channels.get(name) || { unread: 1 }).unread);
  $("mark-everything").disabled = unread ? !Object.values(unread).some((n) => n > 0) : false;
  $("mark-channel").disabled = !state.channel || channelUnread(state.channel) === 0;
}

// --- wiring -------------------------------------------------------------------------

function selectTab(status) {
  state.status = status;
  document.querySelectorAll('[role="tab"]').forEach((tab) => tab.setAttribute("aria-selected", String(tab.dataset.status === status)));
}

/** Another tab: the open channel stays open when it has messages there (else the first channel opens). */
async function setStatus(status) {
  const kept = inArchive() ? state.lastChannel : state.channel;
  selectTab(status);
  state.channel = inArchive() ? null : kept;
  if (inArchive()) state.lastChannel = kept;
  CHANNEL_CONTROLS.forEach((id) => { $(id).hidden = true; }); // until a channel is open again: they act on it
  await loadChannels(true);
  if (inArchive()) await showArchive();
  else if (state.channel && state.channel === kept) await selectChannel(kept); // its messages, filtered anew
}

async function reloadAfter(change) {
  await change();
  if (state.channel || inArchive()) await loadMessages(true);
  await loadChannels(true);
}

document.querySelectorAll('[role="tab"]').forEach((tab) => tab.addEventListener("click", guarded(() => setStatus(tab.dataset.status))));
$("channels-more").addEventListener("click", guarded(() => loadChannels(false)));
$("messages-more").addEventListener("click", guarded(() => loadMessages(false)));
$("mark-channel").addEventListener("click", guarded(() => reloadAfter(() => state.client.markAllRead(state.channel))));
$("mark-everything").addEventListener("click", guarded(() => reloadAfter(() => state.client.markAllRead())));
$("archive-channel").addEventListener("click", guarded(() => reloadAfter(() => state.client.archiveAll({ channel: state.channel, status: "read" }))));
$("archive-everything").addEventListener("click", guarded(() => reloadAfter(() => state.client.archiveAll({ status: "read" }))));
$("mute").addEventListener("click", guarded(() => state.client.setMuted(state.channel, !state.client.isMuted(state.channel))));
// The bell opens the unread list: everything in it counts as seen, and the badge clears (once that is answered).
$("bell").addEventListener("click", guarded(async () => {
  await setStatus("unread");
  await state.client.markAllSeen();
}));
$("sign-out").addEventListener("click", () => signOut(null));
// A `#token=…` link pasted into this open tab: sign in with it (another user's: out of the current one first).
onTokenPasted((token) => {
  if (state.client) signOut(null);
  sessionStorage.setItem(TOKEN_KEY, token);
  start(token);
});
$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token-input").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  start(token);
});
window.addEventListener("pagehide", () => state.deletes && state.deletes.flush(true));
setInterval(refreshTimes, 30_000);

showTokenHint(TOKEN_COMMAND);
const token = tokenFromPage();
if (token) start(token);
else signOut(null);
