// The browser wallet (EIP-1193, window.ethereum) through viem's wallet client: accounts,
// transactions the API prepared, EIP-712 signatures. The wallet holds the keys; the API none.
import { createWalletClient, custom, getAddress, hexToBigInt } from "../vendor/viem.js";
import { api } from "./api.js";
import { setStatus } from "./status.js";

export const session = { account: null, chain: null, client: null, config: null, listeners: [] };

function provider() {
  if (!window.ethereum) throw new Error("no wallet found: install a browser wallet (EIP-1193)");
  return window.ethereum;
}

// The deployment and the index's confirmation depth, read once.
export async function config() {
  if (!session.config) session.config = await api("/api/config");
  return session.config;
}

// "" on a dev chain (the index shows changes at once); else when a mined change will show.
export async function confirmationNote() {
  const { confirmations } = await config();
  return confirmations ? ` It shows in the lists after ${confirmations} more block${confirmations === 1 ? "" : "s"} (the index waits for confirmations).` : "";
}

async function chain() {
  if (!session.chain) {
    const { chain_id: id } = await config();
    session.chain = {
      id,
      name: `chain ${id}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [] } },
    };
  }
  return session.chain;
}

function client() {
  if (!session.client) session.client = createWalletClient({ transport: custom(provider()) });
  return session.client;
}

export async function connect() {
  const [first] = await client().requestAddresses();
  if (!first) throw new Error("the wallet shared no account");
  session.account = getAddress(first);
  for (const listener of session.listeners) listener(session.account);
  return session.account;
}

export async function account() {
  return session.account || connect();
}

export function onAccount(listener) {
  session.listeners.push(listener);
}

async function waitMined(hash) {
  for (let i = 0; i < 600; i++) {
    try {
      const s = await api(`/api/tx/${hash}`);
      if (s.status === "success") return s;
      if (s.status === "reverted") throw new Error(`transaction ${hash} reverted`);
    } catch (err) {
      if (!String(err.message).startsWith("no transaction")) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`transaction ${hash} not mined after 2 minutes`);
}

const big = (hex) => (hex === null || hex === undefined ? undefined : hexToBigInt(hex));

// Sign and send each prepared transaction in turn (an ERC-20 approval may come first); each is
// mined before the next is sent. Returns the last status.
export async function sendPrepared(prepared, label = prepared.action) {
  const target = await chain();
  let last = null;
  for (const [i, tx] of prepared.transactions.entries()) {
    const step = prepared.transactions.length > 1 ? ` (${i + 1} of ${prepared.transactions.length})` : "";
    setStatus(`Confirm "${label}"${step} in your wallet…`, "busy");
    const hash = await client().sendTransaction({
      account: tx.from,
      chain: target,
      to: tx.to,
      data: tx.data,
      value: big(tx.value),
      gas: big(tx.gas),
      maxFeePerGas: big(tx.maxFeePerGas),
      maxPriorityFeePerGas: big(tx.maxPriorityFeePerGas),
      gasPrice: tx.maxFeePerGas ? undefined : big(tx.gasPrice),
    });
    setStatus(`Waiting for ${hash.slice(0, 10)}… to be mined…`, "busy");
    last = await waitMined(hash);
  }
  return last;
}

// EIP-712 typed data from the API has integers as decimal strings (JSON); viem wants bigints.
function typedValues(types, type, value) {
  if (type.endsWith("[]")) return value.map((v) => typedValues(types, type.slice(0, -2), v));
  if (types[type]) {
    return Object.fromEntries(types[type].map((f) => [f.name, typedValues(types, f.type, value[f.name])]));
  }
  if (/^u?int\d*$/.test(type)) return BigInt(value);
  return value;
}

export async function signTypedData(signer, typed) {
  const { EIP712Domain, ...types } = typed.types;
  const domain = { ...typed.domain, chainId: Number(typed.domain.chainId) };
  return client().signTypedData({
    account: signer,
    domain,
    types,
    primaryType: typed.primaryType,
    message: typedValues(types, typed.primaryType, typed.message),
  });
}

// EIP-191 personal_sign of a text by the connected account (messaging keys and key proofs).
export async function signMessage(signer, message) {
  return client().signMessage({ account: signer, message });
}
