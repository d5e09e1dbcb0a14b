// A conversation about one listing or trade: end-to-end encrypted, between the buyer and the
// seller, read-only for an arbitrator the thread was disclosed to. The page derives the keys
// from the wallet and talks to the relays itself (lib/messaging.js); messages arrive live.
import { api } from "../lib/api.js";
import { el, field } from "../lib/dom.js";
import { date, short } from "../lib/format.js";
import { announce, channels, flush, follow, identity, messages, relaysOfApi, send, share, unwrapMessage } from "../lib/messaging.js";
import { act, setStatus } from "../lib/status.js";
import { account, config } from "../lib/wallet.js";

const live = { stop: null, timer: null };
const announced = new Set();

function stopFollowing() {
  if (live.stop) live.stop();
  if (live.timer) clearInterval(live.timer);
  live.stop = live.timer = null;
}

// Who this is about, and who the other party is: a trade of mine, else a listing I may ask about.
async function context(topic, me) {
  const trades = await api(`/api/accounts/${me}/trades`);
  const trade = trades.items.find((t) => t.trade_id.toLowerCase() === topic.toLowerCase());
  if (trade) {
    return {
      trade,
      role: trade.role,
      title: trade.title || `Trade ${short(trade.trade_id)}`,
      listingId: trade.listing_id,
      parties: { buyer: trade.buyer, seller: trade.seller },
      peerAddress: trade.role === "buyer" ? trade.seller : trade.role === "seller" ? trade.buyer : null,
    };
  }
  const listing = await api(`/api/listings/${topic}`);
  const role = listing.seller === me ? "seller" : "buyer";
  return {
    trade: null,
    role,
    title: (listing.document && listing.document.title) || `Listing ${short(topic)}`,
    listingId: topic,
    parties: { seller: listing.seller, buyer: role === "buyer" ? me : null },
    peerAddress: role === "buyer" ? listing.seller : null,
  };
}

// The other party's inbox: from the listing's document (the seller), else their address card.
async function peerContact(ctx) {
  if (ctx.role === "buyer") {
    try {
      return await api(`/api/listings/${ctx.listingId}/contact`);
    } catch { /* a version 1 document: try the card */ }
  }
  if (!ctx.peerAddress) return null;
  try {
    return await api(`/api/accounts/${ctx.peerAddress}/contact`);
  } catch {
    return null;
  }
}

function who(message, ctx, me) {
  if (!message.address) return "unverified author";
  const role = Object.entries(ctx.parties).find(([, a]) => a && a.toLowerCase() === message.address.toLowerCase());
  const name = message.address === me ? "You" : role ? role[0][0].toUpperCase() + role[0].slice(1) : short(message.address);
  return role && message.address !== me ? `${name} (${short(message.address)})` : name;
}

function bubble(message, ctx, me) {
  return el("li", { class: `message ${message.outgoing ? "outgoing" : "incoming"}`, "data-testid": "message", "data-id": message.id },
    el("p", { class: "message-meta small" },
      el("strong", { "data-testid": "message-author" }, who(message, ctx, me)), ` · ${date(message.at)}`,
      message.address ? el("span", { class: "verified", title: `Signed by the key ${message.address} vouched for` }, " · signature checked") : null,
      message.outgoing ? el("span", { "data-testid": "message-status" }, ` · ${message.status}`) : null),
    el("p", { class: "message-text", "data-testid": "message-text" }, message.text));
}

// The channels with the other party: for a trade, only the ones whose opener proved to be
// that party; for my own listing, the one asker chosen (`?with=<address>`) among possibly many.
function withPeer(chans, ctx, chosen) {
  const readers = chans.filter((c) => c.role === "reader");
  const mine = chans.filter((c) => c.role !== "reader");
  const wanted = ctx.peerAddress || chosen;
  if (wanted) return { chans: [...readers, ...mine.filter((c) => c.peerAddress && c.peerAddress.toLowerCase() === wanted.toLowerCase())], askers: [] };
  const askers = [...new Set(mine.map((c) => c.peerAddress).filter(Boolean))];
  if (askers.length === 1) return { chans: [...readers, ...mine], askers: [], peer: askers[0] };
  return { chans: readers, askers };
}

export async function showConversation(topic, { view, current, params }) {
  stopFollowing();
  if (!/^0x[0-9a-fA-F]{64}$/.test(topic)) throw new Error(`not a listing or trade id: ${topic}`);
  const me = await account();
  const [{ chain_id: chainId }, relays, ctx] = await Promise.all([config(), relaysOfApi(), context(topic, me)]);
  if (!current()) return;
  const heading = el("h1", {}, `Conversation: ${ctx.title}`);
  const about = el("p", { class: "muted" },
    "Messages are end-to-end encrypted: only you and the other party can read them, and an arbitrator if one of you shares the thread in a dispute. ",
    "Your wallet signs once to derive your messaging keys; they never leave this page. The relays carry only encrypted data.");
  if (!relays.length) {
    view.replaceChildren(heading, el("p", { class: "empty", "data-testid": "messaging-off" }, "Messaging is off: this server names no relays."));
    return;
  }
  view.replaceChildren(heading, about, el("p", { "data-testid": "conversation-loading" }, "Asking your wallet for your messaging keys…"));
  const id = await identity(me);
  if (!announced.has(me)) {
    announced.add(me);
    announce(id, relays).catch(() => announced.delete(me));
  }
  const peer = ctx.role === "arbitrator" ? null : await peerContact(ctx);
  const all = await channels(id, { chainId, topic, peer, relays });
  const chosen = params && params.get("with");
  const { chans, askers, peer: only } = withPeer(all, ctx, chosen && /^0x[0-9a-fA-F]{40}$/.test(chosen) ? chosen : null);
  if (!ctx.trade && (only || chosen)) ctx.parties.asker = only || chosen;
  if (askers.length) {
    view.replaceChildren(heading, about,
      el("h2", {}, `${askers.length} people asked about this listing`),
      el("ul", { "data-testid": "askers" }, askers.map((a) => el("li", {},
        el("a", { href: `#/conversation/${topic}?with=${a}`, "data-testid": "asker", class: "mono" }, `Conversation with ${a}`)))));
    return;
  }
  const shown = await messages(id, chainId, topic, chans);
  if (!current()) return;
  const list = el("ol", { class: "messages", "data-testid": "messages", "aria-label": "Messages" });
  const known = new Set();
  const add = (message) => {
    if (known.has(message.id)) return;
    known.add(message.id);
    list.append(bubble(message, ctx, me));
  };
  shown.forEach(add);
  const writable = chans.some((c) => c.role !== "reader");
  const readOnly = chans.length > 0 && !writable;
  const parts = [heading, about];
  if (readOnly) {
    parts.push(el("p", { class: "notice", "data-testid": "read-only" },
      "This thread was shared with you as the arbitrator: you can read it and check who wrote each message, but not write in it."));
  }
  parts.push(shown.length ? null : el("p", { class: "empty", "data-testid": "no-messages" }, "No messages yet."), list);
  if (writable) {
    const box = el("textarea", { rows: 3, maxlength: 20000, required: true, "data-testid": "message-input" });
    const form = el("form", { class: "composer", "data-testid": "composer", onsubmit: (event) => {
      event.preventDefault();
      const body = box.value.trim();
      if (!body) return;
      act("Sending", async () => {
        const last = [...list.querySelectorAll("[data-testid=message]")].map((n) => n.dataset.id).pop() || null;
        const sent = await send(id, chainId, topic, chans, body, last);
        box.value = "";
        add(sent);
        const status = list.querySelector(`[data-id="${sent.id}"] [data-testid=message-status]`);
        const update = () => { if (status) status.textContent = ` · ${sent.status}`; };
        update();
        const retry = setInterval(async () => {
          await flush();
          update();
          if (sent.status === "sent" || !current()) clearInterval(retry);
        }, 3000);
        setStatus(sent.status === "sent" ? "Message sent." : "Message kept: no relay took it yet, it will be retried.", sent.status === "sent" ? "done" : "info");
      });
    } }, field(ctx.role === "buyer" && !ctx.trade ? "Ask the seller" : "Your message", box),
    el("button", { type: "submit", "data-testid": "message-send" }, "Send encrypted"));
    parts.push(form);
  } else if (!readOnly) {
    parts.push(el("p", { class: "empty", "data-testid": "no-contact" },
      ctx.role === "arbitrator" ? "No thread was shared with you yet." : "The other party has published no messaging key yet."));
  }
  const trade = ctx.trade;
  if (trade && writable && trade.arbitrator && trade.state === "disputed") {
    parts.push(el("p", {}, el("button", { type: "button", class: "secondary", "data-testid": "share-thread", onclick: () => act("Sharing", async () => {
      const arbitrator = await api(`/api/accounts/${trade.arbitrator}/contact`);
      await share(id, chainId, topic, chans, arbitrator);
      setStatus(`Shared with the arbitrator ${short(trade.arbitrator)}: they can read this thread, not write in it.`, "done");
    }) }, "Share this thread with the arbitrator")));
  }
  view.replaceChildren(...parts.filter(Boolean));
  live.stop = await follow(chans, async (wrap, channel) => {
    const message = await unwrapMessage(id, chainId, topic, channel, wrap);
    if (message && current()) {
      const empty = view.querySelector("[data-testid=no-messages]");
      if (empty) empty.remove();
      add(message);
    }
  });
  live.timer = setInterval(() => { if (!current()) stopFollowing(); }, 500);
}
