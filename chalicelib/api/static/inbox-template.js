// The element's shadow DOM before any data: the bar with the bell, the panel (filters, channels, messages)
// and the toasts, every word by `t`. Ids are the shadow root's own; `part` names are what a host page styles.
import { element } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const BELL_PATHS = ["M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9", "M10.3 21a1.94 1.94 0 0 0 3.4 0"];
const TABS = [["all", "tab.all"], ["unread", "tab.unread"], ["read", "tab.read"], ["archived", "tab.archived"], ["snoozed", "tab.snoozed"]];

function bellIcon() {
  const svg = document.createElementNS(SVG, "svg");
  const attributes = { "aria-hidden": "true", width: "22", height: "22", viewBox: "0 0 24 24", fill: "none", stroke: "currentColor",
    "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round" };
  Object.entries(attributes).forEach(([name, value]) => svg.setAttribute(name, value));
  BELL_PATHS.forEach((d) => {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  });
  return svg;
}

const button = (id, text, extra = {}) => element("button", { id, class: "secondary", part: "button", type: "button", text, ...extra });

/** The connection state and the buttons for every channel: in the bar on a page, in the panel's head in a popover. */
function controls(t) {
  return element("div", { id: "controls", class: "controls" }, [
    element("span", { id: "connection", class: "connection", part: "connection", role: "status", "aria-live": "polite",
      text: t("connection.offline") }),
    button("mark-everything", t("bulk.readEverything")),
    button("archive-everything", t("bulk.archiveEverything")),
  ]);
}

function channelsPane(t) {
  const tabs = TABS.map(([status, key]) => element("button", {
    role: "tab", type: "button", part: "tab", "data-status": status, "aria-selected": String(status === "all"), text: t(key),
  }));
  return element("nav", { class: "channels", "aria-label": t("channels.label") }, [
    element("div", { class: "tabs", role: "tablist", "aria-label": t("tabs.label") }, tabs),
    element("div", { id: "tags", class: "tabs tag-tabs", part: "tags", role: "tablist", "aria-label": t("tags.label"), hidden: "" }),
    element("ul", { id: "channel-list", class: "channel-list" }),
    element("p", { id: "channels-empty", class: "empty", hidden: "" }),
    element("button", { id: "channels-more", class: "more", part: "button", type: "button", hidden: "", text: t("list.more") }),
  ]);
}

function messagesPane(t) {
  return element("section", { class: "messages", "aria-labelledby": "channel-title" }, [
    element("div", { class: "messages-head" }, [
      element("h2", { id: "channel-title", text: t("channel.none") }),
      element("div", { class: "channel-controls" }, [
        button("mark-channel", t("bulk.readChannel"), { hidden: "" }),
        button("archive-channel", t("bulk.archiveChannel"), { hidden: "" }),
        button("mute", t("mute.channel"), { class: "secondary mute", "aria-pressed": "false", hidden: "" }),
      ]),
    ]),
    element("ul", { id: "message-list", class: "message-list" }),
    element("p", { id: "messages-empty", class: "empty", hidden: "" }),
    element("button", { id: "messages-more", class: "more", part: "button", type: "button", hidden: "", text: t("list.more") }),
  ]);
}

/** The whole skeleton for `layout` ("page": the panel always open below the bar; "popover": the bell opens it). */
export function skeleton(t, layout) {
  const bell = element("button", { id: "bell", class: "bell", part: "bell", type: "button", "aria-label": t("bell.label", { unseen: 0, total: 0 }) },
    [bellIcon(), element("span", { id: "badge", class: "badge", part: "badge", hidden: "", text: "0" })]);
  const head = element("div", { id: "panel-head", class: "panel-head" }, [
    element("button", { id: "close-panel", class: "close-panel", part: "button", type: "button", "aria-label": t("panel.close"), text: "×" }),
  ]);
  const panel = element("section", { id: "panel", class: "panel", part: "panel", "aria-label": t("inbox.label") }, [
    head,
    element("div", { id: "inbox", class: "inbox" }, [channelsPane(t), messagesPane(t)]),
  ]);
  const bar = element("div", { class: "bar", part: "bar" }, [element("slot", { name: "start" }), bell, element("slot", { name: "end" })]);
  if (layout === "page") bell.before(controls(t));
  else head.prepend(controls(t));
  if (layout !== "page") {
    bell.setAttribute("aria-expanded", "false");
    bell.setAttribute("aria-controls", "panel");
    panel.hidden = true;
  }
  return element("div", { class: `root ${layout}`, lang: t.locale }, [bar, panel, element("div", { id: "toasts", class: "toasts", part: "toasts", "aria-live": "polite" })]);
}
