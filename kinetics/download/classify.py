"""Turn a yt-dlp or ffmpeg failure into a stable Reason, keeping the original message.

The rules follow the catalogue in ``shared/data/youtube_errors/README.md``: look at the exception
type first (yt-dlp wraps the real cause in ``DownloadError.exc_info``), then at the text with the
most specific phrases first, because many different states start with "Video unavailable" and
"Sign in" appears in private, age-gated and bot-check messages alike. A failure also says whether
it should make *every* worker back off (HTTP 429 and YouTube's "try again later" do; a single
403 on one media URL does not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from kinetics.corpus.reasons import Reason

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PREFIX = re.compile(r"^\s*(?:ERROR|WARNING):\s*")
_FFMPEG_EXIT = re.compile(r"ffmpeg exited with code (-?\d+)")

# ffmpeg >= 7 exits with its error code (``AVERROR(e) & 0xff``) instead of a plain 1.
_FFMPEG_EXIT_REASONS = {
    146: Reason.NETWORK,  # ETIMEDOUT: the -rw_timeout we pass fired on a stalled connection
    145: Reason.NETWORK,  # ECONNREFUSED
    152: Reason.NETWORK,  # ECONNRESET
    5: Reason.NETWORK,  # EIO
    8: Reason.NETWORK,  # AVERROR_HTTP_* (the server answered 4xx/5xx to the media request)
    183: Reason.CORRUPT_OUTPUT,  # AVERROR_INVALIDDATA
}

#: (reason, phrases, back off): checked in this order, phrases matched case-insensitively.
_RULES: tuple[tuple[Reason, tuple[str, ...], bool], ...] = (
    (Reason.LIVE_OR_PREMIERE, ("this live event will begin", "premieres in", "premiere will begin",
                               "live event has ended", "live stream recording is not available"), False),
    (Reason.THROTTLED, ("try again later", "rate-limited", "http error 429", "too many requests",
                        "http error 402", "payment required", "your ip is likely being blocked",
                        "failed to extract any player response"), True),
    (Reason.THROTTLED, ("this content isn\u2019t available", "http error 403"), False),
    (Reason.SIGN_IN_REQUIRED, ("captcha", "not a bot", "confirm your age", "inappropriate for some users"), False),
    (Reason.PRIVATE, ("private video", "this video is private", "members-only", "premium members"), False),
    (Reason.ACCOUNT_TERMINATED, ("account associated with this video has been terminated",), False),
    (Reason.REMOVED_BY_USER, ("removed by the uploader", "uploader has closed their youtube account"), False),
    (Reason.COPYRIGHT, ("copyright",), False),
    (Reason.GEO_BLOCKED, ("not made this video available in your country",), False),
    (Reason.UNAVAILABLE, ("video unavailable", "this video is unavailable", "isn't available anymore",
                          "removed for violating", "drm protected", "this video is not available",
                          "removed due to a legal complaint"), False),
    (Reason.SIGN_IN_REQUIRED, ("sign in",), False),
    (Reason.FFMPEG_ERROR, ("ffmpeg is not installed", "ffmpeg not found", "ffmpeg could not be found",
                           "conversion failed"), False),
    (Reason.CORRUPT_OUTPUT, ("invalid data found", "did not get any data blocks", "downloaded file is empty",
                             "moov atom not found", "error splitting the input", "decode error rate"), False),
    (Reason.NETWORK, ("got error:", "unable to download video data", "unable to download webpage",
                      "unable to download api page", "a network error has occurred", "timed out",
                      "connection refused", "name or service not known", "connection reset",
                      "temporary failure in name resolution", "network is unreachable"), False),
)


@dataclass(frozen=True)
class Failure:
    """A classified failure: the stable reason, the original message and whether to back off."""

    reason: Reason
    message: str
    backoff: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.reason, Reason):
            raise ValueError(f"reason must be a Reason, got {self.reason!r}")


def clean_message(text: str) -> str:
    """Drop ANSI colour codes, the ``ERROR:``/``WARNING:`` prefix and carriage returns."""
    text = _ANSI.sub("", text).replace("\r", "")
    return _PREFIX.sub("", text).strip()


def classify_message(message: str, *, warnings: Sequence[str] = (), window_beyond_end: bool = False) -> Failure:
    """Classify a yt-dlp/ffmpeg message (an error, or a warning on its own).

    Args:
        warnings: what the logger captured before the error; a 429 there makes the error a throttle.
        window_beyond_end: the annotated window ends after the video does, so an ffmpeg failure or a
            short clip means ``window_out_of_range`` rather than a broken download.
    """
    text = clean_message(message)
    lowered = text.lower()
    exit_code = _FFMPEG_EXIT.search(lowered)
    if exit_code:
        if window_beyond_end:
            return Failure(Reason.WINDOW_OUT_OF_RANGE, text)
        return Failure(_FFMPEG_EXIT_REASONS.get(int(exit_code.group(1)), Reason.FFMPEG_ERROR), text)
    for reason, phrases, backoff in _RULES:
        if any(phrase in lowered for phrase in phrases):
            if reason is Reason.NETWORK and _throttle_warning(warnings):
                return Failure(Reason.THROTTLED, text, backoff=True)
            return Failure(reason, text, backoff)
    if _throttle_warning(warnings):
        return Failure(Reason.THROTTLED, text, backoff=True)
    return Failure(Reason.UNKNOWN, text)


def classify_exception(error: BaseException, *, warnings: Sequence[str] = (), window_beyond_end: bool = False,
                       mirror: bool = False) -> Failure:
    """Classify what yt-dlp raised: the wrapped cause's type first, then its text.

    ``mirror``: the URL is a ``--url-template`` mirror's, not YouTube's. A mirror that answers 404
    or 410 does not have the video (``unavailable``, permanent); from YouTube a 404 is a network
    fault worth retrying.
    """
    inner = _inner(error)
    message = clean_message(str(error))
    status = getattr(inner, "status", None)
    if isinstance(status, int) and type(inner).__name__ == "HTTPError":
        if status in (429, 402):
            return Failure(Reason.THROTTLED, message, backoff=True)
        if status == 403:
            return Failure(Reason.THROTTLED, message)
        if status in (404, 410) and mirror:
            return Failure(Reason.UNAVAILABLE, message)
        return Failure(Reason.NETWORK, message)
    if mirror and re.search(r"HTTP Error (404|410)\b", message):
        return Failure(Reason.UNAVAILABLE, message)
    if _is_instance(inner, "GeoRestrictedError"):
        return Failure(Reason.GEO_BLOCKED, message)
    if _is_instance(inner, "TransportError") or _is_instance(inner, "IncompleteRead"):
        return Failure(Reason.NETWORK, message)
    if _is_instance(inner, "ExtractorError") and getattr(inner, "orig_msg", None):
        found = classify_message(str(inner.orig_msg), warnings=warnings, window_beyond_end=window_beyond_end)
        return Failure(found.reason, message, found.backoff)
    if isinstance(error, (TimeoutError, ConnectionError)):
        return Failure(Reason.NETWORK, message or type(error).__name__)
    return classify_message(message or type(error).__name__, warnings=warnings, window_beyond_end=window_beyond_end)


def _throttle_warning(warnings: Sequence[str]) -> bool:
    return any(re.search(r"HTTP Error (429|402)|Too Many Requests", w) for w in warnings)


def _inner(error: BaseException) -> BaseException | None:
    exc_info = getattr(error, "exc_info", None)
    if isinstance(exc_info, tuple) and len(exc_info) > 1 and isinstance(exc_info[1], BaseException):
        return exc_info[1]
    return error


def _is_instance(value: object, class_name: str) -> bool:
    """True if ``value`` is an instance of a class named ``class_name`` (yt-dlp imported lazily)."""
    return any(cls.__name__ == class_name for cls in type(value).__mro__)
