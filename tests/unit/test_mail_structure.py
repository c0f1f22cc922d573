"""libraries.mail_structure: IMAP response parsing, MIME structure, hostile names, streaming decoding."""

from __future__ import annotations

import base64
import imaplib
import os
import quopri
import re
import shutil
import smtplib
import ssl
import uuid
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from libraries.mail_structure import (
    FETCH_ITEMS,
    Budget,
    BudgetExceeded,
    FetchError,
    Part,
    _QuotedPrintableDecoder,
    decode_header_text,
    decode_text,
    fetch_part_bytes,
    fetch_part_to_file,
    header_facts,
    leaf_parts,
    parse_fetch,
    parse_imap_tokens,
    safe_file_name,
)

HEADER = (
    b"Return-Path: <portal@sandbox.test>\r\n"
    b"From: =?utf-8?b?0J/QvtGA0YLQsNC7?= <Portal@Sandbox.test>\r\n"
    b"Subject: =?utf-8?b?0KHRh9GR0YIg0LfQsCDQvNCw0Lk=?=\r\n"
    b"Date: Wed, 25 Nov 2026 07:31:44 +0000\r\n"
    b"Message-ID: <abc@sandbox.test>\r\n\r\n"
)


def literal_line(text: bytes, literal: bytes) -> tuple[bytes, bytes]:
    """One (prefix, literal) element the way imaplib delivers it, with the right {n} marker."""
    return text + b" {%d}" % len(literal), literal


# --------------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------------


def test_tokenizer_atoms_quoted_strings_nil_and_nesting():
    values = parse_imap_tokens(rb'1 (FLAGS (\Seen $Forwarded) X "a \"quoted\" \\ str" nil NIL ((a) ()))')
    assert values == ["1", ["FLAGS", ["\\Seen", "$Forwarded"], "X", 'a "quoted" \\ str', None, None, [["a"], []]]]


def test_tokenizer_keeps_section_specs_with_spaces_and_parens_in_one_atom():
    values = parse_imap_tokens(b'7 (BODY[HEADER.FIELDS (FROM SUBJECT)]<0> "x" BODY[2.1]<4096> NIL)')
    assert values == ["7", ["BODY[HEADER.FIELDS (FROM SUBJECT)]<0>", "x", "BODY[2.1]<4096>", None]]


def test_tokenizer_takes_literals_from_imaplib_tuples():
    response = [literal_line(b'2 (BODY[1] "a" X', b"lit(\r\n)"), literal_line(b" Y", b""), b")"]
    assert parse_imap_tokens(response) == ["2", ["BODY[1]", "a", "X", b"lit(\r\n)", "Y", b""]]


@pytest.mark.parametrize("text", [b"1 (a (b)", b"1 (a))", b'1 ("open', b"1 (BODY[1 x)", b"1 (a {5} b)"])
def test_tokenizer_rejects_broken_text_with_value_error(text):
    with pytest.raises(ValueError):
        parse_imap_tokens(text)


def test_tokenizer_survives_deep_nesting_without_recursion_error():
    depth = 50_000
    values = parse_imap_tokens(b"(" * depth + b"x" + b")" * depth)
    for _ in range(depth):
        [values] = values
    assert values == ["x"]


# --------------------------------------------------------------------------------------------------
# parse_fetch and leaf_parts on hand-written dovecot-style responses
# --------------------------------------------------------------------------------------------------

SINGLE_TEXT = [
    literal_line(
        b'1 (UID 11 RFC822.SIZE 512 INTERNALDATE "25-Nov-2026 07:31:44 +0000" FLAGS (\\Seen \\Recent) '
        b'BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 48 2 NIL NIL NIL NIL) '
        b"BODY[HEADER]",
        HEADER,
    ),
    b")",
]

MIXED_WITH_PDF = [
    literal_line(
        b'2 (UID 12 RFC822.SIZE 4820 INTERNALDATE " 5-Jan-2026 23:59:01 -0330" FLAGS () BODYSTRUCTURE ('
        b'("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 24 1 NIL NIL NIL NIL)'
        b'("application" "pdf" NIL NIL NIL "base64" 3520 NIL '
        b'("attachment" ("filename*" "utf-8\'\'%D0%A1%D1%87%D1%91%D1%82.pdf")) NIL NIL)'
        b' "mixed" ("boundary" "===b===") NIL NIL NIL) BODY[HEADER]',
        HEADER,
    ),
    b")",
]

NESTED_ALTERNATIVE = [
    literal_line(
        b'3 (UID 13 BODYSTRUCTURE (((("text" "plain" ("charset" "koi8-r") NIL NIL "base64" 24 1 NIL NIL NIL NIL)'
        b'("text" "html" ("charset" "utf-8") NIL NIL "7bit" 31 1 NIL NIL NIL NIL) "alternative" ("boundary" "a") '
        b'NIL NIL NIL)("image" "png" ("name" "=?utf-8?q?=D0=BB=D0=BE=D0=B3=D0=BE?=.png") "<logo>" NIL "base64" 100 '
        b'NIL ("inline" NIL) NIL NIL) "related" ("boundary" "r") NIL NIL NIL)'
        b'("application" "pdf" ("name" "x.pdf") NIL NIL "base64" 2000 NIL ("attachment" ("filename" "b.pdf")) '
        b'NIL NIL) "mixed" ("boundary" "m") NIL NIL NIL) RFC822.SIZE 9000 BODY[HEADER]',
        HEADER,
    ),
    b")",
]

LITERAL_FILENAME = [
    (
        b'4 (UID 14 RFC822.SIZE 551 FLAGS (\\Recent) BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL '
        b'"7bit" 2 0 NIL NIL NIL NIL)("application" "pdf" NIL NIL NIL "base64" 8 NIL ("attachment" ("filename" {7}',
        b'a"b.pdf',
    ),
    literal_line(b')) NIL NIL) "mixed" ("boundary" "BB") NIL NIL NIL) BODY[HEADER]', b"Subject: lit\r\n\r\n"),
    b")",
]

NIL_EVERYWHERE = [
    b"5 (UID 15 RFC822.SIZE NIL INTERNALDATE NIL FLAGS NIL BODYSTRUCTURE "
    b'((NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)("application" NIL NIL NIL NIL NIL NIL) '
    b'"mixed" NIL NIL NIL NIL) BODY[HEADER] NIL)'
]

EMBEDDED_MESSAGE = [
    b'6 (UID 16 BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 2 0 NIL NIL NIL NIL)'
    b'("message" "rfc822" NIL NIL NIL "7bit" 67 (NIL "inner" ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) '
    b'((NIL NIL "a" "b.c")) NIL NIL NIL NIL NIL) (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0 NIL '
    b'NIL NIL NIL)("application" "pdf" ("name" "inner.pdf") NIL NIL "base64" 10 NIL NIL NIL NIL) "mixed" '
    b'("boundary" "i") NIL NIL NIL) 4 NIL ("attachment" ("filename" "fwd.eml")) NIL NIL) "mixed" ("boundary" "BB") '
    b"NIL NIL NIL))"
]


def test_single_part_text_mail():
    [(uid, facts)] = parse_fetch(SINGLE_TEXT).items()
    assert uid == 11
    assert facts["size"] == 512
    assert facts["internaldate"] == datetime(2026, 11, 25, 7, 31, 44, tzinfo=UTC)
    assert facts["flags"] == ("\\Seen", "\\Recent")
    assert facts["header"] == HEADER
    [part] = leaf_parts(facts["bodystructure"])
    assert part == Part("1", "text/plain", "utf-8", "quoted-printable", 48, "", "")
    assert not part.is_attachment


def test_multipart_with_rfc2231_cyrillic_pdf():
    facts = parse_fetch(MIXED_WITH_PDF)[12]
    assert facts["internaldate"] == datetime(2026, 1, 5, 23, 59, 1, tzinfo=timezone(-timedelta(hours=3, minutes=30)))
    assert facts["flags"] == ()
    text, pdf = leaf_parts(facts["bodystructure"])
    assert text == Part("1", "text/plain", "utf-8", "8bit", 24, "", "")
    assert pdf == Part("2", "application/pdf", "", "base64", 3520, "Счёт.pdf", "attachment")
    assert pdf.is_attachment


def test_nested_multiparts_get_dotted_sections():
    facts = parse_fetch(NESTED_ALTERNATIVE)[13]
    assert facts["size"] == 9000
    parts = leaf_parts(facts["bodystructure"])
    assert [(part.section, part.content_type) for part in parts] == [
        ("1.1.1", "text/plain"),
        ("1.1.2", "text/html"),
        ("1.2", "image/png"),
        ("2", "application/pdf"),
    ]
    assert parts[0].charset == "koi8-r" and parts[0].encoding == "base64"
    assert (parts[2].filename, parts[2].disposition, parts[2].is_attachment) == ("лого.png", "inline", True)
    assert parts[3].filename == "b.pdf", "the disposition's filename wins over the content type's name"


def test_filename_sent_as_literal():
    facts = parse_fetch(LITERAL_FILENAME)[14]
    assert facts["header"] == b"Subject: lit\r\n\r\n"
    assert leaf_parts(facts["bodystructure"])[1].filename == 'a"b.pdf'


def test_nil_everywhere_gives_defaults():
    facts = parse_fetch(NIL_EVERYWHERE)[15]
    assert (facts["size"], facts["internaldate"], facts["flags"], facts["header"]) == (0, None, (), b"")
    first, second = leaf_parts(facts["bodystructure"])
    assert first == Part("1", "text/plain", "", "7bit", 0, "", "")
    assert second == Part("2", "application/plain", "", "7bit", 0, "", "")


def test_embedded_message_is_a_leaf():
    parts = leaf_parts(parse_fetch(EMBEDDED_MESSAGE)[16]["bodystructure"])
    assert [(part.section, part.content_type) for part in parts] == [("1", "text/plain"), ("2", "message/rfc822")]
    assert parts[1] == Part("2", "message/rfc822", "", "7bit", 67, "fwd.eml", "attachment")


def test_several_mails_in_one_answer_with_separate_flags_update_and_noise():
    data = [
        *SINGLE_TEXT,
        b"garbage (( that does not parse",
        *MIXED_WITH_PDF,
        b"2 (FLAGS (\\Flagged \\Seen))",  # dovecot sends another session's STORE like this, without UID
        b"9 (FLAGS (\\Deleted))",  # an update for a mail that was not asked for
        b'3 (UID 13 MODSEQ (12345) X-GM-LABELS ("\\\\Inbox") BODY ("text" "plain" NIL NIL NIL "7bit" 1 1))',
        None,
    ]
    facts = parse_fetch(data)
    assert sorted(facts) == [11, 12, 13]
    assert facts[12]["flags"] == ("\\Flagged", "\\Seen")
    assert facts[12]["header"] == HEADER
    assert facts[13] == {"size": 0, "internaldate": None, "flags": (), "bodystructure": None, "header": b""}


def test_vanished_uid_and_empty_answers():
    assert parse_fetch([None]) == {}
    assert parse_fetch([]) == {}
    assert parse_fetch(None) == {}
    assert parse_fetch([b")"]) == {}


def test_fetch_items_request_the_header_without_marking_read():
    assert "BODY.PEEK[HEADER]" in FETCH_ITEMS and "BODYSTRUCTURE" in FETCH_ITEMS


@pytest.mark.parametrize("structure", [None, [], "x", ["text"], [[], [None]], [["a", "b", "c", 1, 2, 3, "x"]]])
def test_leaf_parts_never_raises_on_garbage(structure):
    assert isinstance(leaf_parts(structure), list)


def test_filename_forms():
    def name_of(disposition_params: bytes, type_params: bytes = b"NIL") -> str:
        text = b'1 (UID 1 BODYSTRUCTURE ("application" "octet-stream" %s NIL NIL "base64" 10 NIL ("attachment" %s) NIL'
        [part] = leaf_parts(parse_fetch([text % (type_params, disposition_params) + b" NIL))"])[1]["bodystructure"])
        return part.filename

    chunks = ["utf-8''%D0%A1", "%D1%87", "%D1%91", "%D1", "%82", "-", "1", "2", "3", "4", ".pdf"]
    continuations = b"".join(b'"filename*%d*" "%s" ' % (index, chunk.encode()) for index, chunk in enumerate(chunks))
    assert name_of(b"(" + continuations + b")") == "Счёт-1234.pdf", "continuations are joined in numeric order"
    assert name_of(b'("filename*0" "plain " "filename*1" "name.txt")') == "plain name.txt"
    assert name_of(b'("filename" "=?utf-8?b?0KHRh9GR0YI=?=.pdf")') == "Счёт.pdf"
    assert name_of(b"NIL", b'("name*" "windows-1251\'\'%D1%F7%B8%F2.pdf")') == "Счёт.pdf"
    assert name_of(b"NIL", b'("name" "plain.pdf")') == "plain.pdf"
    assert name_of(b'("filename*" "x-bogus\'\'%FF%FE.pdf")') == "\ufffd\ufffd.pdf"
    assert name_of(b'("filename" "=?x-bogus?q?abc?=.pdf")') == "abc.pdf"
    assert name_of(b'("filename" "=?utf-8?b?!!!?=.pdf")') == "=?utf-8?b?!!!?=.pdf"
    assert name_of(b'("filename*" "%D0%A1.pdf")') == "С.pdf", "a value without charset'lang' is still decoded"


def test_is_attachment():
    assert Part("1", "application/pdf").is_attachment
    assert Part("1", "text/plain", filename="notes.txt").is_attachment
    assert Part("1", "text/calendar").is_attachment
    assert not Part("1", "text/html").is_attachment


# --------------------------------------------------------------------------------------------------
# Hostile names and headers
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Счёт №42 за май.pdf", "Счёт №42 за май.pdf"),
        (".", "fallback.bin"),
        ("..", "fallback.bin"),
        ("", "fallback.bin"),
        ("/etc/passwd", "passwd"),
        ("..\\..\\x.pdf", "x.pdf"),
        ("../../", "fallback.bin"),
        ("C:\\Windows\\evil.exe", "evil.exe"),
        ("a\x00b\x01c\r\n.pdf", "abc.pdf"),
        (".bashrc", "bashrc"),
        ("...", "fallback.bin"),
        ("  spaced.pdf  ", "spaced.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("\x00", "fallback.bin"),
    ],
)
def test_safe_file_name(name, expected):
    assert safe_file_name(name, "fallback.bin") == expected


def test_safe_file_name_shortens_keeping_the_extension():
    long_name = safe_file_name("Счёт " * 60 + ".pdf", "x")
    assert len(long_name) <= 100 and long_name.endswith(".pdf") and long_name.startswith("Счёт Счёт")
    emoji = safe_file_name("😀" * 100 + ".pdf", "x")
    assert len(emoji.encode()) <= 200 and emoji.endswith(".pdf")
    no_extension = safe_file_name("a" * 300, "x")
    assert no_extension == "a" * 100
    silly_extension = safe_file_name("a." + "b" * 300, "x")
    assert len(silly_extension) == 100


def test_safe_file_name_sanitizes_the_fallback_too():
    assert safe_file_name("..", "../evil") == "evil"
    assert safe_file_name("..", "..") == "attachment"


def test_header_facts_of_a_normal_header():
    assert header_facts(HEADER) == {
        "message_id": "<abc@sandbox.test>",
        "from": "portal@sandbox.test",
        "from_display": "Портал <Portal@Sandbox.test>",
        "subject": "Счёт за май",
        "date": "Wed, 25 Nov 2026 07:31:44 +0000",
    }


def test_header_facts_of_hostile_headers():
    raw = (
        b"From: =?x-bogus?q?Bank=FF?= <Boss@Bank.example> \x00\r\n"
        b"Subject: =?x-bogus?q?hello=FF?= \xff\xfe =?utf-8?b?0KHRh9GR?=\r\n =?utf-8?b?0YI=?=\x00 =?utf-8?b?!!?=\r\n"
        b"Message-ID: <a\x00b@x>\r\n"
        b"Date: \x01yesterday\r\n\r\n"
    )
    facts = header_facts(raw)
    assert facts["from"] == "boss@bank.example"
    assert facts["from_display"] == "Bank\ufffd <Boss@Bank.example>"
    assert facts["subject"] == "hello\ufffd ÿþ Счёт =?utf-8?b?!!?="
    assert facts["message_id"] == "<ab@x>"
    assert facts["date"] == "yesterday"


@pytest.mark.parametrize(
    "raw", [b"", b"\r\n", b"\xff\xfe\x00garbage", b"From:\r\nSubject:\r\n\r\n", b":::\r\n \r\n\tx", b"\x00" * 100]
)
def test_header_facts_never_raises_and_gives_strings(raw):
    facts = header_facts(raw)
    assert set(facts) == {"message_id", "from", "from_display", "subject", "date"}
    assert all(isinstance(value, str) for value in facts.values())
    assert facts["from"] == ""


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ('"boss@bank.example" <x@evil.example>', "x@evil.example"),
        ("boss@bank.example <x@evil.example>", "x@evil.example"),
        ("X@Y.Z (Boss <boss@bank.example>)", "x@y.z"),
        ("Team: A@b.c, d@e.f;", "a@b.c"),
        ("Undisclosed recipients:;", ""),
        ("Name <>", ""),
    ],
)
def test_sender_address_is_the_real_one(value, address):
    assert header_facts(f"From: {value}\r\n\r\n".encode())["from"] == address


def test_decode_header_text_joins_split_multibyte_words_and_unfolds():
    assert decode_header_text("=?utf-8?q?=D0?= =?utf-8?q?=A1?=\r\n\tx") == "С x"
    assert decode_header_text("=?utf-8*ru?q?ok?=") == "ok"
    assert decode_header_text("plain  text") == "plain  text"
    assert decode_header_text("abc =?x-bogus?q?hello=FF?= =?x-bogus?q?!?= x") == "abc hello\ufffd! x"
    assert decode_header_text("a =?utf-8?q?b?= =?koi8-r?b?8w==?= c") == "a bС c"


@pytest.mark.parametrize(
    ("payload", "charset", "expected"),
    [
        ("Счёт".encode("koi8-r"), "KOI8-R", "Счёт"),
        ("Счёт".encode(), "x-bogus", "Счёт"),
        (b"\xff", "x-bogus", "\ufffd"),
        (b"abc", "base64", "abc"),
        (b"abc", "", "abc"),
        (b"abc", "a\x00b", "abc"),
        (b"\xd0", "utf-8", "\ufffd"),
    ],
)
def test_decode_text(payload, charset, expected):
    assert decode_text(payload, charset) == expected


# --------------------------------------------------------------------------------------------------
# Budget
# --------------------------------------------------------------------------------------------------


def test_budget_counts_bytes_and_files():
    budget = Budget(max_bytes=10, max_files=2)
    budget.take(4)
    budget.take(6)
    with pytest.raises(BudgetExceeded, match="more than 10 bytes"):
        budget.take(1)
    assert budget.bytes_used == 10
    budget.add_file()
    budget.add_file()
    with pytest.raises(BudgetExceeded, match="more than 2 attachment files"):
        budget.add_file()
    assert budget.files_used == 2
    with pytest.raises(ValueError):
        budget.take(-1)


# --------------------------------------------------------------------------------------------------
# Streaming download against a stand-in for imaplib's partial fetch
# --------------------------------------------------------------------------------------------------

PARTIAL = re.compile(r"\(BODY\.PEEK\[([\d.]+)\]<(\d+)\.(\d+)>\)")


class PartialFetchImap:
    """Answers ``uid("FETCH", uid, "(BODY.PEEK[s]<o.n>)")`` from in-memory encoded bodies, like imaplib."""

    def __init__(self, uid: int, bodies: dict[str, bytes], noise: bool = True, ignore_range: bool = False):
        self.uid_value = uid
        self.bodies = bodies
        self.noise = noise
        self.ignore_range = ignore_range
        self.requests: list[str] = []

    def uid(self, command: str, uid: str, items: str):
        assert command == "FETCH"
        self.requests.append(items)
        if int(uid) != self.uid_value:
            return "OK", [None]
        section, offset, length = PARTIAL.fullmatch(items).groups()
        body = self.bodies.get(section, b"")
        data = body if self.ignore_range else body[int(offset) : int(offset) + int(length)]
        answer = [literal_line(b"3 (UID %d BODY[%s]<%s>" % (self.uid_value, section.encode(), offset.encode()), data)]
        answer.append(b")")
        if self.noise:  # an unsolicited update for another mail in the same answer
            answer.append(b"1 (FLAGS (\\Seen))")
        return "OK", answer


PAYLOAD = bytes(range(256)) * 7 + b"tail"


def base64_body(payload: bytes, line: int = 76) -> bytes:
    """``payload`` in base64 lines of ``line`` characters, CRLF separated (as in mail)."""
    encoded = base64.b64encode(payload)
    return b"\r\n".join(encoded[i : i + line] for i in range(0, len(encoded), line)) + b"\r\n"


@pytest.fixture
def staging(tmp_path) -> Path:
    return tmp_path


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 5, 7, 13, 64, 77, 78, 4 << 20])
@pytest.mark.parametrize("line", [76, 5, 1000])
def test_base64_streams_over_every_chunk_boundary(staging, chunk, line):
    imap = PartialFetchImap(42, {"2": base64_body(PAYLOAD, line)})
    part = Part("2", "application/pdf", encoding="base64", size=len(imap.bodies["2"]))
    budget = Budget(max_bytes=len(PAYLOAD), max_files=1)
    target = fetch_part_to_file(imap, 42, part, staging / "out.pdf", budget, chunk=chunk)
    assert target.read_bytes() == PAYLOAD
    assert budget.bytes_used == len(PAYLOAD) and budget.files_used == 1
    assert all(request.startswith("(BODY.PEEK[2]<") for request in imap.requests)


@pytest.mark.parametrize("payload", [b"a", b"ab", b"abc", b"abcd", b""])
@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_base64_without_padding_and_with_stray_characters(staging, payload, chunk):
    encoded = base64.b64encode(payload).rstrip(b"=") + b"\r\n \t"
    imap = PartialFetchImap(1, {"1": encoded})
    part = Part("1", "application/pdf", encoding="BASE64")
    target = fetch_part_to_file(imap, 1, part, staging / "x", Budget(99, 1), chunk)
    assert target.read_bytes() == payload


def test_base64_concatenated_blocks_are_all_decoded(staging):
    encoded = base64.b64encode(b"first!!") + b"\r\n" + base64.b64encode(b"second")
    imap = PartialFetchImap(1, {"1": encoded})
    part = Part("1", "application/pdf", encoding="base64")
    target = fetch_part_to_file(imap, 1, part, staging / "x", Budget(99, 1), 7)
    assert target.read_bytes() == b"first!!second"


def test_invalid_base64_raises_value_error_and_removes_the_file(staging):
    imap = PartialFetchImap(1, {"1": base64_body(PAYLOAD) + b"%%%not base64"})
    with pytest.raises(ValueError, match="invalid base64 character"):
        fetch_part_to_file(imap, 1, Part("1", "application/pdf", encoding="base64"), staging / "x", Budget(1 << 20, 1))
    assert not (staging / "x").exists()


QP_TEXT = ("Добрый день! Счёт №42 во вложении. " * 8 + "\ntrailing = sign and tab\t\n" + "x" * 300 + "\nend").encode()


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 4 << 20])
def test_quoted_printable_streams_with_soft_breaks_over_boundaries(staging, chunk):
    encoded = quopri.encodestring(QP_TEXT).replace(b"\n", b"\r\n")
    assert b"=\r\n" in encoded and b"=D0" in encoded and b"=09\r\n" in encoded
    imap = PartialFetchImap(5, {"1.2": encoded})
    part = Part("1.2", "text/plain", "utf-8", "quoted-printable", len(encoded))
    target = fetch_part_to_file(imap, 5, part, staging / "body.txt", Budget(1 << 20, 1), chunk)
    assert target.read_bytes() == QP_TEXT.replace(b"\n", b"\r\n")


def test_quoted_printable_endless_line_keeps_memory_bounded():
    decoder = _QuotedPrintableDecoder(max_carry=64)
    encoded = (b"=D0=A1" * 1000 + b"=\r\n") * 3
    out = bytearray()
    for start in range(0, len(encoded), 50):
        out += b"".join(decoder.feed(encoded[start : start + 50]))
        assert len(decoder.carry) <= 64 + 50
    out += b"".join(decoder.finish())
    assert bytes(out) == "С".encode() * 3000


@pytest.mark.parametrize("encoding", ["7bit", "8bit", "binary", "x-unknown", ""])
def test_identity_encodings_are_written_as_is(staging, encoding):
    body = "Счёт\r\n".encode() * 50
    imap = PartialFetchImap(1, {"1": body})
    target = fetch_part_to_file(imap, 1, Part("1", "text/plain", encoding=encoding), staging / "t", Budget(1000, 1), 7)
    assert target.read_bytes() == body


def test_budget_overflow_stops_the_download_and_removes_the_file(staging):
    imap = PartialFetchImap(1, {"2": base64_body(PAYLOAD)})
    budget = Budget(max_bytes=len(PAYLOAD) - 1, max_files=1)
    with pytest.raises(BudgetExceeded, match=f"more than {len(PAYLOAD) - 1} bytes"):
        fetch_part_to_file(imap, 1, Part("2", "application/pdf", encoding="base64"), staging / "big.pdf", budget, 64)
    assert not (staging / "big.pdf").exists()
    assert len(imap.requests) < len(imap.bodies["2"]) // 64 + 2


def test_file_budget_is_checked_before_creating_the_file(staging):
    imap = PartialFetchImap(1, {"1": b"x"})
    with pytest.raises(BudgetExceeded):
        fetch_part_to_file(imap, 1, Part("1", "text/plain"), staging / "x", Budget(10, 0))
    assert not (staging / "x").exists() and imap.requests == []


def test_existing_target_is_neither_overwritten_nor_removed(staging):
    (staging / "x").write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        fetch_part_to_file(PartialFetchImap(1, {"1": b"new"}), 1, Part("1", "text/plain"), staging / "x", Budget(10, 1))
    assert (staging / "x").read_bytes() == b"keep"


def test_vanished_mail_raises_fetch_error_and_removes_the_file(staging):
    with pytest.raises(FetchError, match="UID 7"):
        fetch_part_to_file(PartialFetchImap(1, {"1": b"x"}), 7, Part("1", "text/plain"), staging / "x", Budget(10, 1))
    assert not (staging / "x").exists()


def test_server_ignoring_the_range_raises_fetch_error(staging):
    imap = PartialFetchImap(1, {"1": b"x" * 100}, ignore_range=True)
    with pytest.raises(FetchError, match="100 bytes for a 10-byte range"):
        fetch_part_to_file(imap, 1, Part("1", "text/plain"), staging / "x", Budget(1000, 1), chunk=10)


@pytest.mark.parametrize("section", ["", "0", "1.", "1]<0.1>) (BODY[2", "1\r\nA1 LOGOUT", "HEADER", "1.0"])
def test_only_part_numbers_reach_the_imap_command(staging, section):
    imap = PartialFetchImap(1, {"1": b"x"})
    budget = Budget(10, 1)
    with pytest.raises(ValueError, match="not an IMAP part section"):
        fetch_part_to_file(imap, 1, Part(section, "text/plain"), staging / "x", budget)
    with pytest.raises(ValueError, match="not an IMAP part section"):
        fetch_part_bytes(imap, 1, Part(section, "text/plain"), limit=10)
    assert imap.requests == [] and not (staging / "x").exists() and budget.files_used == 0


def test_fetch_part_bytes_decodes_small_parts_and_refuses_big_ones():
    encoded = quopri.encodestring("Счёт".encode())
    imap = PartialFetchImap(1, {"1": encoded}, noise=False)
    part = Part("1", "text/plain", "utf-8", "quoted-printable", len(encoded))
    assert decode_text(fetch_part_bytes(imap, 1, part, limit=100), part.charset) == "Счёт"
    with pytest.raises(ValueError, match="more than the 5 allowed"):
        fetch_part_bytes(imap, 1, part, limit=5)
    lying = Part("1", "text/plain", "utf-8", "7bit", size=1)
    with pytest.raises(BudgetExceeded):
        fetch_part_bytes(PartialFetchImap(1, {"1": b"y" * 5000}), 1, lying, limit=2000)


# --------------------------------------------------------------------------------------------------
# Against the real dovecot of the mail stand-in
# --------------------------------------------------------------------------------------------------

ACCOUNT = "robot@sandbox.test"
PASSWORD = "Pa55-" + uuid.uuid4().hex
CYRILLIC_NAME = "Счёт №42 за май.pdf"
BOGUS_MAIL = (
    b"From: =?x-bogus?q?Bank=FF?= <Boss@Bank.example>\r\nTo: robot@sandbox.test\r\n"
    b"Subject: =?x-bogus?q?hello=FF?= \xff\xfe\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n"
    b"--BB\r\nContent-Type: text/plain; charset=x-bogus\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"hi=3D=FF\r\n"
    b'--BB\r\nContent-Type: application/pdf; name="\xd0\xa1\xd1\x87\x00\\\\..\\\\x.pdf"\r\n'
    b"Content-Disposition: attachment; filename*=x-bogus''%FF%FE.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0x\r\nLjQK\r\n"
    b"--BB\r\nContent-Type: message/rfc822\r\n\r\nFrom: a@b.c\r\nSubject: inner\r\n\r\ninner body\r\n--BB--\r\n"
)


@pytest.fixture(scope="module")
def dovecot():
    """A running mail stand-in with one account, shared by the module (skipped without dovecot)."""
    if not Path("/usr/sbin/dovecot").exists():
        pytest.skip("dovecot is not installed")
    from sandbox.mail import MailServer
    from tests.support import world_traversable_folder

    folder = world_traversable_folder()
    try:
        with MailServer(folder / "mail", {ACCOUNT: PASSWORD}) as server:
            yield server
    finally:
        shutil.rmtree(folder)


def test_real_dovecot_responses_parse_and_stream(dovecot, tmp_path):
    from tests.support import send_mail

    token = uuid.uuid4().hex
    attachment = b"%PDF-1.4\n" + os.urandom(300_000) + b"\n%%EOF\n"
    message = EmailMessage()
    message["From"] = "Портал <Portal@Sandbox.test>"
    message["To"] = ACCOUNT
    message["Subject"] = f"Счёт за май {token}"
    message.set_content("Добрый день! Счёт во вложении.\n" * 20, cte="quoted-printable")
    message.add_alternative("<p>Добрый день!</p>", subtype="html")
    message.add_attachment(attachment, maintype="application", subtype="pdf", filename=CYRILLIC_NAME)
    send_mail(dovecot.host, dovecot.smtp_port, message)
    with smtplib.SMTP(dovecot.host, dovecot.smtp_port, timeout=10) as smtp:
        smtp.sendmail("boss@bank.example", [ACCOUNT], BOGUS_MAIL.replace(b"Subject: ", f"Subject: {token} ".encode()))

    context = ssl.create_default_context(cafile=dovecot.ca_file)
    with imaplib.IMAP4_SSL(dovecot.host, dovecot.imap_port, ssl_context=context) as imap:
        imap.login(ACCOUNT, PASSWORD)
        imap.select("INBOX", readonly=True)
        status, found = imap.uid("SEARCH", None, "SUBJECT", token)
        assert status == "OK"
        good_uid, bogus_uid = sorted(int(uid) for uid in found[0].split())
        status, data = imap.uid("FETCH", f"{good_uid},{bogus_uid},{bogus_uid + 1000}", FETCH_ITEMS)
        assert status == "OK"
        facts = parse_fetch(data)
        assert sorted(facts) == [good_uid, bogus_uid]

        good = facts[good_uid]
        assert good["size"] > len(attachment) and good["internaldate"].tzinfo is not None
        assert "\\Seen" not in good["flags"]
        assert header_facts(good["header"])["subject"] == f"Счёт за май {token}"
        assert header_facts(good["header"])["from"] == "portal@sandbox.test"
        plain, html, pdf = leaf_parts(good["bodystructure"])
        assert (plain.section, plain.content_type, plain.encoding) == ("1.1", "text/plain", "quoted-printable")
        assert (html.section, html.content_type) == ("1.2", "text/html")
        assert (pdf.section, pdf.filename, pdf.disposition) == ("2", CYRILLIC_NAME, "attachment")
        assert pdf.encoding == "base64"
        text = decode_text(fetch_part_bytes(imap, good_uid, plain, limit=10_000), plain.charset)
        assert text.replace("\r\n", "\n") == "Добрый день! Счёт во вложении.\n" * 20
        budget = Budget(max_bytes=1 << 20, max_files=5)
        target = tmp_path / safe_file_name(pdf.filename, "part-2.pdf")
        fetch_part_to_file(imap, good_uid, pdf, target, budget, chunk=65_537)
        assert target.read_bytes() == attachment
        with pytest.raises(BudgetExceeded):
            fetch_part_to_file(imap, good_uid, pdf, tmp_path / "small.pdf", Budget(100_000, 1), chunk=65_537)
        assert not (tmp_path / "small.pdf").exists()

        bogus = facts[bogus_uid]
        header = header_facts(bogus["header"])
        assert header["from"] == "boss@bank.example"
        assert header["subject"] == f"{token} hello\ufffd ÿþ"
        # dovecot sends the 8-bit content-type name (NUL turned into U+FFFD) as a literal, not a quoted string.
        assert bogus["bodystructure"][1][2] == ["name", "Сч\ufffd\\..\\x.pdf".encode()]
        text_part, pdf_part, embedded = leaf_parts(bogus["bodystructure"])
        assert (text_part.charset, decode_text(fetch_part_bytes(imap, bogus_uid, text_part, 100), "x-bogus")) == (
            "x-bogus",
            "hi=\ufffd",
        )
        assert pdf_part.filename == "\ufffd\ufffd.pdf"
        assert fetch_part_to_file(imap, bogus_uid, pdf_part, tmp_path / "b.pdf", Budget(100, 1)).read_bytes() == (
            b"%PDF-1.4\n"
        )
        assert (embedded.section, embedded.content_type, embedded.is_attachment) == ("3", "message/rfc822", True)
        inner = fetch_part_bytes(imap, bogus_uid, embedded, limit=1000)
        assert inner.startswith(b"From: a@b.c\r\n") and inner.endswith(b"inner body")

        status, data = imap.uid("FETCH", f"{good_uid},{bogus_uid}", "(FLAGS)")
        assert all("\\Seen" not in mail["flags"] for mail in parse_fetch(data).values()), "PEEK keeps mail unread"


def test_mutated_responses_never_raise():
    """Seeded mutations of the responses above: parsing may lose a mail, but never raises."""
    import random

    rng = random.Random(20261125)
    alphabet = [b"(", b")", b'"', b"\\", b" ", b"NIL", b"{3}", b"\x00", b"\xff", b"=?x-bogus?q?=FF?=", b"*", b"'"]
    samples = [SINGLE_TEXT, MIXED_WITH_PDF, NESTED_ALTERNATIVE, LITERAL_FILENAME, NIL_EVERYWHERE, EMBEDDED_MESSAGE]
    for _ in range(3000):
        data = []
        for element in rng.choice(samples):
            text = bytearray(element[0] if isinstance(element, tuple) else element)
            for _ in range(rng.randint(1, 4)):
                position = rng.randrange(len(text) + 1)
                if rng.random() < 0.5 and text:
                    del text[position : position + rng.randint(1, 8)]
                else:
                    text[position:position] = rng.choice(alphabet)
            data.append((bytes(text), element[1]) if isinstance(element, tuple) else bytes(text))
        for facts in parse_fetch(data).values():
            header_facts(facts["header"])
            for part in leaf_parts(facts["bodystructure"]):
                assert "/" not in safe_file_name(part.filename, "part.bin")
                assert part.is_attachment in (True, False)
