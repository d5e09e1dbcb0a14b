"""dag-pb and UnixFS protobuf encoding, written by hand (the schemas are tiny).

dag-pb (IPLD spec ``codecs/dag-pb``)::

    message PBLink { optional bytes Hash = 1; optional string Name = 2; optional uint64 Tsize = 3; }
    message PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }

Canonical blocks write every link *before* the data field, and a link's fields in field-number
order. Kubo's importer writes an empty ``Name`` on file-chunk links (``12 00``).

UnixFS (``unixfs.proto``, proto2, so ``blocksizes`` is *not* packed)::

    message Data {
        required DataType Type = 1;   // Raw=0 Directory=1 File=2 Metadata=3 Symlink=4 HAMTShard=5
        optional bytes Data = 2;
        optional uint64 filesize = 3;
        repeated uint64 blocksizes = 4;
        optional uint64 hashType = 5;
        optional uint64 fanout = 6;
        optional uint32 mode = 7;
        optional UnixTime mtime = 8;
    }

The decoder is strict about wire types and bounds (a malformed block raises ``ValueError``),
and lenient about field order, as the spec asks of decoders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from p2pchain.ipfs._multiformats import CID, decode_varint, encode_varint

# UnixFS Data.Type values.
UNIXFS_RAW = 0
UNIXFS_DIRECTORY = 1
UNIXFS_FILE = 2
UNIXFS_METADATA = 3
UNIXFS_SYMLINK = 4
UNIXFS_HAMT_SHARD = 5

UNIXFS_TYPE_NAMES = {
    UNIXFS_RAW: "raw",
    UNIXFS_DIRECTORY: "directory",
    UNIXFS_FILE: "file",
    UNIXFS_METADATA: "metadata",
    UNIXFS_SYMLINK: "symlink",
    UNIXFS_HAMT_SHARD: "HAMT shard",
}

_WIRE_VARINT = 0
_WIRE_LEN = 2
_WIRE_I64 = 1
_WIRE_I32 = 5


@dataclass(frozen=True, slots=True)
class PBLink:
    """One dag-pb link: target CID, optional name, cumulative size of the target DAG."""

    cid: CID
    name: str | None = ""
    tsize: int | None = None


@dataclass(frozen=True, slots=True)
class PBNode:
    """A decoded dag-pb block."""

    links: tuple[PBLink, ...]
    data: bytes | None


@dataclass(frozen=True, slots=True)
class UnixFSData:
    """The UnixFS fields p2pchain reads (mode/mtime/hashType/fanout are skipped)."""

    type: int
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: tuple[int, ...] = field(default_factory=tuple)


def _key(field_number: int, wire_type: int) -> bytes:
    return encode_varint((field_number << 3) | wire_type)


def _len_field(field_number: int, payload: bytes) -> bytes:
    return _key(field_number, _WIRE_LEN) + encode_varint(len(payload)) + payload


def encode_link(cid_bytes: bytes, tsize: int, name: str | None = "") -> bytes:
    """Encode one PBLink message (without the outer field key).

    Args:
        cid_bytes: The binary CID of the target.
        tsize: The target's cumulative size.
        name: The link name; ``""`` (Kubo's choice for file chunks) is written as an empty field,
            None omits the field.
    """
    out = _len_field(1, cid_bytes)
    if name is not None:
        out += _len_field(2, name.encode("utf-8"))
    return out + _key(3, _WIRE_VARINT) + encode_varint(tsize)


def encode_node(links: list[bytes], data: bytes | None) -> bytes:
    """Encode a PBNode from pre-encoded links (see :func:`encode_link`) and its data.

    Links go first, then Data, as canonical dag-pb requires.
    """
    parts = [_len_field(2, link) for link in links]
    if data is not None:
        parts.append(_len_field(1, data))
    return b"".join(parts)


def unixfs_file_leaf_prefix(data_len: int) -> tuple[bytes, bytes]:
    """The bytes around a chunk in a dag-pb UnixFS file leaf, so the chunk is never copied.

    A leaf block is ``prefix + chunk + suffix``:
    ``PBNode{Data: UnixFS{Type: File, Data: chunk, filesize: len(chunk)}}``. An empty chunk
    (the empty file) has no UnixFS ``Data`` field, as Kubo writes it.

    Returns:
        ``(prefix, suffix)``.
    """
    if data_len == 0:
        inner = b"\x08\x02\x18\x00"
        return _key(1, _WIRE_LEN) + encode_varint(len(inner)) + inner, b""
    suffix = _key(3, _WIRE_VARINT) + encode_varint(data_len)
    unixfs_head = b"\x08\x02" + _key(2, _WIRE_LEN) + encode_varint(data_len)
    inner_len = len(unixfs_head) + data_len + len(suffix)
    prefix = _key(1, _WIRE_LEN) + encode_varint(inner_len) + unixfs_head
    return prefix, suffix


def encode_unixfs_file(filesize: int, blocksizes: list[int]) -> bytes:
    """Encode the UnixFS Data of an internal file node (no inline data)."""
    out = bytearray(b"\x08\x02")
    out += _key(3, _WIRE_VARINT) + encode_varint(filesize)
    key4 = _key(4, _WIRE_VARINT)
    for size in blocksizes:
        out += key4 + encode_varint(size)
    return bytes(out)


def _skip(buf: bytes | memoryview, pos: int, wire_type: int) -> int:
    if wire_type == _WIRE_VARINT:
        return decode_varint(buf, pos)[1]
    if wire_type == _WIRE_LEN:
        length, pos = decode_varint(buf, pos)
        if pos + length > len(buf):
            raise ValueError("truncated length-delimited field")
        return pos + length
    if wire_type == _WIRE_I64:
        if pos + 8 > len(buf):
            raise ValueError("truncated fixed64 field")
        return pos + 8
    if wire_type == _WIRE_I32:
        if pos + 4 > len(buf):
            raise ValueError("truncated fixed32 field")
        return pos + 4
    raise ValueError(f"unsupported protobuf wire type {wire_type}")


def _read_len(buf: bytes | memoryview, pos: int) -> tuple[bytes | memoryview, int]:
    length, pos = decode_varint(buf, pos)
    end = pos + length
    if end > len(buf):
        raise ValueError("truncated length-delimited field")
    return buf[pos:end], end


def _decode_link(buf: bytes | memoryview) -> PBLink:
    cid: CID | None = None
    name: str | None = None
    tsize: int | None = None
    pos = 0
    while pos < len(buf):
        key, pos = decode_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 1 and wire == _WIRE_LEN:
            raw, pos = _read_len(buf, pos)
            cid, end = CID.decode(bytes(raw))
            if end != len(raw):
                raise ValueError("trailing bytes after link CID")
        elif number == 2 and wire == _WIRE_LEN:
            raw, pos = _read_len(buf, pos)
            name = bytes(raw).decode("utf-8")
        elif number == 3 and wire == _WIRE_VARINT:
            tsize, pos = decode_varint(buf, pos)
        else:
            raise ValueError(f"unexpected field {number} (wire type {wire}) in PBLink")
    if cid is None:
        raise ValueError("PBLink without Hash")
    return PBLink(cid, name, tsize)


def decode_node(block: bytes | memoryview) -> PBNode:
    """Decode a dag-pb block.

    Raises:
        ValueError: If the block is not valid dag-pb.
    """
    buf = memoryview(block)
    links: list[PBLink] = []
    data: bytes | None = None
    pos = 0
    while pos < len(buf):
        key, pos = decode_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 2 and wire == _WIRE_LEN:
            raw, pos = _read_len(buf, pos)
            links.append(_decode_link(raw))
        elif number == 1 and wire == _WIRE_LEN:
            if data is not None:
                raise ValueError("duplicate Data field in PBNode")
            raw, pos = _read_len(buf, pos)
            data = bytes(raw)
        else:
            raise ValueError(f"unexpected field {number} (wire type {wire}) in PBNode")
    return PBNode(tuple(links), data)


def decode_unixfs(data: bytes) -> UnixFSData:
    """Decode a UnixFS Data message.

    Raises:
        ValueError: If malformed or missing its Type.
    """
    buf = memoryview(data)
    kind: int | None = None
    payload: bytes | None = None
    filesize: int | None = None
    blocksizes: list[int] = []
    pos = 0
    while pos < len(buf):
        key, pos = decode_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 1 and wire == _WIRE_VARINT:
            kind, pos = decode_varint(buf, pos)
        elif number == 2 and wire == _WIRE_LEN:
            raw, pos = _read_len(buf, pos)
            payload = bytes(raw)
        elif number == 3 and wire == _WIRE_VARINT:
            filesize, pos = decode_varint(buf, pos)
        elif number == 4 and wire == _WIRE_VARINT:
            size, pos = decode_varint(buf, pos)
            blocksizes.append(size)
        elif number == 4 and wire == _WIRE_LEN:  # tolerate a packed encoding
            raw, pos = _read_len(buf, pos)
            inner = 0
            while inner < len(raw):
                size, inner = decode_varint(raw, inner)
                blocksizes.append(size)
        elif number in (5, 6, 7, 8):
            pos = _skip(buf, pos, wire)
        else:
            raise ValueError(f"unexpected field {number} (wire type {wire}) in UnixFS Data")
    if kind is None:
        raise ValueError("UnixFS Data without Type")
    return UnixFSData(kind, payload, filesize, tuple(blocksizes))
