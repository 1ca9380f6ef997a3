"""Tests for polymodal.media: data URLs, mime inference, the fetch guard, real loopback fetches."""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from polymodal import media
from polymodal.errors import BadRequestError, MediaFetchError
from polymodal.media import (
    FetchedMedia,
    FetchPolicy,
    MediaCache,
    afetch,
    aresolve,
    fetch,
    guess_mime,
    normalize_mime,
    parse_data_url,
    resolve,
    resolve_mime,
    sniff_mime,
    source_from_url,
)
from polymodal.types import MediaSource

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
UNKNOWN = b"just some bytes that match no magic number"
PUBLIC_IP = "93.184.216.34"
OPEN = FetchPolicy(allow_private_hosts=True)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------- data URLs


def test_parse_data_url_base64() -> None:
    assert parse_data_url(f"data:image/png;base64,{b64(PNG)}") == ("image/png", b64(PNG))


def test_parse_data_url_is_case_insensitive_and_drops_mime_parameters() -> None:
    url = f"DATA:Text/Plain;charset=UTF-8;BASE64,{b64(b'hi there')}"
    assert parse_data_url(url) == ("text/plain", "aGkgdGhlcmU=")


def test_parse_data_url_removes_line_breaks_and_completes_padding() -> None:
    wrapped = "aGVs\nbG8g\r\nd29y bGQ"
    assert parse_data_url(f"data:text/plain;base64,{wrapped}") == ("text/plain", "aGVsbG8gd29ybGQ=")


def test_parse_data_url_returns_the_input_string_when_already_canonical() -> None:
    data = b64(PNG * 1000)
    _, out = parse_data_url(f"data:image/png;base64,{data}")
    assert out == data


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ("aGVsbG8*d29ybGQ=", "unexpected character '*'"),
        ("aGVs=bG8=", "misplaced '=' padding"),
        ("aGVsb", "wrong length"),
        ("aGk===", "wrong length"),
        ("aGVsbG8gd29ybGQé", "non-ASCII"),
        ("aGVsbG8-d29ybGQ_", "URL-safe base64"),
    ],
)
def test_parse_data_url_bad_base64(payload: str, needle: str) -> None:
    with pytest.raises(MediaFetchError) as info:
        parse_data_url(f"data:image/png;base64,{payload}", param="messages[0].content[1]")
    assert needle in info.value.message
    assert info.value.param == "messages[0].content[1]"
    assert info.value.message.startswith("messages[0].content[1]: ")
    assert info.value.status_code == 400
    assert isinstance(info.value, BadRequestError)


def test_parse_data_url_non_base64_is_percent_decoded() -> None:
    assert parse_data_url("data:text/plain,Hello%2C%20world") == (
        "text/plain",
        b64(b"Hello, world"),
    )
    svg = "data:image/svg+xml;utf8,%3Csvg%3E%3C/svg%3E"
    assert parse_data_url(svg) == ("image/svg+xml", b64(b"<svg></svg>"))


def test_parse_data_url_without_mime_sniffs_then_defaults_to_text_plain() -> None:
    assert parse_data_url(f"data:;base64,{b64(JPEG)}") == ("image/jpeg", b64(JPEG))
    assert parse_data_url("data:,Hello") == ("text/plain", b64(b"Hello"))


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("data:image/png;base64,", "data URL payload is empty"),
        ("data:image/png;base64,   ", "data URL payload is empty"),
        ("data:text/plain,", "data URL payload is empty"),
        ("data:image/png;base64", "malformed data URL"),
        ("data:png;base64,aGk=", "is not a mime type"),
        ("https://example.com/x.png", "not a data: URL"),
    ],
)
def test_parse_data_url_refusals(url: str, needle: str) -> None:
    with pytest.raises(MediaFetchError) as info:
        parse_data_url(url)
    assert needle in info.value.message
    assert info.value.param == "image_url.url"


# --------------------------------------------------------------------------- sources


def test_source_from_data_url_with_and_without_format() -> None:
    url = f"data:image/png;base64,{b64(PNG)}"
    assert source_from_url(url) == MediaSource(data=b64(PNG), mime_type="image/png")
    # The user's format overrides the URL's own type.
    assert source_from_url(url, "image/webp") == MediaSource(data=b64(PNG), mime_type="image/webp")
    assert source_from_url(url, "jpg") == MediaSource(data=b64(PNG), mime_type="image/jpeg")


@pytest.mark.parametrize(
    "url",
    ["https://example.com/a.png?x=1", "http://example.com/a", "gs://bucket/a.pdf", "s3://b/k.wav"],
)
def test_source_from_remote_url_keeps_the_url(url: str) -> None:
    assert source_from_url(url) == MediaSource(url=url)
    assert source_from_url(f"  {url}\n", "audio/wav") == MediaSource(url=url, mime_type="audio/wav")


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("ftp://example.com/a.png", "'ftp:'"),
        ("javascript:alert(1)", "'javascript:'"),
        ("file:///etc/passwd", "'file:'"),
        ("C:\\Users\\me\\cat.png", "'c:'"),
    ],
)
def test_source_from_url_names_a_bad_scheme(url: str, scheme: str) -> None:
    with pytest.raises(MediaFetchError) as info:
        source_from_url(url)
    assert f"unsupported URL scheme {scheme}" in info.value.message


def test_source_from_url_refuses_paths_and_empty_and_hostless() -> None:
    with pytest.raises(MediaFetchError, match="no URL scheme"):
        source_from_url("/tmp/cat.png")
    with pytest.raises(MediaFetchError, match="the URL is empty"):
        source_from_url("   ")
    with pytest.raises(MediaFetchError, match="has no host"):
        source_from_url("https:///cat.png")


def test_source_from_bare_base64() -> None:
    data = b64(JPEG * 4)  # JPEG base64 starts with "/9j/", which must not look like a path
    assert data.startswith("/9j/")
    assert source_from_url(data) == MediaSource(data=data, mime_type="image/jpeg")
    unknown = b64(UNKNOWN * 3)
    assert source_from_url(unknown, "application/pdf") == MediaSource(
        data=unknown, mime_type="application/pdf"
    )
    with pytest.raises(MediaFetchError, match="bare base64 data whose type cannot be recognised"):
        source_from_url(unknown)
    with pytest.raises(MediaFetchError, match="no URL scheme"):
        source_from_url(b64(PNG)[:20])  # too short to be taken for data


def test_format_normalisation() -> None:
    assert normalize_mime("Image/PNG; q=0.9") == "image/png"
    assert normalize_mime("wav") == "audio/wav"
    assert normalize_mime("mp3") == "audio/mpeg"
    assert normalize_mime(".jpeg") == "image/jpeg"
    assert normalize_mime("image/jpg") == "image/jpeg"
    with pytest.raises(MediaFetchError) as info:
        normalize_mime("picture", param="image_url.format")
    assert info.value.param == "image_url.format"
    assert "'picture' is not a mime type" in info.value.message


# --------------------------------------------------------------------------- mime inference


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("https://x.test/a/cat.JPG?size=large&sig=abc#frag", "image/jpeg"),
        ("https://x.test/cat.jpeg#page=2", "image/jpeg"),
        ("cat.png", "image/png"),
        ("gs://bucket/dir/anim.gif", "image/gif"),
        ("s3://bucket/a.b.webp?versionId=3", "image/webp"),
        ("IMG_0001.HEIC", "image/heic"),
        ("x.heif", "image/heif"),
        ("https://x.test/paper.pdf?download=1", "application/pdf"),
        ("a.mp3", "audio/mpeg"),
        ("a.wav", "audio/wav"),
        ("a.flac", "audio/flac"),
        ("a.ogg", "audio/ogg"),
        ("a.opus", "audio/ogg"),
        ("a.aac", "audio/aac"),
        ("a.m4a", "audio/mp4"),
        ("a.mp4", "video/mp4"),
        ("a.mov", "video/quicktime"),
        ("a.mpeg", "video/mpeg"),
        ("a.mpg", "video/mpeg"),
        ("a.webm", "video/webm"),
        ("a.avi", "video/avi"),
        ("a.wmv", "video/wmv"),
        ("a.3gp", "video/3gpp"),
        ("a.flv", "video/x-flv"),
        ("notes.txt", "text/plain"),
        ("README.md", "text/markdown"),
        ("index.html", "text/html"),
        ("table.csv", "text/csv"),
        ("data.json", "application/json"),
        ("C:\\photos\\cat.png", "image/png"),
    ],
)
def test_guess_mime(name: str, mime: str) -> None:
    assert guess_mime(name) == mime


@pytest.mark.parametrize(
    "name",
    [
        "https://example.com",
        "https://example.com/",
        "https://x.test/image?format=png",
        "https://x.test/a.exe",
        "https://x.test/dir.png/",
        "data:image/png;base64,aGk=",
        "",
    ],
)
def test_guess_mime_none(name: str) -> None:
    assert guess_mime(name) is None


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00\x00\x00\x08free"


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"GIF87a\x01\x00\x01\x00", "image/gif"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"RIFF\x24\x00\x00\x00AVI LIST", "video/avi"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "application/pdf"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64\x00\x00", "audio/mpeg"),  # MPEG-1 layer III frame header
        (b"\xff\xf3\x48\xc4\x00\x00", "audio/mpeg"),  # MPEG-2 layer III
        (b"\xff\xf1\x50\x80\x02\x1f", "audio/aac"),  # ADTS
        (b"fLaC\x00\x00\x00\x22", "audio/flac"),
        (b"OggS\x00\x02\x00\x00", "audio/ogg"),
        (_ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4"),
        (_ftyp(b"mp42", b"mp42", b"isom"), "video/mp4"),
        (_ftyp(b"qt  ", b"qt  "), "video/quicktime"),
        (_ftyp(b"M4A ", b"M4A ", b"mp42"), "audio/mp4"),
        (_ftyp(b"3gp5", b"3gp5"), "video/3gpp"),
        (_ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
        (_ftyp(b"heix", b"mif1", b"heix"), "image/heic"),
        (_ftyp(b"mif1", b"mif1", b"heic"), "image/heic"),
        (_ftyp(b"mif1", b"mif1", b"miaf"), "image/heif"),
        (_ftyp(b"avif", b"avif", b"mif1"), "image/avif"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
        (b"FLV\x01\x05\x00\x00\x00\x09", "video/x-flv"),
        (b"\x00\x00\x01\xba\x44\x00", "video/mpeg"),
    ],
)
def test_sniff_mime(data: bytes, mime: str) -> None:
    assert sniff_mime(data) == mime


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff",
        UNKNOWN,
        b"RIFF\x24\x00\x00\x00XXXX",
        b"\xff\xe0\x00\x00",  # sync bits but the reserved MPEG version
        b"\xff\xfb\xf0\x00",  # the invalid bitrate index 15
        b"\x00\x00\x00\x10ftyp",  # too short for a brand
    ],
)
def test_sniff_mime_none(data: bytes) -> None:
    assert sniff_mime(data) is None


def test_resolve_mime_precedence() -> None:
    # The explicit type (the user's format) beats the bytes and the extension.
    explicit = MediaSource(url="https://x.test/a.png", mime_type="image/webp")
    assert resolve_mime(explicit, data=JPEG, param="p") == "image/webp"
    # The bytes beat the extension.
    assert resolve_mime(MediaSource(url="https://x.test/a.png"), data=JPEG, param="p") == (
        "image/jpeg"
    )
    assert resolve_mime(MediaSource(data=b64(JPEG), filename="a.png"), param="p") == "image/jpeg"
    # The extension is the last resort: URL, then file name, then file id.
    assert resolve_mime(MediaSource(url="gs://b/a.pdf"), data=UNKNOWN, param="p") == (
        "application/pdf"
    )
    assert resolve_mime(MediaSource(file_id="files/abc", filename="talk.mp3"), param="p") == (
        "audio/mpeg"
    )
    assert resolve_mime(MediaSource(file_id="gs://b/clip.mov"), param="p") == "video/quicktime"
    assert resolve_mime(MediaSource(url="https://x.test/blob"), data=UNKNOWN, param="p") is None
    # An explicit bare extension is normalised; garbage names the parameter.
    assert resolve_mime(MediaSource(data="aGk=", mime_type="wav"), param="p") == "audio/wav"
    with pytest.raises(MediaFetchError) as info:
        resolve_mime(MediaSource(data="aGk=", mime_type="sound"), param="input_audio.format")
    assert info.value.param == "input_audio.format"


# --------------------------------------------------------------------------- the address guard


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1/cat.png", "127.0.0.1 is a loopback address"),
        ("http://localhost:8080/cat.png", "loopback address"),
        ("http://10.1.2.3/cat.png", "10.1.2.3 is a private address"),
        ("http://192.168.0.10/cat.png", "192.168.0.10 is a private address"),
        ("http://[::1]/cat.png", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/x", "127.0.0.1 is a loopback address (inside the IPv6"),
        ("http://[::ffff:a00:1]/x", "10.0.0.1 is a private address (inside the IPv6"),
        ("http://2130706433/cat.png", "127.0.0.1 is a loopback address"),
        ("http://0x7f.1/cat.png", "127.0.0.1 is a loopback address"),
        ("http://017700000001/cat.png", "127.0.0.1 is a loopback address"),
        ("http://0.0.0.0/cat.png", "0.0.0.0 is a"),
        ("http://[fe80::1]/cat.png", "fe80::1 is a link-local address"),
    ],
)
def test_guard_refuses_internal_hosts(url: str, kind: str) -> None:
    with pytest.raises(MediaFetchError) as info:
        fetch(url)
    message = info.value.message
    assert kind in message
    assert message.startswith("refusing to fetch from http://")
    assert "FetchPolicy(allow_private_hosts=True)" in message
    assert "allow_private_media_hosts=True" in message
    assert info.value.code == "media_host_refused"


def test_guard_names_the_host_but_never_the_query() -> None:
    with pytest.raises(MediaFetchError) as info:
        fetch("http://10.0.0.7:9000/bucket/cat.png?X-Amz-Signature=SECRET123")
    assert "http://10.0.0.7:9000" in info.value.message
    assert "SECRET123" not in str(info.value)
    assert "/bucket/cat.png" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://metadata/computeMetadata/v1/",
        "http://METADATA.google.internal./computeMetadata/v1/",
    ],
)
def test_guard_refuses_metadata_even_when_private_hosts_are_allowed(url: str) -> None:
    for policy in (FetchPolicy(), OPEN):
        with pytest.raises(MediaFetchError) as info:
            fetch(url, policy=policy)
        assert "cloud metadata" in info.value.message
        assert "allow_private_hosts" not in info.value.message


def test_guard_checks_every_resolved_address() -> None:
    seen: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        seen.append((host, port))
        return [PUBLIC_IP, "10.0.0.5"]

    with pytest.raises(MediaFetchError, match=re.escape("10.0.0.5 is a private address")):
        fetch("https://rebind.test/cat.png", policy=FetchPolicy(resolver=resolver))
    assert seen == [("rebind.test", 443)]


def test_guard_lets_a_public_host_through() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})

    policy = FetchPolicy(resolver=lambda host, port: [PUBLIC_IP])
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        got = fetch("https://bücher.test/cat", policy=policy, client=client)
    assert got == FetchedMedia(
        data=PNG, mime_type="image/png", url="https://xn--bcher-kva.test/cat"
    )
    assert len(requests) == 1


def test_guard_resolution_failure_is_a_media_error() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(
        MediaFetchError, match=re.escape("could not resolve the media host 'nowhere.test'")
    ):
        fetch("http://nowhere.test/a.png", policy=FetchPolicy(resolver=resolver))


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("fc00::1", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),  # NAT64 around 169.254.169.254
        ("168.63.129.16", "cloud metadata"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_classification(address: str, problem: str | None) -> None:
    found = media._address_problem(ipaddress.ip_address(address))
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://user:pass@example.com/cat.png", "user name or password"),
        ("http://example.com@127.0.0.1/cat.png", "user name or password"),
        ("gs://bucket/cat.png", "gs:// URIs are not downloaded"),
        ("s3://bucket/cat.png", "s3:// URIs are not downloaded"),
        ("ftp://example.com/cat.png", "scheme 'ftp:'"),
        ("/etc/passwd", "has no scheme"),
        ("data:image/png;base64,aGk=", "needs no fetching"),
    ],
)
def test_fetch_refuses_before_any_io(url: str, needle: str) -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise AssertionError("must not resolve")

    with pytest.raises(MediaFetchError) as info:
        fetch(url, policy=FetchPolicy(resolver=resolver, allow_private_hosts=True))
    assert needle in info.value.message
    assert "user:pass" not in info.value.message  # credentials are never echoed


def test_fetch_policy_validation() -> None:
    assert FetchPolicy() == FetchPolicy(
        max_bytes=20 * 1024 * 1024, max_redirects=5, timeout=30.0, allow_private_hosts=False
    )
    with pytest.raises(ValueError, match="max_bytes"):
        FetchPolicy(max_bytes=0)
    with pytest.raises(ValueError, match="max_redirects"):
        FetchPolicy(max_redirects=-1)
    with pytest.raises(ValueError, match="timeout"):
        FetchPolicy(timeout=0)


# --------------------------------------------------------------------------- a real loopback server


@dataclass
class Server:
    port: int
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


def _make_handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            path = self.path.split("?", 1)[0]
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._route(path)

        def _route(self, path: str) -> None:
            if path == "/photo":
                self._send(200, PNG, {"Content-Type": "image/png; charset=binary"})
            elif path == "/mislabelled":
                self._send(200, PNG, {"Content-Type": "image/gif"})
            elif path == "/octet":
                self._send(200, JPEG, {"Content-Type": "application/octet-stream"})
            elif path == "/download/track.wav":
                self._send(200, UNKNOWN, {"Content-Type": "binary/octet-stream"})
            elif path == "/unknown":
                self._send(200, UNKNOWN, {"Content-Type": "application/octet-stream"})
            elif path == "/empty":
                self._send(200, b"", {"Content-Type": "image/png"})
            elif path == "/big":
                self._send(200, b"\x00" * 5000, {"Content-Type": "image/png"})
            elif path.startswith("/chunked/"):
                count = int(path.rsplit("/", 1)[1])
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(count):
                    chunk = JPEG if i == 0 else bytes([i % 256]) * 500
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            elif path.startswith("/redirect/"):
                left = int(path.rsplit("/", 1)[1])
                if left == 0:
                    self._send(200, PNG, {"Content-Type": "image/png"})
                else:
                    self._redirect(f"/redirect/{left - 1}")
            elif path == "/to-loopback":
                self._redirect(server.url("/secret"))
            elif path == "/to-ftp":
                self._redirect("ftp://example.com/cat.png")
            elif path == "/secret":
                self._send(200, b"internal", {"Content-Type": "text/plain"})
            else:
                self._send(404, b"not here", {"Content-Type": "text/plain"})

    return Handler


@pytest.fixture
def server() -> Iterator[Server]:
    info = Server(port=0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(info))
    httpd.daemon_threads = True
    info.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield info
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _first_host_public(host: str, port: int) -> list[str]:
    """Pretend ``localhost`` is a public host; resolve everything else for real."""
    if host == "localhost":
        return [PUBLIC_IP]
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def test_fetch_takes_the_content_type(server: Server) -> None:
    got = fetch(server.url("/photo"), policy=OPEN)
    assert got == FetchedMedia(data=PNG, mime_type="image/png", url=server.url("/photo"))
    assert got.b64() == b64(PNG)
    assert got.to_source() == MediaSource(data=b64(PNG), mime_type="image/png")
    assert server.requests[0][1]["user-agent"] == "polymodal-media-fetch/0.1"
    # The declared type wins over the bytes; the caller's override wins over both.
    assert fetch(server.url("/mislabelled"), policy=OPEN).mime_type == "image/gif"
    assert fetch(server.url("/photo"), mime_type="webp", policy=OPEN).mime_type == "image/webp"


def test_fetch_sniffs_octet_stream_then_falls_back_to_the_extension(server: Server) -> None:
    assert fetch(server.url("/octet"), policy=OPEN).mime_type == "image/jpeg"
    got = fetch(server.url("/download/track.wav?sig=abc"), policy=OPEN)
    assert (got.mime_type, got.data) == ("audio/wav", UNKNOWN)
    with pytest.raises(MediaFetchError, match="cannot tell the type"):
        fetch(server.url("/unknown"), policy=OPEN)
    assert fetch(server.url("/unknown"), mime_type="audio/ogg", policy=OPEN).mime_type == (
        "audio/ogg"
    )


def test_fetch_refuses_loopback_without_connecting(server: Server) -> None:
    with pytest.raises(MediaFetchError, match=re.escape("127.0.0.1 is a loopback address")):
        fetch(server.url("/photo"))
    assert server.requests == []


def test_fetch_size_cap_from_content_length(server: Server) -> None:
    with pytest.raises(MediaFetchError) as info:
        fetch(server.url("/big"), policy=FetchPolicy(max_bytes=1000, allow_private_hosts=True))
    assert "larger than the 1000 bytes allowed" in info.value.message
    assert "its Content-Length is 5000 bytes" in info.value.message
    assert len(fetch(server.url("/big"), policy=OPEN).data) == 5000


def test_fetch_size_cap_on_a_chunked_body(server: Server) -> None:
    policy = FetchPolicy(max_bytes=1000, allow_private_hosts=True)
    with pytest.raises(MediaFetchError) as info:
        fetch(server.url("/chunked/10"), policy=policy)
    assert "more than 1000 bytes arrived" in info.value.message
    got = fetch(server.url("/chunked/2"), policy=policy)
    assert got.data == JPEG + b"\x01" * 500
    assert got.mime_type == "image/jpeg"


def test_fetch_follows_redirects_up_to_the_cap(server: Server) -> None:
    got = fetch(
        server.url("/redirect/3"), policy=FetchPolicy(max_redirects=3, allow_private_hosts=True)
    )
    assert got == FetchedMedia(data=PNG, mime_type="image/png", url=server.url("/redirect/0"))
    with pytest.raises(MediaFetchError) as info:
        fetch(
            server.url("/redirect/3"), policy=FetchPolicy(max_redirects=2, allow_private_hosts=True)
        )
    assert "redirected more than 2 times" in info.value.message
    with pytest.raises(MediaFetchError, match="redirected more than 0 times"):
        fetch(
            server.url("/redirect/1"), policy=FetchPolicy(max_redirects=0, allow_private_hosts=True)
        )


def test_fetch_refuses_a_redirect_to_a_private_host(server: Server) -> None:
    policy = FetchPolicy(resolver=_first_host_public)
    with pytest.raises(MediaFetchError) as info:
        fetch(server.url("/to-loopback", host="localhost"), policy=policy)
    assert "127.0.0.1 is a loopback address" in info.value.message
    assert f"http://127.0.0.1:{server.port}" in info.value.message
    assert server.paths == ["/to-loopback"]  # the first hop happened, the second never did


def test_fetch_refuses_a_redirect_to_another_scheme(server: Server) -> None:
    with pytest.raises(MediaFetchError, match="redirected to scheme 'ftp:'"):
        fetch(server.url("/to-ftp"), policy=OPEN)


def test_fetch_drops_credentials_on_a_cross_origin_redirect(server: Server) -> None:
    headers = {"Authorization": "Bearer abc.def", "X-Trace": "1"}
    with httpx.Client(headers=headers) as client:
        got = fetch(server.url("/to-loopback", host="localhost"), policy=OPEN, client=client)
    assert got.data == b"internal"
    first, second = (h for _, h in server.requests)
    assert first["authorization"] == "Bearer abc.def"
    assert "authorization" not in second
    assert second["x-trace"] == "1"


def test_fetch_404_is_a_media_error_with_the_status(server: Server) -> None:
    with pytest.raises(MediaFetchError) as info:
        fetch(server.url("/missing.png?token=SECRET"), policy=OPEN, param="image_url.url")
    err = info.value
    assert err.message == (
        f"image_url.url: the media URL on http://127.0.0.1:{server.port} returned HTTP 404 Not Found"
    )
    assert err.code == "media_http_404"
    assert err.body == {"upstream_status": 404}
    assert err.status_code == 400  # the user's request is what is bad
    assert "SECRET" not in str(err)


def test_fetch_refuses_an_empty_body(server: Server) -> None:
    with pytest.raises(MediaFetchError, match="returned an empty body"):
        fetch(server.url("/empty"), policy=OPEN)


def test_fetch_connection_failure_is_a_media_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    with pytest.raises(MediaFetchError) as info:
        fetch(f"http://127.0.0.1:{port}/a.png?sig=SECRET", policy=OPEN)
    assert f"could not fetch media from http://127.0.0.1:{port} (ConnectError" in str(info.value)
    assert "SECRET" not in str(info.value)


def test_cache(server: Server) -> None:
    cache = MediaCache(max_bytes=10_000)
    first = fetch(server.url("/photo"), policy=OPEN, cache=cache)
    again = fetch(server.url("/photo"), policy=OPEN, cache=cache)
    assert again is first
    assert server.paths == ["/photo"]
    assert (len(cache), cache.total_bytes) == (1, len(PNG))
    # A different override is a different entry.
    assert fetch(
        server.url("/photo"), mime_type="image/webp", policy=OPEN, cache=cache
    ).mime_type == ("image/webp")
    assert len(server.paths) == 2
    # What a guard-off fetch stored is never served to a guard-on fetch.
    with pytest.raises(MediaFetchError, match="loopback"):
        fetch(server.url("/photo"), cache=cache)
    # Bounded by bytes: the oldest entries go first.
    fetch(server.url("/big"), policy=OPEN, cache=cache)
    fetch(server.url("/redirect/0"), policy=OPEN, cache=cache)
    assert cache.total_bytes <= 10_000
    fetch(server.url("/big"), policy=OPEN, cache=cache)
    assert server.paths.count("/big") == 1
    small = MediaCache(max_bytes=5010)
    fetch(server.url("/big"), policy=OPEN, cache=small)
    fetch(server.url("/photo"), policy=OPEN, cache=small)
    fetch(server.url("/octet"), policy=OPEN, cache=small)
    assert (len(small), small.total_bytes) == (2, len(PNG) + len(JPEG))  # /big was evicted
    small.clear()
    assert (len(small), small.total_bytes) == (0, 0)


def test_resolve_sources(server: Server) -> None:
    assert resolve(MediaSource(data=b64(JPEG))) == FetchedMedia(JPEG, "image/jpeg", "")
    assert resolve(source_from_url(f"data:image/png;base64,{b64(PNG)}", "image/webp")) == (
        FetchedMedia(PNG, "image/webp", "")
    )
    assert resolve(MediaSource(url=f"data:;base64,{b64(PNG)}")) == FetchedMedia(
        PNG, "image/png", ""
    )
    assert resolve(MediaSource(url=server.url("/octet")), policy=OPEN) == FetchedMedia(
        JPEG, "image/jpeg", server.url("/octet")
    )
    with pytest.raises(MediaFetchError, match="a file id cannot be downloaded"):
        resolve(MediaSource(file_id="file-abc"))
    with pytest.raises(MediaFetchError, match="cannot tell the type of the inline data"):
        resolve(MediaSource(data=b64(UNKNOWN)))


# --------------------------------------------------------------------------- async twin


async def test_afetch_takes_the_content_type(server: Server) -> None:
    got = await afetch(server.url("/photo"), policy=OPEN)
    assert got == FetchedMedia(data=PNG, mime_type="image/png", url=server.url("/photo"))
    assert (await afetch(server.url("/octet"), policy=OPEN)).mime_type == "image/jpeg"


async def test_afetch_caps(server: Server) -> None:
    policy = FetchPolicy(max_bytes=1000, max_redirects=1, allow_private_hosts=True)
    with pytest.raises(MediaFetchError, match="more than 1000 bytes arrived"):
        await afetch(server.url("/chunked/10"), policy=policy)
    with pytest.raises(MediaFetchError, match="its Content-Length is 5000 bytes"):
        await afetch(server.url("/big"), policy=policy)
    with pytest.raises(MediaFetchError, match="redirected more than 1 times"):
        await afetch(server.url("/redirect/2"), policy=policy)


async def test_afetch_guard(server: Server) -> None:
    with pytest.raises(MediaFetchError, match=re.escape("127.0.0.1 is a loopback address")):
        await afetch(server.url("/photo"))
    with pytest.raises(MediaFetchError, match=re.escape("127.0.0.1 is a loopback address")):
        await afetch(
            server.url("/to-loopback", host="localhost"),
            policy=FetchPolicy(resolver=_first_host_public),
        )
    assert server.paths == ["/to-loopback"]


async def test_afetch_404_and_client(server: Server) -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(MediaFetchError) as info:
            await afetch(server.url("/nope"), policy=OPEN, client=client)
        assert info.value.code == "media_http_404"
        assert "returned HTTP 404" in info.value.message
        got = await aresolve(MediaSource(url=server.url("/photo")), policy=OPEN, client=client)
        assert not client.is_closed  # a caller's client is left open
    assert got == FetchedMedia(PNG, "image/png", server.url("/photo"))
