// Notices of what happens to the connected account's trades (bought, disputed, ruled, a
// settlement proposed, a deposit returned, a window closing within 24 h) and of what the index
// knows for it (a listing matching its request, a request matching its listing, an answer, an
// offer received or expiring), each linking where to act on it, pushed by the API's
// stream (/api/notifications/stream) into a polite live region above the status line.
// The stream starts from the chain time of a first read, so what happens while it connects is
// not lost; a notice that comes twice (around that second, or on a reconnect) shows once.
import { el } from "./dom.js";

const state = { source: null, address: null, shown: new Set() };
const MAX_SHOWN = 3;

function region() {
  let node = document.getElementById("notices");
  if (!node) {
    node = el("ul", { id: "notices", class: "notices", "aria-live": "polite", "aria-label": "Notices", "data-testid": "notices" });
    document.getElementById("status").before(node);
  }
  return node;
}

async function chainTime(address) {
  try {
    const response = await fetch(`/api/notifications?address=${address}&limit=1`);
    return response.ok ? (await response.json()).now : null;
  } catch {
    return null;  // the stream then starts from its own connection
  }
}

// Where a notice leads: a trade's conversation; a request (its matches and answers, or the
// form to answer it); the listing an offer is on.
export function noticeLink(notice) {
  if (notice.trade) return `#/conversation/${notice.trade}`;
  if (notice.request) return `#/request/${notice.request}`;
  if (notice.offer && notice.listing) return `#/listing/${notice.listing}`;
  return null;
}

export async function watchNotices(address) {
  if (!window.EventSource || state.address === address) return;
  if (state.source) state.source.close();
  state.address = address;
  state.shown = new Set();
  delete document.body.dataset.notices;
  const since = await chainTime(address);
  if (state.address !== address) return;  // the account changed meanwhile
  const query = since === null ? "" : `&since=${since}`;
  const source = new EventSource(`/api/notifications/stream?address=${address}${query}`);
  state.source = source;
  source.addEventListener("hello", () => { document.body.dataset.notices = "live"; });
  source.addEventListener("notice", (event) => {
    const notice = JSON.parse(event.data);
    if (state.shown.has(notice.key)) return;
    state.shown.add(notice.key);
    const list = region();
    const href = noticeLink(notice);
    const item = el("li", { "data-testid": "notice", "data-kind": notice.kind },
      href ? el("a", { href }, notice.text) : notice.text,
      " ", el("button", { type: "button", class: "link", "aria-label": "Dismiss notice", onclick: () => item.remove() }, "×"));
    list.prepend(item);
    while (list.children.length > MAX_SHOWN) list.lastElementChild.remove();
  });
}
