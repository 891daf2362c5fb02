"""Fetch the annotated window of one video with yt-dlp's Python API, one YoutubeDL per worker.

``download_ranges`` makes yt-dlp run ffmpeg on the media URL with ``-ss START -t LENGTH`` and
stream copy, so only the bytes of the window (plus one GOP) cross the network; the exact trim and
the re-encode happen in ``normalise``. yt-dlp reports some failures only as warnings (the 429s
before "Failed to extract any player response"), so a logger captures them for the classifier.
Two traps are handled here: yt-dlp checks for ffmpeg without its ``ffmpeg_location`` before a
ranged download (see ``ffmpeg_visible``), and its ffmpeg downloader has no socket timeout, so
``-rw_timeout`` is passed.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

from kinetics.corpus.reasons import Reason
from kinetics.download.classify import Failure, classify_exception, clean_message
from kinetics.errors import KineticsError
from kinetics.ffmpeg import FFmpeg
from kinetics.manifests.schema import is_youtube_id

DEFAULT_URL_TEMPLATE = "https://www.youtube.com/watch?v={youtube_id}"
_YOUTUBE_HOSTS = ("www.youtube.com", "youtube.com", "m.youtube.com")
#: YouTube's rungs; yt-dlp's ``res:N`` sort prefers the largest format whose short side is <= N.
_RUNGS = (144, 240, 360, 480, 720, 1080, 1440, 2160, 4320)
_BROWSER_SPEC = re.compile(r"(?P<name>[^+:]+)(?:\+(?P<keyring>[^:]+))?(?::(?!:)(?P<profile>.+?))?(?:::(?P<container>.+))?")


class FetchFailed(KineticsError):
    """One fetch attempt failed; ``failure`` says why in stable terms."""

    def __init__(self, failure: Failure):
        self.failure = failure
        super().__init__(f"{failure.reason.value}: {failure.message}")


_COOKIE_PREFIX = "kinetics-cookies-"


def private_cookie_copy(cookies: Path, directory: str | os.PathLike | None = None) -> Path:
    """A mode-0600 copy of ``cookies`` in ``directory`` (default: the temp directory), named after this process.

    yt-dlp writes its jar back into the file it read, so workers must not share the user's file.
    A download run passes its own private directory (``cookies.run_cookie_dir``) and removes it
    when it ends, so a clean run leaves nothing. A worker killed with SIGKILL cannot delete its
    copy; the next worker to start deletes every copy whose process is gone (copies of live
    processes, or other users', are left alone).
    """
    if directory is not None:
        Path(directory).mkdir(mode=0o700, parents=True, exist_ok=True)  # a Ray worker on another host
        handle, name = tempfile.mkstemp(prefix=f"{_COOKIE_PREFIX}{os.getpid()}-", suffix=".txt", dir=directory)
        os.close(handle)
        shutil.copyfile(cookies, name)
        return Path(name)
    directory = Path(tempfile.gettempdir())
    for stale in directory.glob(f"{_COOKIE_PREFIX}*.txt") if os.name == "posix" else ():  # os.kill(pid, 0) kills on Windows
        owner = stale.name[len(_COOKIE_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            try:
                if stale.stat().st_uid == os.getuid():
                    stale.unlink()
            except OSError:
                pass  # another worker got there first
    handle, name = tempfile.mkstemp(prefix=f"{_COOKIE_PREFIX}{os.getpid()}-", suffix=".txt", dir=directory)
    os.close(handle)
    shutil.copyfile(cookies, name)
    return Path(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        pass
    return True


@dataclass(frozen=True)
class CookiesFromBrowser:
    """``BROWSER[+KEYRING][:PROFILE][::CONTAINER]``, as yt-dlp's ``--cookies-from-browser`` takes it."""

    browser: str
    profile: str | None = None
    keyring: str | None = None
    container: str | None = None

    @classmethod
    def parse(cls, spec: str) -> "CookiesFromBrowser":
        match = _BROWSER_SPEC.fullmatch(spec.strip())
        if not match:
            raise ValueError(f"cookies-from-browser must be BROWSER[+KEYRING][:PROFILE][::CONTAINER], got {spec!r}")
        keyring = match.group("keyring")
        return cls(match.group("name").lower(), match.group("profile"), keyring.upper() if keyring else None, match.group("container"))

    def check(self) -> None:
        """Raise ValueError unless yt-dlp knows the browser and keyring."""
        from yt_dlp.cookies import SUPPORTED_BROWSERS, SUPPORTED_KEYRINGS

        if self.browser not in SUPPORTED_BROWSERS:
            raise ValueError(f"unsupported browser {self.browser!r}; yt-dlp supports {', '.join(sorted(SUPPORTED_BROWSERS))}")
        if self.keyring is not None and self.keyring not in SUPPORTED_KEYRINGS:
            raise ValueError(f"unsupported keyring {self.keyring!r}; yt-dlp supports {', '.join(sorted(SUPPORTED_KEYRINGS))}")

    def as_tuple(self) -> tuple[str, str | None, str | None, str | None]:
        return (self.browser, self.profile, self.keyring, self.container)


@dataclass(frozen=True)
class FetchOptions:
    """Everything a worker's YoutubeDL needs; plain values, so it pickles to any worker."""

    url_template: str = DEFAULT_URL_TEMPLATE
    short_side_pixels: int = 256  # picks the smallest format that still covers it
    audio: bool = True
    socket_timeout_seconds: float = 20.0
    stall_timeout_seconds: float = 30.0  # ffmpeg's -rw_timeout on the media connection
    sleep_seconds: float = 0.0  # between requests, per worker
    rate_limit_bytes: int | None = None
    cookies: str | None = None
    cookies_from_browser: CookiesFromBrowser | None = None
    proxy: str | None = None
    ffmpeg_path: str | None = None
    cookie_dir: str | None = None  # where workers put their cookie copies (the run removes it at the end)

    def __post_init__(self) -> None:
        url_for(self.url_template, "dQw4w9WgXcQ")  # fails now, not on the first clip
        for name in ("socket_timeout_seconds", "stall_timeout_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.sleep_seconds < 0:
            raise ValueError(f"sleep_seconds must be >= 0, got {self.sleep_seconds}")
        if self.rate_limit_bytes is not None and self.rate_limit_bytes <= 0:
            raise ValueError(f"rate_limit_bytes must be positive, got {self.rate_limit_bytes}")


def url_for(template: str, youtube_id: str) -> str:
    """The URL of a video: only a validated id is substituted, percent-quoted."""
    if not is_youtube_id(youtube_id):
        raise ValueError(f"not a YouTube id (11 characters of [A-Za-z0-9_-]): {youtube_id!r}")
    if "{youtube_id}" not in template:
        raise ValueError(f"url template must contain {{youtube_id}}, got {template!r}")
    if not re.match(r"^https?://", template):
        raise ValueError(f"url template must be an http(s) URL, got {template!r}")
    return template.replace("{youtube_id}", quote(youtube_id, safe="-_"))


def literal_outtmpl(path: str) -> str:
    """An output template that yt-dlp turns back into exactly ``path``.

    yt-dlp runs ``os.path.expandvars`` over the template and then ``%``-formats it, so a root such
    as ``/data/$USER/%(id)s`` would land elsewhere. ``%%`` is its escape for ``%``; it has none for
    ``$`` (its ``$$`` still expands), so each ``$`` is followed by an empty field (``%(x|)s``,
    whose default is ``''``), which stops expandvars from seeing a variable name after it.
    """
    literal = path.replace("%", "%%").replace("$", "$%(kinetics_literal|)s")
    if literal.startswith("~"):  # expanduser: only a leading ~ expands; a relative path could start with one
        literal = "%(kinetics_literal|)s" + literal
    return literal


@dataclass(frozen=True)
class Section:
    """A fetched window: the raw file yt-dlp wrote, and what it learnt about the source."""

    path: Path
    source_duration_seconds: float | None
    media_url: str | None
    http_headers: dict[str, str]
    warnings: tuple[str, ...]


class _Capture:
    """yt-dlp logger: keeps warnings and errors (the classifier needs them), drops chatter."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.errors: list[str] = []

    def debug(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        self.warnings.append(clean_message(message))

    def error(self, message: str) -> None:
        self.errors.append(clean_message(message))


class YoutubeFetcher:
    """One YoutubeDL for the life of a worker; ``fetch`` aims it at one window at a time."""

    def __init__(self, options: FetchOptions, *, ffmpeg: FFmpeg):
        import deno
        import yt_dlp

        self.options = options
        self._ffmpeg = ffmpeg
        self._log = _Capture()
        self._last_request = 0.0
        params: dict[str, Any] = {
            "quiet": True,
            "no_warnings": False,
            "noprogress": True,
            "color": "never",
            "logger": self._log,
            "ffmpeg_location": ffmpeg.path,
            "js_runtimes": {"deno": {"path": deno.find_deno_bin()}},
            "socket_timeout": options.socket_timeout_seconds,
            "external_downloader_args": {"ffmpeg_i": ["-rw_timeout", str(int(options.stall_timeout_seconds * 1e6))]},
            "retries": 0,  # retries are ours: classified, counted and paced
            "noplaylist": True,
            "overwrites": True,
            "format": "bv*+ba/b" if options.audio else "bv*/b",
        }
        rung = next((r for r in _RUNGS if r >= options.short_side_pixels), None) if options.short_side_pixels else None
        if rung:
            params["format_sort"] = [f"res:{rung}"]
        if options.rate_limit_bytes:
            params["ratelimit"] = options.rate_limit_bytes
        self._cookie_copy = None
        self._closed = False
        if options.cookies:  # yt-dlp writes the jar back on close: each worker gets its own copy
            self._cookie_copy = private_cookie_copy(Path(options.cookies), options.cookie_dir)
            params["cookiefile"] = str(self._cookie_copy)
        if options.cookies_from_browser:
            params["cookiesfrombrowser"] = options.cookies_from_browser.as_tuple()
        if options.proxy:
            params["proxy"] = options.proxy
        self._ydl = yt_dlp.YoutubeDL(params)
        # Matching a URL against every extractor costs seconds per worker; YouTube's is known.
        self._ie_key = "Youtube" if urlsplit(options.url_template).hostname in _YOUTUBE_HOSTS else None

    def close(self) -> None:
        if self._closed:  # closed by the run that owned its cookie directory, then by a later run
            return
        self._closed = True
        if self._cookie_copy is not None and not self._cookie_copy.parent.is_dir():
            self._ydl.params.pop("cookiefile", None)  # its run already removed the copy: nothing to save
        self._ydl.close()
        if self._cookie_copy is not None:
            self._cookie_copy.unlink(missing_ok=True)

    def fetch(self, youtube_id: str, *, start_seconds: float, end_seconds: float, raw_path: Path) -> Section:
        """Download ``[start, end)`` of the video to ``raw_path`` (stream copy). Raises FetchFailed."""
        from yt_dlp.utils import download_range_func

        url = url_for(self.options.url_template, youtube_id)
        self._pace()
        self._log.warnings.clear()
        self._log.errors.clear()
        ydl = self._ydl
        ydl.params["outtmpl"]["default"] = literal_outtmpl(str(raw_path))
        ydl.params["download_ranges"] = download_range_func(None, [(start_seconds, end_seconds)])
        duration = None
        try:
            with ffmpeg_visible(self._ffmpeg):
                info = ydl.extract_info(url, download=False, process=False, ie_key=self._ie_key)
                duration = _duration(info)
                if duration is not None and (start_seconds >= duration or end_seconds > duration + 1.0):
                    raise FetchFailed(Failure(
                        Reason.WINDOW_OUT_OF_RANGE,
                        f"window {start_seconds:g}-{end_seconds:g} s is beyond the end of the video ({duration:g} s)",
                    ))
                result = ydl.process_ie_result(info, download=True)
        except FetchFailed:
            raise
        except Exception as err:  # yt-dlp raises DownloadError, or a bare Python error from an extractor
            beyond = duration is not None and end_seconds > duration
            raise FetchFailed(classify_exception(err, warnings=tuple(self._log.warnings), window_beyond_end=beyond,
                                                 mirror=self._ie_key is None)) from err  # a mirror's 404: missing
        finally:
            self._last_request = time.monotonic()
        written = _written_path(result, raw_path)
        if written is None:
            message = self._log.errors[-1] if self._log.errors else "yt-dlp reported success but wrote no file"
            raise FetchFailed(Failure(Reason.CORRUPT_OUTPUT, message))
        media = _media_format(result)
        return Section(
            path=written,
            source_duration_seconds=duration,
            media_url=media.get("url"),
            http_headers=dict(media.get("http_headers") or {}),
            warnings=tuple(self._log.warnings),
        )

    def _pace(self) -> None:
        wait = self.options.sleep_seconds - (time.monotonic() - self._last_request)
        if self._last_request and wait > 0:
            time.sleep(wait)


def probe_remote_duration(url: str, *, headers: dict[str, str], timeout_seconds: float) -> float | None:
    """Duration of a media URL from its header alone (one or two ranged reads), or None."""
    import av

    options = {"rw_timeout": str(int(timeout_seconds * 1e6))}
    if headers:
        options["headers"] = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    try:
        with av.open(url, options=options, timeout=timeout_seconds) as container:
            if container.duration is not None:
                return container.duration / 1_000_000
            stream = container.streams.video[0] if container.streams.video else None
            if stream is not None and stream.duration is not None:
                return float(stream.duration * stream.time_base)
    except (av.error.FFmpegError, OSError, IndexError):
        return None
    return None


@contextmanager
def ffmpeg_visible(ffmpeg: FFmpeg) -> Iterator[None]:
    """Let yt-dlp's ranged-download check find ``ffmpeg`` for the duration of one fetch.

    ``FFmpegFD.available()`` builds a post-processor without the YoutubeDL, so it ignores the
    ``ffmpeg_location`` parameter and looks on PATH, where the imageio binary (with a versioned
    name) is not. yt-dlp's own command line sets this context variable instead; so do we.
    """
    from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor

    token = FFmpegPostProcessor._ffmpeg_location.set(ffmpeg.path)
    try:
        yield
    finally:
        FFmpegPostProcessor._ffmpeg_location.reset(token)


def _duration(info: dict | None) -> float | None:
    value = (info or {}).get("duration")
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def _written_path(result: dict | None, raw_path: Path) -> Path | None:
    for download in (result or {}).get("requested_downloads") or []:
        path = download.get("filepath") or download.get("_filename")
        if path and Path(path).is_file():
            return Path(path)
    return raw_path if raw_path.is_file() else None


def _media_format(result: dict | None) -> dict:
    result = result or {}
    formats = result.get("requested_formats") or [result]
    return next((f for f in formats if f.get("vcodec") not in (None, "none") and f.get("url")), formats[0])
