"""Look at IMAP mail safely and with bounded memory, using a plain ``imaplib`` connection.

Everything here is standard library only and built for hostile mail: parsing never raises on what a
sender wrote (except where a function documents it), and every failure is confined to one mail.

The robot's flow:

1. ``imap.uid("FETCH", uids, FETCH_ITEMS)`` and :func:`parse_fetch` give size, date, flags, header and
   BODYSTRUCTURE per UID without downloading any body.
2. :func:`leaf_parts` turns a BODYSTRUCTURE into :class:`Part` objects (section, type, filename, ...).
3. :func:`fetch_part_to_file` streams one part to disk with partial fetches, decoding base64 /
   quoted-printable on the fly under a per-mail :class:`Budget`; :func:`fetch_part_bytes` reads a
   small text part into memory.

Parsed IMAP values: atoms and quoted strings become ``str``, ``NIL`` becomes ``None``, literals stay
``bytes`` and parenthesized lists become ``list``. Numbers are *not* converted: they stay ``str``
(``"3520"``), so a quoted ``"12"`` and an atom ``12`` look the same; the functions here convert them
where they need a number.
"""

from __future__ import annotations

import binascii
import codecs
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Any

__all__ = [
    "FETCH_ITEMS",
    "Budget",
    "BudgetExceeded",
    "FetchError",
    "Part",
    "decode_header_text",
    "decode_text",
    "fetch_part_bytes",
    "fetch_part_to_file",
    "header_facts",
    "leaf_parts",
    "parse_fetch",
    "parse_imap_tokens",
    "safe_file_name",
]

FETCH_ITEMS = "(UID RFC822.SIZE INTERNALDATE FLAGS BODYSTRUCTURE BODY.PEEK[HEADER])"
"""The FETCH item list :func:`parse_fetch` is made for."""

MAX_FILE_NAME_CHARS = 100
# A name of 100 four-byte characters would pass the character limit but not the file system's 255 bytes.
MAX_FILE_NAME_BYTES = 200
# An extension longer than this is treated as part of the name, not as an extension to keep.
MAX_EXTENSION_CHARS = 16
# Header values are cut to this many characters before decoding: a robot has no use for more.
MAX_HEADER_VALUE_CHARS = 16_384


class BudgetExceeded(Exception):
    """A mail would write more bytes or files than its :class:`Budget` allows."""


class FetchError(Exception):
    """The server refused a FETCH or answered it with something unusable."""


class _ParseError(ValueError):
    """An IMAP response could not be tokenized (internal: confined to that response)."""


# --------------------------------------------------------------------------------------------------
# IMAP s-expression tokenizer
# --------------------------------------------------------------------------------------------------

_LITERAL_AT_END = re.compile(rb"~?\{(\d+)\+?\}\r?\n?$")
# Characters that end an atom. '[' is handled separately: a section spec like
# BODY[HEADER.FIELDS (FROM)] contains spaces and parentheses that belong to the atom.
_ATOM_END = frozenset(b' \t()"{\r\n')
_SPACES = frozenset(b" \t\r\n")


class _Literal:
    """The content of a literal among the pieces of a response (other pieces are response text).

    A reference, not a bytes subclass: wrapping must not copy a multi-megabyte literal.
    """

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data


class _Marker:
    """A parenthesis token (distinct from any str a server could send)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


_OPEN = _Marker("(")
_CLOSE = _Marker(")")


def _scan_text(text: bytes, tokens: list[Any]) -> None:
    """Append the tokens of one piece of response text (no literals inside) to ``tokens``."""
    position = 0
    length = len(text)
    while position < length:
        byte = text[position]
        if byte in _SPACES:
            position += 1
        elif byte == 0x28:  # (
            tokens.append(_OPEN)
            position += 1
        elif byte == 0x29:  # )
            tokens.append(_CLOSE)
            position += 1
        elif byte == 0x22:  # "
            position = _scan_quoted(text, position + 1, tokens)
        elif byte == 0x7B:  # { : a literal marker that is not at the end of a piece
            raise _ParseError(f"unexpected literal marker at offset {position}")
        else:
            position = _scan_atom(text, position, tokens)


def _scan_quoted(text: bytes, position: int, tokens: list[Any]) -> int:
    """Scan a quoted string starting just after its opening quote; return the position after it."""
    out = bytearray()
    length = len(text)
    while position < length:
        byte = text[position]
        if byte == 0x5C and position + 1 < length:  # a backslash escapes the next character
            out.append(text[position + 1])
            position += 2
        elif byte == 0x22:
            tokens.append(out.decode("utf-8", "replace"))
            return position + 1
        else:
            out.append(byte)
            position += 1
    raise _ParseError("unterminated quoted string")


def _scan_atom(text: bytes, position: int, tokens: list[Any]) -> int:
    """Scan an atom (``UID``, ``\\Seen``, ``BODY[HEADER]<0>``); return the position after it."""
    start = position
    length = len(text)
    while position < length and text[position] not in _ATOM_END:
        if text[position] == 0x5B:  # [ ... ] may hold spaces and parentheses
            closing = text.find(b"]", position)
            if closing < 0:
                raise _ParseError("unterminated '[' in atom")
            position = closing + 1
        else:
            position += 1
    atom = text[start:position].decode("utf-8", "replace")
    tokens.append(None if atom.upper() == "NIL" else atom)
    return position


def _tokenize(pieces: list[bytes | _Literal]) -> list[Any]:
    """Tokens of a response given as text pieces and :class:`_Literal` pieces.

    A text piece followed by a literal ends with the literal's marker ``{n}``, which is dropped: the
    literal's content is taken as delivered (imaplib has already read exactly ``n`` bytes).
    """
    tokens: list[Any] = []
    for index, piece in enumerate(pieces):
        if isinstance(piece, _Literal):
            tokens.append(piece.data)
            continue
        if index + 1 < len(pieces) and isinstance(pieces[index + 1], _Literal):
            marker = _LITERAL_AT_END.search(piece)
            if not marker:
                raise _ParseError("literal content without a literal marker")
            piece = piece[: marker.start()]
        _scan_text(piece, tokens)
    return tokens


def _tokens_to_values(tokens: list[Any]) -> list[Any]:
    """Build nested lists from a flat token list, iteratively (deep nesting cannot overflow the stack)."""
    stack: list[list[Any]] = [[]]
    for token in tokens:
        if token is _OPEN:
            stack.append([])
        elif token is _CLOSE:
            if len(stack) == 1:
                raise _ParseError("unbalanced ')'")
            finished = stack.pop()
            stack[-1].append(finished)
        else:
            stack[-1].append(token)
    if len(stack) != 1:
        raise _ParseError("unbalanced '('")
    return stack[0]


def _group_responses(data: Any) -> Iterator[list[bytes | _Literal]]:
    """Split imaplib's response data into one piece list per untagged response.

    For every literal of a response imaplib appends a ``(text_up_to_and_with_marker, literal)``
    tuple, then the rest of the response's last line as plain ``bytes``; ``None`` means "nothing".
    """
    pieces: list[bytes | _Literal] = []
    for element in data or ():
        if isinstance(element, tuple) and len(element) == 2:
            prefix, literal = element
            if isinstance(prefix, bytes | bytearray) and isinstance(literal, bytes | bytearray):
                pieces.append(bytes(prefix))
                pieces.append(_Literal(literal if isinstance(literal, bytes) else bytes(literal)))
        elif isinstance(element, bytes | bytearray):
            pieces.append(bytes(element))
            yield pieces
            pieces = []
    if pieces:
        yield pieces


def parse_imap_tokens(response: bytes | list[bytes | tuple[bytes, bytes]]) -> list[Any]:
    """Parse one IMAP response into values.

    ``response`` is response text (``bytes``) or one response as imaplib delivers it: a list of
    ``(text ending in {n}, literal)`` tuples closed by a ``bytes`` piece. Returns the top-level values:
    ``str`` for atoms and quoted strings (numbers stay ``str``), ``None`` for NIL, ``bytes`` for
    literals and ``list`` for parenthesized lists. Raises ``ValueError`` on unbalanced parentheses,
    unterminated strings or misplaced literal markers.
    """
    elements = [response] if isinstance(response, bytes | bytearray) else list(response)
    pieces = [piece for group in _group_responses(elements) for piece in group]
    return _tokens_to_values(_tokenize(pieces))


def _parse_response(pieces: list[bytes | _Literal]) -> tuple[int, dict[str, Any]] | None:
    """Parse one ``<seq> (<key> <value> ...)`` FETCH response into its sequence number and items."""
    values = _tokens_to_values(_tokenize(pieces))
    for position, value in enumerate(values):
        if isinstance(value, str) and value.isascii() and value.isdigit():
            sequence = int(value)
            rest = values[position + 1 :]
            break
    else:
        return None
    item_list = next((value for value in rest if isinstance(value, list)), None)
    if item_list is None:
        return None
    items: dict[str, Any] = {}
    for position in range(0, len(item_list) - 1, 2):
        key = item_list[position]
        if not isinstance(key, str):
            break
        items[key.upper().replace("BODY.PEEK[", "BODY[")] = item_list[position + 1]
    return sequence, items


def _fetch_responses(data: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(sequence number, items)`` for each parsable FETCH response; skip broken ones."""
    for pieces in _group_responses(data):
        try:
            parsed = _parse_response(pieces)
        except (ValueError, IndexError, TypeError):
            continue
        if parsed is not None:
            yield parsed


def _merged_by_uid(data: Any) -> dict[int, dict[str, Any]]:
    """FETCH items per UID; responses for the same sequence number are merged (later ones win)."""
    by_sequence: dict[int, dict[str, Any]] = {}
    for sequence, items in _fetch_responses(data):
        by_sequence.setdefault(sequence, {}).update(items)
    by_uid: dict[int, dict[str, Any]] = {}
    for items in by_sequence.values():
        uid = _int(items.get("UID"), default=-1)
        if uid >= 0:
            by_uid[uid] = items
    return by_uid


# --------------------------------------------------------------------------------------------------
# FETCH results
# --------------------------------------------------------------------------------------------------

_MONTHS = {name: number for number, name in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}
_INTERNALDATE = re.compile(
    r"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\s*$", re.ASCII
)


def _parse_internaldate(value: Any) -> datetime | None:
    """``"25-Nov-2026 07:31:44 +0000"`` as an aware datetime (locale independent), or None."""
    found = _INTERNALDATE.match(_text(value))
    if not found:
        return None
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = found.groups()
    try:
        offset = timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
        zone = timezone(-offset if sign == "-" else offset)
        return datetime(int(year), _MONTHS[month.upper()], int(day), int(hour), int(minute), int(second), tzinfo=zone)
    except (KeyError, ValueError):
        return None


def _int(value: Any, default: int = 0) -> int:
    """A non-negative int from an IMAP number (str, bytes or int), or ``default``."""
    if isinstance(value, int) and value >= 0:
        return value
    text = _text(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else default


def _text(value: Any) -> str:
    """An IMAP string value as str: literals decoded as UTF-8 (with replacement), NIL and lists as ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return ""


def _bytes(value: Any) -> bytes:
    """An IMAP string value as bytes (quoted strings are 7-bit, so UTF-8 round-trips them)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return b""


def parse_fetch(data: Any) -> dict[int, dict[str, Any]]:
    """Parse the data of ``imap.uid("FETCH", uids, FETCH_ITEMS)`` into facts per UID.

    Returns ``{uid: {"size": int, "internaldate": datetime | None, "flags": tuple[str, ...],
    "bodystructure": list | None, "header": bytes}}``. Items the server did not send get those
    defaults (size 0, no date, no flags, no structure, empty header); unknown FETCH items are ignored.
    Responses are matched by sequence number, so a ``FLAGS`` update the server sends as a separate
    untagged response (without UID) is merged into the mail's entry; responses whose UID never
    appears (unsolicited updates for other mails) are dropped, as is a UID that vanished. A response
    that cannot be parsed is skipped; this function never raises on server data.
    """
    result: dict[int, dict[str, Any]] = {}
    for uid, items in _merged_by_uid(data).items():
        flags = items.get("FLAGS")
        bodystructure = items.get("BODYSTRUCTURE")
        result[uid] = {
            "size": _int(items.get("RFC822.SIZE")),
            "internaldate": _parse_internaldate(items.get("INTERNALDATE")),
            "flags": tuple(_text(flag) for flag in flags if isinstance(flag, str)) if isinstance(flags, list) else (),
            "bodystructure": bodystructure if isinstance(bodystructure, list) else None,
            "header": _bytes(items.get("BODY[HEADER]")),
        }
    return result


# --------------------------------------------------------------------------------------------------
# Text decoding
# --------------------------------------------------------------------------------------------------


def _codec(charset: str) -> str | None:
    """The Python codec name for a MIME charset, or None if unknown or not a text encoding."""
    name = (charset or "").strip().strip('"').split("*", 1)[0]  # RFC 2231 allows "utf-8*ru"
    if not name or len(name) > 64:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    # base64, rot13, zlib ... are bytes-to-bytes or str-to-str codecs, not charsets.
    return info.name if getattr(info, "_is_text_encoding", True) else None


def decode_text(payload: bytes, charset: str) -> str:
    """Decode ``payload`` in ``charset``; an unknown or unusable charset falls back to UTF-8.

    Undecodable bytes become U+FFFD. Never raises.
    """
    codec = _codec(charset) or "utf-8"
    try:
        return bytes(payload).decode(codec, "replace")
    except Exception:  # a codec that misbehaves even with errors="replace"
        return bytes(payload).decode("utf-8", "replace")


def _decode_raw_header_bytes(raw: bytes) -> str:
    """Header bytes outside encoded words: UTF-8 if valid, else Latin-1 (every byte maps to a character)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def _decode_encoded_word_payload(encoding: str, payload: str) -> bytes | None:
    """The bytes of one RFC 2047 encoded word's payload, or None if it is not decodable."""
    raw = payload.encode("ascii", "replace")
    if encoding.upper() == "Q":
        return _QP_ESCAPE.sub(lambda found: bytes([int(found.group(1), 16)]), raw.replace(b"_", b" "))
    raw = raw.rstrip(b"=")
    if _BASE64_INVALID.search(raw):
        return None
    raw += b"=" * (-len(raw) % 4)
    try:
        return binascii.a2b_base64(raw)
    except binascii.Error:
        return None


def decode_header_text(value: str) -> str:
    """Decode RFC 2047 encoded words in a header value; unfold lines; drop control characters.

    Adjacent encoded words in the same charset are joined before decoding, so a multibyte character
    split across two words survives. Unknown charsets fall back to UTF-8 with replacement and broken
    base64 is kept as written. Never raises.
    """
    value = re.sub(r"\r?\n(?=[ \t])", "", value or "").replace("\r", "").replace("\n", "")
    chunks: list[tuple[str | None, bytes | str]] = []  # (charset, bytes) for words, (None, str) for text
    position = 0
    for found in _ENCODED_WORD.finditer(value):
        between = value[position : found.start()]
        decoded = _decode_encoded_word_payload(found.group(2), found.group(3))
        if decoded is None:
            chunks.append((None, value[position : found.end()]))
        else:
            # Whitespace between two encoded words is not part of the text (RFC 2047 section 6.2).
            follows_word = bool(chunks) and chunks[-1][0] is not None and not between.strip(" \t")
            if between and not follows_word:
                chunks.append((None, between))
            charset = found.group(1)
            if follows_word and str(chunks[-1][0]).lower() == charset.lower():
                chunks[-1] = (charset, chunks[-1][1] + decoded)
            else:
                chunks.append((charset, decoded))
        position = found.end()
    chunks.append((None, value[position:]))
    text = "".join(decode_text(data, charset) if charset is not None else data for charset, data in chunks)
    return _strip_controls(text, keep_tab=False).strip()


def _strip_controls(text: str, keep_tab: bool) -> str:
    """``text`` without control, format and surrogate characters (tabs optionally become spaces)."""
    out = []
    for character in text:
        if character == "\t":
            out.append(" " if not keep_tab else character)
        elif unicodedata.category(character) in ("Cc", "Cf", "Cs"):
            continue
        elif character in "\u2028\u2029":
            out.append(" ")
        else:
            out.append(character)
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# Header facts
# --------------------------------------------------------------------------------------------------

_ADDRESS = re.compile(r"[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+")
# Splitting at these first keeps the address search linear on long hostile header values.
_ADDRESS_SEPARATORS = re.compile(r"[\s<>()\[\],;:\"]+")


def _raw_header_values(raw_header: bytes) -> dict[str, str]:
    """First value of each header (lowercased name), with bytes outside ASCII decoded best-effort."""
    try:
        message = BytesHeaderParser(policy=compat32).parsebytes(bytes(raw_header or b""))
        pairs = message.raw_items()
    except Exception:  # the email package is tolerant, but this must never fail a run
        return {}
    values: dict[str, str] = {}
    for name, value in pairs:
        key = str(name).strip().lower()
        if key in values:
            continue
        text = str(value)[:MAX_HEADER_VALUE_CHARS]
        # compat32 keeps undecodable bytes as surrogate escapes; turn them back into bytes first.
        values[key] = _decode_raw_header_bytes(text.encode("utf-8", "surrogateescape"))
    return values


def _unfold(value: str) -> str:
    """A header value on one line, without control characters."""
    return _strip_controls(re.sub(r"\r?\n(?=[ \t])", "", value), keep_tab=False).strip()


_QUOTED_STRING = re.compile(r'"(?:[^"\\]|\\.)*"?')
_COMMENT = re.compile(r"\([^()]*\)")
_ANGLE_ADDRESS = re.compile(r"<\s*([^<>\s]*)\s*>")


def _bare_address(value: str) -> str:
    """The first mailbox address in a From header value, lowercased, or "".

    Quoted display names and comments are removed first, so ``"boss@bank.example" <x@evil.example>``
    gives the real address ``x@evil.example``; within a mailbox the ``<angle address>`` wins over
    address-like text in an unquoted display name.
    """
    text = _QUOTED_STRING.sub(" ", value)
    for _ in range(8):  # comments may nest; a few rounds peel the usual depths
        text, removed = _COMMENT.subn(" ", text)
        if not removed:
            break
    text = text.split(":", 1)[1] if re.match(r"[^<@]*:", text) else text  # "Group: a@b, c@d;"
    for mailbox in text.split(","):
        angle = _ANGLE_ADDRESS.search(mailbox)
        candidates = [angle.group(1)] if angle else _ADDRESS_SEPARATORS.split(mailbox)
        for candidate in candidates:
            if _ADDRESS.fullmatch(candidate):
                return candidate.lower()
    return ""


def header_facts(raw_header: bytes) -> dict[str, str]:
    """Facts from a raw header block: ``message_id``, ``from``, ``from_display``, ``subject``, ``date``.

    ``from`` is the bare sender address in lower case ("" if there is none), ``from_display`` and
    ``subject`` are decoded text (RFC 2047, unknown charsets and 8-bit bytes decoded best-effort),
    ``message_id`` and ``date`` are as written (unfolded, control characters removed). Missing headers
    give ""; of repeated headers the first counts; values are cut to ``MAX_HEADER_VALUE_CHARS``.
    Never raises.
    """
    values = _raw_header_values(raw_header)
    sender = _unfold(values.get("from", ""))
    return {
        "message_id": _unfold(values.get("message-id", "")),
        "from": _bare_address(sender),
        "from_display": decode_header_text(values.get("from", "")),
        "subject": decode_header_text(values.get("subject", "")),
        "date": _unfold(values.get("date", "")),
    }


# --------------------------------------------------------------------------------------------------
# BODYSTRUCTURE
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One leaf of a mail's MIME tree, as told by BODYSTRUCTURE.

    ``section`` is the IMAP section ("1", "2.1"), ``size`` the octets of the *encoded* body,
    ``filename`` the decoded file name ("" if none) and ``disposition`` "attachment", "inline" or "".
    """

    section: str
    content_type: str
    charset: str = ""
    encoding: str = "7bit"
    size: int = 0
    filename: str = ""
    disposition: str = ""

    @property
    def is_attachment(self) -> bool:
        """True if the part has a file name or is not body text (text/plain, text/html)."""
        if self.filename:
            return True
        return self.content_type not in ("text/plain", "text/html") and not self.content_type.startswith("multipart/")


def _params(value: Any) -> dict[str, str]:
    """A BODYSTRUCTURE parameter list ``("name" "value" ...)`` as a dict with lowercased names."""
    params: dict[str, str] = {}
    if not isinstance(value, list):
        return params
    for position in range(0, len(value) - 1, 2):
        name, item = value[position], value[position + 1]
        if isinstance(name, str | bytes) and isinstance(item, str | bytes):
            params.setdefault(_text(name).strip().lower(), _text(item))
    return params


def _decode_rfc2231(value: str) -> str:
    """Decode an extended parameter value ``charset'language'percent-encoded``."""
    charset, _language, encoded = value.split("'", 2) if value.count("'") >= 2 else ("", "", value)
    return decode_text(urllib.parse.unquote_to_bytes(encoded), charset or "utf-8")


_CONTINUATION = re.compile(r"^(?P<name>[^*]+)\*(?P<index>\d{1,4})(?P<extended>\*?)$", re.ASCII)


def _param_value(params: dict[str, str], name: str) -> str:
    """The decoded value of parameter ``name`` (RFC 2231 ``name*``, ``name*0*``..., else plain ``name``)."""
    segments: list[tuple[int, bool, str]] = []
    for key, value in params.items():
        found = _CONTINUATION.match(key)
        if found and found.group("name") == name:
            segments.append((int(found.group("index")), bool(found.group("extended")), value))
    if segments:
        segments.sort()
        charset = ""
        data = bytearray()
        for index, extended, value in segments:
            if extended:
                if index == 0 and value.count("'") >= 2:
                    charset, _language, value = value.split("'", 2)
                data += urllib.parse.unquote_to_bytes(value)
            else:
                data += value.encode("utf-8", "surrogateescape")
        return decode_header_text(decode_text(bytes(data), charset or "utf-8"))
    if f"{name}*" in params:
        return decode_header_text(_decode_rfc2231(params[f"{name}*"]))
    if name in params:
        return decode_header_text(params[name])
    return ""


def _disposition(value: Any) -> tuple[str, dict[str, str]]:
    """``("attachment" ("filename" "x.pdf"))`` as ("attachment", params)."""
    if isinstance(value, list) and value and isinstance(value[0], str | bytes):
        return _text(value[0]).strip().lower(), _params(value[1] if len(value) > 1 else None)
    return "", {}


def _leaf(node: list[Any], section: str) -> Part:
    """A :class:`Part` from a single-part BODYSTRUCTURE node."""
    main_type = _text(node[0]).strip().lower() or "text"
    sub_type = _text(node[1] if len(node) > 1 else "").strip().lower() or "plain"
    params = _params(node[2] if len(node) > 2 else None)
    encoding = _text(node[5] if len(node) > 5 else "").strip().lower() or "7bit"
    size = _int(node[6] if len(node) > 6 else None)
    # Extension data follows the basic fields: text/* adds a line count, message/rfc822 adds the
    # envelope, the embedded body structure and a line count. Then come MD5 and disposition.
    is_message = main_type == "message" and sub_type in ("rfc822", "global")
    if len(node) > 8 and (is_message or (isinstance(node[7], list) and isinstance(node[8], list))):
        disposition_index = 11
    elif main_type == "text":
        disposition_index = 9
    else:
        disposition_index = 8
    disposition, disposition_params = _disposition(node[disposition_index] if len(node) > disposition_index else None)
    filename = _param_value(disposition_params, "filename") or _param_value(params, "name")
    return Part(
        section=section,
        content_type=f"{main_type}/{sub_type}",
        charset=params.get("charset", "").strip().strip('"').lower(),
        encoding=encoding,
        size=size,
        filename=filename,
        disposition=disposition,
    )


def leaf_parts(bodystructure: Any) -> list[Part]:
    """The leaf parts of a parsed BODYSTRUCTURE, in MIME order.

    Multiparts are walked (nested too); an embedded message/rfc822 is a leaf (its section fetches the
    whole embedded mail). A single-part mail has one leaf with section "1". Malformed nodes are
    skipped; ``None`` or garbage gives []. Never raises.
    """
    if not isinstance(bodystructure, list) or not bodystructure:
        return []
    parts: list[Part] = []
    # Iterative walk: (node, section). The root's section is "" for a multipart, "1" for a single part.
    stack: list[tuple[list[Any], str]] = [(bodystructure, "")]
    while stack:
        node, section = stack.pop()
        if node and isinstance(node[0], list):
            # Children come first; after them come subtype, params, ... (params are lists too).
            first_non_list = next((index for index, item in enumerate(node) if not isinstance(item, list)), len(node))
            children = node[:first_non_list]
            prefix = f"{section}." if section else ""
            stack.extend((child, f"{prefix}{number}") for number, child in reversed(list(enumerate(children, 1))))
            continue
        try:
            parts.append(_leaf(node, section or "1"))
        except Exception:  # a malformed node costs only itself
            continue
    return parts


# --------------------------------------------------------------------------------------------------
# File names
# --------------------------------------------------------------------------------------------------


def _clean_file_name(name: str) -> str:
    """The sanitized form of ``name``, possibly "" (see :func:`safe_file_name`)."""
    name = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _strip_controls(name, keep_tab=False).strip().lstrip(".").strip()
    if name in ("", ".", ".."):
        return ""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_CHARS:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    stem = stem[: MAX_FILE_NAME_CHARS - len(suffix)]
    while stem and len((stem + suffix).encode("utf-8")) > MAX_FILE_NAME_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip(" ")
    return f"{stem}{suffix}" if stem else ""


def safe_file_name(name: str, fallback: str) -> str:
    """A file name that is safe to create inside a staging folder.

    Keeps only the last path component (``/`` and ``\\`` both separate), removes NUL, control and
    invisible format characters, strips leading dots and surrounding spaces, and shortens the name to
    at most 100 characters (and 200 UTF-8 bytes) keeping the extension. An empty result, ``.`` or
    ``..`` gives ``fallback`` (sanitized the same way; "attachment" if that is unusable too). The
    result never contains a path separator, so it is never absolute.
    """
    return _clean_file_name(name) or _clean_file_name(fallback) or "attachment"


# --------------------------------------------------------------------------------------------------
# Budget
# --------------------------------------------------------------------------------------------------


class Budget:
    """Counts the bytes and files written for one mail and refuses to go past the limits."""

    def __init__(self, max_bytes: int, max_files: int):
        """Allow at most ``max_bytes`` bytes in at most ``max_files`` files."""
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.bytes_used = 0
        self.files_used = 0

    def take(self, n: int) -> None:
        """Account for ``n`` more bytes; raise :class:`BudgetExceeded` (counting nothing) if over the limit."""
        if n < 0:
            raise ValueError(f"cannot take a negative number of bytes: {n}")
        if self.bytes_used + n > self.max_bytes:
            raise BudgetExceeded(
                f"the mail needs more than {self.max_bytes} bytes of attachments: "
                f"{self.bytes_used} bytes already written and {n} more would exceed the limit"
            )
        self.bytes_used += n

    def add_file(self) -> None:
        """Account for one more file; raise :class:`BudgetExceeded` (counting nothing) if over the limit."""
        if self.files_used + 1 > self.max_files:
            raise BudgetExceeded(
                f"the mail has more than {self.max_files} attachment files: "
                f"{self.files_used} already written and one more would exceed the limit"
            )
        self.files_used += 1


# --------------------------------------------------------------------------------------------------
# Streaming transfer decoding
# --------------------------------------------------------------------------------------------------

_BASE64_WHITESPACE = b" \t\r\n\f\v"
_BASE64_INVALID = re.compile(rb"[^A-Za-z0-9+/=]")


class _Base64Decoder:
    """Incremental base64: decodes whole 4-character groups and carries the rest to the next chunk.

    ``feed`` returns a list of decoded pieces so that no chunk-sized buffer is copied just to glue
    the carried characters to it: the carry is completed with the first characters of the new data.
    """

    def __init__(self) -> None:
        self.carry = b""
        self.offset = 0  # encoded characters seen, for error messages

    def feed(self, data: bytes) -> list[bytes]:
        """Decode what can be decoded of ``data`` now."""
        cleaned = data.translate(None, _BASE64_WHITESPACE)
        bad = _BASE64_INVALID.search(cleaned)
        if bad:
            raise ValueError(
                f"invalid base64 character {bad.group(0)!r} near encoded character {self.offset + bad.start()}"
            )
        self.offset += len(cleaned)
        pieces: list[bytes] = []
        start = 0
        if self.carry:
            start = min(4 - len(self.carry), len(cleaned))
            self.carry += cleaned[:start]
            if len(self.carry) < 4:
                return pieces
            pieces += self._decode(self.carry, 0, 4)
        usable = start + (len(cleaned) - start) // 4 * 4
        self.carry = cleaned[usable:]
        pieces += self._decode(cleaned, start, usable)
        return pieces

    def finish(self) -> list[bytes]:
        """Decode the remainder, tolerating missing padding (a lone trailing character carries no byte)."""
        rest = self.carry.rstrip(b"=")
        self.carry = b""
        if len(rest) % 4 < 2:
            rest = rest[: len(rest) - len(rest) % 4]
        rest += b"=" * (-len(rest) % 4)
        return self._decode(rest, 0, len(rest))

    @staticmethod
    def _decode(buffer: bytes, start: int, end: int) -> list[bytes]:
        """Decode the complete 4-character groups in ``buffer[start:end]``.

        binascii stops at the first padded group, so data is decoded up to each padded group in turn:
        concatenated base64 blocks (each with its own padding) are decoded completely. Slices are
        memoryviews, so the encoded data is not copied again.
        """
        view = memoryview(buffer)
        pieces = []
        try:
            while start < end:
                padding = buffer.find(b"=", start, end)
                stop = end if padding < 0 else start + ((padding - start) // 4 + 1) * 4
                pieces.append(binascii.a2b_base64(view[start:stop]))
                start = stop
        except binascii.Error as error:
            raise ValueError(f"invalid base64 data: {error}") from error
        return pieces


class _QuotedPrintableDecoder:
    """Incremental quoted-printable: decodes complete lines and carries the incomplete last line."""

    def __init__(self, max_carry: int):
        self.carry = b""
        self.max_carry = max(max_carry, 16)

    def feed(self, data: bytes) -> list[bytes]:
        """Decode the complete lines of carry + ``data``."""
        buffer = self.carry + data if self.carry else data
        end = buffer.rfind(b"\n") + 1
        if end == 0 and len(buffer) > self.max_carry:
            # A hostile endless line: decode it up to a point that cuts no "=XX" escape.
            end = len(buffer)
            escape = buffer.rfind(b"=", max(0, end - 2))
            if escape >= 0:
                end = escape
        self.carry = buffer[end:]
        return [binascii.a2b_qp(memoryview(buffer)[:end])]

    def finish(self) -> list[bytes]:
        """Decode whatever is left (a last line without line break)."""
        rest, self.carry = self.carry, b""
        return [binascii.a2b_qp(rest)]


class _IdentityDecoder:
    """7bit, 8bit, binary and unknown encodings: the bytes as they are."""

    def feed(self, data: bytes) -> list[bytes]:
        """Return ``data`` unchanged."""
        return [data]

    def finish(self) -> list[bytes]:
        """Nothing is ever held back."""
        return []


def _decoder(encoding: str, chunk: int) -> _Base64Decoder | _QuotedPrintableDecoder | _IdentityDecoder:
    """The incremental decoder for a Content-Transfer-Encoding."""
    encoding = (encoding or "").strip().lower()
    if encoding == "base64":
        return _Base64Decoder()
    if encoding == "quoted-printable":
        return _QuotedPrintableDecoder(max_carry=chunk)
    return _IdentityDecoder()


def _section_key(key: str) -> str:
    """``BODY[2.1]<4096>`` → ``BODY[2.1]`` (the origin octet is not part of the section)."""
    return key.split("]", 1)[0] + "]" if "]" in key else key


def _fetch_range(imap: Any, uid: int, section: str, offset: int, length: int) -> bytes:
    """``length`` encoded bytes of ``section`` from ``offset`` (fewer at the end; b"" past it)."""
    typ, data = imap.uid("FETCH", str(uid), f"(BODY.PEEK[{section}]<{offset}.{length}>)")
    if typ != "OK":
        raise FetchError(f"the server refused to fetch section {section} of mail UID {uid}: {typ} {data!r}")
    wanted = f"BODY[{section}]"
    for key, value in _merged_by_uid(data).get(uid, {}).items():
        if _section_key(key) == wanted:
            return _bytes(value)
    raise FetchError(f"mail UID {uid} has no section {section} on the server (it may have been deleted)")


_SECTION = re.compile(r"[1-9][0-9]{0,5}(?:\.[1-9][0-9]{0,5})*", re.ASCII)


def _check_request(part: Part, chunk: int) -> None:
    """Refuse a chunk size below 1 and a section that is not dotted part numbers (it goes into a command)."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1 byte, not {chunk}")
    if not isinstance(part.section, str) or not _SECTION.fullmatch(part.section):
        raise ValueError(f"not an IMAP part section: {part.section!r}")


def _stream_part(imap: Any, uid: int, part: Part, chunk: int, sink: Callable[[bytes], None]) -> None:
    """Fetch ``part`` in ranges of ``chunk`` encoded bytes and pass the decoded bytes to ``sink``."""
    _check_request(part, chunk)
    decoder = _decoder(part.encoding, chunk)
    offset = 0
    while True:
        data = _fetch_range(imap, uid, part.section, offset, chunk)
        received = len(data)
        if received > chunk:
            raise FetchError(f"the server sent {received} bytes for a {chunk}-byte range of mail UID {uid}")
        decoded = decoder.feed(data)
        # Drop each range before the next one is read, so at most one range is held at a time.
        del data
        _emit(decoded, sink)
        offset += received
        if received < chunk:
            break
    _emit(decoder.finish(), sink)


def _emit(pieces: list[bytes], sink: Callable[[bytes], None]) -> None:
    """Pass non-empty ``pieces`` to ``sink``, releasing each one as soon as it is written."""
    pieces.reverse()
    while pieces:
        piece = pieces.pop()
        if piece:
            sink(piece)


def fetch_part_to_file(imap: Any, uid: int, part: Part, target: Path, budget: Budget, chunk: int = 4 << 20) -> Path:
    """Download one leaf part to ``target``, decoding its transfer encoding; return ``target``.

    The part is fetched with ``BODY.PEEK[<section>]<offset.chunk>`` ranges (the mail stays unread),
    so memory stays in the order of ``chunk`` (peak about 3 x ``chunk`` for base64 and
    quoted-printable, 1 x for the others). The file counts as one file of ``budget`` and every
    decoded byte is taken from it. ``target`` is created exclusively (``FileExistsError`` if it
    exists, symlinks included). Raises :class:`BudgetExceeded` when the part outgrows the budget,
    ``ValueError`` for invalid base64, :class:`FetchError` when the server refuses or lacks the part
    ``ValueError`` for a ``part.section`` that is not dotted part numbers, and ``imaplib`` errors for
    connection problems; on any error the partial file is deleted. A section the mail does not have
    gives an empty file (dovecot answers such a fetch with an empty literal).
    Encodings other than base64 and quoted-printable (7bit, 8bit, binary, unknown) are written as is.
    """
    target = Path(target)
    _check_request(part, chunk)
    budget.add_file()
    output = open(target, "xb")  # closed below; removed again on any failure

    def write(decoded: bytes) -> None:
        budget.take(len(decoded))
        output.write(decoded)

    try:
        _stream_part(imap, uid, part, chunk, write)
        output.close()
    except BaseException:
        output.close()
        target.unlink(missing_ok=True)
        raise
    return target


def fetch_part_bytes(imap: Any, uid: int, part: Part, limit: int) -> bytes:
    """The decoded content of a small part (e.g. a text body) in memory.

    Raises ``ValueError`` if the part's encoded size is over ``limit`` bytes, :class:`BudgetExceeded`
    if the decoded content outgrows ``limit`` anyway (a server that misreported the size), plus the
    errors of :func:`fetch_part_to_file`. Decode the result with :func:`decode_text` and
    ``part.charset``.
    """
    if part.size > limit:
        raise ValueError(f"part {part.section} of mail UID {uid} has {part.size} bytes, more than the {limit} allowed")
    budget = Budget(max_bytes=limit, max_files=1)
    pieces: list[bytes] = []

    def collect(decoded: bytes) -> None:
        budget.take(len(decoded))
        pieces.append(decoded)

    _stream_part(imap, uid, part, min(max(limit, 1024), 4 << 20), collect)
    return b"".join(pieces)
