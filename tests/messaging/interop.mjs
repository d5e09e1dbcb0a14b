// The independent side of the interop tests: npm nostr-tools reads what p2pchain sends, and
// writes what p2pchain must read. One JSON request on stdin, one JSON answer on stdout.
//
//   {"op": "unwrap", "secret": hex, "wrap": event}        -> {"wrap_ok", "rumor", "seal_pubkey"}
//   {"op": "channel_open", "secret": hex, "wrap": event}  -> {"wrap_ok", "message", "message_ok"}
//   {"op": "dm", "secret": hex, "to": hex, "text": str}    -> {"wrap"}   (NIP-17, gift-wrapped)
//   {"op": "classified", "event": event}                -> {"sig_ok", "valid", "listing"} (NIP-99)
//   {"op": "channel_write", "author": hex, "channel": hex, "tags": [...], "text": str} -> {"wrap"}
import { finalizeEvent, getPublicKey, verifyEvent } from 'nostr-tools/pure'
import * as nip17 from 'nostr-tools/nip17'
import * as nip44 from 'nostr-tools/nip44'
import * as nip59 from 'nostr-tools/nip59'
import * as nip99 from 'nostr-tools/nip99'

const hex = s => Uint8Array.from(Buffer.from(s, 'hex'))
const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const req = JSON.parse(Buffer.concat(chunks).toString('utf8'))
let out

if (req.op === 'unwrap') {
  const wrapOk = verifyEvent(req.wrap)
  const rumor = nip59.unwrapEvent(req.wrap, hex(req.secret))
  const seal = JSON.parse(nip44.decrypt(req.wrap.content, nip44.getConversationKey(hex(req.secret), req.wrap.pubkey)))
  out = { wrap_ok: wrapOk, rumor, seal_pubkey: seal.pubkey, seal_ok: verifyEvent(seal) }
} else if (req.op === 'channel_open') {
  const secret = hex(req.secret)
  const wrapOk = verifyEvent(req.wrap) && req.wrap.pubkey === getPublicKey(secret)
  const key = nip44.getConversationKey(secret, getPublicKey(secret))
  const message = JSON.parse(nip44.decrypt(req.wrap.content, key))
  out = { wrap_ok: wrapOk, message, message_ok: verifyEvent(message) }
} else if (req.op === 'classified') {
  const valid = nip99.validateEvent(req.event)
  out = { sig_ok: verifyEvent(req.event), valid, listing: valid ? nip99.parseEvent(req.event) : null }
} else if (req.op === 'dm') {
  out = { wrap: nip17.wrapEvent(hex(req.secret), { publicKey: req.to }, req.text) }
} else if (req.op === 'channel_write') {
  const channel = hex(req.channel)
  const message = finalizeEvent(
    { kind: 14, created_at: Math.floor(Date.now() / 1000), tags: req.tags, content: req.text },
    hex(req.author),
  )
  const key = nip44.getConversationKey(channel, getPublicKey(channel))
  const wrap = finalizeEvent(
    { kind: 1059, created_at: Math.floor(Date.now() / 1000), tags: [['p', getPublicKey(channel)]],
      content: nip44.encrypt(JSON.stringify(message), key) },
    channel,
  )
  out = { wrap, message }
} else {
  throw new Error(`unknown op ${req.op}`)
}
process.stdout.write(JSON.stringify(out))
