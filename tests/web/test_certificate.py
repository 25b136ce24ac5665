"""The filing certificate (api/web/certificate.py): PDF, QR payload and inline SVG.

The PDF's text is read two ways: by a small content-stream reader kept here (it decodes the
CID font's UCS-2 strings, so it checks Chinese too and needs no system package), and by
poppler's ``pdftotext`` as an outside reader (required when ``CI=true``). The QR code is
checked by rebuilding its matrix from the rectangles the PDF actually draws.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from uuid import UUID

import pytest
import segno
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]

from api.web.certificate import (
    MARGIN,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    ApprovalEvent,
    Certificate,
    certificate_pdf,
    qr_code,
    qr_payload,
    qr_svg,
    read_qr_payload,
)

PRODUCT = UUID("0b6f3f1e-2f5b-4a8e-9a51-3f2d1c9e7a10")
HOST = "https://ppl.sh.gov.cn"

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "名" * 300,
    "W" * 300,
    "a\u202eb\u0000c\ud800d\U0001f600e\n\tf",  # bidi override, NUL, lone surrogate, emoji
]


def make_certificate(**changes) -> Certificate:
    cert = Certificate(
        filing_number="2026-310115-00001",
        product_id=PRODUCT,
        product_name="智能电网故障定位终端",
        model="ZD-3000A",
        filer_name="上海电科智能装备有限公司",
        filer_uscc="91310115MA1K4P0X3B",
        region_code="310115",
        region_name="浦东新区",
        category_label="高端装备",
        approved_at="2026-03-05T17:30:00Z",
        approval=ApprovalEvent(PRODUCT, 3, 1042),
        product_url=f"{HOST}/products/{PRODUCT}",
        evidence_url=f"{HOST}/v1/log/proofs/inclusion/event/{PRODUCT}/3",
        log_origin="ppl.sh.gov.cn/patent-product-ledger",
        key_fingerprints=("a1b2c3d4e5f60718", "0f1e2d3c4b5a6978"),
        lang="zh",
    )
    return replace(cert, **changes)


# --- a minimal reader of what reportlab writes --------------------------------------------


@dataclass(frozen=True)
class Shown:
    x: float
    y: float
    font: str
    size: float
    text: str

    @property
    def width(self) -> float:
        return float(pdfmetrics.stringWidth(self.text, self.font, self.size))


@dataclass(frozen=True)
class Page:
    texts: list[Shown]
    filled_rects: list[tuple[float, float, float, float]]

    @property
    def text(self) -> str:
        return "\n".join(t.text for t in self.texts)


_TOKEN = re.compile(
    rb"\((?P<str>(?:\\.|[^\\()]|\((?:\\.|[^\\()])*\))*)\)"
    rb"|(?P<name>/[^\s/\[\]()<>]+)|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+))"
    rb"|(?P<op>[A-Za-z*'\"]+)|(?P<other>[\[\]<>])",
    re.S,
)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(raw: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i : i + 1] == b"\\":
            nxt = raw[i + 1 : i + 2]
            octal = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(), 8))
                i += 1 + len(octal.group())
                continue
            out += _ESCAPES.get(nxt, nxt)
            i += 2
        else:
            out += raw[i : i + 1]
            i += 1
    return bytes(out)


def _objects(pdf: bytes) -> list[bytes]:
    return [body for _, body in re.findall(rb"\n(\d+) 0 obj\n(.*?)endobj", pdf, re.S)]


def _fonts(pdf: bytes) -> dict[str, str]:
    """Font resource name (F1 …) → base font name."""
    fonts = {}
    for body in _objects(pdf):
        name = re.search(rb"/Name /(F\d+)", body)
        if b"/Type /Font" in body and name:
            fonts[name.group(1).decode()] = re.search(rb"/BaseFont /(\S+)", body).group(1).decode()
    return fonts


def _contents(pdf: bytes) -> list[bytes]:
    """Every stream, decoded (reportlab writes ASCII85 over Flate)."""
    contents = []
    for body in _objects(pdf):
        stream = re.search(rb"stream\r?\n(.*?)\r?\n?endstream", body, re.S)
        if stream is None:
            continue
        data = stream.group(1)
        if b"/ASCII85Decode" in body:
            data = base64.a85decode(data.strip().removesuffix(b"~>"))
        if b"/FlateDecode" in body:
            data = zlib.decompress(data)
        contents.append(data)
    return contents


def read_pdf(pdf: bytes) -> Page:
    """The text runs (position, font, decoded text) and filled rectangles of a one-page PDF."""
    fonts = _fonts(pdf)
    page = Page([], [])
    pending: list[tuple[float, float, float, float]] = []
    font, size, x, y = "", 0.0, 0.0, 0.0
    operands: list[bytes] = []
    for content in _contents(pdf):
        for token in _TOKEN.finditer(content):
            kind = token.lastgroup or "other"
            if kind != "op":
                operands.append(token.group(kind) if kind != "str" else b"(" + token.group(kind))
                continue
            op = token.group("op")
            if op == b"Tf":
                font, size = fonts[operands[-2][1:].decode()], float(operands[-1])
            elif op == b"Tm":
                x, y = float(operands[-2]), float(operands[-1])
            elif op == b"Tj":
                raw = _unescape(operands[-1][1:])
                text = raw.decode("utf-16-be") if font == "STSong-Light" else raw.decode("cp1252")
                page.texts.append(Shown(x, y, font, size, text))
            elif op == b"re":
                rx, ry, rw, rh = (float(v) for v in operands[-4:])
                pending.append((rx, ry, rw, rh))
            elif op in (b"f", b"f*", b"n"):
                page.filled_rects.extend(pending if op != b"n" else [])
                pending = []
            operands = []
    return page


def matrix_from_rects(rects) -> list[list[int]]:
    """The QR matrix the rectangles draw, found from the rectangles alone."""
    module = min(h for _, _, _, h in rects)
    left = min(x for x, _, _, _ in rects)
    top = max(y + h for _, y, _, h in rects)
    right = max(x + w for x, _, w, _ in rects)
    n = round((right - left) / module)
    matrix = [[0] * n for _ in range(n)]
    for x, y, w, h in rects:
        assert abs(h - module) < 0.01
        row = round((top - (y + h)) / module)
        col = round((x - left) / module)
        for c in range(col, col + round(w / module)):
            matrix[row][c] = 1
    return matrix


# --- the PDF ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pdf_is_a_deterministic_pdf(lang):
    cert = make_certificate(lang=lang)
    pdf = certificate_pdf(cert)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert certificate_pdf(make_certificate(lang=lang)) == pdf


def test_pdf_date_is_the_approval_not_the_render_time():
    pdf = certificate_pdf(make_certificate())
    assert re.findall(rb"/CreationDate \((.*?)\)", pdf) == [b"D:20260305173000+00'00'"]
    assert certificate_pdf(make_certificate(approved_at="2026-03-05T17:30:01Z")) != pdf


def test_pdf_uses_the_standard_cid_font_and_embeds_no_font_file():
    pdf = certificate_pdf(make_certificate())
    assert b"/BaseFont /STSong-Light" in pdf
    assert b"/Encoding /UniGB-UCS2-H" in pdf
    assert b"/FontFile" not in pdf


def test_pdf_shows_the_fields_in_chinese():
    page = read_pdf(certificate_pdf(make_certificate()))
    for expected in [
        "专利产品备案证明",
        "2026-310115-00001",
        "智能电网故障定位终端",
        "ZD-3000A",
        "上海电科智能装备有限公司",
        "91310115MA1K4P0X3B",
        "浦东新区 (310115)",
        "高端装备",
        "2026年3月6日（北京时间）",  # 17:30 UTC is the next day in China Standard Time
        f"记录 {PRODUCT}",
        "日志叶 1042",
        f"{HOST}/products/{PRODUCT}",
        "a1b2c3d4e5f60718",
        "ppl audit check-evidence",
    ]:
        assert expected in page.text.replace("\n", ""), expected
    assert "Patent product filing certificate" not in page.text


def test_pdf_in_english_puts_chinese_first():
    page = read_pdf(certificate_pdf(make_certificate(lang="en", category_label=None)))
    text = page.text
    assert text.index("专利产品备案证明") < text.index("Patent product filing certificate")
    assert "未分类 / Uncategorised" in text
    assert "2026-03-06 (China Standard Time" in text
    assert "renders it." in text  # the last line of the small print is on the page


def test_evidence_url_is_printed_whole_even_when_wrapped():
    cert = make_certificate()
    text = "".join(t.text for t in read_pdf(certificate_pdf(cert)).texts if t.font == "Courier")
    assert cert.evidence_url in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pdf_text_never_leaves_the_page(lang):
    worst = make_certificate(
        lang=lang,
        product_name="名" * 300,
        model="W" * 300,
        filer_name="<script>alert(1)</script>" * 12,
        region_name="区" * 200,
        category_label="类" * 200,
        product_url=f"{HOST}/{'p' * 300}/{PRODUCT}",
        evidence_url=f"{HOST}/{'e' * 300}/v1/log/proofs/inclusion/event/{PRODUCT}/3",
        log_origin="o" * 400,
        key_fingerprints=tuple(f"{i:064x}" for i in range(12)),
    )
    page = read_pdf(certificate_pdf(worst))
    assert page.texts
    for shown in page.texts:
        assert shown.x >= MARGIN - 10, shown
        assert shown.x + shown.width <= PAGE_WIDTH - MARGIN + 0.01, shown
        assert MARGIN <= shown.y <= PAGE_HEIGHT - MARGIN, shown
    for x, y, w, h in page.filled_rects:
        assert x >= MARGIN - 10
        assert x + w <= PAGE_WIDTH - MARGIN
        assert y >= MARGIN
        assert y + h <= PAGE_HEIGHT - MARGIN
    assert any(t.text.endswith("…") for t in page.texts)  # cut, not dropped silently
    last = "renders it." if lang == "en" else "以日志中的批准事件为准。"
    assert last in page.text


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_filer_text_gives_a_valid_pdf_that_shows_it_as_text(hostile):
    cert = make_certificate(product_name=hostile, model=hostile, filer_name=hostile)
    pdf = certificate_pdf(cert)
    assert pdf.startswith(b"%PDF-")
    page = read_pdf(pdf)
    if len(hostile) < 40 and hostile.isascii():
        assert hostile in page.text  # drawn literally, never read as markup
    assert "\u202e" not in page.text
    assert "\x00" not in page.text


def test_pdf_draws_the_qr_matrix_of_the_payload_as_rectangles():
    cert = make_certificate()
    page = read_pdf(certificate_pdf(cert))
    want = [list(row) for row in segno.make(qr_payload(cert), error="m", micro=False).matrix]
    assert matrix_from_rects(page.filled_rects) == want
    other = [list(row) for row in segno.make(qr_payload(cert) + "0", error="m").matrix]
    assert matrix_from_rects(page.filled_rects) != other  # the comparison can fail
    assert b"/Image" not in pdf_objects_only(certificate_pdf(cert))


def pdf_objects_only(pdf: bytes) -> bytes:
    """The PDF without its ProcSet (which names /ImageB etc. whether or not images exist)."""
    return re.sub(rb"/ProcSet \[[^\]]*\]", b"", pdf)


# --- pdftotext: an outside reader -----------------------------------------------------------


def _pdftotext() -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext is missing: the test command installs poppler-utils")
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    return tool


def test_pdftotext_reads_the_filing_number_and_the_check_command(tmp_path: Path):
    tool = _pdftotext()
    path = tmp_path / "certificate.pdf"
    path.write_bytes(certificate_pdf(make_certificate(lang="en")))
    out = subprocess.run(  # noqa: S603 - a fixed tool on a file this test wrote
        [tool, "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "2026-310115-00001" in out
    assert "Patent product filing certificate" in out
    assert "check-evidence" in out


def test_pdftotext_reads_the_chinese_title(tmp_path: Path):
    tool = _pdftotext()
    if not Path("/usr/share/poppler/cMap/Adobe-GB1").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("poppler-data is missing: the test command installs it")
        pytest.skip("poppler-data (the Adobe-GB1 CMaps) not installed")
    path = tmp_path / "certificate.pdf"
    path.write_bytes(certificate_pdf(make_certificate()))
    out = subprocess.run(  # noqa: S603 - a fixed tool on a file this test wrote
        [tool, str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "专利产品备案证明" in out
    assert "智能电网故障定位终端" in out


# --- the QR payload -----------------------------------------------------------------------


def test_payload_is_the_product_url_with_the_filing_number_and_event_version():
    cert = make_certificate()
    payload = qr_payload(cert)
    assert payload == f"{cert.product_url}#n=2026-310115-00001&v=3"
    read = read_qr_payload(payload)
    assert read.product_url == cert.product_url
    assert read.filing_number == cert.filing_number
    assert cert.evidence_url.endswith(read.evidence_path(cert.product_id))


@pytest.mark.parametrize(
    "base",
    [
        "https://ppl.sh.gov.cn",
        "https://zscq.scjgj.sh.gov.cn/patent-product-ledger",
        "http://localhost:8000",
    ],
)
def test_payload_fits_a_version_10_code_at_level_m_for_realistic_urls(base):
    cert = make_certificate(
        filing_number="2026-310115-99999",
        approval=ApprovalEvent(PRODUCT, 123456, 10**9),
        product_url=f"{base}/products/{PRODUCT}",
        evidence_url=f"{base}/v1/log/proofs/inclusion/event/{PRODUCT}/123456",
    )
    code = qr_code(qr_payload(cert))
    assert isinstance(code.version, int)  # not a Micro QR designator such as "M4"
    assert code.version <= 10
    assert code.error in ("M", "Q", "H")
    assert not code.is_micro


@pytest.mark.parametrize(
    "bad",
    [
        "https://x/products/1",
        "https://x/products/1#n=<script>&v=1",
        "https://x/products/1#n=2026-1&v=0",
        "javascript:alert(1)#n=2026-1&v=1x",
    ],
)
def test_malformed_payload_is_refused(bad):
    with pytest.raises(ValueError, match="QR payload"):
        read_qr_payload(bad)


# --- the inline SVG -----------------------------------------------------------------------


def _svg_is_inert(svg: str, title: str) -> None:
    assert not svg.startswith("<?xml")
    root = ET.fromstring(svg)  # noqa: S314 - parsing our own output
    assert {el.tag for el in root.iter()} <= {"svg", "title", "g", "path"}
    for el in root.iter():
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), name
            assert "javascript:" not in value.lower()
            assert "http" not in value.lower()
    assert root.find("title").text == title
    assert "<script" not in svg.lower()
    for link in re.findall(r"https?://[^\s\"'<>]+", svg):
        assert link == "http://www.w3.org/2000/svg"


@pytest.mark.parametrize("hostile", HOSTILE[:5])
def test_svg_of_a_certificate_with_hostile_names_is_inert(hostile):
    cert = make_certificate(product_name=hostile, model=hostile, filer_name=hostile)
    svg = qr_svg(qr_payload(cert))
    _svg_is_inert(svg, "备案证明二维码 / Filing certificate QR code")
    assert "onerror" not in svg
    assert "javascript:" not in svg


@pytest.mark.parametrize("hostile", HOSTILE[:3])
def test_svg_title_is_escaped_text(hostile):
    svg = qr_svg("https://ppl.sh.gov.cn/products/x#n=1&v=1", title=hostile)
    _svg_is_inert(svg, hostile)
    assert "<script" not in svg
    assert "<img" not in svg


def test_svg_draws_the_same_code_as_the_pdf():
    cert = make_certificate()
    svg = qr_svg(qr_payload(cert))
    want = segno.make(qr_payload(cert), error="m", micro=False)
    title = ET.fromstring(svg).find("title").text  # noqa: S314 - parsing our own output
    assert svg == want.svg_inline(scale=4, border=4, dark="#000", light="#fff", title=title)


# --- the certificate's own checks ---------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"filing_number": "<script>"}, "filing number"),
        ({"lang": "fr"}, "lang"),
        ({"approved_at": "2026-03-05T17:30:00"}, "approved_at"),
        ({"approved_at": "yesterday"}, "approved_at"),
        ({"product_url": "javascript:alert(1)"}, "product_url"),
        ({"product_url": "/products/x"}, "product_url"),
        ({"product_url": f"{HOST}/products/{PRODUCT}#x"}, "product_url"),
        ({"evidence_url": f"{HOST}/v1/log/proofs/inclusion/event/{PRODUCT}/4"}, "evidence URL"),
        ({"approval": ApprovalEvent(UUID(int=1), 3, 1)}, "approval event record"),
        ({"key_fingerprints": ("XYZ",)}, "key fingerprint"),
    ],
)
def test_inconsistent_certificate_is_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        make_certificate(**changes)


def test_approval_event_must_have_a_version_and_a_leaf():
    with pytest.raises(ValueError, match="version"):
        ApprovalEvent(PRODUCT, 0, 0)
    with pytest.raises(ValueError, match="leaf index"):
        ApprovalEvent(PRODUCT, 1, -1)
