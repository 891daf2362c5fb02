"""A .kflow header that lies (10^12 fields, a 4 GB header, offsets past the end, 10^9 pixels) is a
FlowFileError naming the file, checked against the file's size before anything is allocated; so
``on_error="skip"`` handles it and ``kinetics flow`` computes the clip again."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from numbered_media import add_clip

from kinetics.cli.main import main
from kinetics.corpus.flowfile import MAGIC, FlowFile, FlowFileError, write_flow_file
from kinetics.corpus.index import CorpusIndex
from kinetics.corpus.layout import CorpusLayout


def _valid(path: Path, fields: int = 3) -> bytes:
    rng = np.random.default_rng(0)
    write_flow_file(path, [rng.normal(0, 3, (8, 10, 2)).astype(np.float32) for _ in range(fields)], fps=25.0, method="tvl1", params={})
    return path.read_bytes()


def _with_header(data: bytes, **changes) -> bytes:
    (length,) = struct.unpack("<I", data[8:12])
    header = {**json.loads(data[12 : 12 + length]), **changes}
    encoded = json.dumps(header).encode()
    return MAGIC + struct.pack("<I", len(encoded)) + encoded + data[12 + length :]


@pytest.mark.parametrize("change, message", [
    (dict(num_fields=10**12), "offset table"),
    (dict(height=10**9, width=10**9), "frame size"),
    (dict(num_fields=2), "does not match the file size"),
])
def test_lying_headers_raise_flow_file_errors(tmp_path, change, message):
    path = tmp_path / "clip.kflow"
    path.write_bytes(_with_header(_valid(tmp_path / "ok.kflow"), **change))
    with pytest.raises(FlowFileError, match=message) as info:
        FlowFile.open(path)
    assert info.value.path == str(path)


def test_a_header_length_past_the_end_and_offsets_past_the_end(tmp_path):
    data = _valid(tmp_path / "ok.kflow")
    path = tmp_path / "clip.kflow"
    path.write_bytes(data[:8] + struct.pack("<I", 2**32 - 1) + data[12:])
    with pytest.raises(FlowFileError, match="header length"):
        FlowFile.open(path)
    (length,) = struct.unpack("<I", data[8:12])
    table_at = 12 + length
    table = np.frombuffer(data[table_at : table_at + 3 * 16], dtype=[("offset", "<u8"), ("length", "<u4"), ("crc32", "<u4")]).copy()
    table["offset"][2] = 10**15
    path.write_bytes(data[:table_at] + table.tobytes() + data[table_at + 3 * 16 :])
    with FlowFile.open(path) as flow, pytest.raises(FlowFileError, match="past the end of the file"):
        flow.read([2])  # without allocating 10^15 bytes


def test_kinetics_flow_recomputes_a_file_with_a_lying_header(tmp_path, moving_clip, capsys):
    root = tmp_path / "corpus"
    record = add_clip(root, moving_clip(dx=1, dy=0, frames=5), clip_id="liarliarlia_000000_000010", split="train", label="abseiling",
                      label_index=0, fps=25.0, frames=5, width=96, height=64)
    CorpusIndex(root).record_clips([record])
    final = CorpusLayout(root).resolve(CorpusLayout(root).flow_relpath("tvl1", "train", "abseiling", record.clip_id, ".kflow"))
    final.parent.mkdir(parents=True, exist_ok=True)
    final.write_bytes(_with_header(_valid(tmp_path / "ok.kflow"), num_fields=10**12, method="tvl1"))  # left by a crashed run
    assert main(["flow", "--root", str(root), "--method", "tvl1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"] == 1 and summary["adopted"] == 0
    with FlowFile.open(final) as flow:
        assert flow.num_fields == 4 and flow.read([3]).shape == (1, 64, 96, 2)
