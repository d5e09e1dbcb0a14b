// Conversations over Nostr, in the browser, with the library's protocol (docs/messaging.md):
// keys derived from the wallet's personal_sign of ROOT_MESSAGE (the same keys `p2pchain
// message` derives), per-thread channel keys, NIP-44 v2 and NIP-59 gift wraps from nostr-tools.
// The keys never leave the page; it talks to the relays itself. The API only names the relays
// and the other party's inbox (from a listing document or an address card).
import { Relay, createRumor, createSeal, createWrap, decrypt, encrypt, finalizeEvent, getConversationKey, getPublicKey, secp256k1, verifyEvent } from "../vendor/nostr.js";
import { getAddress, recoverMessageAddress } from "../vendor/viem.js";
import { api } from "./api.js";
import { signMessage } from "./wallet.js";

export const ROOT_MESSAGE = "p2pchain messaging keys\n\nSigning this derives your p2pchain messaging keys. It costs nothing and sends nothing.\nOnly sign it in p2pchain.\n\nVersion: 1";
const ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const WRAP = 1059;
const CHAT = 14;
const THREAD = "p2pchain";
const INVITE = "p2pchain-invite";
const DISCLOSURE = "p2pchain-disclosure";
const text = new TextEncoder();

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (value) => Uint8Array.from(value.replace(/^0x/, "").match(/../g) || [], (h) => parseInt(h, 16));
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

async function hmac(key, data) {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

// The first HMAC(prk, info || i || 0x01) that is a valid secp256k1 scalar (`_keys._scalar`).
async function scalar(prk, info) {
  for (let i = 0; i < 256; i++) {
    const candidate = await hmac(prk, concat(info, Uint8Array.of(i, 1)));
    const n = BigInt("0x" + hex(candidate));
    if (n > 0n && n < ORDER) return keys(candidate);
  }
  throw new Error("no valid key derived");
}

const keys = (secret) => ({ secret, pubkey: getPublicKey(secret) });
export const threadLabel = (chainId, topic) => `${chainId}/${topic.toLowerCase()}`;

// root = HKDF-SHA256(ikm = r || s, salt = "p2pchain-messaging-v1", info = "root")
export async function rootFromSignature(signature) {
  const prk = await hmac(text.encode("p2pchain-messaging-v1"), unhex(signature).slice(0, 64));
  return hmac(prk, concat(text.encode("root"), Uint8Array.of(1)));
}

export const derive = (root, label) => scalar(root, text.encode("p2pchain/" + label));

// HKDF(ECDH-x(mine, theirs), salt "p2pchain-channel-v1"), expanded with "<chain>/<topic>".
export async function channelKeys(mySecret, theirPubkey, chainId, topic) {
  const shared = secp256k1.getSharedSecret(mySecret, unhex("02" + theirPubkey)).slice(1, 33);
  const prk = await hmac(text.encode("p2pchain-channel-v1"), shared);
  return scalar(prk, text.encode(threadLabel(chainId, topic)));
}

export const proofMessage = (pubkey, address) => `p2pchain messaging key\nkey: ${pubkey}\naddress: ${address}`;

// Whether `proof` is `address`'s signature vouching for `pubkey`.
export async function checkProof(pubkey, address, proof) {
  try {
    const signer = await recoverMessageAddress({ message: proofMessage(pubkey, getAddress(address)), signature: proof });
    return signer === getAddress(address);
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ identity

const identities = new Map();

// The account's messaging identity: one wallet signature per page load (the wallet is asked).
export async function identity(address) {
  if (!identities.has(address)) {
    identities.set(address, (async () => {
      const root = await rootFromSignature(await signMessage(address, ROOT_MESSAGE));
      return { address, root, inbox: await derive(root, "inbox"), proofs: new Map() };
    })());
    identities.get(address).catch(() => identities.delete(address));
  }
  return identities.get(address);
}

async function proof(me, pubkey) {
  const stored = `p2pchain:proof:${me.address}:${pubkey}`;
  let value = me.proofs.get(pubkey) || localStorage.getItem(stored);
  if (!value) {
    value = await signMessage(me.address, proofMessage(pubkey, me.address));
    localStorage.setItem(stored, value);
  }
  me.proofs.set(pubkey, value);
  return value;
}

// ------------------------------------------------------------------ relays

const connections = new Map();

async function relay(url) {
  if (!connections.has(url)) {
    const opening = Relay.connect(url);
    connections.set(url, opening);
    opening.catch(() => connections.delete(url));
  }
  const conn = await connections.get(url);
  if (!conn.connected) {
    connections.delete(url);
    return relay(url);
  }
  return conn;
}

// Stored events matching `filters` from every relay (failed relays skipped), deduplicated.
async function query(urls, filters) {
  const found = new Map();
  await Promise.all(urls.map(async (url) => {
    try {
      const conn = await relay(url);
      await new Promise((resolve) => {
        const sub = conn.subscribe(filters, {
          onevent: (event) => found.set(event.id, event),
          oneose: () => { sub.close(); resolve(); },
        });
        setTimeout(resolve, 4000);
      });
    } catch { /* an unreachable relay: the others answer */ }
  }));
  return [...found.values()];
}

// Publish to every relay; the relays that accepted it.
async function publish(urls, event) {
  const results = await Promise.all(urls.map(async (url) => {
    try {
      await (await relay(url)).publish(event);
      return url;
    } catch {
      return null;
    }
  }));
  return results.filter(Boolean);
}

// The page's outbox: wraps some relay has not accepted yet, retried by `flush` (every live tick).
const outbox = [];

async function deliver(item) {
  const accepted = await publish(item.relays.filter((u) => !item.accepted.includes(u)), item.event);
  item.accepted.push(...accepted);
  item.status = item.accepted.length === item.relays.length ? "sent" : item.accepted.length ? "partly sent" : "queued";
  if (item.status !== "sent" && !outbox.includes(item)) outbox.push(item);
  if (item.status === "sent" && outbox.includes(item)) outbox.splice(outbox.indexOf(item), 1);
  return item;
}

export async function flush() {
  for (const item of [...outbox]) await deliver(item);
}

// ------------------------------------------------------------------ threads

const unique = (urls) => [...new Set(urls.filter(Boolean))].slice(0, 16);

function open(wrap, secret) {
  const seal = JSON.parse(decrypt(wrap.content, getConversationKey(secret, wrap.pubkey)));
  if (seal.kind !== 13 || !verifyEvent(seal)) throw new Error("bad seal");
  const inner = JSON.parse(decrypt(seal.content, getConversationKey(secret, seal.pubkey)));
  if (inner.pubkey !== seal.pubkey || inner.kind !== CHAT) throw new Error("bad rumor");
  return inner;
}

const tag = (event, name) => event.tags.find((t) => t[0] === name);

// Every channel of the account about `topic`: ours as opener (when the other party's inbox is
// known), and those the inbox holds (invitations: responder; disclosures: read-only reader).
export async function channels(me, { chainId, topic, peer = null, relays }) {
  topic = topic.toLowerCase();
  const found = [];
  const wraps = await query(unique([...relays, ...(peer ? peer.relays : [])]), [{ kinds: [WRAP], "#p": [me.inbox.pubkey] }]);
  for (const wrap of wraps) {
    let inner;
    try {
      if (!verifyEvent(wrap)) continue;
      inner = open(wrap, me.inbox.secret);
    } catch {
      continue;
    }
    const about = tag(inner, THREAD) || tag(inner, DISCLOSURE);
    if (!about || about[1] !== String(chainId) || (about[2] || "").toLowerCase() !== topic) continue;
    const extra = inner.tags.filter((t) => t[0] === "relay").map((t) => t[1]).filter((u) => /^wss?:\/\//.test(u));
    if (tag(inner, INVITE)) {
      // the opener's Ethereum address, from its key proof: an invitation without one is dropped
      const claimed = tag(inner, "proof");
      if (!claimed || !(await checkProof(inner.pubkey, claimed[1], claimed[2]))) continue;
      const key = await channelKeys(me.inbox.secret, inner.pubkey, chainId, topic);
      if (tag(inner, INVITE)[1] !== key.pubkey) continue;
      found.push({ ...key, role: "responder", mine: me.inbox, peer: inner.pubkey, peerAddress: getAddress(claimed[1]), relays: unique([...relays, ...extra]) });
    } else if (tag(inner, DISCLOSURE)) {
      try {
        const body = JSON.parse(inner.content);
        const key = keys(unhex(body.secret));
        found.push({ ...key, role: "reader", parties: body.parties.slice(0, 2), relays: unique([...relays, ...(body.relays || [])]) });
      } catch { /* malformed: dropped */ }
    }
  }
  if (peer && peer.pubkey !== me.inbox.pubkey) {
    const mine = await derive(me.root, "thread/" + threadLabel(chainId, topic));
    const key = await channelKeys(mine.secret, peer.pubkey, chainId, topic);
    found.push({ ...key, role: "opener", mine, peer: peer.pubkey, peerAddress: getAddress(peer.address), relays: unique([...relays, ...peer.relays]) });
  }
  const seen = new Set();
  return found.filter((c) => !seen.has(c.pubkey) && seen.add(c.pubkey));
}

// A thread's messages from every channel, verified, oldest first; each with its author's
// address when its key proof checks out. Forged and undecryptable events are dropped.
export async function messages(me, chainId, topic, chans) {
  const out = new Map();
  for (const channel of chans) {
    for (const wrap of await query(channel.relays, [{ kinds: [WRAP], authors: [channel.pubkey] }])) {
      const message = await unwrapMessage(me, chainId, topic, channel, wrap);
      if (message && !out.has(message.id)) out.set(message.id, message);
    }
  }
  return order([...out.values()]);
}

export async function unwrapMessage(me, chainId, topic, channel, wrap) {
  try {
    if (wrap.kind !== WRAP || wrap.pubkey !== channel.pubkey || !verifyEvent(wrap)) return null;
    const inner = JSON.parse(decrypt(wrap.content, getConversationKey(channel.secret, channel.pubkey)));
    if (inner.kind !== CHAT || !verifyEvent(inner)) return null;
    const about = tag(inner, THREAD);
    if (!about || about[1] !== String(chainId) || about[2].toLowerCase() !== topic.toLowerCase()) return null;
    const parties = channel.role === "reader" ? channel.parties : [channel.mine.pubkey, channel.peer];
    if (!parties.includes(inner.pubkey)) return null;
    const claimed = tag(inner, "proof");
    const address = claimed && (await checkProof(inner.pubkey, claimed[1], claimed[2])) ? getAddress(claimed[1]) : null;
    const reply = tag(inner, "e");
    return {
      id: inner.id,
      author: inner.pubkey,
      address,
      outgoing: channel.role !== "reader" && address === me.address,
      at: inner.created_at,
      text: inner.content,
      reply: reply ? reply[1] : null,
      status: channel.role !== "reader" && address === me.address ? "sent" : "received",
    };
  } catch {
    return null;
  }
}

// By time; within one second, a reply after the message it answers.
function order(list) {
  const byId = new Map(list.map((m) => [m.id, m]));
  const depth = (m, hops = 0) => (m.reply && byId.has(m.reply) && hops < 64 ? depth(byId.get(m.reply), hops + 1) + 1 : 0);
  return list.sort((a, b) => a.at - b.at || depth(a) - depth(b));
}

// Send `body` in the thread; opens it (an invitation to the peer's inbox) when we are the opener.
export async function send(me, chainId, topic, chans, body, last = null) {
  const channel = chans.find((c) => c.role === "responder") || chans.find((c) => c.role === "opener");
  if (!channel) throw new Error(chans.length ? "this thread was disclosed to you: it is read-only" : "no way to reach the other party yet");
  const size = text.encode(body).length;
  if (size > 60000) throw new Error(`the message is ${size} bytes: over the 64 KiB limit, shorten it`);
  topic = topic.toLowerCase();
  const mine = channel.mine;
  if (channel.role === "opener" && !localStorage.getItem(`p2pchain:invited:${channel.pubkey}`)) {
    const rumor = createRumor({
      kind: CHAT,
      content: `p2pchain: a conversation about trade or listing ${topic} on chain ${chainId}`,
      tags: [["p", channel.peer], [THREAD, String(chainId), topic], [INVITE, channel.pubkey], ["proof", me.address, await proof(me, mine.pubkey)], ...channel.relays.map((u) => ["relay", u])],
    }, mine.secret);
    const invite = await deliver({ relays: channel.relays, accepted: [], event: createWrap(createSeal(rumor, mine.secret, channel.peer), channel.peer) });
    if (invite.status !== "queued") localStorage.setItem(`p2pchain:invited:${channel.pubkey}`, "1");
  }
  const tags = [["p", channel.peer], [THREAD, String(chainId), topic], ["proof", me.address, await proof(me, mine.pubkey)]];
  if (last) tags.push(["e", last, "", "reply"]);
  const message = finalizeEvent({ kind: CHAT, content: body, tags, created_at: Math.floor(Date.now() / 1000) }, mine.secret);
  const wrap = finalizeEvent({
    kind: WRAP,
    content: encrypt(JSON.stringify(message), getConversationKey(channel.secret, channel.pubkey)),
    tags: [["p", channel.pubkey]],
    created_at: Math.floor(Date.now() / 1000),
  }, channel.secret);
  const item = await deliver({ relays: channel.relays, accepted: [], event: wrap });
  return { id: message.id, author: mine.pubkey, address: me.address, outgoing: true, at: message.created_at, text: body, reply: last, item, get status() { return item.status; } };
}

// Disclose the thread to `to` (the arbitrator's contact): read access by the channel secret.
export async function share(me, chainId, topic, chans, to) {
  const mineOnly = chans.filter((c) => c.role !== "reader");
  if (!mineOnly.length) throw new Error("no conversation to share yet");
  for (const channel of mineOnly) {
    const body = { chain_id: chainId, topic: topic.toLowerCase(), secret: hex(channel.secret), parties: [channel.mine.pubkey, channel.peer], relays: channel.relays };
    const rumor = createRumor({ kind: CHAT, content: JSON.stringify(body), tags: [["p", to.pubkey], [DISCLOSURE, String(chainId), topic.toLowerCase()]] }, me.inbox.secret);
    const item = await deliver({ relays: unique([...channel.relays, ...to.relays]), accepted: [], event: createWrap(createSeal(rumor, me.inbox.secret, to.pubkey), to.pubkey) });
    if (item.status === "queued") throw new Error("no relay took the disclosure: it will be retried");
  }
  return mineOnly.length;
}

// Publish the address card (kind 30078) and DM relay list (kind 10050), so anyone finds our
// inbox from our address, as `p2pchain message announce` does.
export async function announce(me, relays) {
  const now = Math.floor(Date.now() / 1000);
  const card = finalizeEvent({
    kind: 30078,
    content: JSON.stringify({ address: me.address, proof: await proof(me, me.inbox.pubkey), relays }),
    tags: [["d", `p2pchain:address:${me.address.toLowerCase()}`]],
    created_at: now,
  }, me.inbox.secret);
  const list = finalizeEvent({ kind: 10050, content: "", tags: relays.map((u) => ["relay", u]), created_at: now }, me.inbox.secret);
  await deliver({ relays, accepted: [], event: list });
  return (await deliver({ relays, accepted: [], event: card })).status;
}

// Follow `chans` live: `onEvent(wrap, channel)` per new wrap; returns a function that stops.
export async function follow(chans, onEvent) {
  const subs = [];
  const since = Math.floor(Date.now() / 1000) - 600;
  for (const channel of chans) {
    for (const url of channel.relays) {
      try {
        const conn = await relay(url);
        subs.push(conn.subscribe([{ kinds: [WRAP], authors: [channel.pubkey], since }], { onevent: (wrap) => onEvent(wrap, channel) }));
      } catch { /* unreachable: the others still deliver */ }
    }
  }
  return () => subs.forEach((s) => s.close());
}

export async function relaysOfApi() {
  return (await api("/api/messaging/relays")).relays;
}


// The `messaging` field of a version 2 listing document: our inbox key, relays and key proof.
export async function messagingField(me, relays) {
  return { pubkey: me.inbox.pubkey, relays: relays.slice(0, 8), proof: await proof(me, me.inbox.pubkey) };
}
