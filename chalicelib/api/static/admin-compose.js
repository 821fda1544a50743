// admin-compose.js — the compose form: a live preview from the server, and a send that happens once.
//
// The preview is POST /messages/preview with the very body the send will post: the server fills
// the placeholders and checks every field exactly as the send would, so what is shown (or the
// error named) is what the send gives. Each compose has its own Idempotency-Key: a double click
// or a retry of the same body is answered with the first send, never stored twice.
import { t } from "./admin-words.js";
import { $, element } from "./page.js";

const PREVIEW_DELAY_MS = 300;
const FIELD_ERRORS = [400, 404]; // the body's fault: shown at its field, like the preview's
const FIELDS = ["channel", "receivers", "title", "content", "url", "mobileUrl", "duration", "severity", "actions", "data", "tags", "expiresAt"];

/** User ids from pasted text: split on newlines and commas, trimmed, empty ones dropped, each once. */
export function parseIds(text) {
  return [...new Set(text.split(/[\n,]+/).map((id) => id.trim()).filter(Boolean))];
}

/** Tags as typed: split on commas and white space, each once, as written (the API checks each: `tags[1]: must match …`). */
export function parseTags(text) {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/**
 * A datetime-local value ("2026-12-24T09:00", the browser's own time zone) as an ISO time with that zone's
 * offset at that moment ("2026-12-24T09:00:00+01:00"); "" for an empty or impossible one.
 */
export function localToIso(value) {
  const moment = value ? new Date(value) : null; // a string without an offset is read as local time
  if (!moment || Number.isNaN(moment.getTime())) return "";
  const two = (n) => String(Math.abs(n)).padStart(2, "0");
  const offset = -moment.getTimezoneOffset();
  const date = `${moment.getFullYear()}-${two(moment.getMonth() + 1)}-${two(moment.getDate())}`;
  const time = `${two(moment.getHours())}:${two(moment.getMinutes())}:${two(moment.getSeconds())}`;
  return `${date}T${time}${offset < 0 ? "-" : "+"}${two(Math.trunc(offset / 60))}:${two(offset % 60)}`;
}

/** A fresh Idempotency-Key (getRandomValues works on plain http too, unlike randomUUID). */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `compose-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export class Compose {
  /** `client` is the signed-in InboxClient; `onSent(answer)` runs after each accepted send. */
  constructor(client, onSent) {
    this.client = client;
    this.onSent = onSent;
    this.key = newKey();
    this.keyBody = null; // the body the key was first used for
    this.previewSeq = 0;
    this.timer = null;
    this.touched = false; // no preview (and no "is required") before the first change
    const form = $("compose-form");
    form.addEventListener("input", () => { // selects and radio buttons fire it too
      this.touched = true;
      this.schedulePreview();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    $("data-add").addEventListener("click", () => {
      this.addDataRow("", "");
      $("data-rows").lastElementChild.querySelector("input").focus();
    });
    this.addDataRow("", "");
  }

  setChannels(channels) {
    const select = $("compose-channel");
    const chosen = select.value;
    select.replaceChildren(...channels.map((c) => element("option", { value: c.name, text: `${c.title} (${c.name})` })));
    if (channels.some((c) => c.name === chosen)) select.value = chosen;
    if (this.touched) this.schedulePreview();
  }

  addDataRow(key, value) {
    const number = $("data-rows").children.length + 1;
    const row = element("li", { class: "data-row" }, [
      element("input", { class: "data-key", "aria-label": t("data.key", { number }), placeholder: t("data.keyPlaceholder"), autocomplete: "off", spellcheck: "false" }),
      element("input", { class: "data-value", "aria-label": t("data.value", { number }), placeholder: t("data.valuePlaceholder"), autocomplete: "off" }),
    ]);
    row.append(element("button", { type: "button", class: "secondary", "aria-label": t("data.remove", { number }), text: "×", onclick: () => {
      row.remove();
      this.schedulePreview();
    } }));
    row.querySelector(".data-key").value = key;
    row.querySelector(".data-value").value = value;
    $("data-rows").append(row);
  }

  /** The POST /messages body; empty optional fields are left out, so the server's defaults apply. */
  body() {
    const text = (id) => $(id).value;
    const body = { channel: text("compose-channel"), title: text("compose-title") };
    const audience = document.querySelector('input[name="audience"]:checked').value;
    if (audience === "subscribers") body.audience = "subscribers";
    else body.receivers = parseIds(text("compose-receivers"));
    if (text("compose-content")) body.content = text("compose-content");
    if (text("compose-url")) body.url = text("compose-url");
    if (text("compose-mobile-url")) body.mobileUrl = text("compose-mobile-url");
    if (text("compose-duration") !== "") body.duration = Number(text("compose-duration"));
    if (text("compose-severity") !== "normal") body.severity = text("compose-severity");
    const tags = parseTags(text("compose-tags"));
    if (tags.length) body.tags = tags;
    if (text("compose-expires")) body.expiresAt = localToIso(text("compose-expires")) || text("compose-expires"); // the API names a bad one
    const actions = [0, 1]
      .map((i) => ({ label: text(`action-${i}-label`), url: text(`action-${i}-url`) }))
      .filter((action) => action.label || action.url);
    if (actions.length) body.actions = actions;
    const data = {};
    document.querySelectorAll("#data-rows .data-row").forEach((row) => {
      const key = row.querySelector(".data-key").value.trim();
      if (key) data[key] = row.querySelector(".data-value").value;
    });
    if (Object.keys(data).length) body.data = data;
    return body;
  }

  schedulePreview() {
    clearTimeout(this.timer);
    $("receivers-row").hidden = document.querySelector('input[name="audience"]:checked').value === "subscribers";
    this.timer = setTimeout(() => this.preview(), PREVIEW_DELAY_MS);
  }

  async preview() {
    const seq = ++this.previewSeq;
    const body = this.body();
    $("preview-state").textContent = t("preview.updating");
    try {
      const filled = await this.client.api("POST", "/messages/preview", body);
      if (seq !== this.previewSeq) return; // a newer preview is on its way
      this.showPreview(filled, body);
      this.showError(null);
      $("preview-state").textContent = t("preview.ready");
    } catch (error) {
      if (seq !== this.previewSeq) return;
      this.showPreview(null);
      this.showError(error, body);
      $("preview-state").textContent = t("preview.invalid");
    }
  }

  /** The server's filled fields, and the body's tags and expiry (which the server took as they are). */
  showPreview(filled, body = {}) {
    $("preview").hidden = !filled;
    if (!filled) return;
    $("preview-tags-row").hidden = !body.tags;
    $("preview-tags").textContent = (body.tags || []).slice().sort().join(", ");
    $("preview-expires-row").hidden = !body.expiresAt;
    $("preview-expires").dateTime = body.expiresAt || "";
    $("preview-expires").textContent = body.expiresAt ? `${new Date(body.expiresAt).toLocaleString(t.locale)} (${t.relativeTime(body.expiresAt)})` : "";
    $("preview-title").textContent = filled.title;
    $("preview-content").textContent = filled.content;
    $("preview-url").textContent = filled.url || t("preview.none");
    $("preview-mobile-row").hidden = !filled.mobileUrl;
    $("preview-mobile-url").textContent = filled.mobileUrl || "";
    $("preview-actions").replaceChildren(
      ...(filled.actions || []).map((action) => element("li", {}, [element("span", { class: "action", text: action.label }), ` → ${action.url}`])),
    );
  }

  /**
   * The server's message, and its field marked (`data.version: is missing …` marks the data rows);
   * `receivers[3]: …` also names that id, which the pasted text does not number.
   */
  showError(error, body = null) {
    document.querySelectorAll("#compose-form [aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
    $("compose-error").hidden = !error;
    $("compose-error").textContent = error ? error.message : "";
    if (!error) return;
    const receiver = /^receivers\[(\d+)\]/.exec(error.message);
    if (receiver && body && body.receivers) $("compose-error").textContent += ` ${t("compose.theId", { id: body.receivers[Number(receiver[1])] })}`;
    const field = error.message.split(/[.:[ ]/, 1)[0];
    if (!FIELDS.includes(field)) return;
    const node = document.querySelector(`#compose-form [data-field="${field}"]`);
    if (node) node.setAttribute("aria-invalid", "true");
  }

  /** How the last send went; unlike a field's error, a later preview does not clear it. */
  showResult(text, state) {
    $("compose-result").textContent = text;
    $("compose-result").dataset.state = state;
    $("compose-result").hidden = false;
  }

  async send() {
    const button = $("compose-send");
    if (button.disabled) return;
    const body = this.body();
    const json = JSON.stringify(body);
    if (this.keyBody !== null && this.keyBody !== json) this.key = newKey(); // a changed message is a new send
    this.keyBody = json;
    button.disabled = true;
    $("compose-result").hidden = true;
    try {
      const answer = await this.client.api("POST", "/messages", body, { "Idempotency-Key": this.key });
      this.key = newKey();
      this.keyBody = null;
      this.showError(null);
      const sent = answer.audience ? t("compose.sentAudience", answer) : t.plural("compose.sent", answer.receivers, { id: answer.id });
      this.showResult(sent, "sent");
      this.onSent(answer);
    } catch (error) {
      if (FIELD_ERRORS.includes(error.status)) this.showError(error, body);
      else if (error.status !== 401) this.showResult(t("compose.failed", error), "failed");
    } finally {
      button.disabled = false;
    }
  }
}
