# ruff: noqa: RUF001  # the certificate's Chinese text uses full-width punctuation by design
"""The filing certificate (备案证明, issue #17): an A4 PDF and the QR code of the HTML page.

A certificate is a *rendering* of one approval event in the transparency log, not a document
with authority of its own: it names the event (record, version, leaf index), the log's origin
and the event keys' fingerprints, and tells the reader how to check the event with public keys
alone. So the PDF is deterministic (the same certificate gives the same bytes, and its date is
the approval's, never the time it was rendered), and everything a filer typed is treated as
untrusted text: drawn with ``drawString`` (no markup), stripped of control and bidi characters,
wrapped and cut with an ellipsis so it can never leave the page.

The QR payload is ``{product_url}#n={filing_number}&v={approval version}``
(:func:`qr_payload`, read back by :func:`read_qr_payload`; docs/certificate.md says why).
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Literal
from urllib.parse import urlsplit
from uuid import UUID

import segno
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

__all__ = [
    "EVIDENCE_PATH",
    "QR_ERROR",
    "ApprovalEvent",
    "Certificate",
    "ModuleRun",
    "QrLayout",
    "QrPayload",
    "certificate_pdf",
    "qr_code",
    "qr_module_runs",
    "qr_payload",
    "qr_svg",
    "read_qr_payload",
]

Lang = Literal["zh", "en"]

#: Where the API serves an event's evidence; ``{record}`` and ``{version}`` fill it in.
EVIDENCE_PATH = "/v1/log/proofs/inclusion/event/{record}/{version}"
#: The QR's error-correction level, at least: M survives ~15 % damage (a fold, a stamp) and
#: keeps a product URL with its fragment at version ≤ 10. segno raises it for free when the
#: data still fits the same version.
QR_ERROR = "m"

#: China Standard Time: UTC+8 all year (no daylight saving since 1991), so a fixed offset is
#: exact and needs no tz database.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")

_FILING_NUMBER = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,63}")
_HEX = re.compile(r"[0-9a-f]{8,128}")
_PAYLOAD = re.compile(r"(?P<url>[^#]+)#n=(?P<n>[0-9A-Za-z][0-9A-Za-z-]{0,63})&v=(?P<v>[1-9][0-9]*)")


@dataclass(frozen=True)
class ApprovalEvent:
    """The log entry a certificate renders: the product's ``FilingApproved`` event.

    ``record_id`` is the product's id (approval is an event of the product record), ``version``
    the event's version in that record, ``leaf_index`` its position in the Merkle log.
    """

    record_id: UUID
    version: int
    leaf_index: int

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ValueError(f"approval event version: got {self.version}, want ≥ 1")
        if self.leaf_index < 0:
            raise ValueError(f"approval event leaf index: got {self.leaf_index}, want ≥ 0")


@dataclass(frozen=True)
class Certificate:
    """What a filing certificate shows, checked once here so rendering cannot fail on it.

    Raises:
        ValueError: on a filing number that is not URL-safe, an ``approved_at`` without a time
            zone, relative or fragment-carrying URLs, an evidence URL that does not name the
            approval event of this product, fingerprints that are not lower-case hex, or a
            language other than ``zh``/``en``. Filer-typed text (names, model) is never
            refused: it is rendered defensively instead.
    """

    filing_number: str
    product_id: UUID
    product_name: str
    model: str
    filer_name: str
    filer_uscc: str
    region_code: str
    region_name: str
    category_label: str | None
    approved_at: str
    approval: ApprovalEvent
    product_url: str
    evidence_url: str
    log_origin: str
    key_fingerprints: tuple[str, ...]
    lang: Lang = "zh"

    def __post_init__(self) -> None:
        if not _FILING_NUMBER.fullmatch(self.filing_number):
            raise ValueError(
                f"filing number: got {self.filing_number!r}, want letters, digits and '-'"
            )
        if self.lang not in ("zh", "en"):
            raise ValueError(f"lang: got {self.lang!r}, want 'zh' or 'en'")
        try:
            approved = datetime.fromisoformat(self.approved_at)
        except ValueError as exc:
            raise ValueError(f"approved_at: got {self.approved_at!r}, want ISO-8601") from exc
        if approved.utcoffset() is None:
            raise ValueError(f"approved_at: got {self.approved_at!r}, want a UTC time")
        for name in ("product_url", "evidence_url"):
            _check_absolute_url(name, getattr(self, name))
        if self.approval.record_id != self.product_id:
            raise ValueError(
                f"approval event record: got {self.approval.record_id}, want the product's "
                f"id {self.product_id}"
            )
        want = EVIDENCE_PATH.format(record=self.product_id, version=self.approval.version)
        if not urlsplit(self.evidence_url).path.endswith(want):
            raise ValueError(f"evidence URL: got {self.evidence_url!r}, want a path ending {want}")
        for fingerprint in self.key_fingerprints:
            if not _HEX.fullmatch(fingerprint):
                raise ValueError(f"key fingerprint: got {fingerprint!r}, want lower-case hex")

    @property
    def approved_on(self) -> datetime:
        """The approval instant in China Standard Time (the date a reader expects)."""
        return datetime.fromisoformat(self.approved_at).astimezone(CHINA_STANDARD_TIME)


def _check_absolute_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ValueError(f"{name}: got {url!r}, want an absolute http(s) URL without fragment")
    if not url.isascii() or not url.isprintable() or " " in url:
        raise ValueError(f"{name}: got {url!r}, want printable ASCII (percent-encoded)")


# --- the QR code -------------------------------------------------------------------------


@dataclass(frozen=True)
class QrPayload:
    """A QR payload read back: the product page, the filing number, the approval version."""

    product_url: str
    filing_number: str
    approval_version: int

    def evidence_path(self, record_id: UUID) -> str:
        """The API path of the approval event's evidence (the product page's base + this)."""
        return EVIDENCE_PATH.format(record=record_id, version=self.approval_version)


def qr_payload(cert: Certificate) -> str:
    """``{product_url}#n={filing_number}&v={approval version}``.

    The product URL already names the record, so the fragment's version is all the page needs
    to name the evidence (``EVIDENCE_PATH``): the page fetches only its own API, never a URL
    taken from a scanned code, and the payload stays short (version ≤ 10 at level M for any
    realistic host). A fragment is never sent to the server, so it changes no caching or logs
    and a page that ignores it still works.
    """
    return f"{cert.product_url}#n={cert.filing_number}&v={cert.approval.version}"


def read_qr_payload(payload: str) -> QrPayload:
    """The inverse of :func:`qr_payload`.

    Raises:
        ValueError: if the payload is not of that shape.
    """
    match = _PAYLOAD.fullmatch(payload)
    if match is None:
        raise ValueError(f"QR payload: got {payload!r}, want URL#n=NUMBER&v=VERSION")
    return QrPayload(match["url"], match["n"], int(match["v"]))


def qr_code(payload: str) -> segno.QRCode:
    """The QR code of a payload: one place for its options, so the SVG, the PDF and the tests
    draw the same matrix."""
    return segno.make(payload, error=QR_ERROR, micro=False)


def qr_svg(payload: str, *, title: str = "备案证明二维码 / Filing certificate QR code") -> str:
    """An SVG fragment to put inline in an HTML page.

    segno's inline form has no XML declaration and no namespace (HTML supplies it), no script
    and no external reference; the only text is ``title`` (XML-escaped by segno), which screen
    readers announce. The payload itself is not repeated as text: the page prints the links.
    """
    return qr_code(payload).svg_inline(scale=4, border=4, dark="#000", light="#fff", title=title)


@dataclass(frozen=True)
class ModuleRun:
    """A horizontal run of dark modules: row ``row`` (0 = top), columns ``col`` … ``col+length-1``.

    The PDF draws one rectangle per run: fewer operators than one per module, and no hairline
    seams between neighbours in viewers that anti-alias each rectangle.
    """

    row: int
    col: int
    length: int


def qr_module_runs(matrix: Sequence[Sequence[int]]) -> list[ModuleRun]:
    """The dark runs of a QR matrix (segno's ``matrix``, quiet zone excluded), row by row."""
    runs: list[ModuleRun] = []
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                runs.append(ModuleRun(r, start, c - start))
            else:
                c += 1
    return runs


@dataclass(frozen=True)
class QrLayout:
    """Where the PDF puts the code: lower-left corner of the quiet zone, its side, the module."""

    x: float
    y: float
    side: float
    modules: int  # per side, without the quiet zone

    @property
    def module(self) -> float:
        return self.side / (self.modules + 2 * QUIET_ZONE)

    def rect(self, run: ModuleRun) -> tuple[float, float, float, float]:
        """PDF coordinates (x, y, width, height) of a run; PDF's y axis points up."""
        m = self.module
        x = self.x + (QUIET_ZONE + run.col) * m
        y = self.y + self.side - (QUIET_ZONE + run.row + 1) * m
        return x, y, run.length * m, m


# --- the PDF ------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 56.7  # 20 mm
QUIET_ZONE = 4  # modules, as ISO/IEC 18004 asks
QR_SIDE = 120.0  # points (42 mm) including the quiet zone, whatever the version

CJK = "STSong-Light"  # Adobe's standard CID font: viewers supply it, nothing is embedded
LATIN = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
MONO = "Courier"
ELLIPSIS = "…"
NO_BREAK = "\u00a0"  # joins words the wrap must keep together; drawn as a plain space

LABEL_WIDTH = 132.0
VALUE_X = MARGIN + LABEL_WIDTH + 12
VALUE_WIDTH = PAGE_WIDTH - MARGIN - VALUE_X
VALUE_SIZE = 11.0
LEADING = 15.0
SMALL = 7.5
SMALL_LEADING = 10.0
MAX_KEYS_SHOWN = 4


def _qr_layout(cert: Certificate, top: float) -> QrLayout:
    """The code's place when the field table ends at ``top``: left of the text, its quiet zone
    reaching a little into the margin so the code lines up with the labels."""
    return QrLayout(MARGIN - 8.0, top - QR_SIDE, QR_SIDE, len(qr_code(qr_payload(cert)).matrix))


@cache
def _register_fonts() -> None:
    """Register the CID font once per process (reportlab keeps a global font registry)."""
    pdfmetrics.registerFont(UnicodeCIDFont(CJK))


def _clean(text: str) -> str:
    """Filer-typed text made safe to draw: NFC; control, format (bidi overrides, zero-width),
    surrogate, private and unassigned characters become spaces or '?'; characters beyond the
    BMP become '?' (the UCS-2 CMap of the standard CID font cannot carry them); runs of
    whitespace become one space."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp") or ch.isspace():
            out.append(" ")
        elif category[0] == "C" or ord(ch) > 0xFFFF:
            out.append("?")
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def _font_for(text: str, latin: str = LATIN) -> str:
    """Printable ASCII in a Latin base font (crisper, extractable without CJK maps); anything
    else in the CID font, which covers GB 18030's BMP repertoire and ASCII."""
    return latin if text.isascii() else CJK


def _width(text: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, font, size))


def _wrap(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Greedy wrap by width, breaking after a space when the line has one and anywhere
    otherwise (Chinese has no spaces, URLs and hex are single words); what does not fit in
    ``max_lines`` is cut and the last line ends with an ellipsis."""
    lines: list[str] = []
    rest = text
    while rest and len(lines) < max_lines:
        if _width(rest, font, size) <= width:
            lines.append(rest)
            rest = ""
            break
        cut = 1
        while cut < len(rest) and _width(rest[: cut + 1], font, size) <= width:
            cut += 1
        space = rest.rfind(" ", 0, cut + 1)
        if space > cut // 2:
            cut = space + 1
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest and lines:
        last = lines[-1]
        while last and _width(last + ELLIPSIS, font, size) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + ELLIPSIS
    return lines or [""]


@dataclass(frozen=True)
class _Style:
    font: str
    size: float
    leading: float


SMALL_MONO = _Style(MONO, SMALL, SMALL_LEADING)
SMALL_CJK = _Style(CJK, SMALL, SMALL_LEADING)
NOTE_CJK = _Style(CJK, 8, 11)
NOTE_LATIN = _Style(LATIN, 8, 10)


class _Page:
    """A cursor over one A4 page that never draws below the bottom margin."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.y = PAGE_HEIGHT - MARGIN

    def text(self, x: float, y: float, text: str, font: str, size: float) -> None:
        if y < MARGIN:  # defensive: the field caps keep the page from ever filling up
            return
        self.canvas.setFont(font, size)
        self.canvas.drawString(x, y, text.replace(NO_BREAK, " "))

    def centred(self, text: str, font: str, size: float, advance: float) -> None:
        self.y -= advance
        x = (PAGE_WIDTH - _width(text, font, size)) / 2
        self.text(x, self.y, text, font, size)

    def lines(self, x: float, text: str, style: _Style, width: float, max_lines: int) -> None:
        """Draw ``text`` from the line below the cursor, wrapped to ``width`` and cut."""
        for line in _wrap(text, style.font, style.size, width, max_lines):
            self.y -= style.leading
            self.text(x, self.y, line, style.font, style.size)


def _fields(cert: Certificate) -> list[tuple[str, str, str, int]]:
    """(Chinese label, English label, value, most lines) for the table, in reading order.

    The line caps bound the table's height, so the QR code and the small print always fit.
    """
    on = cert.approved_on
    if cert.lang == "en":
        approved = f"{on:%Y-%m-%d} (China Standard Time / 北京时间)"
    else:
        approved = f"{on.year}年{on.month}月{on.day}日（北京时间）"
    category = cert.category_label or ("未分类 / Uncategorised" if cert.lang == "en" else "未分类")
    ev = cert.approval
    if cert.lang == "en":
        event = f"record {ev.record_id}, version {ev.version}, log leaf {ev.leaf_index}"
    else:
        event = f"记录 {ev.record_id}，第 {ev.version} 版，日志叶 {ev.leaf_index}"
    return [
        ("产品名称", "Product name", cert.product_name, 3),
        ("型号", "Model", cert.model, 2),
        ("备案人", "Filer", cert.filer_name, 3),
        ("统一社会信用代码", "Unified social credit code", cert.filer_uscc, 1),
        ("所在地区", "Region", f"{cert.region_name} ({cert.region_code})", 1),
        ("产业类别", "Industry category", category, 1),
        ("批准日期", "Approved on", approved, 1),
        ("批准事件", "Approval event", event, 2),
    ]


_HOW_TO_CHECK_ZH = (
    "核验本证明只需公开密钥：下载上列核验材料（tlog-proof），以日志公钥和上列事件签名密钥"
    "运行 ppl\u00a0audit\u00a0check-evidence；或打开产品页，由浏览器当场核验。"
    "以日志中的批准事件为准。"
)
_HOW_TO_CHECK_EN = (
    "Checking this certificate needs only public keys: download the evidence above "
    "(a tlog-proof) and run ppl\u00a0audit\u00a0check-evidence with the log's public key "
    "and the event keys listed here, or open the product page, which verifies it in the "
    "browser. The approval event in the log is authoritative; this certificate only renders it."
)


def certificate_pdf(cert: Certificate) -> bytes:
    """The certificate as a one-page A4 PDF, Chinese first (English beneath when ``lang`` is
    ``en``).

    Deterministic: reportlab's invariant mode fixes the document id and drops the render time;
    the Info dictionary's date is the approval instant, so the file has no date of its own.
    Chinese is set in the standard CID font STSong-Light, which viewers supply, so the PDF
    ships no font file. The QR code is vector rectangles from segno's matrix, not a bitmap.
    """
    _register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    stamp = f"D:{cert.approved_on.astimezone(UTC):%Y%m%d%H%M%S}+00'00'"
    canvas.setDateFormatter(lambda *_: stamp)
    canvas.setTitle(f"专利产品备案证明 {cert.filing_number}")
    canvas.setAuthor("Patent Product Ledger")
    canvas.setCreator("Patent Product Ledger")
    canvas.setSubject(cert.filing_number)
    page = _Page(canvas)
    _draw_header(page, cert)
    _draw_fields(page, cert)
    _draw_qr(page, cert)
    _draw_small_print(page, cert)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_header(page: _Page, cert: Certificate) -> None:
    """Title (Chinese, then English) and the filing number."""
    en = cert.lang == "en"
    page.centred("专利产品备案证明", CJK, 22, 22)
    if en:
        page.centred("Patent product filing certificate", LATIN, 13, 19)
    page.y -= 16
    page.canvas.setLineWidth(0.6)
    page.canvas.line(MARGIN, page.y, PAGE_WIDTH - MARGIN, page.y)
    page.y -= 26
    page.text(MARGIN, page.y, "备案编号", CJK, 13)
    page.text(VALUE_X, page.y, cert.filing_number, LATIN_BOLD, 15)
    if en:
        page.y -= 12
        page.text(MARGIN, page.y, "Filing number", LATIN, 8)
    page.y -= 10


def _draw_fields(page: _Page, cert: Certificate) -> None:
    """Label (Chinese, English beneath) and the cleaned, wrapped, capped value of each field."""
    en = cert.lang == "en"
    for zh_label, en_label, value, max_lines in _fields(cert):
        top = page.y
        page.text(MARGIN, top - LEADING, zh_label, CJK, 10.5)
        if en:
            page.text(MARGIN, top - LEADING - 10, en_label, LATIN, 7.5)
        shown = _clean(value)
        style = _Style(_font_for(shown), VALUE_SIZE, LEADING)
        page.lines(VALUE_X, shown, style, VALUE_WIDTH, max_lines)
        page.y = min(page.y, top - LEADING - (10 if en else 0)) - 7


def _draw_qr(page: _Page, cert: Certificate) -> None:
    """The QR code, one filled rectangle per run of dark modules, and beside it what it opens
    and where the evidence is."""
    en = cert.lang == "en"
    page.y -= 6
    layout = _qr_layout(cert, page.y)
    path = page.canvas.beginPath()
    for run in qr_module_runs(qr_code(qr_payload(cert)).matrix):
        path.rect(*layout.rect(run))
    page.canvas.setFillGray(0)
    page.canvas.drawPath(path, stroke=0, fill=1)
    x = layout.x + layout.side + 8
    width = PAGE_WIDTH - MARGIN - x
    page.y -= 10
    page.lines(x, "扫码打开产品页并核验", _Style(CJK, 10, 13), width, 1)
    if en:
        page.lines(x, "Scan to open the product page and verify", _Style(LATIN, 8, 11), width, 1)
    page.lines(x, cert.product_url, SMALL_MONO, width, 3)
    page.y -= 4
    label = "核验材料 Evidence (tlog-proof):" if en else "核验材料（tlog-proof）："
    page.lines(x, label, NOTE_CJK, width, 1)
    page.lines(x, cert.evidence_url, SMALL_MONO, width, 3)
    page.y = min(page.y, layout.y) - 4


def _draw_small_print(page: _Page, cert: Certificate) -> None:
    """The log's origin, the event keys' fingerprints and how to check the certificate."""
    en = cert.lang == "en"
    full = PAGE_WIDTH - 2 * MARGIN
    origin = ("日志 Log origin: " if en else "日志：") + _clean(cert.log_origin)
    page.lines(MARGIN, origin, SMALL_CJK, full, 2)
    keys_label = "事件签名公钥指纹 Event-signing key fingerprints:" if en else "事件签名公钥指纹："
    page.lines(MARGIN, keys_label, SMALL_CJK, full, 1)
    keys = list(cert.key_fingerprints[:MAX_KEYS_SHOWN])
    if len(cert.key_fingerprints) > MAX_KEYS_SHOWN:
        keys.append(f"(+{len(cert.key_fingerprints) - MAX_KEYS_SHOWN})")
    for key in keys or ["-"]:
        page.lines(MARGIN + 10, key, SMALL_MONO, full - 10, 1)
    page.y -= 4
    page.lines(MARGIN, _HOW_TO_CHECK_ZH, NOTE_CJK, full, 3)
    if en:
        page.lines(MARGIN, _HOW_TO_CHECK_EN, NOTE_LATIN, full, 4)
