"""Explicit media resolution: data URLs, http(s) downloads, mime inference.

Wire-format encoders stay pure: they take a :class:`~polymodal.types.MediaSource` as it is. The
caller runs this module's functions *before* encoding, and only when the target needs bytes it
cannot fetch itself (an http image for Anthropic-on-Bedrock, say). Nothing here keeps state at
module level; a :class:`MediaCache` is passed in explicitly by whoever wants one.

What is accepted where:

* :func:`source_from_url` turns what a user wrote in ``image_url.url`` / ``file.file_data`` into a
  :class:`MediaSource`: ``data:`` URLs become inline data, ``http(s)://``, ``gs://`` and ``s3://``
  URLs stay URLs, a bare base64 string is accepted when its bytes identify the type. Every other
  scheme (``file:``, ``ftp:``, ``javascript:``, a local path) is refused: polymodal never reads
  local files on a user's behalf.
* :func:`fetch` / :func:`afetch` download ``http(s)`` only, with a server-side request forgery
  guard (see :class:`FetchPolicy`), a byte cap, a redirect cap and an overall time budget.
  ``gs://`` and ``s3://`` are not downloaded: a target that reads those URIs gets them as they are.

Known limit of the address guard: the host is resolved and checked before each hop (also with
``allow_private_hosts=True``, for the metadata check), and httpx then resolves it again to connect. A DNS server that answers differently within that window (DNS
rebinding) is not caught here; deployments that fetch untrusted URLs should also restrict egress.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import unquote_to_bytes, urlsplit

from polymodal.errors import MediaFetchError
from polymodal.types import MediaSource

if TYPE_CHECKING:
    import httpx

__all__ = [
    "FetchPolicy",
    "FetchedMedia",
    "MediaCache",
    "afetch",
    "aresolve",
    "fetch",
    "guess_mime",
    "normalize_mime",
    "parse_data_url",
    "resolve",
    "resolve_mime",
    "sniff_mime",
    "source_from_url",
]

Resolver = Callable[[str, int], Sequence[str]]
"""``resolver(host, port) -> IP address strings``; the default is :func:`socket.getaddrinfo`."""

# --------------------------------------------------------------------------- mime types

# Extension -> mime type. IANA-registered types where one exists; for AVI, WMV and FLV, which
# have none, the spelling Google's Gemini documentation lists. The sniffer below returns the same
# spellings, so the type of a file does not depend on which clue identified it.
_EXTENSIONS: dict[str, str] = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpe": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "avif": "image/avif",
    "pdf": "application/pdf",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    # Opus files are Ogg containers; audio/ogg is also what the sniffer reports for them.
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "m4a": "audio/mp4",
    "mp4": "video/mp4",
    "m4v": "video/mp4",
    "mov": "video/quicktime",
    "mpeg": "video/mpeg",
    "mpg": "video/mpeg",
    "webm": "video/webm",
    "avi": "video/avi",
    "wmv": "video/wmv",
    "3gp": "video/3gpp",
    "flv": "video/x-flv",
    "txt": "text/plain",
    "md": "text/markdown",
    "html": "text/html",
    "htm": "text/html",
    "csv": "text/csv",
    "json": "application/json",
}

_MIME_RE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
# Misspellings users put in ``format`` that providers reject.
_MIME_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}
_OCTET_STREAM = frozenset({"application/octet-stream", "binary/octet-stream"})


def guess_mime(url_or_name: str) -> str | None:
    """The mime type a URL's or file name's extension implies, or ``None``.

    Query strings and fragments are ignored (``.../cat.PNG?sig=...#x`` is ``image/png``); ``data:``
    URLs have no extension and give ``None``.
    """
    if not url_or_name or url_or_name[:5].lower() == "data:":
        return None
    name = url_or_name.split("#", 1)[0].split("?", 1)[0]
    name = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if "." not in name:
        return None
    return _EXTENSIONS.get(name.rsplit(".", 1)[1].lower())


_FTYP_HEIC = frozenset({b"heic", b"heix", b"heim", b"heis"})
_FTYP_HEIF = frozenset({b"mif1", b"msf1"})
_FTYP_AVIF = frozenset({b"avif", b"avis"})


def _sniff_ftyp(head: bytes) -> str:
    """Type of an ISO base-media file (``....ftyp<brand>``) from its major and compatible brands."""
    major = head[8:12]
    if major in _FTYP_HEIC:
        return "image/heic"
    if major in _FTYP_AVIF:
        return "image/avif"
    if major in _FTYP_HEIF:
        # A generic HEIF major brand; the compatible brands say what the image is coded as.
        size = int.from_bytes(head[0:4], "big")
        compatible = {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
        if compatible & _FTYP_HEIC:
            return "image/heic"
        if compatible & _FTYP_AVIF:
            return "image/avif"
        return "image/heif"
    if major == b"qt  ":
        return "video/quicktime"
    if major in (b"M4A ", b"M4B "):
        return "audio/mp4"
    if major.startswith(b"3g"):
        return "video/3gpp"
    return "video/mp4"


def sniff_mime(data: bytes) -> str | None:
    """The mime type the leading magic bytes identify, or ``None`` if they identify none.

    Only the first 64 bytes are looked at, so passing a whole multi-megabyte file is cheap.
    """
    head = bytes(data[:64])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/avi"}.get(head[8:12])
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM, or Matroska when the doctype says so
        return "video/x-matroska" if b"matroska" in head else "video/webm"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if head.startswith(b"FLV\x01"):
        return "video/x-flv"
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return "video/mpeg"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):  # ASF header GUID
        return "video/wmv"
    if len(head) >= 3 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # An MPEG audio frame header: 11 sync bits, then version, layer, bitrate fields.
        version = (head[1] >> 3) & 0b11
        layer = (head[1] >> 1) & 0b11
        if layer == 0:  # the reserved MPEG layer: an ADTS (AAC) header
            return "audio/aac" if head[1] & 0xF6 == 0xF0 else None
        if version != 0b01 and head[2] >> 4 != 0b1111 and (head[2] >> 2) & 0b11 != 0b11:
            return "audio/mpeg"
    return None


def normalize_mime(value: str, *, param: str | None = None) -> str:
    """A user's ``format`` as a bare, lowercase mime type.

    ``"image/PNG; q=1"`` becomes ``"image/png"``. A bare extension such as OpenAI's
    ``input_audio.format`` values (``"wav"``, ``"mp3"``) or ``"png"`` is mapped through the
    extension table. Anything else raises :class:`MediaFetchError` naming ``param``.
    """
    text = value.split(";", 1)[0].strip().lower()
    if _MIME_RE.fullmatch(text):
        return _MIME_ALIASES.get(text, text)
    mapped = _EXTENSIONS.get(text.lstrip("."))
    if mapped is not None:
        return mapped
    where = f"{param}: " if param else ""
    raise MediaFetchError(
        f"{where}format {value[:100]!r} is not a mime type (like 'image/png') or a known file "
        "extension (like 'png' or 'wav')",
        param=param,
    )


# --------------------------------------------------------------------------- base64 and data URLs

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_WHITESPACE = b" \t\r\n\x0b\x0c"
_SNIFF_CHARS = 96  # base64 characters decoded for sniffing: 72 bytes, more than sniff_mime reads


def _canonical_base64(payload: str, *, param: str | None, what: str) -> str:
    """``payload`` checked to be standard base64, returned with whitespace removed and padding
    completed (the input itself when it is already canonical, so nothing large is copied twice).

    Runs in C over the whole input (``bytes.translate``), so a 20 MB payload takes milliseconds.
    """
    where = f"{param}: " if param else ""
    try:
        raw = payload.encode("ascii")
    except UnicodeEncodeError:
        raise MediaFetchError(
            f"{where}{what} is not valid base64 (it contains non-ASCII characters)", param=param
        ) from None
    changed = False
    leftover = raw.translate(None, _B64_ALPHABET + b"=")
    if leftover:
        bad = leftover.translate(None, _WHITESPACE)
        if bad:
            hint = ""
            if bad.translate(None, b"-_") == b"":
                hint = " (it looks like URL-safe base64; use the standard alphabet with + and /)"
            raise MediaFetchError(
                f"{where}{what} is not valid base64: unexpected character {chr(bad[0])!r}{hint}",
                param=param,
            )
        raw = raw.translate(None, _WHITESPACE)
        changed = True
    # Count the trailing '=' without copying the payload (rstrip would copy it).
    tail = raw[-3:]
    padding = len(tail) - len(tail.rstrip(b"="))
    if len(raw) == padding:
        raise MediaFetchError(f"{where}{what} is empty", param=param)
    length = len(raw) - padding
    remainder = length % 4
    expected = (4 - remainder) % 4
    if raw.find(b"=", 0, length) >= 0 or remainder == 1 or padding not in (0, expected):
        raise MediaFetchError(
            f"{where}{what} is not valid base64: wrong length or misplaced '=' padding",
            param=param,
        )
    if padding != expected:
        raw = raw + b"=" * expected
        changed = True
    return raw.decode("ascii") if changed else payload


def _b64_head(data: str) -> bytes:
    """The first bytes encoded by canonical base64 ``data`` (enough for :func:`sniff_mime`)."""
    try:
        return base64.b64decode(data[:_SNIFF_CHARS])
    except (binascii.Error, ValueError):
        return b""


def parse_data_url(url: str, *, param: str = "image_url.url") -> tuple[str, str]:
    """``(mime_type, base64_data)`` from a ``data:`` URL (RFC 2397).

    * ``data:<mime>[;params];base64,<data>``: the data is checked to be standard base64 (line
      breaks are removed, missing ``=`` padding is added); the mime type loses its parameters
      (``text/plain;charset=utf-8`` gives ``text/plain``).
    * ``data:<mime>[;params],<text>`` (no ``;base64``): the text is percent-decoded and the bytes
      are returned base64-encoded, as RFC 2397 defines it (``data:,Hello%20world``).
    * A missing mime type is sniffed from the bytes, else RFC 2397's default ``text/plain``.

    An empty payload, a missing comma, a malformed mime type or invalid base64 raises
    :class:`MediaFetchError` naming ``param``.
    """
    if url[:5].lower() != "data:":
        raise MediaFetchError(f"{param}: not a data: URL", param=param)
    comma = url.find(",")
    if comma < 0:
        raise MediaFetchError(
            f"{param}: malformed data URL: expected 'data:<mime type>;base64,<data>'", param=param
        )
    header = url[5:comma].split(";")
    payload = url[comma + 1 :]
    is_base64 = len(header) > 1 and header[-1].strip().lower() == "base64"
    mime = header[0].strip().lower()
    if mime and not _MIME_RE.fullmatch(mime):
        raise MediaFetchError(
            f"{param}: malformed data URL: {header[0][:60]!r} is not a mime type like 'image/png'",
            param=param,
        )
    if is_base64:
        data = _canonical_base64(payload, param=param, what="data URL payload")
    else:
        decoded = unquote_to_bytes(payload)
        if not decoded:
            raise MediaFetchError(f"{param}: data URL payload is empty", param=param)
        data = base64.b64encode(decoded).decode("ascii")
    if not mime:
        mime = sniff_mime(_b64_head(data)) or "text/plain"
    return mime, data


# --------------------------------------------------------------------------- sources

_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_URL_SCHEMES = frozenset({"http", "https", "gs", "s3"})
_BARE_BASE64_MIN = 64


def source_from_url(
    url: str, format: str | None = None, *, param: str = "image_url.url"
) -> MediaSource:
    """A :class:`MediaSource` for what a user put in a media part's URL field.

    * ``data:`` URL: inline data, ``mime_type`` = ``format`` if given, else the URL's own type.
    * ``http(s)://``, ``gs://``, ``s3://``: the URL as it is, ``mime_type`` = ``format`` (``None``
      means infer it later with :func:`resolve_mime`).
    * A bare base64 string of at least 64 characters (some clients send these): inline data typed
      by ``format``, else by its magic bytes; if neither says what it is, it is refused.
    * Anything else (``file:``, ``ftp:``, ``javascript:``, local paths): :class:`MediaFetchError`
      naming the scheme.

    ``format`` may be a mime type or a bare extension (``"png"``, ``"wav"``); see
    :func:`normalize_mime`.
    """
    text = url.strip()
    override = normalize_mime(format, param=param) if format else None
    if not text:
        raise MediaFetchError(f"{param}: the URL is empty", param=param)
    match = _SCHEME_RE.match(text)
    scheme = match.group(1).lower() if match else ""
    if scheme == "data":
        mime, data = parse_data_url(text, param=param)
        return MediaSource(data=data, mime_type=override or mime)
    if scheme in _URL_SCHEMES:
        if not urlsplit(text).netloc:
            raise MediaFetchError(f"{param}: the {scheme}:// URL has no host", param=param)
        return MediaSource(url=text, mime_type=override)
    if scheme:
        raise MediaFetchError(
            f"{param}: unsupported URL scheme '{scheme}:'; pass an http(s)://, gs:// or s3:// URL,"
            " or the content itself as a data: URL (data:<mime type>;base64,<data>)",
            param=param,
        )
    if len(text) >= _BARE_BASE64_MIN:
        bare: str | None
        try:
            bare = _canonical_base64(text, param=param, what="value")
        except MediaFetchError:
            bare = None
        if bare is not None:
            sniffed = override or sniff_mime(_b64_head(bare))
            if sniffed is None:
                raise MediaFetchError(
                    f"{param}: got bare base64 data whose type cannot be recognised; pass it as a "
                    "data URL (data:<mime type>;base64,<data>) or set 'format'",
                    param=param,
                )
            return MediaSource(data=bare, mime_type=sniffed)
    raise MediaFetchError(
        f"{param}: expected an http(s)://, gs:// or s3:// URL or a data: URL, got a value with no "
        "URL scheme (local file paths are not read; pass the content as a data: URL)",
        param=param,
    )


def resolve_mime(
    source: MediaSource, *, data: bytes | None = None, param: str | None = None
) -> str | None:
    """The mime type of ``source``, or ``None`` if nothing tells.

    In order: the explicit ``mime_type`` (a user's ``format`` always wins, normalised with
    :func:`normalize_mime`), the magic bytes of ``data`` (or of the source's inline data), the
    extension of the URL, the file name or the file id.
    """
    if source.mime_type:
        return normalize_mime(source.mime_type, param=param)
    if data is not None:
        sniffed = sniff_mime(data)
    elif source.data:
        sniffed = sniff_mime(_b64_head(source.data))
    else:
        sniffed = None
    if sniffed:
        return sniffed
    for name in (source.url, source.filename, source.file_id):
        guessed = guess_mime(name) if name else None
        if guessed:
            return guessed
    return None


# --------------------------------------------------------------------------- fetching


@dataclass(frozen=True, slots=True)
class FetchedMedia:
    """Downloaded (or decoded) media bytes with their mime type.

    ``url`` is where the bytes finally came from, after redirects (empty for inline data).
    """

    data: bytes
    mime_type: str
    url: str

    def b64(self) -> str:
        """The bytes as standard base64 text (no ``data:`` prefix)."""
        return base64.b64encode(self.data).decode("ascii")

    def to_source(self) -> MediaSource:
        """An inline-data :class:`MediaSource` for an encoder."""
        return MediaSource(data=self.b64(), mime_type=self.mime_type)


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """Limits for :func:`fetch` / :func:`afetch`.

    Attributes:
        max_bytes: largest body accepted, after content decoding. A larger ``Content-Length`` is
            refused before the body is read; a body without one is aborted as soon as it passes
            the limit. Default 20 MiB.
        max_redirects: redirects followed (each hop is re-checked by the address guard); one more
            is an error. ``0`` follows none.
        timeout: total seconds for the whole fetch, every redirect and the body included.
        allow_private_hosts: when ``False`` (the default), hosts that resolve to loopback,
            private (RFC 1918, fc00::/7), link-local, shared (100.64/10), unspecified, multicast
            or reserved addresses, including IPv4-mapped IPv6 forms, are refused, as are URLs
            with a user name or password. Set ``True`` to fetch from a local or intranet server
            (polymodal calls expose it as ``allow_private_media_hosts=True``). Cloud metadata
            endpoints (169.254.169.254, fd00:ec2::254, ``metadata.google.internal``, ...) are
            refused either way: no media lives there, credentials do.
        resolver: ``resolver(host, port) -> IP address strings`` used by the guard instead of
            :func:`socket.getaddrinfo` (for tests, or a deployment's own DNS policy). ``afetch``
            calls it in a worker thread.
    """

    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5
    timeout: float = 30.0
    allow_private_hosts: bool = False
    resolver: Resolver | None = None

    def __post_init__(self) -> None:
        if self.max_bytes <= 0:
            raise ValueError("FetchPolicy.max_bytes must be positive")
        if self.max_redirects < 0:
            raise ValueError("FetchPolicy.max_redirects must be >= 0")
        if self.timeout <= 0:
            raise ValueError("FetchPolicy.timeout must be positive")


_DEFAULT_POLICY = FetchPolicy()

_CacheKey = tuple[str, str | None, bool]


class MediaCache:
    """A small LRU cache of fetched media, keyed by URL, bounded by total bytes and entries.

    Pass one to :func:`fetch` / :func:`afetch` / :func:`resolve`. Entries fetched with
    ``allow_private_hosts=True`` are never served to a fetch whose guard is on. Thread-safe.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, max_entries: int = 256) -> None:
        if max_bytes <= 0 or max_entries <= 0:
            raise ValueError("MediaCache limits must be positive")
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._entries: OrderedDict[_CacheKey, FetchedMedia] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def total_bytes(self) -> int:
        return self._total

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._total = 0

    def _lookup(self, key: _CacheKey) -> FetchedMedia | None:
        with self._lock:
            media = self._entries.get(key)
            if media is not None:
                self._entries.move_to_end(key)
            return media

    def _store(self, key: _CacheKey, media: FetchedMedia) -> None:
        size = len(media.data)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._total -= len(old.data)
            self._entries[key] = media
            self._total += size
            while self._total > self.max_bytes or len(self._entries) > self.max_entries:
                _, evicted = self._entries.popitem(last=False)
                self._total -= len(evicted.data)


def _cache_get(
    cache: MediaCache | None, key: _CacheKey, policy: FetchPolicy
) -> FetchedMedia | None:
    if cache is None:
        return None
    hit = cache._lookup(key)
    if hit is None and policy.allow_private_hosts:
        # A guard-off fetch may reuse what a guard-on fetch stored, never the other way round.
        hit = cache._lookup((key[0], key[1], False))
    if hit is not None and len(hit.data) <= policy.max_bytes:
        return hit
    return None


# The host names of cloud metadata services, refused whatever the policy says.
_METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, ...
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("168.63.129.16"),  # Azure WireServer (a public-range address)
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, 6to4 or NAT64 IPv6 address stands for."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


_METADATA = "a cloud metadata address"


def _address_problem(ip: _IPAddress, *, metadata_only: bool = False) -> str | None:
    """Why ``ip`` must not be fetched from, or ``None`` if it may.

    With ``metadata_only`` (the guard is off) only cloud metadata addresses are a problem.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = _address_problem(embedded, metadata_only=metadata_only)
            return f"{inner} (inside the IPv6 address {ip})" if inner else None
    if ip in _METADATA_ADDRESSES:
        return f"{ip} is {_METADATA}"
    if metadata_only:
        return None
    checks = (
        (ip.is_loopback, "loopback"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (not ip.is_global, "non-public"),
    )
    for hit, kind in checks:
        if hit:
            return f"{ip} is a {kind} address"
    return None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _where(url: httpx.URL) -> str:
    """How errors name a URL: scheme and host only (paths and queries may carry tokens)."""
    port = f":{url.port}" if url.port else ""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host}{port}"


class _Fetch:
    """The transport-independent part of one fetch: URL checks, the address guard, redirects,
    the byte cap, the mime decision. :func:`fetch` and :func:`afetch` drive it."""

    def __init__(
        self, url: str, mime_type: str | None, policy: FetchPolicy, param: str | None
    ) -> None:
        self.policy = policy
        self.param = param
        self.override = normalize_mime(mime_type, param=param) if mime_type else None
        self.original = url
        self.deadline = time.monotonic() + policy.timeout
        self.redirects = 0
        self.target = self._check_url(url)
        self.first_origin = _origin(self.target)

    def fail(
        self, message: str, *, code: str | None = None, body: dict[str, int] | None = None
    ) -> NoReturn:
        where = f"{self.param}: " if self.param else ""
        raise MediaFetchError(f"{where}{message}", param=self.param, code=code, body=body)

    def _check_url(self, url: str, *, base: httpx.URL | None = None) -> httpx.URL:
        import httpx

        match = _SCHEME_RE.match(url.strip())
        scheme = match.group(1).lower() if match else ""
        if base is None and scheme in ("gs", "s3"):
            self.fail(
                f"{scheme}:// URIs are not downloaded by polymodal: send the request to a target "
                f"that reads {scheme}:// URIs itself, or pass the content as a data: URL",
            )
        if base is None and scheme == "data":
            self.fail("a data: URL needs no fetching; use parse_data_url() or resolve()")
        try:
            parsed = base.join(url) if base is not None else httpx.URL(url.strip())
        except (httpx.InvalidURL, ValueError, TypeError):
            self.fail("the media URL is not a valid URL")
        if not parsed.scheme:
            self.fail("the media URL has no scheme; only http(s) URLs can be fetched")
        if parsed.scheme not in ("http", "https"):
            what = "redirected to" if base is not None else "got"
            self.fail(f"only http(s) media URLs can be fetched; {what} scheme '{parsed.scheme}:'")
        if not parsed.host:
            self.fail("the media URL has no host")
        if parsed.userinfo:
            self.fail(
                f"refusing to fetch from {_where(parsed)}: URLs with a user name or password are "
                "not fetched (credentials in URLs leak into logs and redirects)",
                code="media_host_refused",
            )
        return parsed

    # ---- the address guard

    def host_and_port(self) -> tuple[str, int]:
        host = self.target.raw_host.decode("ascii")
        port = self.target.port or (443 if self.target.scheme == "https" else 80)
        return host, port

    def check_name(self) -> None:
        """Refuse the host names of metadata services, whatever they resolve to."""
        name = self.target.host.lower().rstrip(".")
        if name in _METADATA_HOSTS:
            self.fail(
                f"refusing to fetch from {_where(self.target)}: it is a cloud metadata service",
                code="media_host_refused",
            )

    def resolve_failed(self, exc: BaseException) -> NoReturn:
        self.fail(
            f"could not resolve the media host {self.target.host!r} ({type(exc).__name__}: {exc})",
        )

    def check_addresses(self, addresses: Sequence[str]) -> None:
        if not addresses:
            self.fail(f"the media host {self.target.host!r} resolved to no address")
        for text in addresses:
            try:
                ip = ipaddress.ip_address(text)
            except ValueError:
                self.fail(f"the media host {self.target.host!r} resolved to an unusable address")
            problem = _address_problem(ip, metadata_only=self.policy.allow_private_hosts)
            if problem is not None:
                if _METADATA in problem:
                    advice = ""
                else:
                    advice = (
                        "; to fetch media from private hosts, pass "
                        "FetchPolicy(allow_private_hosts=True) (allow_private_media_hosts=True "
                        "in polymodal calls)"
                    )
                self.fail(
                    f"refusing to fetch from {_where(self.target)}: host {self.target.host!r} "
                    f"resolves to {problem}, which could reach internal services{advice}",
                    code="media_host_refused",
                )

    # ---- requests and responses

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.timed_out()
        return left

    def timed_out(self) -> NoReturn:
        self.fail(
            f"fetching media from {_where(self.target)} took longer than "
            f"{self.policy.timeout:g}s (FetchPolicy.timeout)",
        )

    def build(self, client: httpx.Client | httpx.AsyncClient) -> tuple[httpx.Request, bool]:
        """The request for the current hop, and whether client-level auth may be sent."""
        import httpx

        request = client.build_request("GET", self.target, timeout=httpx.Timeout(self.remaining()))
        same_origin = _origin(self.target) == self.first_origin
        if not same_origin:  # never carry credentials to another origin on a redirect
            for name in ("authorization", "proxy-authorization", "cookie"):
                request.headers.pop(name, None)
        return request, same_origin

    def transport_failed(self, exc: Exception) -> NoReturn:
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            self.timed_out()
        detail = str(exc).replace(str(self.target), _where(self.target))
        query = self.target.query.decode("ascii", "replace")
        if query:
            detail = detail.replace(query, "…")
        self.fail(
            f"could not fetch media from {_where(self.target)} ({type(exc).__name__}: "
            f"{detail[:300]})",
        )

    def next_hop(self, response: httpx.Response) -> bool:
        """After a response's headers: ``True`` to follow a redirect, ``False`` to read the body."""
        if response.is_redirect:
            self.redirects += 1
            if self.redirects > self.policy.max_redirects:
                self.fail(
                    f"fetching media from {_where(self.target)} was redirected more than "
                    f"{self.policy.max_redirects} times (FetchPolicy.max_redirects)",
                )
            self.target = self._check_url(response.headers["location"], base=self.target)
            return True
        if not response.is_success:
            status = response.status_code
            reason = f" {response.reason_phrase}" if response.reason_phrase else ""
            self.fail(
                f"the media URL on {_where(self.target)} returned HTTP {status}{reason}",
                code=f"media_http_{status}",
                body={"upstream_status": status},
            )
        length = response.headers.get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.policy.max_bytes:
            self.too_big(f"its Content-Length is {int(length)} bytes")
        return False

    def too_big(self, detail: str) -> NoReturn:
        self.fail(
            f"the media at {_where(self.target)} is larger than the {self.policy.max_bytes} bytes "
            f"allowed (FetchPolicy.max_bytes): {detail}",
        )

    def add(self, body: bytearray, chunk: bytes) -> None:
        body += chunk
        if len(body) > self.policy.max_bytes:
            self.too_big(f"more than {self.policy.max_bytes} bytes arrived")
        if time.monotonic() > self.deadline:
            self.timed_out()

    def finish(self, response: httpx.Response, body: bytearray) -> FetchedMedia:
        data = bytes(body)
        if not data:
            self.fail(f"the media URL on {_where(self.target)} returned an empty body")
        mime = self.override
        if mime is None:
            declared = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if _MIME_RE.fullmatch(declared) and declared not in _OCTET_STREAM:
                mime = declared
        if mime is None:
            mime = sniff_mime(data) or guess_mime(self.target.path) or guess_mime(self.original)
        if mime is None:
            self.fail(
                f"cannot tell the type of the media from {_where(self.target)}: no usable "
                "Content-Type, unrecognised bytes and no known extension; set 'format'",
            )
        return FetchedMedia(data=data, mime_type=mime, url=str(self.target))


def _cache_key(url: str, mime_type: str | None, policy: FetchPolicy) -> _CacheKey:
    return (url, mime_type, policy.allow_private_hosts)


_USER_AGENT = "polymodal-media-fetch/0.1"


def fetch(
    url: str,
    *,
    mime_type: str | None = None,
    policy: FetchPolicy = _DEFAULT_POLICY,
    client: httpx.Client | None = None,
    cache: MediaCache | None = None,
    param: str | None = None,
) -> FetchedMedia:
    """Download an http(s) URL under ``policy``; see :class:`FetchPolicy` for the limits.

    The mime type is ``mime_type`` (a user's ``format``) if given, else the response's
    ``Content-Type`` (without parameters; ``application/octet-stream`` does not count), else the
    magic bytes, else the URL's extension; if none of these tells, it is an error.
    Redirects are followed by hand so every hop passes the address guard; credentials a
    ``client`` carries are not sent to another origin. Every failure raises
    :class:`MediaFetchError` naming the host but never the path or query of the URL.
    """
    state = _Fetch(url, mime_type, policy, param)
    key = _cache_key(url, state.override, policy)
    hit = _cache_get(cache, key, policy)
    if hit is not None:
        return hit
    import httpx

    http = client or httpx.Client(headers={"user-agent": _USER_AGENT})
    try:
        media = _fetch_with(http, state)
    finally:
        if client is None:
            http.close()
    if cache is not None:
        cache._store(key, media)
    return media


def _resolve_sync(state: _Fetch) -> list[str]:
    host, port = state.host_and_port()
    try:
        if state.policy.resolver is not None:
            return list(state.policy.resolver(host, port))
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        state.resolve_failed(exc)
    return [str(info[4][0]) for info in infos]


def _fetch_with(http: httpx.Client, state: _Fetch) -> FetchedMedia:
    import httpx

    while True:
        state.check_name()
        state.check_addresses(_resolve_sync(state))
        request, send_auth = state.build(http)
        try:
            if send_auth:
                response = http.send(request, stream=True, follow_redirects=False)
            else:
                response = http.send(request, stream=True, follow_redirects=False, auth=None)
            try:
                if state.next_hop(response):
                    continue
                body = bytearray()
                for chunk in response.iter_bytes():
                    state.add(body, chunk)
                return state.finish(response, body)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            state.transport_failed(exc)


async def afetch(
    url: str,
    *,
    mime_type: str | None = None,
    policy: FetchPolicy = _DEFAULT_POLICY,
    client: httpx.AsyncClient | None = None,
    cache: MediaCache | None = None,
    param: str | None = None,
) -> FetchedMedia:
    """The async twin of :func:`fetch` (same checks and errors), over ``httpx.AsyncClient``."""
    state = _Fetch(url, mime_type, policy, param)
    key = _cache_key(url, state.override, policy)
    hit = _cache_get(cache, key, policy)
    if hit is not None:
        return hit
    import httpx

    http = client or httpx.AsyncClient(headers={"user-agent": _USER_AGENT})
    try:
        media = await _afetch_with(http, state)
    finally:
        if client is None:
            await http.aclose()
    if cache is not None:
        cache._store(key, media)
    return media


async def _resolve_async(state: _Fetch) -> list[str]:
    import asyncio

    host, port = state.host_and_port()
    try:
        if state.policy.resolver is not None:
            return list(await asyncio.to_thread(state.policy.resolver, host, port))
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        state.resolve_failed(exc)
    return [str(info[4][0]) for info in infos]


async def _afetch_with(http: httpx.AsyncClient, state: _Fetch) -> FetchedMedia:
    import httpx

    while True:
        state.check_name()
        state.check_addresses(await _resolve_async(state))
        request, send_auth = state.build(http)
        try:
            if send_auth:
                response = await http.send(request, stream=True, follow_redirects=False)
            else:
                response = await http.send(request, stream=True, follow_redirects=False, auth=None)
            try:
                if state.next_hop(response):
                    continue
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    state.add(body, chunk)
                return state.finish(response, body)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            state.transport_failed(exc)


# --------------------------------------------------------------------------- sources to bytes


def _inline(source: MediaSource, data: str, param: str | None) -> FetchedMedia:
    canonical = _canonical_base64(data, param=param, what="inline data")
    raw = base64.b64decode(canonical)
    mime = resolve_mime(replace(source, data=canonical), data=raw, param=param)
    if mime is None:
        where = f"{param}: " if param else ""
        raise MediaFetchError(
            f"{where}cannot tell the type of the inline data; set 'format'", param=param
        )
    return FetchedMedia(data=raw, mime_type=mime, url="")


def _plan(source: MediaSource, param: str | None) -> FetchedMedia | str:
    """Inline media decoded, or the URL that must be fetched."""
    if source.data is not None:
        return _inline(source, source.data, param)
    if source.url:
        if source.url[:5].lower() == "data:":
            mime, data = parse_data_url(source.url, param=param or "url")
            return _inline(replace(source, mime_type=source.mime_type or mime), data, param)
        return source.url
    where = f"{param}: " if param else ""
    raise MediaFetchError(
        f"{where}a file id cannot be downloaded; pass the content as a data: URL or an http(s) URL",
        param=param,
    )


def resolve(
    source: MediaSource,
    *,
    policy: FetchPolicy = _DEFAULT_POLICY,
    client: httpx.Client | None = None,
    cache: MediaCache | None = None,
    param: str | None = None,
) -> FetchedMedia:
    """The bytes and mime type of any :class:`MediaSource`: inline data is decoded, a URL is
    fetched with :func:`fetch` (``source.mime_type`` overrides the inferred type)."""
    planned = _plan(source, param)
    if isinstance(planned, FetchedMedia):
        return planned
    return fetch(
        planned,
        mime_type=source.mime_type,
        policy=policy,
        client=client,
        cache=cache,
        param=param,
    )


async def aresolve(
    source: MediaSource,
    *,
    policy: FetchPolicy = _DEFAULT_POLICY,
    client: httpx.AsyncClient | None = None,
    cache: MediaCache | None = None,
    param: str | None = None,
) -> FetchedMedia:
    """The async twin of :func:`resolve`."""
    planned = _plan(source, param)
    if isinstance(planned, FetchedMedia):
        return planned
    return await afetch(
        planned,
        mime_type=source.mime_type,
        policy=policy,
        client=client,
        cache=cache,
        param=param,
    )
