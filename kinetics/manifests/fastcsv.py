"""A vectorised reader for clean manifest CSVs (the common case: official files, 650,000 rows).

It parses with pyarrow and checks every rule of ``schema.row_problem`` on whole columns. It only
ever accepts a file that has no problem at all, so it never has to say where a problem is: on the
first doubt (a row that fails a rule, a ragged row, a duplicate clip with two labels, two windows
that round to one clip id) it returns None and the row-by-row reader in readers.py takes over and
reports each problem with its line.
Both paths produce the same table; tests/manifests hold them to that.
"""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from kinetics.manifests.schema import MANIFEST_SCHEMA, MAX_LABEL_CHARS, MAX_SECONDS, SPLIT_ALIASES, YOUTUBE_ID

COLUMNS = ("youtube_id", "time_start", "time_end", "label", "split")


def read_clean_csv(data: bytes, *, version: str | None, split: str | None, classes: list[str] | None) -> tuple[pa.Table, int, list[str]] | None:
    """(table in MANIFEST_SCHEMA, duplicates dropped, class list) for a problem-free CSV, else None."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:  # every column as text: ids like "00123456789" must not become numbers
        header = next(csv.reader(io.StringIO(data[: data.find(b"\n") + 1 or len(data)].decode("utf-8"))))
        raw = pacsv.read_csv(
            pa.BufferReader(data),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header}, strings_can_be_null=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
        )
    except (StopIteration, UnicodeDecodeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    names = [n.strip().lstrip("\ufeff").strip().lower() for n in raw.column_names]
    if len(set(names)) != len(names) or not {"youtube_id", "time_start", "time_end"} <= set(names):
        return None
    column = {n: raw.column(i) for i, n in enumerate(names) if n in COLUMNS}
    try:
        text = {n: pc.utf8_trim_whitespace(c.cast(pa.string())) for n, c in column.items()}
        start = pc.cast(text["time_start"], pa.float64())
        end = pc.cast(text["time_end"], pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    youtube_id = text["youtube_id"]
    splits = _splits(column.get("split"), split, raw.num_rows)
    if splits is None:
        return None
    checks = [
        pc.match_substring_regex(youtube_id, YOUTUBE_ID.pattern),
        pc.is_finite(start), pc.is_finite(end),
        pc.greater_equal(start, 0.0), pc.greater(end, start), pc.less_equal(end, MAX_SECONDS),
        pc.greater(pc.utf8_length(splits), 0),
    ]
    if "label" in text:
        checks.append(pc.less_equal(pc.utf8_length(text["label"]), MAX_LABEL_CHARS))
    if not all(pc.all(c).as_py() is not False for c in checks):
        return None
    label = text.get("label")
    label = pa.nulls(raw.num_rows, pa.string()) if label is None else pc.if_else(pc.equal(label, ""), pa.scalar(None, pa.string()), label)
    table = pa.table({"youtube_id": youtube_id, "time_start": start, "time_end": end, "label": label, "split": splits,
                      "_row": pa.array(range(raw.num_rows), pa.int64())})
    deduped = _drop_duplicates(table)
    if deduped is None:
        return None
    labels = sorted(set(deduped.column("label").drop_null().unique().to_pylist()))
    class_list = list(classes) if classes is not None else labels
    if set(labels) - set(class_list):
        return None
    normalised = _normalised(deduped, class_list, version)
    if pc.count_distinct(normalised.column("clip_id")).as_py() != normalised.num_rows:
        return None  # two windows round to one clip id: the row-by-row reader names both lines
    return normalised, table.num_rows - deduped.num_rows, class_list


def _splits(column: pa.ChunkedArray | None, default: str | None, rows: int) -> pa.ChunkedArray | pa.Array | None:
    """Normalised split names; ``default`` fills empty fields (as readers._normalise does)."""
    if column is None:
        return pa.array([default] * rows, pa.string()) if default else None
    normal = pc.utf8_lower(pc.utf8_trim_whitespace(column))
    for alias, name in SPLIT_ALIASES.items():
        normal = pc.if_else(pc.equal(normal, alias), name, normal)
    if default:
        normal = pc.if_else(pc.equal(column, ""), default, normal)
    return normal


def _drop_duplicates(table: pa.Table) -> pa.Table | None:
    """First row of each (youtube_id, start, end); None when a duplicate carries another label."""
    keys = ["youtube_id", "time_start", "time_end"]
    groups = table.group_by(keys, use_threads=False).aggregate([("_row", "min"), ("_row", "count")])
    if groups.num_rows == table.num_rows:
        return table
    repeated = groups.filter(pc.greater(groups.column("_row_count"), 1))
    rows = table.join(repeated.select(keys), keys=keys, join_type="inner").select(keys + ["label"])
    per_key = rows.group_by(keys).aggregate([("label", "count_distinct", pc.CountOptions(mode="all"))])
    if pc.max(per_key.column("label_count_distinct")).as_py() > 1:
        return None
    first = pc.is_in(table.column("_row"), value_set=groups.column("_row_min").combine_chunks())
    return table.filter(first)


def _normalised(table: pa.Table, classes: list[str], version: str | None) -> pa.Table:
    def padded(seconds):
        return pc.utf8_lpad(pc.cast(seconds, pa.int64()).cast(pa.string()), width=6, padding="0")

    start, end = table.column("time_start"), table.column("time_end")
    clip_id = pc.binary_join_element_wise(table.column("youtube_id"), padded(pc.floor(start)), padded(pc.ceil(end)), "_")
    label_index = pc.fill_null(pc.index_in(table.column("label"), value_set=pa.array(classes, pa.string())), -1)
    return pa.table(
        {
            "clip_id": clip_id,
            "youtube_id": table.column("youtube_id"),
            "time_start": start,
            "time_end": end,
            "label": table.column("label"),
            "label_index": label_index.cast(pa.int32()),
            "split": table.column("split"),
            "version": pa.array([version or "custom"] * table.num_rows, pa.string()),
        },
        schema=MANIFEST_SCHEMA,
    )
