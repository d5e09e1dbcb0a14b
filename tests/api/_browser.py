"""Driving the web page in Debian's Chromium (playwright, never a downloaded browser) with an
injected EIP-1193 wallet that signs with a test key against the real Anvil node.

Shared by the page tests: the wallet, opening a page that may reach only the API's origin,
waiting for the status line, screenshots at desktop width and at 375 px (checking that nothing
scrolls sideways), and axe-core's accessibility check (from npm, injected from node_modules).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from api.conftest import ApiWorld
from frontend_api.server import ApiServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
#: Where screenshots go: reports/tmp/screenshots (gitignored) unless P2PCHAIN_SCREENSHOTS names
#: another folder (``docs/screenshots`` refreshes the committed ones).
SHOTS = REPO / os.environ.get("P2PCHAIN_SCREENSHOTS", "reports/tmp/screenshots")
DESKTOP = {"width": 1200, "height": 800}
PHONE = {"width": 375, "height": 740}

#: The injected provider: every request goes to the Python-side wallet as JSON.
PROVIDER_JS = """
(() => {
  const listeners = {};
  window.ethereum = {
    isP2pchainTestWallet: true,
    async request({ method, params }) {
      const answer = JSON.parse(await window.p2pchainWallet(method, JSON.stringify(params || [])));
      if (answer.error) {
        const error = new Error(answer.error.message);
        error.code = answer.error.code;
        throw error;
      }
      return answer.result;
    },
    on(event, handler) { (listeners[event] = listeners[event] || []).push(handler); },
    removeListener() {},
  };
})();
"""

#: Read-only methods a wallet answers from its node (as MetaMask does).
NODE_READS = {
    "eth_chainId",
    "eth_blockNumber",
    "eth_getBlockByNumber",
    "eth_getTransactionReceipt",
    "eth_getTransactionByHash",
    "eth_call",
    "eth_estimateGas",
    "eth_gasPrice",
    "eth_maxPriorityFeePerGas",
    "eth_getTransactionCount",
}


class PageWallet:
    """A wallet holding one key, signing what the page asks for and sending it to the chain.

    With ``refuse`` set, it declines every signature, as a user pressing "Reject" would.
    """

    def __init__(self, world: ApiWorld, account: LocalAccount) -> None:
        self.world = world
        self.account = account
        self.calls: list[tuple[str, list[Any]]] = []
        self.refuse = False

    def handle(self, method: str, params_json: str) -> str:
        params = json.loads(params_json)
        self.calls.append((method, params))
        try:
            return json.dumps({"result": self._answer(method, params)})
        except Exception as exc:  # noqa: BLE001 - the page must see the wallet's error
            code = 4001 if isinstance(exc, PermissionError) else -32603  # 4001: user rejected
            return json.dumps({"error": {"code": code, "message": str(exc)}})

    def _answer(self, method: str, params: list[Any]) -> Any:
        w3 = self.world.market.seller.w3
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [self.account.address]
        if method in NODE_READS:
            answer = w3.provider.make_request(method, params)  # type: ignore[arg-type]
            return answer.get("result")
        if self.refuse:
            raise PermissionError("User rejected the request.")
        if method == "eth_sendTransaction":
            (tx,) = params
            if tx["from"].lower() != self.account.address.lower():
                raise ValueError(f"unknown sender {tx['from']}")
            fields = {k: v for k, v in tx.items() if k != "type"}
            fields.setdefault("chainId", hex(w3.eth.chain_id))  # a wallet signs for its chain
            raw = self.world.sign(self.account, fields)
            return w3.eth.send_raw_transaction(raw).to_0x_hex()
        if method == "eth_signTypedData_v4":
            _, typed = params
            data = json.loads(typed) if isinstance(typed, str) else typed
            signed = self.account.sign_typed_data(full_message=data)
            return "0x" + bytes(signed.signature).hex()
        if method == "personal_sign":  # EIP-191: [message as 0x hex, address]
            data, signer = params
            if signer.lower() != self.account.address.lower():
                raise ValueError(f"unknown signer {signer}")
            from eth_account.messages import encode_defunct

            signed = self.account.sign_message(encode_defunct(hexstr=data))
            return "0x" + bytes(signed.signature).hex()
        raise ValueError(f"method {method} not supported by the test wallet")

    def sent(self) -> list[dict[str, Any]]:
        """Transactions the page asked the wallet to send."""
        return [params[0] for method, params in self.calls if method == "eth_sendTransaction"]


class Pages:
    """Opens pages for the test's wallets in one shared browser; closes them after the test."""

    def __init__(self, browser: Browser, server: ApiServer) -> None:
        self.browser = browser
        self.server = server
        self._contexts: list[Any] = []

    def open(
        self,
        wallet: PageWallet,
        path: str = "/",
        *,
        viewport: dict[str, int] | None = None,
        before: Callable[[str], None] | None = None,
    ) -> Page:
        """A page with ``wallet`` injected at ``path``; any request off the API's origin is
        blocked and recorded in ``page.external_requests``. ``before`` is called with each
        request's URL before it goes on to the API (to hold it while something happens)."""
        context = self.browser.new_context(viewport=viewport or DESKTOP)
        self._contexts.append(context)
        context.expose_function("p2pchainWallet", wallet.handle)
        context.add_init_script(PROVIDER_JS)
        external: list[str] = []
        base = self.server.url

        def only_local(route: Any) -> None:
            url = route.request.url
            if url.startswith(base + "/") or url == base:
                if before is not None:
                    before(url)
                route.continue_()
            else:
                external.append(url)
                route.abort()

        context.route("**/*", only_local)
        page = context.new_page()
        page.external_requests = external  # type: ignore[attr-defined]
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors  # type: ignore[attr-defined]
        page.goto(base + path)
        return page

    def close(self) -> None:
        for context in self._contexts:
            context.close()
        self._contexts.clear()


def shows(page: Page, selector: str, timeout: float = 30_000) -> None:
    """Wait for ``selector``; on timeout, fail with what the page's status line and URL say."""
    try:
        page.wait_for_selector(selector, timeout=timeout)
    except PlaywrightTimeout:
        status = page.inner_text("#status")
        raise AssertionError(f"{selector} never showed at {page.url}; status: {status!r}") from None


def click(page: Page, selector: str) -> None:
    """Clear the status line, then click (so a later wait sees this action's outcome)."""
    page.evaluate("setStatus('', 'info')")
    page.click(selector)


def wait_done(page: Page, timeout: float = 60_000) -> str:
    """Wait for the status line to report success (fail with what it says instead)."""
    page.wait_for_selector(
        '#status[data-state="done"], #status[data-state="error"]', timeout=timeout
    )
    text = page.inner_text("#status")
    assert page.get_attribute("#status", "data-state") == "done", text
    return text


def wait_error(page: Page) -> str:
    """Wait for the status line to report a failure; its text."""
    page.wait_for_selector('#status[data-state="error"]', timeout=60_000)
    return page.inner_text("#status")


def screenshot(page: Page, name: str) -> None:
    """Screenshots at desktop width and at 375 px; at 375 px nothing may scroll sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.wait_for_timeout(50)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(50)
    overflow = page.evaluate(
        "() => [document.documentElement.scrollWidth, [...document.querySelectorAll('body *')]"
        ".filter((e) => e.getBoundingClientRect().right > 376 && e.getClientRects().length)"
        ".slice(0, 5).map((e) => e.tagName + '.' + e.className + ' ' + (e.dataset.testid || ''))]"
    )
    assert overflow[0] <= PHONE["width"], f"{name}: scrolls sideways at 375 px: {overflow[1]}"
    page.screenshot(path=str(SHOTS / f"{name}-375.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def assert_accessible(page: Page, name: str) -> None:
    """axe-core (npm) finds no serious or critical violation on the page as it is now."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"
