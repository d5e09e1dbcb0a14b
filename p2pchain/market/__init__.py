"""Market layer: the marketplace's actions and reads, and its listing documents.

* ``_client``: :class:`~p2pchain.MarketplaceClient`, every action (sent, or unsigned for a
  wallet) on top of ``_reads`` (:class:`~p2pchain.market._reads.MarketReader`: listings, trades,
  ratings, balances) and ``_calls`` (:class:`~p2pchain.PreparedCall`, :class:`~p2pchain.PendingCall`).
* ``_views``: what the client returns (``Listing``, ``TradeView``, ``Rating``...).
* ``_validation``: argument checks that raise :class:`~p2pchain.InputError` before anything is
  sent.
* ``_listings``: listing documents (schema, publish to IPFS then the chain, fetch and verify).
* ``_requests``: requests (a buyer's signed ask, on IPFS, no gas) and answers to them (signed
  listings that name the request).

Public names are exported from :mod:`p2pchain`; this package imports nothing on its own.
"""
