"""The demo story (``p2pchain demo``, ``make demo``), told through the public library.

``_story``: :func:`~p2pchain.demo._story.run_demo` starts a chain, deploys, publishes listings
to a local IPFS store, indexes them, and plays a car rental and a disputed signed listing.
"""
