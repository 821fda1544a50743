// Toasts: one per new message (unless its channel is muted), the "Undo" toast of a delete, and notices.
import { element } from "./dom.js";

/** A label for high and critical messages, so severity is never told by colour alone. */
export function severityLabel(severity, t) {
  return severity === "high" || severity === "critical"
    ? [element("span", { class: `severity ${severity}`, text: t(`severity.${severity}`) })]
    : [];
}

/**
 * A new message's toast in `container` for its `duration` (0 = until closed). A critical one stays until
 * closed whatever its duration, and is announced at once (role "alert"). `unsnoozed`: a snoozed message back,
 * which the toast says.
 */
export function messageToast(container, message, t, onOpen, unsnoozed = false) {
  const severity = message.severity || "normal";
  const content = message.content || "";
  const preview = content.length > 120 ? `${content.slice(0, 120)}…` : content;
  const node = element("div", {
    class: `toast severity-${severity}`, part: `toast toast-${severity}`,
    role: severity === "critical" ? "alert" : "status", "data-id": message.id,
  });
  const close = () => node.remove();
  node.append(
    element("button", { type: "button", class: "open", "aria-label": t("toast.open", { title: message.title }), onclick: () => {
      close();
      onOpen(message);
    } }, [
      ...(unsnoozed ? [element("span", { class: "unsnoozed", part: "toast-unsnoozed", text: t("toast.unsnoozed") })] : []),
      ...severityLabel(severity, t), element("strong", { text: message.title }), element("span", { text: preview }),
    ]),
    element("button", { type: "button", class: "close", "aria-label": t("toast.close"), text: "×", onclick: close }),
  );
  container.append(node);
  if (severity !== "critical" && message.duration > 0) setTimeout(close, message.duration * 1000);
  return node;
}

/** A short notice (a refused change, with the API's reason), announced at once, until closed. */
export function noticeToast(container, text, t) {
  const node = element("div", { class: "toast notice", part: "toast toast-notice", role: "alert" });
  node.append(element("span", { class: "notice-text", text }),
    element("button", { type: "button", class: "close", "aria-label": t("toast.close"), text: "×", onclick: () => node.remove() }));
  container.append(node);
  return node;
}

/** "Message deleted. Undo" in `container`: `onUndo` if clicked within `ms`, else `onTimeout`. Returns a function that drops it. */
export function undoToast(container, t, ms, { onUndo, onTimeout }) {
  const node = element("div", { class: "toast undo", part: "toast toast-undo", role: "status" });
  const drop = () => {
    clearTimeout(timer);
    node.remove();
  };
  const undo = element("button", { type: "button", class: "undo-button", text: t("undo.undo"), onclick: () => {
    drop();
    onUndo();
  } });
  node.append(element("span", { class: "undo-text", text: t("undo.deleted") }), undo);
  container.append(node);
  const timer = setTimeout(() => {
    node.remove();
    onTimeout();
  }, ms);
  undo.focus();
  return drop;
}
