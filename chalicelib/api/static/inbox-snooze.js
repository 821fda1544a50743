// A message's Snooze menu: in an hour, tomorrow at 09:00 or next Monday at 09:00, in the browser's own time
// zone, sent as ISO times (the API takes 1 minute to 90 days ahead). A <details> menu: it opens and closes by
// click and keyboard without script, and closes once a time is picked.
import { element } from "./dom.js";

const MORNING = 9;
const CHOICES = [["message.snoozeHour", "hour"], ["message.snoozeTomorrow", "tomorrow"], ["message.snoozeNextWeek", "week"]];

/** The menu's times from `now`: `{hour, tomorrow, week}` (local 09:00 tomorrow, and on the next Monday). */
export function snoozeTimes(now = new Date()) {
  const day = (ahead) => new Date(now.getFullYear(), now.getMonth(), now.getDate() + ahead, MORNING, 0, 0);
  return {
    hour: new Date(now.getTime() + 3600 * 1000),
    tomorrow: day(1),
    week: day((8 - now.getDay()) % 7 || 7), // Monday; from a Monday, the next one
  };
}

/** The menu; `pick(date)` snoozes until the chosen time (each option also shows that time in `t`'s locale). */
export function snoozeMenu(t, pick) {
  const menu = element("details", { class: "snooze", part: "snooze" });
  const options = CHOICES.map(([key, name]) => element("button", {
    type: "button", class: "snooze-option", part: "button snooze-option", "data-choice": name,
    onclick: () => {
      menu.open = false;
      pick(snoozeTimes()[name]);
    },
  }, [element("span", { text: t(key) }), element("small", { class: "snooze-at" })]));
  menu.addEventListener("toggle", () => {
    if (!menu.open) return;
    const times = snoozeTimes(); // shown as of the moment the menu opens
    options.forEach((option) => {
      option.lastElementChild.textContent = times[option.dataset.choice].toLocaleString(t.locale,
        { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
    });
  });
  menu.append(
    element("summary", { class: "snooze-button", part: "button snooze-button", text: t("message.snooze") }),
    element("div", { class: "snooze-menu", part: "snooze-menu" }, options),
  );
  return menu;
}
