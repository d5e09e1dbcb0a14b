// Notices of what happens to the connected account's trades (bought, disputed, ruled, a
// settlement proposed, a deposit returned, a window closing within 24 h), pushed by the API's
// stream (/api/notifications/stream) into a polite live region above the status line.
import { el } from "./dom.js";

const state = { source: null, address: null };
const MAX_SHOWN = 3;

function region() {
  let node = document.getElementById("notices");
  if (!node) {
    node = el("ul", { id: "notices", class: "notices", "aria-live": "polite", "aria-label": "Notices", "data-testid": "notices" });
    document.getElementById("status").before(node);
  }
  return node;
}

export function watchNotices(address) {
  if (!window.EventSource || state.address === address) return;
  if (state.source) state.source.close();
  state.address = address;
  state.source = new EventSource(`/api/notifications/stream?address=${address}`);
  state.source.addEventListener("notice", (event) => {
    const notice = JSON.parse(event.data);
    const list = region();
    const item = el("li", { "data-testid": "notice", "data-kind": notice.kind },
      notice.trade ? el("a", { href: `#/conversation/${notice.trade}` }, notice.text) : notice.text,
      " ", el("button", { type: "button", class: "link", "aria-label": "Dismiss notice", onclick: () => item.remove() }, "×"));
    list.prepend(item);
    while (list.children.length > MAX_SHOWN) list.lastElementChild.remove();
  });
}
