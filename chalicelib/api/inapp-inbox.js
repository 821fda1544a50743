// GET /inapp-inbox.js: the <inapp-inbox> custom element, for a page of any origin and any framework (or none).
//
//   <script type="module" src="https://YOUR-API/api/inapp-inbox.js"></script>
//   <inapp-inbox token="…"></inapp-inbox>
//
// The server fills in its WebSocket URL below (a `ws` attribute overrides it). The modules this one imports
// are served under static/ beside it and, like it, with CORS headers: module scripts load in CORS mode.
import { InappInbox } from "./static/inbox-element.js";

InappInbox.defaultWsUrl = "{{WS_URL}}";
if (!customElements.get("inapp-inbox")) customElements.define("inapp-inbox", InappInbox);

export { InappInbox };
