// admin-words.js — the admin console's words in its locale, by the element's rule (i18n.js pickLocale):
// `?locale=xx` in the address, else the first of the browser's languages we have, else en.
//
// Every word the console writes goes through `t` (its catalogues: i18n-admin-<locale>.js); the page's own
// elements name their key in `data-i18n` (text) or `data-i18n-<attribute>`. A key the locale lacks shows en's
// text and is listed in `window.adminMissingKeys` (the browser tests read it; always empty for our locales).
import { fillNode } from "./dom.js";
import de from "./i18n-admin-de.js";
import en from "./i18n-admin-en.js";
import es from "./i18n-admin-es.js";
import fr from "./i18n-admin-fr.js";
import ja from "./i18n-admin-ja.js";
import nl from "./i18n-admin-nl.js";
import zhCN from "./i18n-admin-zh-CN.js";
import { pickLocale, translator } from "./i18n.js";

const CATALOGUES = Object.freeze({ en, nl, de, fr, es, "zh-CN": zhCN, ja });
const ATTRIBUTES = ["aria-label", "placeholder"]; // data-i18n-aria-label names the key of aria-label

window.adminMissingKeys = [];
export const t = translator(pickLocale(new URLSearchParams(location.search).get("locale")), (key) => {
  if (!window.adminMissingKeys.includes(key)) window.adminMissingKeys.push(key);
}, CATALOGUES);

/** `key`'s text as a list for `append`, its `{name}` placeholder replaced by `node` (code, a span). */
export function withNode(key, name, node, params = {}) {
  return fillNode(t(key, params), name, node);
}

/** The page's own words: its language, its title and every element that names a key. */
export function translatePage() {
  document.documentElement.lang = t.locale;
  document.title = t("admin.title");
  document.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
  for (const attribute of ATTRIBUTES) {
    document.querySelectorAll(`[data-i18n-${attribute}]`).forEach((node) => {
      node.setAttribute(attribute, t(node.getAttribute(`data-i18n-${attribute}`)));
    });
  }
}
