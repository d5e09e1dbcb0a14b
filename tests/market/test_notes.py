"""A dispute's reason rides after the ABI arguments as a CID: appended, found again, and never
mistaken for one when absent or garbled."""

from __future__ import annotations

import pytest

from p2pchain._errors import IpfsError
from p2pchain.ipfs import CID, compute_cid
from p2pchain.market._notes import NOTE_MARK, attach_note, note_cid

CALL = bytes.fromhex("b52a1a8b") + bytes(32 * 12)  # a selector and twelve words


def test_a_note_is_appended_and_read_back() -> None:
    cid = compute_cid(b"The frame is cracked.", cid_version=1)
    data = attach_note(CALL, bytes(CID.parse(cid)))
    assert data.startswith(CALL) and note_cid(data) == cid


def test_calldata_without_a_note_or_with_a_garbled_one_has_none() -> None:
    assert note_cid(CALL) is None
    assert note_cid(CALL + NOTE_MARK) is None
    assert note_cid(CALL + NOTE_MARK + b"\x01not a cid") is None
    assert note_cid(NOTE_MARK + bytes(CID.parse(compute_cid(b"x")))) is None  # no selector


def test_only_cids_are_attached() -> None:
    with pytest.raises(ValueError, match="1..64 bytes"):
        attach_note(CALL, b"")
    with pytest.raises(IpfsError):
        attach_note(CALL, b"\x01\x02\x03")
