// The p2pchain web page: browse and search listings, read every term, buy with an injected
// EIP-1193 wallet, act on trades as buyer, seller or arbitrator, sell, and see changes live.
// ES modules, one per view; viem is bundled into vendor/viem.js; nothing loads from elsewhere.
import { short } from "./lib/format.js";
import { watchNotices } from "./lib/notices.js";
import { act, busy, setStatus } from "./lib/status.js";
import { connect, onAccount, session } from "./lib/wallet.js";
import { showBrowse } from "./views/browse.js";
import { showConversation } from "./views/conversation.js";
import { showListing, showSigned } from "./views/listing.js";
import { showProfile } from "./views/profile.js";
import { showNewRequest } from "./views/newrequest.js";
import { showRequest, showRequests } from "./views/requests.js";
import { showSell } from "./views/sell.js";
import { showTrades } from "./views/trades.js";

const view = document.getElementById("view");
const state = { route: 0 };

// Show the screen the location names. A later call supersedes an earlier one still loading.
// `quiet` (live refreshes) keeps the status line and the scroll position.
async function route({ quiet = false, live = false } = {}) {
  const hash = location.hash || "#/";
  const [path, query] = hash.slice(1).split("?");
  const mine = ++state.route;
  // A live reload (a change on the chain, not the user's own step) fetches first and draws
  // after: if the user started something meanwhile (opened a form, typed), it draws nothing and
  // comes back once they are done.
  let deferred = false;
  const current = () => {
    if (mine !== state.route) return false;
    if (live && editing()) deferred = true;
    return !deferred;
  };
  const ctx = { view, current, quiet, params: new URLSearchParams(query || "") };
  const scroll = window.scrollY;
  try {
    for (const link of document.querySelectorAll("header nav a")) {
      link.toggleAttribute("aria-current", link.getAttribute("href") === `#${path}` || (path === "/" && link.dataset.testid === "nav-browse"));
    }
    if (path.startsWith("/listing/")) await showListing(path.slice("/listing/".length), ctx);
    else if (path.startsWith("/signed/")) await showSigned(path.slice("/signed/".length), ctx);
    else if (path.startsWith("/conversation/")) await showConversation(path.slice("/conversation/".length), ctx);
    else if (path.startsWith("/seller/")) await showProfile(path.slice("/seller/".length), ctx);
    else if (path.startsWith("/request/")) await showRequest(path.slice("/request/".length), ctx);
    else if (path === "/requests/new") await showNewRequest(ctx);
    else if (path === "/requests") await showRequests(ctx);
    else if (path === "/trades") await showTrades(ctx);
    else if (path === "/sell") await showSell(ctx);
    else await showBrowse(ctx);
    if (deferred) {
      refreshSoon();
      return;
    }
    if (mine === state.route) remember();
    if (quiet) window.scrollTo(0, scroll);
    else if (mine === state.route) document.getElementById("view").focus({ preventScroll: true });
  } catch (err) {
    if (!quiet) setStatus(err.message, "error");
  }
}

// ------------------------------------------------------------------ live updates

// The API streams a "change" each time its index takes in a new block with marketplace events.
// The screen is reloaded in place, unless the user is in the middle of something: typing in a
// form, or an action waiting for the wallet. Then it is reloaded right after.
const live = { pending: false, timer: null, source: null };

function editing() {
  const active = document.activeElement;
  const inForm = active && active.closest && active.closest("form") && active.matches("input, textarea, select");
  // an opened action form (a refund's "Yes, refund", say) counts even with nothing typed yet:
  // reloading would close it under the user's pointer
  const openForm = view.querySelector("form.action-form:not([hidden])");
  return busy.count > 0 || Boolean(inForm) || Boolean(openForm) || changed() || Boolean(view.querySelector("dialog[open]")) || location.hash.startsWith("#/sell") || location.hash.startsWith("#/requests/new");
}

// A field the user changed and has not submitted yet (a cleared price filter, say): reloading
// would put back the value it was drawn with, and the click that follows would use that.
// Each screen's fields are remembered as drawn (fields drawn later, by a click, are not).
const drawn = new WeakMap();
const FIELDS = "input:not([type=file]), textarea, select";

function fieldState(field) {
  return field.type === "checkbox" || field.type === "radio" ? String(field.checked) : field.value;
}

function remember() {
  for (const field of view.querySelectorAll(FIELDS)) drawn.set(field, fieldState(field));
}

function changed() {
  for (const field of view.querySelectorAll(FIELDS)) {
    if (drawn.has(field) && drawn.get(field) !== fieldState(field)) return true;
  }
  return false;
}

function refreshSoon() {
  live.pending = true;
  if (live.timer) return;
  live.timer = setTimeout(function tick() {
    if (editing()) {
      live.timer = setTimeout(tick, 300);
      return;
    }
    live.timer = null;
    live.pending = false;
    route({ quiet: true, live: true });
  }, 50);
}

function listen() {
  if (!window.EventSource) return;
  live.source = new EventSource("/api/events");
  live.source.addEventListener("hello", (event) => {
    document.body.dataset.live = JSON.parse(event.data).following ? "on" : "off";
  });
  live.source.addEventListener("change", () => refreshSoon());
}

// ------------------------------------------------------------------ header

function showAccount(address) {
  const node = document.getElementById("account");
  node.textContent = short(address);
  node.title = address;
  document.getElementById("connect").textContent = "Connected";
}

onAccount(showAccount);
onAccount(watchNotices);
document.getElementById("connect").addEventListener("click", () => act("Connecting", async () => {
  await connect();
  await route();
  setStatus(`Connected as ${session.account}`, "done");
}));
window.addEventListener("hashchange", () => route());
if (window.ethereum && window.ethereum.on) {
  window.ethereum.on("accountsChanged", (accounts) => {
    if (accounts && accounts[0]) {
      session.account = accounts[0];
      showAccount(accounts[0]);
      route({ quiet: true });
    }
  });
}

// For tests and the console.
window.route = route;
window.setStatus = setStatus;
window.p2pchainLive = live;

listen();
route();
