"""Notes that ride along in a transaction's calldata: a dispute's reason, anchored on-chain.

The contract takes no text with a dispute, and Solidity's ABI decoder ignores calldata past the
arguments. So a front end stores the reason on IPFS and appends :data:`NOTE_MARK` and the
reason's binary CID to the ``dispute`` calldata: the contract runs exactly as without it (the
note costs 16 gas a byte), and anyone can read the reason back from the transaction's input and
verify it against its CID. The note is only a pointer; what it says is the disputing party's
word, which is what an arbitrator weighs.
"""

from __future__ import annotations

from p2pchain.ipfs import CID

#: Marks the start of a note after the ABI-encoded arguments.
NOTE_MARK = b"p2pchain-note\x01"
#: Longest binary CID taken as a note.
MAX_NOTE_CID = 64


def attach_note(calldata: bytes, cid: bytes) -> bytes:
    """``calldata`` followed by the note mark and ``cid`` (a binary CID).

    Raises:
        ValueError: ``cid`` is longer than :data:`MAX_NOTE_CID` bytes, or empty.
        IpfsError: ``cid`` is not a binary CID.
    """
    if not 0 < len(cid) <= MAX_NOTE_CID:
        raise ValueError(f"a note CID is 1..{MAX_NOTE_CID} bytes, not {len(cid)}")
    CID.parse(cid)  # IpfsError on anything that is not a CID
    return bytes(calldata) + NOTE_MARK + bytes(cid)


def note_cid(calldata: bytes) -> str | None:
    """The CID (text) of the note appended to ``calldata``, or None when it carries none."""
    data = bytes(calldata)
    at = data.rfind(NOTE_MARK)
    if at < 4:
        return None
    raw = data[at + len(NOTE_MARK) :]
    if not 0 < len(raw) <= MAX_NOTE_CID:
        return None
    try:
        return str(CID.parse(raw))
    except Exception:  # noqa: BLE001 - anything that is not a CID is no note
        return None


__all__ = ["MAX_NOTE_CID", "NOTE_MARK", "attach_note", "note_cid"]
