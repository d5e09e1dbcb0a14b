// The part of viem the page uses, bundled by esbuild into viem.js (`make page`; a test checks
// the committed bundle is what this file and the pinned viem in package-lock.json build to).
export {
  createWalletClient,
  custom,
  formatUnits,
  getAddress,
  hexToBigInt,
  isAddress,
  parseUnits,
  recoverMessageAddress,
  UserRejectedRequestError,
} from "viem";
