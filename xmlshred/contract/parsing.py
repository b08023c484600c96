"""Safe, and only as long as needed, parsing of one XML document.

Documents come from outside, so the parser never loads a DTD, never
touches the network, never expands entities, and refuses any document whose
DOCTYPE declares entities or points at an external DTD, before lxml sees it.

Most of a real document is a bureau-report section that no mapping reads.
When the contract allows (see ``CompiledContract.horizon``), the document is
fed to an incremental parser only until the horizon element's end tag; the
bytes after it are never parsed, so a malformed tail goes unnoticed unless
``strict_wellformed`` asks for the whole document.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

from xmlshred.vocab.errors import DataError

__all__ = ["DocumentRejected", "parse_document", "check_size"]

CHUNK = 16 * 1024
"""Bytes fed per step once the first guess at the horizon was not enough."""

_SAFE = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

_ELEMENT_START = re.compile(r"<[A-Za-z_:]")
_ELEMENT_START_BYTES = re.compile(rb"<[A-Za-z_:]")
_EXTERNAL_ID = re.compile(r"<!DOCTYPE\s+[^\s\[>]+\s+(SYSTEM|PUBLIC)\b")
_EXTERNAL_ID_BYTES = re.compile(rb"<!DOCTYPE\s+[^\s\[>]+\s+(SYSTEM|PUBLIC)\b")


class DocumentRejected(DataError):
    """The document cannot be mapped; ``stage`` and ``reason`` go to the log.

    The reason names the problem (and, for syntax errors, its line and
    column) but never document content.
    """

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage
        self.reason = reason


def check_size(document: object, max_bytes: int) -> bytes | str:
    """The document as bytes or str, after the size check.

    Raises DocumentRejected at ``validate`` for a document over ``max_bytes``
    (str: its UTF-8 size) or of another type; at ``parse`` for a str that
    cannot be encoded (lone surrogates).
    """
    if isinstance(document, (bytearray, memoryview)):
        document = bytes(document)
    if isinstance(document, bytes):
        if len(document) > max_bytes:
            raise DocumentRejected("validate", f"document is larger than the limit of {max_bytes} bytes")
        return document
    if isinstance(document, str):
        if len(document) > max_bytes:
            raise DocumentRejected("validate", f"document is larger than the limit of {max_bytes} bytes")
        if len(document) * 4 > max_bytes:
            try:
                size = len(document.encode("utf-8"))
            except UnicodeEncodeError:
                raise DocumentRejected("parse", "document text holds characters that cannot be "
                                                "encoded (lone surrogates)") from None
            if size > max_bytes:
                raise DocumentRejected("validate",
                                       f"document is larger than the limit of {max_bytes} bytes")
        return document
    raise DocumentRejected("validate", f"document must be bytes or str, not {type(document).__name__}")


def _decode_wide(data: bytes) -> bytes | str:
    """UTF-16/32 documents as str, so the DOCTYPE check can read them; others unchanged."""
    head = data[:4]
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        encoding = "utf-32"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif head[:2] == b"<\x00":
        encoding = "utf-16-le"
    elif head[:2] == b"\x00<":
        encoding = "utf-16-be"
    else:
        return data
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise DocumentRejected("parse", f"document is not valid {encoding.upper()}") from None


def _check_prolog(data: bytes | str) -> None:
    """Refuse a DOCTYPE that declares entities or names an external DTD.

    Walks the prolog only (declaration, comments, processing instructions)
    up to the first element, so a document costs a few short scans however
    large it is.
    """
    is_bytes = isinstance(data, bytes)
    lt, pi, pi_end, comment, comment_end, doctype = (
        (b"<", b"<?", b"?>", b"<!--", b"-->", b"<!DOCTYPE") if is_bytes
        else ("<", "<?", "?>", "<!--", "-->", "<!DOCTYPE"))
    position = 0
    while True:
        start = data.find(lt, position)
        if start < 0:
            return
        if data.startswith(pi, start):
            end = data.find(pi_end, start + 2)
            if end < 0:
                return
            position = end + 2
        elif data.startswith(comment, start):
            end = data.find(comment_end, start + 4)
            if end < 0:
                return
            position = end + 3
        elif data.startswith(doctype, start):
            break
        else:
            return  # the root element (or garbage for the parser to reject)
    root = (_ELEMENT_START_BYTES if is_bytes else _ELEMENT_START).search(data, start)
    region = data[start: root.start() if root else len(data)]
    if (b"<!ENTITY" if is_bytes else "<!ENTITY") in region:
        raise DocumentRejected("parse", "the DOCTYPE declares entities, which documents may not do")
    if (_EXTERNAL_ID_BYTES if is_bytes else _EXTERNAL_ID).match(region):
        raise DocumentRejected("parse", "the DOCTYPE refers to an external DTD, which documents may not do")


_QUOTED_BYTES = re.compile(r"\s*Bytes:(?:\s*0x[0-9A-Fa-f]{2})+")
"""libxml2's encoding errors quote the offending bytes: document content, never shown."""
_POSITION_SUFFIX = re.compile(r", line \d+, column \d+$")


def _syntax_reason(error: Exception) -> str:
    """The cause in lxml's own words with its line and column; never the document's text.

    libxml2's messages name the construct (an entity's or a tag's name, never
    character data); the bytes an encoding error quotes are cut.
    """
    if isinstance(error, etree.XMLSyntaxError):
        line, column = error.position if error.position else (0, 0)
        words = _POSITION_SUFFIX.sub("", (getattr(error, "msg", None) or "").strip())
        words = " ".join(_QUOTED_BYTES.sub("", words).split()).rstrip(" ,:")
        kind = f" ({error.type_name})" if getattr(error, "type_name", None) else ""
        if not words:
            return f"not well-formed XML at line {line}, column {column}{kind}"
        return f"not well-formed XML: {words}, line {line}, column {column}{kind}"
    return f"the XML parser failed ({type(error).__name__})"


def _path_is(element, path: tuple[str, ...]) -> bool:
    for segment in reversed(path):
        if element is None or element.tag != segment:
            return False
        element = element.getparent()
    return element is None


def _root_of(element):
    parent = element.getparent()
    while parent is not None:
        element, parent = parent, parent.getparent()
    return element


def parse_document(data: bytes | str, horizon: tuple[str, ...] | None):
    """Parse ``data`` (already size-checked) and return its root element.

    With a ``horizon`` path, parsing stops at the first end tag of that
    element: the returned tree then holds everything up to it (and whatever
    else the last chunk contained). Without one the whole document is parsed.

    Raises DocumentRejected at ``parse`` for a forbidden DOCTYPE, undecodable
    or malformed input, or an entity the parser refuses.
    """
    if isinstance(data, bytes):
        data = _decode_wide(data)
    if isinstance(data, str) and data.startswith("\ufeff"):
        data = data[1:]
    _check_prolog(data)
    try:
        if horizon is None:
            root = _parse_whole(data)
        else:
            root = _parse_until(data, horizon)
    except DocumentRejected:
        raise
    except Exception as error:  # lxml raises several types; all mean "cannot parse"
        # The pull parser can name a later symptom of the cause (ERR_NAME_REQUIRED for an
        # undefined entity) and the feed parser of a str none at all ("no element found"); a
        # plain parse of the same text names the first error itself. Only failures pay for it.
        error = _whole_parse_error(data) or error
        raise DocumentRejected("parse", _syntax_reason(error)) from None
    if root is None:
        raise DocumentRejected("parse", "the document has no element")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise DocumentRejected("parse", "the DOCTYPE declares entities, which documents may not do")
    return root


def _whole_parse_error(data: bytes | str) -> Exception | None:
    """The error a plain parse of ``data`` raises (None when it parses).

    A str is parsed as its UTF-8 encoding with that encoding imposed (lxml's
    ``fromstring`` refuses a str with an encoding declaration).
    """
    try:
        if isinstance(data, str):
            etree.fromstring(data.encode("utf-8", "surrogatepass"), etree.XMLParser(encoding="utf-8", **_SAFE))
        else:
            etree.fromstring(data, etree.XMLParser(**_SAFE))
    except Exception as error:
        return error
    return None


def _parse_whole(data: bytes | str):
    parser = etree.XMLParser(**_SAFE)
    if isinstance(data, bytes):
        return etree.fromstring(data, parser)
    # lxml refuses str with an encoding declaration in fromstring; the feed
    # interface takes the text as text and ignores the declared encoding.
    parser.feed(data)
    return parser.close()


def _parse_cut(data: bytes | str, horizon: tuple[str, ...]):
    """The tree up to the horizon element's end tag, parsed as a complete document; None when
    this shortcut does not apply (then ``_parse_until``'s incremental parse decides).

    The text is cut just after the first ``</tag…>`` of the horizon's name and closed with the
    end tags of the horizon's ancestors. When that parses and the last element at each level
    is the horizon path, the cut closed the horizon element itself: the tree holds exactly what
    the incremental parser reads before it stops there (it is fed up to the same ``>``). A
    plain parse leaves no reference cycle (the pull parser does: parser, events and tree keep
    each other alive until the garbage collector runs), so the tree is freed as soon as the
    mapping lets go of it. Anything else (no such end tag, a parse error, another path, a
    namespace, a non-ASCII name) returns None.
    """
    if not all(segment.isascii() for segment in horizon):
        return None
    tag = horizon[-1]
    closers = "".join(f"</{segment}>" for segment in reversed(horizon[:-1]))
    is_bytes = isinstance(data, bytes)
    marker = ("</" + tag).encode("ascii") if is_bytes else "</" + tag
    found = data.find(marker)
    if found < 0:
        return None
    closing = data.find(b">" if is_bytes else ">", found)
    if closing < 0:
        return None
    cut = data[:closing + 1] + (closers.encode("ascii") if is_bytes else closers)
    try:
        if is_bytes:
            root = etree.fromstring(cut, etree.XMLParser(**_SAFE))
        else:
            parser = etree.XMLParser(**_SAFE)
            parser.feed(cut)
            root = parser.close()
    except Exception:  # the incremental parse gives the verdict and its reason
        return None
    element = root
    for depth, segment in enumerate(horizon):
        if depth:
            element = element[-1] if len(element) else None
        if element is None or element.tag != segment:
            return None
    return root


def _parse_until(data: bytes | str, horizon: tuple[str, ...]):
    root = _parse_cut(data, horizon)
    return root if root is not None else _parse_incrementally(data, horizon)


def _parse_incrementally(data: bytes | str, horizon: tuple[str, ...]):
    """Feed the parser up to each end tag of the horizon's name until one closes the horizon
    path; the tree then holds everything fed so far (the whole document when none does)."""
    tag = horizon[-1]
    parser = etree.XMLPullParser(events=("end",), tag=tag, **_SAFE)
    is_bytes = isinstance(data, bytes)
    marker = ("</" + tag).encode("ascii") if is_bytes else "</" + tag
    close = b">" if is_bytes else ">"
    size = len(data)
    position = 0
    while position < size:
        # Feed up to just past the next end tag of the horizon's name when it is
        # near: usually the first feed already ends exactly at the horizon.
        end = min(size, position + CHUNK)
        found = data.find(marker, position, position + 4 * CHUNK)
        if found >= 0:
            closing = data.find(close, found)
            end = size if closing < 0 else closing + 1
        parser.feed(data[position:end])
        position = end
        for _, element in parser.read_events():
            if _path_is(element, horizon):
                return _root_of(element)
    return parser.close()
