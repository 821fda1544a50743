// The element's styles, inside its shadow root (a constructed stylesheet: no inline <style>, which a strict
// Content-Security-Policy refuses). Host pages theme it through the --inapp-* custom properties below (they
// inherit into the shadow root) and restyle its parts with ::part(bell), ::part(badge), ::part(panel), ….
export const STYLES = `
:host {
  --fg: var(--inapp-fg, #1d2330); --muted: var(--inapp-muted, #667085); --line: var(--inapp-line, #e4e7ec);
  --bg: var(--inapp-bg, #f6f7f9); --card: var(--inapp-card, #fff); --accent: var(--inapp-accent, #2d6cdf);
  --accent-soft: var(--inapp-accent-soft, #e8effc); --unread: var(--inapp-badge, #d92d20);
  --high: var(--inapp-high, #b54708); --high-soft: var(--inapp-high-soft, #fffaeb);
  --critical: var(--inapp-critical, #b42318); --critical-soft: var(--inapp-critical-soft, #fef3f2);
  --radius: var(--inapp-radius, 10px); --toast-bg: var(--inapp-toast-bg, #101828); --z: var(--inapp-z, 1000);
  display: inline-block; position: relative;
  font-family: var(--inapp-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
}
:host([layout="page"]) { display: block; background: var(--bg); min-height: 100vh; }
:host([hidden]), [hidden] { display: none !important; }
* { box-sizing: border-box; }
.page, .panel { color: var(--fg); } /* the bell of a popover takes the host's colour (a dark bar's, say) */
button { font: inherit; cursor: pointer; border: 1px solid var(--line); background: var(--card); color: var(--fg);
  border-radius: 6px; padding: .35rem .7rem; }
button:hover { border-color: var(--accent); }
button:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
button.secondary { color: var(--accent); }
button:disabled { cursor: default; color: var(--muted); border-color: var(--line); }
ul { list-style: none; margin: 0; padding: 0; }
.bar { display: flex; align-items: center; gap: .75rem; }
.page .bar { padding: .6rem 1rem; background: var(--card); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 2; }
.bar slot[name="start"]::slotted(*) { margin: 0; flex: 1; font-size: 1.15rem; }
.controls { display: flex; align-items: center; gap: .75rem; flex-wrap: wrap; }
.page .controls { display: contents; } /* its parts wrap with the bar's own */
.connection { font-size: .8rem; color: var(--muted); }
.connection::before { content: "●"; margin-right: .3rem; color: #98a2b3; }
.connection[data-state="open"]::before { color: #12b76a; }
.connection[data-state="reconnecting"]::before, .connection[data-state="connecting"]::before { color: #f79009; }
.bell { position: relative; border: none; background: none; padding: .2rem .4rem; display: inline-flex; color: inherit; }
.badge { position: absolute; top: -.2rem; right: -.35rem; background: var(--unread); color: #fff; border-radius: 999px;
  font-size: .7rem; min-width: 1.2rem; padding: 0 .3rem; text-align: center; line-height: 1.2rem; }
.panel { container-type: inline-size; }
.popover .panel { position: fixed; z-index: var(--z); width: min(var(--inapp-panel-width, 46rem), calc(100vw - 16px));
  overflow: auto; background: var(--bg); border: 1px solid var(--line); border-radius: var(--radius);
  box-shadow: 0 12px 32px rgba(16, 24, 40, .18); text-align: start; }
.panel-head { display: flex; align-items: center; gap: .5rem; padding: .5rem .75rem 0; }
.panel-head .controls { flex: 1; gap: .4rem; }
.panel-head .controls button { font-size: .8rem; padding: .25rem .5rem; }
.page .panel-head { display: none; }
.close-panel { border: none; background: none; font-size: 1.3rem; line-height: 1; padding: .1rem .45rem; margin-left: auto; }
.inbox { display: grid; grid-template-columns: minmax(14rem, 22rem) minmax(0, 1fr); gap: 1rem; padding: 1rem;
  max-width: 72rem; margin: 0 auto; }
.popover .inbox { grid-template-columns: minmax(12rem, 18rem) minmax(0, 1fr); gap: .75rem; padding: .75rem; }
@container (max-width: 40rem) { .inbox, .popover .inbox { grid-template-columns: minmax(0, 1fr); padding: .5rem; gap: .5rem; } }
.channels, .messages { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); padding: .75rem; min-width: 0; }
.tabs { display: flex; flex-wrap: wrap; gap: .25rem; margin-bottom: .5rem; }
.tabs button[aria-selected="true"] { background: var(--accent-soft); border-color: var(--accent); }
.channel-list li + li, .message-list li + li { border-top: 1px solid var(--line); }
.channel { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: .15rem .5rem; width: 100%; text-align: left;
  border: none; border-radius: 6px; padding: .55rem .5rem; background: none; }
.channel[aria-current="true"] { background: var(--accent-soft); }
.channel .name { font-weight: 600; overflow-wrap: anywhere; }
.muted-flag { font-weight: 400; font-size: .72rem; color: var(--muted); border: 1px solid var(--line); border-radius: 999px;
  padding: 0 .4rem; margin-left: .4rem; }
.channel .latest { color: var(--muted); font-size: .85rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.channel .time { color: var(--muted); font-size: .75rem; }
.count { justify-self: end; background: var(--unread); color: #fff; border-radius: 999px; font-size: .72rem; padding: 0 .45rem;
  align-self: center; }
.messages-head { display: flex; align-items: center; gap: .5rem; justify-content: space-between; flex-wrap: wrap; }
.messages-head h2 { font-size: 1.05rem; margin: .25rem 0 .5rem; overflow-wrap: anywhere; }
.channel-controls { display: flex; flex-wrap: wrap; gap: .4rem; margin-bottom: .5rem; }
.mute[aria-pressed="true"] { background: var(--accent-soft); border-color: var(--accent); }
.mute[aria-pressed="true"]::before { content: "✓ "; }
.message { padding: .7rem .25rem; display: grid; gap: .3rem; }
.message .title { font-weight: 400; overflow-wrap: anywhere; margin: 0; font-size: 1rem; }
.message.unread .title { font-weight: 700; }
.message.severity-high { border-left: 4px solid var(--high); padding-left: .6rem; background: var(--high-soft); }
.message.severity-critical { border-left: 4px solid var(--critical); padding-left: .6rem; background: var(--critical-soft); }
.severity { border-radius: 4px; font-size: .72rem; font-weight: 700; padding: .05rem .45rem; color: #fff; text-transform: uppercase;
  letter-spacing: .03em; }
.severity.high { background: var(--high); }
.severity.critical { background: var(--critical); }
.new { color: var(--accent); font-weight: 600; }
.new::before { content: "●"; margin-right: .25rem; }
.in-channel { font-weight: 600; }
.message .content { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; color: var(--inapp-fg-soft, #344054); }
.message .meta { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; font-size: .8rem; color: var(--muted); }
.tag { border-radius: 999px; font-size: .75rem; padding: .1rem .6rem; }
.tag[aria-pressed="false"] { background: #fef3f2; border-color: #fda29b; color: var(--unread); }
.tag[aria-pressed="true"] { background: #ecfdf3; border-color: #75e0a7; color: #067647; }
a.view, button.view, .action, .meta .archive, .meta .delete { font-size: .8rem; text-decoration: none; border-radius: 6px;
  padding: .1rem .6rem; border: 1px solid var(--line); color: var(--fg); background: var(--card); }
a.view, button.view, .secondary-action { color: var(--accent); border-color: var(--accent); }
.primary-action { background: var(--accent); border-color: var(--accent); color: #fff; }
.action { overflow-wrap: anywhere; max-width: 100%; text-align: left; }
.meta .delete { color: var(--unread); }
.meta .pin, .snooze-button, .meta .wake { font-size: .8rem; border-radius: 6px; padding: .1rem .6rem; }
.meta .pin[aria-pressed="true"] { background: var(--accent-soft); border-color: var(--accent); }
.pinned { color: #fff; background: var(--accent); border-radius: 4px; font-size: .72rem; font-weight: 700; padding: .05rem .45rem;
  text-transform: uppercase; letter-spacing: .03em; }
.meta .wake { color: var(--accent); border-color: var(--accent); }
.snooze[open] { flex-basis: 100%; } /* the menu opens in the flow, on a row of its own: never clipped by a popover */
.snooze-button { display: inline-block; list-style: none; cursor: pointer; border: 1px solid var(--line); background: var(--card); color: var(--fg); }
.snooze-button::-webkit-details-marker { display: none; }
.snooze-button::after { content: " ▾"; }
.snooze-menu { margin-top: .3rem; display: grid; gap: .2rem; padding: .3rem; max-width: 22rem;
  background: var(--card); border: 1px solid var(--line); border-radius: 8px; box-shadow: 0 4px 12px rgba(16, 24, 40, .12); }
.snooze-option { display: flex; justify-content: space-between; gap: .75rem; border: none; text-align: left; white-space: nowrap; }
.snooze-at { color: var(--muted); }
.expires, .snoozed-until { font-style: italic; }
.message-tags { display: flex; flex-wrap: wrap; gap: .3rem; }
.message-tag, .tag-tab .tag-name::before { font-size: .72rem; }
.message-tag { border-radius: 999px; padding: 0 .5rem; background: var(--accent-soft); color: var(--accent); }
.message-tag::before, .tag-tab .tag-name::before { content: "#"; }
.tag-tabs { border-top: 1px dashed var(--line); padding-top: .5rem; }
.tag-tab { display: inline-flex; gap: .35rem; align-items: center; font-size: .85rem; }
.toast .unsnoozed { justify-self: start; font-size: .72rem; font-weight: 700; text-transform: uppercase; color: #84caff; }
.more { display: block; width: 100%; margin-top: .5rem; }
.empty { color: var(--muted); }
.toasts { position: fixed; right: 1rem; bottom: 1rem; display: grid; gap: .5rem; z-index: calc(var(--z) + 1);
  width: min(22rem, calc(100vw - 2rem)); text-align: start; }
.toast { background: var(--toast-bg); color: #fff; border-radius: 8px; padding: .7rem .8rem; display: grid;
  grid-template-columns: minmax(0, 1fr) auto; gap: .2rem .5rem; box-shadow: 0 8px 24px rgba(0,0,0,.2); }
.toast .open { all: unset; cursor: pointer; display: grid; gap: .2rem; min-width: 0; }
.toast .open:focus-visible { outline: 2px solid #fff; }
.toast strong, .toast span { overflow-wrap: anywhere; }
.toast span { color: #d0d5dd; font-size: .85rem; }
.toast .close { background: none; border: none; color: #fff; padding: 0 .3rem; align-self: start; }
.toast.severity-high { border-left: 5px solid #fdb022; }
.toast.severity-critical { background: var(--critical); border-left: 5px solid #fff; }
.toast.severity-critical span { color: #fee4e2; }
.toast .severity { justify-self: start; background: rgba(255,255,255,.18); }
.toast.undo, .toast.notice { align-items: center; }
.toast .notice-text { color: #fff; font-size: .9rem; }
.toast .undo-text { color: #fff; font-size: .95rem; }
.toast .undo-button { background: none; color: #84caff; border-color: #84caff; font-weight: 600; }
.toast .undo-button:focus-visible { outline: 2px solid #fff; }
@media (max-width: 640px) {
  .page .bar { padding: .5rem .6rem; gap: .4rem; flex-wrap: wrap; }
  .controls { gap: .4rem; }
  .controls button, .channel-controls button { font-size: .8rem; padding: .25rem .45rem; }
}
`;
