"""One file per clip of uint8-quantised optical flow, readable a window at a time.

Layout of a ``.kflow`` file (all integers little-endian)::

    b"KFLOW\\x00\\x01\\n"           magic + format version 1 (8 bytes)
    uint32 L                        length of the JSON header
    L bytes                         JSON header: num_fields, height, width, fps, bound, method,
                                    params, codec (+ quality for jpeg), channels "xy"
    num_fields x (uint64 offset,    one entry per field; offset from the end of this table,
                  uint32 length,    byte length and CRC-32 of the field's blob
                  uint32 crc32)
    blobs                           one per field, the two channels stored planar [2, H, W]

Why this shape: a loader reads 32-64 consecutive fields of a 250-field clip, so each field is a
separately compressed blob found through the offset table; opening reads only the header and the
table, and a window costs one read plus one decompression per field. Chunking several fields per
blob or coding temporal deltas did not make files smaller (measured on TV-L1 flow, see
docs/flow.md). The default codec is lossless zstd (level 6, ~9x smaller than raw; fields decode in
~0.2 ms at 340x256); ``codec="jpeg"`` (quality stated in the header) is ~2.5x smaller again for a
mean error of ~0.1 quantisation steps, for corpora where disk matters more than exactness.

Values: ``q = round((clip(f, -bound, bound) / bound + 1) * 127.5)``; channel 0 is x (right),
channel 1 is y (down), in pixels of the stored frame; ``dequantise`` maps back to [-1, 1].
"""

from __future__ import annotations

import json
import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence, get_args

import numpy as np

from kinetics.files import atomic_output
from kinetics.errors import KineticsError

Codec = Literal["zstd", "jpeg"]
CODECS: tuple[str, ...] = get_args(Codec)
SUFFIX = ".kflow"
MAGIC = b"KFLOW\x00\x01\n"
FORMAT_VERSION = 1
ZSTD_LEVEL = 6
DEFAULT_BOUND = 20.0
_ENTRY = np.dtype([("offset", "<u8"), ("length", "<u4"), ("crc32", "<u4")])
_LENGTH = struct.Struct("<I")
MAX_SIDE = 65535  # JPEG's limit too; a header claiming more is corrupt, and decoding it would exhaust memory


class FlowFileError(KineticsError):
    """A flow file is unreadable, truncated or corrupt; the message names the file (and field)."""

    def __init__(self, path: str | os.PathLike, message: str):
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")


def quantise(flow_pixels, bound: float = DEFAULT_BOUND):
    """Float flow in pixels -> uint8: ``round((clip(f, -b, b) / b + 1) * 127.5)``.

    Takes a NumPy array or a torch tensor (so a GPU batch is quantised before it is copied back)
    and returns the same kind.
    """
    _check_bound(bound)
    if _is_tensor(flow_pixels):
        scaled = (flow_pixels.float().clamp(-bound, bound) / bound + 1.0) * 127.5
        return scaled.round().to(dtype=_torch().uint8)
    values = np.asarray(flow_pixels, dtype=np.float32)
    return np.rint((np.clip(values, -bound, bound) / np.float32(bound) + 1.0) * 127.5).astype(np.uint8)


def dequantise(q):
    """uint8 flow -> float32 in [-1, 1] (``q / 127.5 - 1``); multiply by the bound for pixels.

    Returns a torch tensor for a tensor and an ndarray for anything else.
    """
    if _is_tensor(q):
        return q.float() / 127.5 - 1.0
    return np.asarray(q, dtype=np.float32) / np.float32(127.5) - np.float32(1.0)


def write_flow_file(
    path: str | os.PathLike,
    fields: Iterable[Any],
    *,
    fps: float,
    bound: float = DEFAULT_BOUND,
    method: str,
    params: dict,
    codec: Codec = "zstd",
    quality: int = 95,
) -> None:
    """Write one clip's flow fields (float32 pixels or uint8, each [H, W, 2]) atomically.

    The file appears under ``path`` only once complete (temporary sibling, then rename).
    ``quality`` is the JPEG quality and is ignored by the lossless zstd codec.
    """
    path = Path(path)
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {CODECS}, got {codec!r}")
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality!r}")
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    _check_bound(bound)
    encode = _encoder(codec, int(quality))
    blobs: list[bytes] = []
    shape: tuple[int, int] | None = None
    for number, field in enumerate(fields):
        planar = _planar_uint8(field, bound, path=path, number=number)
        if shape is None:
            shape = planar.shape[1:]
        elif planar.shape[1:] != shape:
            raise ValueError(f"{path}: field {number} is {planar.shape[1:]}, earlier fields are {shape}")
        blobs.append(encode(planar))
    if shape is None:
        raise ValueError(f"{path}: no flow fields to write (a clip needs at least two frames)")
    header: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "num_fields": len(blobs),
        "height": int(shape[0]),
        "width": int(shape[1]),
        "fps": float(fps),
        "bound": float(bound),
        "method": str(method),
        "params": params,
        "codec": codec,
        "channels": "xy",
    }
    if codec == "jpeg":
        header["quality"] = int(quality)
    try:
        header_bytes = json.dumps(header, sort_keys=True, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: flow params must be JSON-serialisable: {err}") from err
    table = np.zeros(len(blobs), dtype=_ENTRY)
    table["length"] = [len(blob) for blob in blobs]
    table["offset"][1:] = np.cumsum(table["length"][:-1], dtype=np.uint64)
    table["crc32"] = [zlib.crc32(blob) for blob in blobs]

    with atomic_output(path) as temp, open(temp, "wb") as handle:
        handle.write(MAGIC + _LENGTH.pack(len(header_bytes)) + header_bytes)
        handle.write(table.tobytes())
        for blob in blobs:
            handle.write(blob)


@dataclass(frozen=True)
class _Header:
    num_fields: int
    height: int
    width: int
    fps: float
    bound: float
    method: str
    params: dict
    codec: str


class FlowFile:
    """An open flow file: its header, and ``read(indices)`` for any fields of it.

    Opening reads the header and the offset table only. Not safe to share between threads; open
    one per reader (it is cheap).
    """

    def __init__(self, path: Path, handle, header: _Header, table: np.ndarray, data_start: int):
        self.path = path
        self._handle = handle
        self._header = header
        self._table = table
        self._data_start = data_start
        self._decode = _decoder(header.codec)
        import cv2

        self._cv2 = cv2

    @classmethod
    def open(cls, path: str | os.PathLike) -> "FlowFile":
        path = Path(path)
        try:
            handle = open(path, "rb")
        except OSError as err:
            raise FlowFileError(path, f"cannot open flow file: {err.strerror or err}") from err
        try:
            header, table, data_start = _read_header(handle, path)
        except BaseException:
            handle.close()
            raise
        return cls(path, handle, header, table, data_start)

    num_fields = property(lambda self: self._header.num_fields)
    height = property(lambda self: self._header.height)
    width = property(lambda self: self._header.width)
    fps = property(lambda self: self._header.fps)
    bound = property(lambda self: self._header.bound)
    method = property(lambda self: self._header.method)
    params = property(lambda self: self._header.params)
    codec = property(lambda self: self._header.codec)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """Fields at ``indices`` as uint8 [len(indices), H, W, 2]; channel 0 = x (right), 1 = y (down)."""
        wanted, decoded = self._decoded(indices)
        out = np.empty((len(wanted), self.height, self.width, 2), dtype=np.uint8)
        for row, number in enumerate(wanted.tolist()):
            planar = decoded[number]
            self._cv2.merge([planar[0], planar[1]], dst=out[row])  # 30x faster than a NumPy transpose
        return out

    def read_planar(self, indices: Sequence[int]) -> np.ndarray:
        """Fields at ``indices`` channels first, as stored: uint8 [2, len(indices), H, W] (x, then y).

        The loader's layout: no interleaving of the channels only to split them again.
        """
        wanted, decoded = self._decoded(indices)
        out = np.empty((2, len(wanted), self.height, self.width), dtype=np.uint8)
        for row, number in enumerate(wanted.tolist()):
            out[:, row] = decoded[number]
        return out

    def _decoded(self, indices: Sequence[int]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """The indices asked for, and each distinct field among them decoded to [2, H, W] (read once)."""
        wanted = np.asarray(indices, dtype=np.int64).reshape(-1)
        bad = wanted[(wanted < 0) | (wanted >= self.num_fields)]
        if bad.size:
            raise IndexError(f"{self.path}: field {int(bad[0])} out of range (the file has {self.num_fields})")
        decoded: dict[int, np.ndarray] = {}
        if not len(wanted):
            return wanted, decoded
        unique = np.unique(wanted)
        for run in _contiguous_runs(unique):
            entries = self._table[run[0] : run[-1] + 1]
            start = int(entries["offset"][0])
            span = self._read_span(start, int(entries["offset"][-1]) + int(entries["length"][-1]) - start)
            for number, entry in zip(run, entries):
                begin = int(entry["offset"]) - start
                blob = span[begin : begin + int(entry["length"])]
                if zlib.crc32(blob) != int(entry["crc32"]):
                    raise FlowFileError(self.path, f"field {number} is corrupt (CRC mismatch)")
                decoded[number] = self._decode_field(blob, number)
        return wanted, decoded

    def _read_span(self, start: int, length: int) -> bytes:
        if self._data_start + start + length > os.fstat(self._handle.fileno()).st_size:  # never allocate what is not there
            raise FlowFileError(self.path, "file is truncated: field data runs past the end of the file")
        self._handle.seek(self._data_start + start)
        span = self._handle.read(length)
        if len(span) != length:
            raise FlowFileError(self.path, "file is truncated")
        return span

    def _decode_field(self, blob: bytes, number: int) -> np.ndarray:
        try:
            return self._decode(blob, self.height, self.width)
        except Exception as err:  # the codec's own errors (zstd, cv2) carry no file name
            raise FlowFileError(self.path, f"field {number} does not decode: {err}") from err

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "FlowFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"FlowFile({str(self.path)!r}, num_fields={self.num_fields}, {self.width}x{self.height}, "
            f"fps={self.fps}, method={self.method!r}, codec={self.codec!r})"
        )


def _read_header(handle, path: Path) -> tuple[_Header, np.ndarray, int]:
    """Header and offset table, every size checked against the file's before it is read or allocated
    (a corrupt header claiming 10^12 fields must be a FlowFileError, not a MemoryError)."""
    size = os.fstat(handle.fileno()).st_size
    prefix = handle.read(len(MAGIC) + _LENGTH.size)
    if len(prefix) < len(MAGIC) + _LENGTH.size or prefix[:5] != MAGIC[:5]:
        raise FlowFileError(path, "not a kinetics flow file (bad magic)")
    if prefix[: len(MAGIC)] != MAGIC:
        raise FlowFileError(path, f"unsupported flow file version {prefix[6]} (this reader knows {FORMAT_VERSION})")
    (length,) = _LENGTH.unpack(prefix[len(MAGIC) :])
    if len(prefix) + length > size:
        raise FlowFileError(path, f"corrupt header: header length {length} runs past the end of the {size}-byte file")
    try:
        raw = json.loads(handle.read(length).decode("utf-8"))
        header = _Header(
            num_fields=int(raw["num_fields"]),
            height=int(raw["height"]),
            width=int(raw["width"]),
            fps=float(raw["fps"]),
            bound=float(raw["bound"]),
            method=str(raw["method"]),
            params=dict(raw["params"]),
            codec=str(raw["codec"]),
        )
    except (ValueError, KeyError, TypeError) as err:
        raise FlowFileError(path, f"unreadable header: {err}") from err
    if min(header.num_fields, header.height, header.width) < 1 or not header.bound > 0 or not header.fps > 0:
        raise FlowFileError(path, f"header describes no valid flow: {header}")
    if header.codec not in CODECS:
        raise FlowFileError(path, f"unknown codec {header.codec!r} (known: {', '.join(CODECS)})")
    if header.height > MAX_SIDE or header.width > MAX_SIDE:
        raise FlowFileError(path, f"corrupt header: frame size {header.width}x{header.height} (at most {MAX_SIDE} a side)")
    table_start = len(prefix) + length
    table_size = header.num_fields * _ENTRY.itemsize
    if table_start + table_size > size:
        raise FlowFileError(path, f"corrupt or truncated: the offset table of {header.num_fields} fields needs "
                                  f"{table_size} bytes, the file has {size - table_start} after the header")
    table_bytes = handle.read(table_size)
    if len(table_bytes) != table_size:
        raise FlowFileError(path, "file is truncated (offset table)")
    table = np.frombuffer(table_bytes, dtype=_ENTRY)
    data_start = table_start + table_size
    # A truncated file still opens (its intact fields read; ``_read_span`` refuses the rest), but
    # fields that end before the file does mean the header or table is not this file's.
    ends = table["offset"].astype(np.uint64) + table["length"].astype(np.uint64)
    if len(ends) and int(ends[-1]) < size - data_start:
        raise FlowFileError(path, f"corrupt or truncated: the fields end at byte {data_start + int(ends[-1])}, "
                                  f"which does not match the file size {size}")
    return header, table, data_start


def _contiguous_runs(sorted_unique: np.ndarray) -> list[list[int]]:
    breaks = np.nonzero(np.diff(sorted_unique) != 1)[0] + 1
    return [run.tolist() for run in np.split(sorted_unique, breaks)]


def _planar_uint8(field, bound: float, *, path: Path, number: int) -> np.ndarray:
    if _is_tensor(field):
        field = field.detach().cpu().numpy()
    array = np.asarray(field)
    if array.ndim != 3 or array.shape[2] != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{path}: field {number} must be [H, W, 2], got shape {array.shape}")
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"{path}: field {number} must be float (pixels) or uint8, got {array.dtype}")
        if not np.isfinite(array).all():
            raise ValueError(f"{path}: field {number} has NaN or infinite values")
        array = quantise(array, bound)
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def _encoder(codec: str, quality: int):
    if codec == "zstd":
        import pyarrow as pa

        zstd = pa.Codec("zstd", compression_level=ZSTD_LEVEL)
        return lambda planar: zstd.compress(planar, asbytes=True)
    import cv2

    def encode_jpeg(planar: np.ndarray) -> bytes:
        stacked = planar.reshape(-1, planar.shape[2])  # [2H, W]: x above y, one grey image
        ok, data = cv2.imencode(".jpg", stacked, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        return data.tobytes()

    return encode_jpeg


def _decoder(codec: str):
    if codec == "zstd":
        import pyarrow as pa

        zstd = pa.Codec("zstd")

        def decode_zstd(blob: bytes, height: int, width: int) -> np.ndarray:
            raw = zstd.decompress(blob, decompressed_size=2 * height * width, asbytes=True)
            return np.frombuffer(raw, dtype=np.uint8).reshape(2, height, width)

        return decode_zstd
    import cv2

    def decode_jpeg(blob: bytes, height: int, width: int) -> np.ndarray:
        image = cv2.imdecode(np.frombuffer(blob, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
        if image is None or image.shape != (2 * height, width):
            raise ValueError(f"decoded to {None if image is None else image.shape}, expected {(2 * height, width)}")
        return image.reshape(2, height, width)

    return decode_jpeg


def _check_bound(bound: float) -> None:
    if not (math.isfinite(bound) and bound > 0):
        raise ValueError(f"bound must be a positive number of pixels, got {bound!r}")


def _is_tensor(value) -> bool:
    return type(value).__module__.startswith("torch")


def _torch():
    import torch

    return torch
