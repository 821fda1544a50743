// dom.js — text-only DOM building for the inbox element and the pages: everything from the server goes in as
// text (textContent), never as HTML, so a title like <img onerror=…> shows as text.

/** A new element: `text` sets textContent, `class` the class, `on…` a listener, anything else an attribute. */
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

/** `text` as a list for `append`, its `{name}` placeholder (if any) replaced by `node` (a code element, a span). */
export function fillNode(text, name, node) {
  const at = text.indexOf(`{${name}}`);
  return at < 0 ? [text] : [text.slice(0, at), node, text.slice(at + name.length + 2)];
}

/** A `<time>` showing `iso` relative to now by `relative(iso)` (e.g. a translator's `t.relativeTime`). */
export function timeNode(iso, relative) {
  return element("time", { datetime: iso, class: "time", title: iso, text: relative(iso) });
}

/** Keep every relative time under `root` current (call every half minute). */
export function refreshTimes(root, relative) {
  root.querySelectorAll("time[datetime]").forEach((node) => {
    node.textContent = relative(node.getAttribute("datetime"));
  });
}
