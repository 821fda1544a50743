// Small DOM helpers for the inbox page. Text goes in as textContent, never as HTML.

export const $ = (id) => document.getElementById(id);

/** `element("a", {href, text, onclick}, [children])`: attributes, text, listeners and children in one call. */
export function element(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

export function relativeTime(iso, now = Date.now()) {
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  if (seconds < 172800) return "yesterday";
  return new Date(iso).toLocaleDateString();
}

export function timeNode(iso) {
  return element("time", { datetime: iso, class: "time", text: relativeTime(iso) });
}

export function refreshTimes() {
  document.querySelectorAll("time[datetime]").forEach((node) => {
    node.textContent = relativeTime(node.getAttribute("datetime"));
  });
}
