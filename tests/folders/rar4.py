"""Test scaffolding: a minimal RAR 4.x writer ("store" method only) so tests can serve real RARs.

No RAR writer can be installed here (rar is non-free), and the official UCF-101 / HMDB-51 archives
are RAR 4.x. The format (RARLAB's technote.txt) is small when nothing is compressed:

    marker block   52 61 72 21 1A 07 00
    archive header HEAD_CRC(2) HEAD_TYPE=0x73 HEAD_FLAGS(2) HEAD_SIZE(2) RESERVED(6)
    file header    HEAD_CRC(2) HEAD_TYPE=0x74 HEAD_FLAGS(2) HEAD_SIZE(2) PACK_SIZE(4) UNP_SIZE(4)
                   HOST_OS(1) FILE_CRC(4) FTIME(4) UNP_VER(1) METHOD(1) NAME_SIZE(2) ATTR(4) NAME
                   followed by the stored bytes
    end block      HEAD_CRC(2) HEAD_TYPE=0x7B HEAD_FLAGS(2) HEAD_SIZE(2)

HEAD_CRC is the low 16 bits of the CRC32 of the header from HEAD_TYPE on. Every archive written
here is read back by the tests with the real unrar library, which checks both CRCs.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

MARKER = b"Rar!\x1a\x07\x00"
_MAIN_HEAD, _FILE_HEAD, _END_HEAD = 0x73, 0x74, 0x7B
_LONG_BLOCK = 0x8000  # header is followed by ADD_SIZE bytes of data
_HOST_UNIX = 3
_METHOD_STORE = 0x30
_UNPACK_VERSION = 20  # 2.0: the oldest version unrar accepts for stored files
_DOS_TIME_2020_01_01 = ((2020 - 1980) << 25) | (1 << 21) | (1 << 16)
_REGULAR_FILE_MODE = 0o100644


def _block(head_type: int, flags: int, body: bytes) -> bytes:
    header = struct.pack("<BHH", head_type, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(header) & 0xFFFF) + header


def rar4_bytes(members: dict[str, bytes], *, corrupt_crc_of: str | None = None) -> bytes:
    """A RAR 4.x archive storing ``members`` (name -> content) in order, names as given.

    ``corrupt_crc_of`` stores a wrong data CRC for that member, to test integrity checks.
    """
    out = [MARKER, _block(_MAIN_HEAD, 0, bytes(6))]
    for name, data in members.items():
        raw_name = name.encode("utf-8")
        crc = zlib.crc32(data)
        if name == corrupt_crc_of:
            crc ^= 0xFFFFFFFF
        body = struct.pack(
            "<IIBIIBBHI",
            len(data),  # PACK_SIZE (stored: packed == unpacked)
            len(data),  # UNP_SIZE
            _HOST_UNIX,
            crc,
            _DOS_TIME_2020_01_01,
            _UNPACK_VERSION,
            _METHOD_STORE,
            len(raw_name),
            _REGULAR_FILE_MODE,
        )
        out.append(_block(_FILE_HEAD, _LONG_BLOCK, body + raw_name))
        out.append(data)
    out.append(_block(_END_HEAD, 0x4000, b""))
    return b"".join(out)


def write_rar4(path: str | Path, members: dict[str, bytes], **options) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rar4_bytes(members, **options))
    return path
