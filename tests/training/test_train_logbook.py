"""The run's logbook: JSON lines anyone can read, and a progress bar with loss, clips/s and ETA."""

from __future__ import annotations

import io

from kinetics.training.logbook import Logbook, read_metrics


def test_records_are_json_lines_and_the_bar_shows_loss_rate_and_eta(tmp_path):
    stream = io.StringIO()
    with Logbook(tmp_path, tensorboard=False, progress=True, total_steps=4, stream=stream) as book:
        book.write("train", 2, {"loss": 1.25, "clips_per_second": 3.5, "data_wait_fraction": 0.1})
        book.advance(2, loss=1.25, clips_per_second=3.5)
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert records == [{"event": "train", "step": 2, "time": records[0]["time"], "loss": 1.25,
                        "clips_per_second": 3.5, "data_wait_fraction": 0.1}]
    bar = stream.getvalue()
    assert "2/4" in bar and "loss=1.2500" in bar and "3.50 clips/s" in bar and "<" in bar  # tqdm's elapsed<ETA


def test_other_ranks_write_nothing(tmp_path):
    book = Logbook.disabled()
    book.write("train", 1, {"loss": 1.0})
    book.advance(1, loss=1.0)
    book.close()
    assert book.path is None and list(tmp_path.iterdir()) == []
