"""The yt-dlp side: URLs from validated ids only, cookie specs, ffmpeg where yt-dlp looks for it."""

from __future__ import annotations

import os

import pytest

from kinetics.download.youtube import CookiesFromBrowser, FetchOptions, ffmpeg_visible, url_for
from kinetics.ffmpeg import find_ffmpeg


def test_ids_are_validated_and_never_more_than_a_url_part():
    assert url_for("https://www.youtube.com/watch?v={youtube_id}", "-6bJUbfpnQ_") == "https://www.youtube.com/watch?v=-6bJUbfpnQ_"
    assert url_for("http://127.0.0.1:8000/files/{youtube_id}.mp4", "--8YXc8iCt8") == "http://127.0.0.1:8000/files/--8YXc8iCt8.mp4"
    for bad in ("../../etc/pa", "abc", "aaaaaaaaaa/", "$(touch x)aa", "aaaaaaaaaaa ", "-o/tmp/xxxx"):
        with pytest.raises(ValueError, match="not a YouTube id"):
            url_for("https://www.youtube.com/watch?v={youtube_id}", bad)


@pytest.mark.parametrize("template", ["https://example.org/watch", "file:///etc/{youtube_id}", "{youtube_id}"])
def test_bad_templates_fail_when_options_are_built(template):
    with pytest.raises(ValueError, match="url template"):
        FetchOptions(url_template=template)


def test_cookies_from_browser_spec():
    spec = CookiesFromBrowser.parse("Chrome+gnomekeyring:Profile 1::Work")
    assert spec.as_tuple() == ("chrome", "Profile 1", "GNOMEKEYRING", "Work")
    assert CookiesFromBrowser.parse("firefox").as_tuple() == ("firefox", None, None, None)
    spec.check()
    with pytest.raises(ValueError, match="unsupported browser 'netscape'"):
        CookiesFromBrowser.parse("netscape").check()


def test_ffmpeg_is_made_visible_to_yt_dlp_during_a_fetch_only(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no ffmpeg on PATH, as in a fresh venv
    from yt_dlp.downloader.external import FFmpegFD
    from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor

    ffmpeg = find_ffmpeg()
    assert ffmpeg.source == "imageio"
    before = FFmpegPostProcessor._ffmpeg_location.get()
    with ffmpeg_visible(ffmpeg):
        assert FFmpegFD.available()  # the check that refuses ranged downloads otherwise
    assert FFmpegPostProcessor._ffmpeg_location.get() == before
    assert os.environ["PATH"] == str(tmp_path / "empty")


def test_each_worker_reads_a_private_copy_of_the_cookies(tmp_path):
    from kinetics.download.youtube import YoutubeFetcher

    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n.example.org\tTRUE\t/\tFALSE\t0\tname\tvalue\n")
    before = cookies.read_bytes()
    options = FetchOptions(url_template="http://127.0.0.1:9/{youtube_id}", cookies=str(cookies), proxy="http://127.0.0.1:9")
    fetcher = YoutubeFetcher(options, ffmpeg=find_ffmpeg())
    copy = fetcher._ydl.params["cookiefile"]
    assert copy != str(cookies) and open(copy).read() == before.decode() and oct(os.stat(copy).st_mode & 0o777) == "0o600"
    assert fetcher._ydl.params["proxy"] == "http://127.0.0.1:9" and fetcher._ydl.params["color"] == "never"
    fetcher.close()
    assert not os.path.exists(copy) and cookies.read_bytes() == before  # yt-dlp saved the jar into the copy, not here


def test_copies_left_by_killed_workers_are_removed_by_the_next(tmp_path, monkeypatch):
    import subprocess
    import sys
    import tempfile

    from kinetics.download.youtube import private_cookie_copy

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    orphan = tmp_path / f"kinetics-cookies-{dead.stdout.strip()}-abc.txt"  # its worker was SIGKILLed
    orphan.write_text("secret")
    live = tmp_path / f"kinetics-cookies-{os.getppid()}-def.txt"  # a worker still running
    live.write_text("secret")
    unrelated = tmp_path / "kinetics-cookies-notes.txt"
    unrelated.write_text("keep")
    copy = private_cookie_copy(cookies)
    assert copy.name.startswith(f"kinetics-cookies-{os.getpid()}-") and copy.read_text() == cookies.read_text()
    assert not orphan.exists() and live.exists() and unrelated.exists()
