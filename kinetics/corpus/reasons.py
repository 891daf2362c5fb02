"""Why a clip is not in the corpus: a stable vocabulary that indexes, audits and papers can share.

The values are stored in the index and printed in reports, so they never change meaning.
``missing`` clips are gone for everyone (permanent reasons); ``failed`` clips may come back with
time, cookies or a proxy, and ``--retry-failed`` tries them again.
"""

from __future__ import annotations

from enum import Enum


class Reason(str, Enum):
    UNAVAILABLE = "unavailable"
    PRIVATE = "private"
    REMOVED_BY_USER = "removed_by_user"
    ACCOUNT_TERMINATED = "account_terminated"
    COPYRIGHT = "copyright"
    GEO_BLOCKED = "geo_blocked"
    SIGN_IN_REQUIRED = "sign_in_required"  # age gate or bot check: cookies help
    LIVE_OR_PREMIERE = "live_or_premiere"
    THROTTLED = "throttled"  # HTTP 429, "try again later", IP blocks
    NETWORK = "network"
    WINDOW_OUT_OF_RANGE = "window_out_of_range"  # the video is shorter than the annotation
    FFMPEG_ERROR = "ffmpeg_error"
    CORRUPT_OUTPUT = "corrupt_output"
    UNKNOWN = "unknown"

    @property
    def permanent(self) -> bool:
        """The clip is gone for everyone; retrying cannot help."""
        return self in PERMANENT

    @property
    def retry_in_run(self) -> bool:
        """Worth another attempt within the same run (after a pause), up to the attempt limit."""
        return self in RETRY_IN_RUN

    @property
    def status(self) -> str:
        return "missing" if self.permanent else "failed"

    def __str__(self) -> str:
        return self.value


PERMANENT = frozenset(
    {
        Reason.UNAVAILABLE,
        Reason.PRIVATE,
        Reason.REMOVED_BY_USER,
        Reason.ACCOUNT_TERMINATED,
        Reason.COPYRIGHT,
        Reason.LIVE_OR_PREMIERE,
        Reason.WINDOW_OUT_OF_RANGE,
    }
)
RETRY_IN_RUN = frozenset({Reason.THROTTLED, Reason.NETWORK, Reason.FFMPEG_ERROR, Reason.CORRUPT_OUTPUT, Reason.UNKNOWN})

#: Clip states recorded in the index. "pending" is never stored: it is a manifest row with no record.
STATUSES = ("ok", "missing", "failed")
