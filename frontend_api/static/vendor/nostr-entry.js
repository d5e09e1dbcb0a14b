// The part of nostr-tools the page's conversations use, bundled by esbuild into nostr.js
// (`make page`; a test checks the committed bundle is what this file and the pinned
// nostr-tools in package-lock.json build to). secp256k1 is nostr-tools' own copy of
// @noble/curves (for the ECDH of the channel key), so the bundle holds one.
export { finalizeEvent, getPublicKey, verifyEvent, generateSecretKey } from "nostr-tools/pure";
export { getConversationKey, encrypt, decrypt } from "nostr-tools/nip44";
export { createRumor, createSeal, createWrap } from "nostr-tools/nip59";
export { Relay } from "nostr-tools/relay";
export { secp256k1 } from "../../../node_modules/nostr-tools/node_modules/@noble/curves/secp256k1.js";
