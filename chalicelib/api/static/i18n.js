// i18n.js — the inbox's words in every supported language, for the <inapp-inbox> element and any page of ours.
//
//   import { pickLocale, translator } from "./i18n.js";
//   const t = translator(pickLocale(element.getAttribute("locale")), (key, locale) => report(key, locale));
//   t("bell.label", { unseen: 2, total: 5 });   // "New messages: 2 (unread: 5)"
//   t.relativeTime("2026-12-07T10:00:00.000Z");  // "5 minutes ago", by Intl.RelativeTimeFormat
//
// Every catalogue has exactly the keys of en's (tests/unit/api/test_i18n.py checks them, and their
// placeholders); a key a catalogue lacks anyway falls back to en's text and is reported to `onMissing`.
import de from "./i18n-de.js";
import en from "./i18n-en.js";
import es from "./i18n-es.js";
import fr from "./i18n-fr.js";
import ja from "./i18n-ja.js";
import nl from "./i18n-nl.js";
import zhCN from "./i18n-zh-CN.js";

export const FALLBACK = "en";
export const CATALOGUES = Object.freeze({ en, nl, de, fr, es, "zh-CN": zhCN, ja });
export const LOCALES = Object.freeze(Object.keys(CATALOGUES));

/**
 * The supported locale for `requested` (an attribute), else the first of the browser's languages we have,
 * else en. A tag matches exactly (case aside) or by its language: "nl-BE" → nl, "zh-TW" → zh-CN, "en-GB" → en.
 */
export function pickLocale(requested, preferred = browserLanguages()) {
  for (const tag of [requested, ...preferred]) {
    const found = supported(tag);
    if (found) return found;
  }
  return FALLBACK;
}

function browserLanguages() {
  if (typeof navigator === "undefined") return [];
  return navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
}

function supported(tag) {
  if (!tag) return null;
  const wanted = String(tag).trim().toLowerCase();
  const language = wanted.split("-")[0];
  return LOCALES.find((locale) => locale.toLowerCase() === wanted) || LOCALES.find((locale) => locale.split("-")[0] === language) || null;
}

/**
 * `t(key, params)` for `locale`: its text with `{name}` filled from `params` (as text). A key the locale lacks
 * gives en's text and calls `onMissing(key, locale)`; a key en lacks too gives the key itself. `t.locale` is the
 * locale, `t.relativeTime(iso)` a time relative to now in it, `t.number(n)` a number as it writes them, and
 * `t.plural(key, count, params)` the text of `key.one` or `key.other` by the locale's plural rule, `{count}`
 * filled. `catalogues` (locale → words, with en's) are the element's unless another set is given (the console's).
 */
export function translator(locale, onMissing = () => {}, catalogues = CATALOGUES) {
  const own = catalogues[locale] ? locale : FALLBACK;
  const t = (key, params = {}) => {
    let text = catalogues[own][key];
    if (text === undefined) {
      onMissing(key, own);
      text = catalogues[FALLBACK][key] ?? key;
    }
    return text.replace(/\{(\w+)\}/g, (placeholder, name) => (name in params ? String(params[name]) : placeholder));
  };
  const numbers = new Intl.NumberFormat(own);
  const plurals = new Intl.PluralRules(own);
  t.locale = own;
  t.relativeTime = (iso, now = Date.now()) => relativeTime(iso, own, now);
  t.number = (n) => numbers.format(n);
  t.plural = (key, count, params = {}) => t(`${key}.${plurals.select(count) === "one" ? "one" : "other"}`, { ...params, count: t.number(count) });
  return t;
}

const FORMATS = new Map(); // locale → its Intl.RelativeTimeFormat (building one costs more than using it)

/**
 * "now", "5 minutes ago", "3 hours ago", "yesterday" in `locale`; older: the date. A time ahead (an expiry) reads
 * the other way: "in 5 minutes", "in 3 hours", "tomorrow", then the date; under 45 s either way is "now".
 */
export function relativeTime(iso, locale = FALLBACK, now = Date.now()) {
  if (!FORMATS.has(locale)) FORMATS.set(locale, new Intl.RelativeTimeFormat(locale, { numeric: "auto" }));
  const format = FORMATS.get(locale);
  const ahead = Date.parse(iso) > now ? 1 : -1;
  const seconds = Math.abs(now - Date.parse(iso)) / 1000;
  if (seconds < 45) return format.format(0, "second");
  if (seconds < 3600) return format.format(ahead * Math.round(seconds / 60), "minute");
  if (seconds < 86400) return format.format(ahead * Math.round(seconds / 3600), "hour");
  if (seconds < 172800) return format.format(ahead, "day");
  return new Date(iso).toLocaleDateString(locale);
}
