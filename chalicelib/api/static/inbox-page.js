// The inbox page (GET /): sign-in around the <inapp-inbox> element, which is the whole inbox. The page keeps
// the token for this tab's session, hands the element a provider of it, and goes back to the sign-in form
// when the element says the token was refused.
import "../inapp-inbox.js";
import signInWords from "./i18n-admin-en.js";
import { translator } from "./i18n.js";
import { $, TOKEN_KEY, expiredNotice, onTokenPasted, showTokenHint, tokenFromPage } from "./page.js";

const TOKEN_COMMAND = "make token USER=alice"; // what prints a token on the local stack (the sign-in hints)
const t = translator("en", undefined, { en: signInWords }); // the console's sign-in words, in this page's English
const inbox = $("inapp");

function start(token) {
  $("signin").hidden = true;
  inbox.hidden = false;
  // A token provider: the page's newest token (a pasted one replaces it), asked again before it expires and
  // after the server closed an expired one's socket (4001); an expired one ends in "inapp:unauthorized".
  inbox.tokenProvider = () => sessionStorage.getItem(TOKEN_KEY) || token;
}

/** Back to the sign-in form, forgetting the token; the element sends its waiting deletes and forgets what it showed. */
function signOut(notice) {
  inbox.tokenProvider = null;
  inbox.hidden = true;
  sessionStorage.removeItem(TOKEN_KEY);
  $("signin-notice").replaceChildren(...(notice || []));
  $("signin-notice").hidden = !notice;
  $("signin").hidden = false;
  $("token-input").value = "";
}

inbox.addEventListener("inapp:unauthorized", () => signOut(expiredNotice(TOKEN_COMMAND, t)));
$("sign-out").addEventListener("click", () => signOut(null));
// A `#token=…` link pasted into this open tab: sign in with it (another user's: out of the current one first).
onTokenPasted((token) => {
  signOut(null);
  sessionStorage.setItem(TOKEN_KEY, token);
  start(token);
});
$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token-input").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  start(token);
});

showTokenHint(TOKEN_COMMAND, t);
const token = tokenFromPage();
if (token) start(token);
else signOut(null);
