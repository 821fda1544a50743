// Toasts: one per new message (unless its channel is muted), and the "Undo" toast of a delete.
import { $, element } from "./page.js";

const SEVERITY_LABELS = { high: "High", critical: "Critical" };

/** A label for high and critical messages, so severity is never told by colour alone. */
export function severityLabel(severity) {
  const label = SEVERITY_LABELS[severity];
  return label ? [element("span", { class: `severity ${severity}`, text: label })] : [];
}

/**
 * A new message's toast for its `duration` (0 = until closed). A critical one stays until
 * closed whatever its duration, and is announced at once (role "alert").
 */
export function messageToast(message, onOpen) {
  const severity = message.severity || "normal";
  const content = message.content || "";
  const preview = content.length > 120 ? `${content.slice(0, 120)}…` : content;
  const node = element("div", {
    class: `toast severity-${severity}`, role: severity === "critical" ? "alert" : "status", "data-id": message.id,
  });
  const close = () => node.remove();
  node.append(
    element("button", { type: "button", class: "open", "aria-label": `Open ${message.title}`, onclick: () => {
      close();
      onOpen(message);
    } }, [...severityLabel(severity), element("strong", { text: message.title }), element("span", { text: preview })]),
    element("button", { type: "button", class: "close", "aria-label": "Close notification", text: "×", onclick: close }),
  );
  $("toasts").append(node);
  if (severity !== "critical" && message.duration > 0) setTimeout(close, message.duration * 1000);
  return node;
}

/** "Message deleted. Undo": `onUndo` if clicked within `ms`, else `onTimeout`. Returns a function that drops it. */
export function undoToast(text, ms, { onUndo, onTimeout }) {
  const node = element("div", { class: "toast undo", role: "status" });
  const drop = () => {
    clearTimeout(timer);
    node.remove();
  };
  const undo = element("button", { type: "button", class: "undo-button", text: "Undo", onclick: () => {
    drop();
    onUndo();
  } });
  node.append(element("span", { class: "undo-text", text }), undo);
  $("toasts").append(node);
  const timer = setTimeout(() => {
    node.remove();
    onTimeout();
  }, ms);
  undo.focus();
  return drop;
}
