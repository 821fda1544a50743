// The admin console: channels, their subscribers, compose (admin-compose.js) and the send log
// (admin-log.js). It signs in like the inbox; a token without the admin role sees "Admin only".
// Everything from the server is put in the page as text (textContent), never as HTML.
// Its words are in the locale admin-words.js picks.
import { Compose, parseIds } from "./admin-compose.js";
import { SendLog } from "./admin-log.js";
import { t, translatePage, withNode } from "./admin-words.js";
import { refreshTimes, timeNode } from "./dom.js";
import { InboxClient, query } from "./inbox-client.js";
import { $, PagedList, TOKEN_KEY, element, expiredNotice, onTokenPasted, showTokenHint, tokenFromPage } from "./page.js";

const PAGE = 20;
const IDS_PER_CALL = 1000;
const SCREENS = ["channels", "subscribers", "compose", "log"];
const TOKEN_COMMAND = "make token USER=admin ADMIN=1"; // what prints an admin token on the local stack

const state = { client: null, compose: null, log: null, subscribersOf: null, deleting: null };

// --- sign in, admin only, sign out ---------------------------------------------------

// The compose form and the send log are built once; they call the API through the signed-in client.
const session = { api: (...args) => state.client.api(...args) };

async function start(token) {
  const client = new InboxClient({ apiUrl: new URL(".", location.href).href, wsUrl: "", token });
  state.client = client;
  client.addEventListener("unauthorized", () => signOut(expiredNotice(TOKEN_COMMAND, t)));
  $("signin").hidden = true;
  $("sign-out").hidden = false;
  try {
    await loadChannels(true);
  } catch (error) {
    if (error.status === 403) $("admin-only").hidden = false;
    else showProblem(error);
    return;
  }
  await refreshChannelChoices();
  $("admin").hidden = false;
  $("screens").hidden = false;
  showScreen("channels");
  await state.log.load(true);
}

/** Back to the sign-in form, forgetting the token and everything shown with it. */
function signOut(notice) {
  if (state.client) state.client.close();
  state.client = null;
  sessionStorage.removeItem(TOKEN_KEY);
  state.log.stop();
  ["channel-list", "subscriber-list", "log-list"].forEach((id) => $(id).replaceChildren());
  ["compose-form", "channel-form", "paste-form"].forEach((id) => $(id).reset());
  ["admin", "admin-only", "screens", "sign-out", "problem", "paste-result", "compose-result"].forEach((id) => { $(id).hidden = true; });
  $("token-input").value = "";
  showSignIn(notice);
}

function showSignIn(notice) {
  $("signin-notice").replaceChildren(...(notice || []));
  $("signin-notice").hidden = !notice;
  $("signin").hidden = false;
}

function showProblem(error) {
  if (error.status === 401) return; // "unauthorized" already went back to sign-in
  $("problem").textContent = error.message;
  $("problem").hidden = false;
}

function showScreen(name) {
  SCREENS.forEach((screen) => { $(`screen-${screen}`).hidden = screen !== name; });
  const current = name === "subscribers" ? "channels" : name;
  document.querySelectorAll("#screens button").forEach((button) => button.setAttribute("aria-current", String(button.dataset.screen === current)));
  $("problem").hidden = true;
}

// --- channels ----------------------------------------------------------------------------

const channels = new PagedList({
  list: "channel-list", more: "channels-more", empty: "channels-empty", row: channelRow,
  fetchPage: (cursor) => state.client.api("GET", `/channels?${query({ limit: PAGE, cursor })}`),
});

function loadChannels(reset) {
  return channels.load(reset);
}

/** Every channel (page by page), for the compose form's and the send log's choices. */
async function refreshChannelChoices() {
  const all = [];
  let cursor;
  do {
    const page = await state.client.api("GET", `/channels?${query({ limit: 100, cursor })}`);
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  state.compose.setChannels(all);
  state.log.setChannels(all);
}

function channelRow(channel) {
  const item = element("li", { class: "row channel-row", "data-channel": channel.name });
  item.append(
    element("strong", { class: "channel-title", text: channel.title }),
    element("code", { class: "channel-name", text: channel.name }),
    element("p", { class: "channel-description", text: channel.description }),
    element("div", { class: "row-buttons" }, [
      element("button", { type: "button", class: "secondary", text: t("channel.subscribers"), "aria-label": t("channel.subscribersOf", channel), onclick: () => openSubscribers(channel).catch(showProblem) }),
      element("button", { type: "button", class: "secondary", text: t("channel.edit"), "aria-label": t("channel.editOf", channel), onclick: () => editChannel(item, channel) }),
      element("button", { type: "button", class: "danger", text: t("channel.delete"), "aria-label": t("channel.deleteOf", channel), onclick: () => confirmDelete(channel) }),
    ]),
  );
  return item;
}

function editChannel(item, channel) {
  const title = element("input", { "aria-label": t("channel.titleOf", channel), autocomplete: "off" });
  const description = element("textarea", { "aria-label": t("channel.descriptionOf", channel), rows: "2" });
  const error = element("p", { class: "field-error", role: "alert", hidden: "" });
  title.value = channel.title;
  description.value = channel.description;
  const form = element("form", { class: "grid-form edit-form", novalidate: "" }, [
    element("code", { text: channel.name }), title, description, error,
    element("div", { class: "row-buttons" }, [
      element("button", { type: "submit", text: t("channel.save") }),
      element("button", { type: "button", class: "secondary", text: t("channel.cancel"), onclick: () => item.replaceWith(channelRow(channel)) }),
    ]),
  ]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const changed = await state.client.api("PATCH", `/channels/${encodeURIComponent(channel.name)}`, { title: title.value, description: description.value });
      item.replaceWith(channelRow(changed));
      await refreshChannelChoices();
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    }
  });
  item.replaceChildren(form);
  title.focus();
}

function confirmDelete(channel) {
  state.deleting = channel;
  $("delete-heading").textContent = t("delete.heading", channel);
  $("delete-dialog").returnValue = ""; // Escape keeps the last value: it must never be an earlier "delete"
  $("delete-dialog").showModal();
}

async function deleteChannel() {
  const channel = state.deleting;
  state.deleting = null;
  await state.client.api("DELETE", `/channels/${encodeURIComponent(channel.name)}`);
  await loadChannels(true);
  await refreshChannelChoices();
}

async function createChannel(event) {
  event.preventDefault();
  const body = { name: $("channel-name").value.trim(), title: $("channel-title").value };
  if ($("channel-description").value) body.description = $("channel-description").value;
  try {
    await state.client.api("POST", "/channels", body);
  } catch (error) {
    $("channel-error").textContent = error.message;
    $("channel-error").hidden = false;
    return;
  }
  $("channel-error").hidden = true;
  $("channel-form").reset();
  await loadChannels(true);
  await refreshChannelChoices();
}

// --- subscribers -----------------------------------------------------------------------

async function openSubscribers(channel) {
  state.subscribersOf = channel;
  $("subscribers-heading").textContent = t("subscribers.headingOf", channel);
  $("paste-result").hidden = true;
  showScreen("subscribers");
  await loadSubscribers(true);
}

function subscribersPath() {
  return `/channels/${encodeURIComponent(state.subscribersOf.name)}/subscribers`;
}

const subscribers = new PagedList({
  list: "subscriber-list", more: "subscribers-more", empty: "subscribers-empty", row: subscriberRow,
  fetchPage: (cursor) => state.client.api("GET", `${subscribersPath()}?${query({ limit: PAGE, cursor })}`),
});

function loadSubscribers(reset) {
  return subscribers.load(reset);
}

function subscriberRow(subscriber) {
  return element("li", { class: "row subscriber", "data-user": subscriber.userId }, [
    element("span", { class: "user-id", text: subscriber.userId }),
    timeNode(subscriber.subscribedAt, t.relativeTime),
    element("button", { type: "button", class: "secondary", text: t("subscriber.remove"), "aria-label": t("subscriber.removeOf", { user: subscriber.userId }), onclick: async () => {
      try {
        await state.client.api("POST", subscribersPath(), { remove: [subscriber.userId] });
        await loadSubscribers(true);
      } catch (error) {
        showProblem(error);
      }
    } }),
  ]);
}

/**
 * Add pasted ids, 1,000 per call. The server names the first id it refuses (`add[3]: …`):
 * that id is set aside with the server's message and the rest of the call is sent again.
 */
async function addPasted(event) {
  event.preventDefault();
  const ids = parseIds($("paste-ids").value);
  const refused = [];
  let added = 0;
  let accepted = 0;
  for (let start = 0; start < ids.length; start += IDS_PER_CALL) {
    const chunk = ids.slice(start, start + IDS_PER_CALL);
    while (chunk.length) {
      try {
        added += (await state.client.api("POST", subscribersPath(), { add: chunk })).added;
        accepted += chunk.length;
        break;
      } catch (error) {
        const at = /^add\[(\d+)\]: (.*)$/.exec(error.message);
        if (!at) {
          chunk.forEach((id) => refused.push([id, error.message]));
          break;
        }
        refused.push([chunk[Number(at[1])], at[2]]);
        chunk.splice(Number(at[1]), 1);
      }
    }
  }
  showPasteResult(ids.length, added, accepted, refused);
  $("paste-ids").value = refused.map(([id]) => id).join("\n"); // what is left to fix
  await loadSubscribers(true);
}

function showPasteResult(total, added, accepted, refused) {
  const counts = { added: t.number(added), already: t.number(accepted - added), refused: t.number(refused.length) };
  const summary = total ? t.plural("paste.summary", total, counts) : t("paste.none");
  const errors = refused.map(([id, message]) => element("li", {}, [element("code", { text: id }), `: ${message}`]));
  $("paste-result").replaceChildren(element("p", { text: summary }), ...(errors.length ? [element("ul", { class: "refused" }, errors)] : []));
  $("paste-result").hidden = false;
}

// --- wiring --------------------------------------------------------------------------------

function guarded(action) {
  return (...args) => action(...args).catch(showProblem);
}

document.querySelectorAll("#screens button").forEach((button) => button.addEventListener("click", () => showScreen(button.dataset.screen)));
$("channel-form").addEventListener("submit", guarded(createChannel));
$("channels-more").addEventListener("click", guarded(() => loadChannels(false)));
$("subscribers-more").addEventListener("click", guarded(() => loadSubscribers(false)));
$("subscribers-back").addEventListener("click", () => showScreen("channels"));
$("paste-form").addEventListener("submit", guarded(addPasted));
$("delete-dialog").addEventListener("close", () => {
  if ($("delete-dialog").returnValue === "delete" && state.deleting) guarded(deleteChannel)();
});
$("sign-out").addEventListener("click", () => signOut(null));
state.compose = new Compose(session, (answer) => {
  showScreen("log");
  state.log.prepend(answer.id).catch(showProblem);
});
state.log = new SendLog(session, showProblem);
$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token-input").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  guarded(start)(token);
});
onTokenPasted((token) => {
  if (state.client) signOut(null);
  sessionStorage.setItem(TOKEN_KEY, token);
  guarded(start)(token);
});
setInterval(() => refreshTimes(document, t.relativeTime), 30_000);

translatePage();
$("data-legend").replaceChildren(...withNode("compose.data", "example", element("code", { text: "{{name}}" })));
showTokenHint(TOKEN_COMMAND, t);
const token = tokenFromPage();
if (token) guarded(start)(token);
else showSignIn(null);
