"""The importer: every input kind gives the same CID, streaming, options like Kubo's."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from p2pchain.ipfs import CID, IpfsError, UnixFSImporter, compute_cid, import_file
from p2pchain.ipfs._importer import parse_chunker

from .conftest import CHUNK

EMPTY_V0 = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
EMPTY_V1 = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


class _ReadOnly:
    """A stream with only read(), returning short reads, like a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 1000) if size > 0 else size)


def test_empty_file_has_kubos_cids() -> None:
    assert compute_cid(b"") == EMPTY_V0
    assert compute_cid(b"", cid_version=1) == EMPTY_V1
    assert import_file(b"").size == 6


@pytest.mark.parametrize("cid_version", [0, 1])
def test_importer_every_source_kind_gives_the_same_cid(cid_version: int, tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK + 12345)
    path = tmp_path / "file"
    path.write_bytes(data)
    expected = import_file(data, cid_version=cid_version)
    with open(path, "rb") as handle:
        from_stream = import_file(handle, cid_version=cid_version)
    sources = [
        bytearray(data),
        memoryview(data),
        path,
        str(path),
        io.BytesIO(data),
        _ReadOnly(data),
    ]
    for source in sources:
        assert import_file(source, cid_version=cid_version) == expected  # type: ignore[arg-type]
    assert from_stream == expected
    fed = UnixFSImporter(cid_version=cid_version)
    for start in range(0, len(data), 77777):  # pieces that straddle chunk boundaries
        fed.update(data[start : start + 77777])
    assert fed.finish() == expected


def test_importer_sink_receives_every_block_once_per_occurrence() -> None:
    blocks: list[tuple[CID, bytes]] = []
    result = import_file(
        bytes(2 * CHUNK), sink=lambda cid, parts: blocks.append((cid, b"".join(parts)))
    )
    assert result.blocks == len(blocks) == 3  # two identical leaves and the root
    assert blocks[-1][0] == result.cid
    for cid, block in blocks:
        assert cid.multihash.matches(block)


def test_importer_small_chunks_make_deeper_dags() -> None:
    data = os.urandom(5000)
    default = import_file(data)
    small = import_file(data, chunk_size=100, max_links=4)
    assert default.cid != small.cid
    assert small.blocks > 50


@pytest.mark.parametrize(
    ("spec", "size"), [(None, CHUNK), ("", CHUNK), ("size-262144", CHUNK), ("size-1024", 1024)]
)
def test_parse_chunker_accepts_fixed_sizes(spec: str | None, size: int) -> None:
    assert parse_chunker(spec) == size


@pytest.mark.parametrize("spec", ["rabin-1-2-3", "buzhash", "size-0", "size-x", "size-2000000"])
def test_parse_chunker_refuses_others(spec: str) -> None:
    with pytest.raises(IpfsError):
        parse_chunker(spec)


def test_importer_unreadable_path_raises_ipfs_error(tmp_path: Path) -> None:
    with pytest.raises(IpfsError, match="cannot read"):
        import_file(tmp_path / "missing")


def test_importer_bad_cid_version_raises_ipfs_error() -> None:
    with pytest.raises(IpfsError, match="CID version"):
        import_file(b"x", cid_version=2)
