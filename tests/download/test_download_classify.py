"""Failure classification: every catalogued yt-dlp message, and the exception types yt-dlp wraps."""

from __future__ import annotations

import csv

import pytest

from kinetics.corpus.reasons import Reason
from kinetics.download.classify import classify_exception, classify_message, clean_message


def _catalogue(shared_data) -> list[dict]:
    with open(shared_data / "youtube_errors" / "messages.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_catalogue_is_complete(shared_data):
    rows = _catalogue(shared_data)
    assert len(rows) == 83
    assert {row["reason"] for row in rows} == {reason.value for reason in Reason}


def test_every_catalogued_message_gets_its_reason(shared_data):
    wrong = []
    for number, row in enumerate(_catalogue(shared_data), start=2):
        # "ffmpeg exited with code 1" means window_out_of_range exactly when the window ends after the video.
        beyond = row["reason"] == Reason.WINDOW_OUT_OF_RANGE.value
        got = classify_message(row["message"], window_beyond_end=beyond)
        if got.reason.value != row["reason"]:
            wrong.append(f"line {number}: expected {row['reason']}, got {got.reason.value}: {row['message'][:90]!r}")
        assert got.message == clean_message(row["message"])  # yt-dlp's words are kept, minus decoration
        assert "\x1b" not in got.message and "\r" not in got.message and not got.message.startswith("ERROR")
    assert not wrong, "\n".join(wrong)


def test_window_context_only_changes_ffmpeg_failures(shared_data):
    for row in _catalogue(shared_data):
        plain = classify_message(row["message"]).reason
        beyond = classify_message(row["message"], window_beyond_end=True).reason
        if "ffmpeg exited with code" in row["message"]:
            assert beyond is Reason.WINDOW_OUT_OF_RANGE
        else:
            assert beyond is plain, row["message"]


def test_only_rate_limits_make_everyone_back_off(shared_data):
    for row in _catalogue(shared_data):
        failure = classify_message(row["message"])
        if failure.backoff:
            assert failure.reason is Reason.THROTTLED
    assert classify_message("ERROR: unable to download video data: HTTP Error 429: Too Many Requests").backoff
    assert classify_message("ERROR: [youtube] x: Video unavailable. This content isn't available, try again later.").backoff
    assert not classify_message("ERROR: unable to download video data: HTTP Error 403: Forbidden").backoff


def test_warnings_turn_a_vague_error_into_a_throttle():
    warnings = ["[youtube] dQw4w9WgXcQ: Unable to download webpage: HTTP Error 429: Too Many Requests"]
    failure = classify_message("ERROR: [youtube] dQw4w9WgXcQ: Unable to download API page: timed out", warnings=warnings)
    assert failure.reason is Reason.THROTTLED and failure.backoff
    assert classify_message("ERROR: [youtube] dQw4w9WgXcQ: Unable to download API page: timed out").reason is Reason.NETWORK


@pytest.mark.parametrize(
    "code, reason",
    [(1, Reason.FFMPEG_ERROR), (146, Reason.NETWORK), (145, Reason.NETWORK), (8, Reason.NETWORK), (183, Reason.CORRUPT_OUTPUT)],
)
def test_ffmpeg_exit_codes(code, reason):
    assert classify_message(f"ERROR: ffmpeg exited with code {code}").reason is reason


def _download_error(inner: BaseException, text: str):
    from yt_dlp.utils import DownloadError

    return DownloadError(text, exc_info=(type(inner), inner, None))


def test_exception_types_come_before_text():
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.networking.common import Response
    from yt_dlp.utils import ExtractorError, GeoRestrictedError
    import io

    def http(status: int):
        return HTTPError(Response(io.BytesIO(b""), "http://127.0.0.1/x", {}, status=status))

    assert classify_exception(_download_error(http(429), "ERROR: whatever")).reason is Reason.THROTTLED
    assert classify_exception(_download_error(http(429), "ERROR: whatever")).backoff
    assert classify_exception(_download_error(http(403), "ERROR: whatever")).reason is Reason.THROTTLED
    assert not classify_exception(_download_error(http(403), "ERROR: whatever")).backoff
    assert classify_exception(_download_error(http(404), "ERROR: whatever")).reason is Reason.NETWORK
    assert classify_exception(_download_error(http(503), "ERROR: whatever")).reason is Reason.NETWORK
    assert classify_exception(_download_error(TransportError("boom"), "ERROR: boom")).reason is Reason.NETWORK
    geo = GeoRestrictedError("The uploader has not made this video available in your country", countries=["JP"])
    assert classify_exception(_download_error(geo, "ERROR: x")).reason is Reason.GEO_BLOCKED
    private = ExtractorError("Private video. Sign in if you've been granted access to this video", expected=True)
    error = _download_error(private, "ERROR: [youtube] dQw4w9WgXcQ: Private video. Sign in ...")
    found = classify_exception(error)
    assert found.reason is Reason.PRIVATE
    assert found.message.startswith("[youtube] dQw4w9WgXcQ: Private video")  # the full message is kept


def test_unwrapped_python_errors_are_unknown_not_crashes():
    assert classify_exception(KeyError("videoDetails")).reason is Reason.UNKNOWN
    assert classify_exception(TimeoutError("read timed out")).reason is Reason.NETWORK
