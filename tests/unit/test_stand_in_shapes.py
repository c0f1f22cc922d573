"""The stand-in sends call details in the real shapes (shared/domain/real-documents.md).

Read here with the standard library only (xml.etree, html.parser, string
checks), never with the robot's reader, so that writer and reader stay
independent.
"""

from __future__ import annotations

import email
import io
import re
import socket
import xml.etree.ElementTree as ET
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from email import policy
from html.parser import HTMLParser
from itertools import product

import pytest
from aiosmtpd.controller import Controller

import sandbox.__main__ as sandbox_main
import sandbox.stack as stack
from sandbox.call_details import (
    DATA_SERVICES,
    FEE_SERVICE,
    HTML_COLUMNS,
    SERVICES,
    XML_ACCOUNT_WIDE,
    XML_PERIOD_ON_DS,
    XML_PERSONAL_ACCOUNT,
    XML_SCHEMA,
    XML_TYPE,
    XML_VARIANTS,
    generate_events,
    is_busy,
    render_call_details,
    subscription_fee,
    xml_variant,
)
from sandbox.dataset import generate
from sandbox.portal import create_app
from sandbox.portal.views import LOGIN_FIELDS
from tests.support import NotStartedMail, sandbox_options_from

SEED = 1
LOGINS = generate(SEED)
LOGIN = LOGINS[0]
START, END = date(2026, 10, 1), date(2026, 10, 31)
RU_DATE = "%d.%m.%Y"
MONEY4 = re.compile(r"-?\d+,\d{4}")
ICCID = re.compile(r"8970\d{16}")


def _account_with_busy_number():
    """The first account of the first login with a busy number, and that number."""
    for account in LOGIN.accounts:
        for subscriber in account.subscribers:
            if is_busy(account, subscriber, SEED):
                return account, subscriber
    raise AssertionError("the data set has no busy number")


ACCOUNT, BUSY = _account_with_busy_number()
SUBSCRIBERS = ACCOUNT.subscribers[:3]


def ru(day: date) -> str:
    return day.strftime(RU_DATE)


def money(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


# --- HTML ---------------------------------------------------------------------


class TableRows(HTMLParser):
    """Every table row as the texts of its own cells (text goes to the innermost open cell)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.open_rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.cells: list[list[str]] = []
        self.title = ""
        self.in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.open_rows.append([])
        elif tag == "td" and self.open_rows:
            self.cells.append([])
        elif tag == "title":
            self.in_title = True

    def handle_endtag(self, tag):
        if tag == "td" and self.cells:
            self.open_rows[-1].append(" ".join("".join(self.cells.pop()).split()))
        elif tag == "tr" and self.open_rows:
            self.rows.append(self.open_rows.pop())
        elif tag == "title":
            self.in_title = False

    def handle_data(self, data):
        if self.in_title:
            self.title += data
        elif self.cells:
            self.cells[-1].append(data)


def html_rows(data: bytes) -> TableRows:
    parser = TableRows()
    parser.feed(data.decode("utf-8-sig"))
    parser.close()
    return parser


def html_sections(rows: list[list[str]]) -> dict[str, list[list[str]]]:
    """Each number's rows between its «Сетевой ресурс» row and its «Итого:» row (both included)."""
    sections, current = {}, None
    for row in rows:
        if row and row[0].startswith("Сетевой ресурс"):
            current = row[0].split()[-1]
            sections[current] = []
        if current is not None:
            sections[current].append(row)
        if row and row[0] == "Итого:":
            current = None
    return sections


@pytest.fixture(scope="module")
def html_page():
    return render_call_details(LOGIN, ACCOUNT, SUBSCRIBERS, START, END, "HTML", SEED)


def test_html_is_built_as_the_real_xslt_output(html_page):
    assert html_page.startswith(b"\xef\xbb\xbf<html")
    text = html_page.decode("utf-8-sig")
    assert "<!DOCTYPE" not in text.upper()
    assert text.startswith('<html xmlns="http://www.w3.org/1999/xhtml"')
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    assert html_rows(html_page).title == f"Детализация за период с {ru(START)} по {ru(END)}"


def test_html_heading_is_split_over_two_rows(html_page):
    rows = html_rows(html_page).rows
    index = rows.index(["Оказанные услуги связи"])
    assert rows[index + 1] == [f"за период с {ru(START)} по {ru(END)}"]
    assert f"Оказанные услуги связи за период с {ru(START)}" not in html_page.decode("utf-8-sig")


def test_html_number_heading_has_the_resource_and_the_sim_serial(html_page):
    rows = html_rows(html_page).rows
    headings = [row for row in rows if row and row[0].startswith("Сетевой ресурс")]
    assert [row[0] for row in headings] == [f"Сетевой ресурс {s.number}" for s in SUBSCRIBERS]
    for row, subscriber in zip(headings, SUBSCRIBERS, strict=True):
        assert len(row) == 2
        label, _, serial = row[1].rpartition(" ")
        assert label == "Номер SIM карты /Виртуальный Номер:"
        assert ICCID.fullmatch(serial) and serial == subscriber.sim and len(serial) == 20


def test_html_column_header_has_ten_cells_one_empty(html_page):
    rows = html_rows(html_page).rows
    headers = [row for row in rows if row and row[0] == "Дата"]
    assert len(headers) == len(SUBSCRIBERS)
    for row in headers:
        assert len(row) == 10 and tuple(row) == HTML_COLUMNS
        assert row == [
            "Дата", "Время", "GMT*", "Номер", "Зона вызова", "Зона направления вызова/номер сессии", "Услуга", "",
            "Длительность/Объем (мин.:сек.)/(Kb)", "Стоимость руб. без НДС",
        ]


def test_html_event_rows_have_gmt_unpadded_hours_four_decimal_money_and_empty_zones(html_page):
    sections = html_sections(html_rows(html_page).rows)
    assert list(sections) == [s.number for s in SUBSCRIBERS]
    hours, zones = [], []
    for subscriber in SUBSCRIBERS:
        events = [row for row in sections[subscriber.number] if re.fullmatch(r"\d\d\.\d\d\.\d{4}", row[0])]
        expected = generate_events(ACCOUNT, subscriber, START, END, SEED)
        assert len(events) == len(expected)
        for row, event in zip(events, expected, strict=True):
            assert len(row) >= 10
            day = datetime.strptime(row[0], RU_DATE).date()
            assert START <= day <= END
            assert re.fullmatch(r"\d{1,2}:\d\d:\d\d", row[1]) and not row[1].startswith("0")
            assert re.fullmatch(r"[+-]\d\d:\d\d", row[2]) and row[2] == event.gmt
            assert (row[3], row[6], row[8]) == (event.other, event.service, event.amount)
            assert MONEY4.fullmatch(row[9]) and money(row[9]) == event.cost
            assert " " not in row[9] and "." not in row[9]
            hours.append(row[1])
            zones.append(row[4])
    assert any(re.match(r"\d:", hour) for hour in hours), "some hours have one digit"
    assert "+03:00" in html_page.decode("utf-8-sig")
    assert "" in zones, "zones are often empty"


def test_html_total_includes_charges_without_events(html_page):
    sections = html_sections(html_rows(html_page).rows)
    for subscriber in SUBSCRIBERS:
        total_row = sections[subscriber.number][-1]
        assert total_row[0] == "Итого:" and len(total_row) == 2 and MONEY4.fullmatch(total_row[1])
        events = generate_events(ACCOUNT, subscriber, START, END, SEED)
        event_sum = sum((event.cost for event in events), Decimal(0))
        fee = subscription_fee(ACCOUNT, subscriber, START, END, SEED)
        assert fee > 0
        assert money(total_row[1]) == event_sum + fee != event_sum


def test_html_ends_with_the_time_zone_note_and_foris(html_page):
    rows = html_rows(html_page).rows
    texts = [" ".join(row) for row in rows if any(row)]
    assert texts[-2:] == ["* - Часовой пояс места оказания услуги", "FORIS OSS"]


# --- XML ----------------------------------------------------------------------


def orders():
    """Candidate orders: every account's first one, two or all numbers, for each month of 2026."""
    for login, month in product(LOGINS, range(1, 13)):
        first = date(2026, month, 1)
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        for account in login.accounts:
            for count in sorted({1, 2, len(account.subscribers)}):
                yield login, account, account.subscribers[:count], first, last


def order_for(variant: str):
    """The first candidate order that gets ``variant``."""
    for login, account, subscribers, first, last in orders():
        if xml_variant(SEED, account, subscribers, first, last) == variant:
            return login, account, subscribers, first, last
    raise AssertionError(f"no order gets the XML variant {variant}")


def xml_of(variant: str):
    """The XML of an order that gets ``variant``: its root, raw bytes and the order."""
    login, account, subscribers, first, last = order_for(variant)
    data = render_call_details(login, account, subscribers, first, last, "XML", SEED)
    return ET.fromstring(data), data, (account, subscribers, first, last)


def number_sections(root: ET.Element) -> list[ET.Element]:
    return [ds for ds in root.findall("ds") if re.fullmatch(r"7\d{10}", ds.get("n", ""))]


def test_every_xml_variant_is_given_to_some_order():
    given = {xml_variant(SEED, account, subs, first, last) for _, account, subs, first, last in orders()}
    assert given == set(XML_VARIANTS)


@pytest.mark.parametrize("variant", XML_VARIANTS)
def test_each_xml_variant_lists_exactly_the_ordered_numbers_and_their_events_in_the_period(variant):
    root, _, (account, subscribers, first, last) = xml_of(variant)
    assert root.tag == "Report" and root.get("layerType") == "OldCompatible"
    sections = number_sections(root)
    assert [ds.get("n") for ds in sections] == [s.number for s in subscribers]
    for ds, subscriber in zip(sections, subscribers, strict=True):
        assert ds.get("sim") == subscriber.sim and ICCID.fullmatch(ds.get("sim"))
        events = generate_events(account, subscriber, first, last, SEED)
        items = ds.findall("i")
        assert len(items) == len(events)
        for item, event in zip(items, events, strict=True):
            moment = datetime.strptime(item.get("d"), "%d.%m.%Y %H:%M:%S")
            assert moment == event.at and first <= moment.date() <= last
            assert (item.get("n"), item.get("s"), item.get("du")) == (event.other, event.service, event.amount)


def test_the_schema_variant_is_the_documented_one():
    root, data, (_, _, first, last) = xml_of(XML_SCHEMA)
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<Report layerType="OldCompatible" version="2">')
    assert root.find("b").attrib == {"sd": ru(first), "ed": ru(last)}
    for ds in number_sections(root):
        assert ds.get("pt") == "Сетевой ресурс" and ds.get("type") is None
        assert all(item.get("f") is not None for item in ds.iter("i"))


def test_the_period_on_ds_variant_has_no_b():
    root, _, (_, _, first, last) = xml_of(XML_PERIOD_ON_DS)
    assert root.find("b") is None
    sections = number_sections(root)
    assert sections and all((ds.get("sd"), ds.get("ed")) == (ru(first), ru(last)) for ds in sections)


def test_the_type_variant_names_the_type_with_type_in_windows_1251():
    root, data, _ = xml_of(XML_TYPE)
    assert data.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
    assert "Сетевой ресурс".encode("cp1251") in data and "Сетевой ресурс".encode() not in data
    for ds in number_sections(root):
        assert ds.get("type") == "Сетевой ресурс" and ds.get("pt") is None


def test_the_personal_account_variant_puts_the_account_on_b():
    root, _, (account, _, first, last) = xml_of(XML_PERSONAL_ACCOUNT)
    assert root.find("b").attrib == {"an": account.number, "sd": ru(first), "ed": ru(last)}


def test_the_account_wide_variant_has_subscribers_summaries_and_a_ds_that_is_no_number():
    root, _, (account, subscribers, first, last) = xml_of(XML_ACCOUNT_WIDE)
    assert root.find("b").get("an") == account.number
    assert [(tp.get("n"), tp.get("u"), tp.get("sim")) for tp in root.findall("tp")] == [
        (s.number, s.full_name, s.sim) for s in subscribers
    ]
    for ds, subscriber in zip(number_sections(root), subscribers, strict=True):
        summaries = ds.findall("ss")
        events = generate_events(account, subscriber, first, last, SEED)
        assert sum(int(ss.get("k")) for ss in summaries) == len(events)
        assert {ss.get("s") for ss in summaries} == {event.service for event in events}
    others = [ds for ds in root.findall("ds") if ds not in number_sections(root)]
    assert [ds.get("n") for ds in others] == [FEE_SERVICE]
    assert not re.search(r"\d", others[0].get("n"))


@pytest.mark.parametrize("variant", [v for v in XML_VARIANTS if v != XML_SCHEMA])
def test_other_variants_carry_billing_time_zone_and_currency_and_f_only_when_charged(variant):
    root, _, _ = xml_of(variant)
    items = [item for ds in number_sections(root) for item in ds.findall("i")]
    assert items
    for item in items:
        assert re.fullmatch(r"[+-]\d\d:\d\d", item.get("gmt"))
        assert item.get("bd") and item.get("cur") and item.get("a") is not None
    free = [item for item in items if item.get("c") == "0"]
    assert free and all(item.get("f") is None for item in free)


def test_an_order_gets_every_variant_over_five_months():
    """As the acceptance run orders XML for the last closed month, its variant changes month by month."""
    for login, account, subscribers, _, _ in orders():
        if login is not LOGIN:
            continue
        seen = set()
        for month in range(6, 11):
            first = date(2026, month, 1)
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            seen.add(xml_variant(SEED, account, subscribers, first, last))
        assert seen == set(XML_VARIANTS)


def test_the_variant_is_deterministic_and_follows_the_order():
    numbers = [s.number for s in SUBSCRIBERS]
    variant = xml_variant(SEED, ACCOUNT, numbers, START, END)
    assert xml_variant(SEED, ACCOUNT.number, list(reversed(numbers)), START, END) == variant
    assert xml_variant(SEED, ACCOUNT, SUBSCRIBERS, START, END) == variant
    default = render_call_details(LOGIN, ACCOUNT, SUBSCRIBERS, START, END, "XML", SEED)
    assert default == render_call_details(LOGIN, ACCOUNT, SUBSCRIBERS, START, END, "XML", SEED, variant=variant)
    with pytest.raises(ValueError, match="variant must be one of"):
        render_call_details(LOGIN, ACCOUNT, SUBSCRIBERS, START, END, "XML", SEED, variant="csv")


# --- events -------------------------------------------------------------------


def test_events_use_the_real_service_codes_and_other_parties():
    events = [
        event
        for account in LOGIN.accounts
        for subscriber in account.subscribers
        for event in generate_events(account, subscriber, START, END, SEED)
    ]
    assert {event.service for event in events} == set(SERVICES)
    assert "hsdpa" in SERVICES
    others = [event.other for event in events]
    assert any(re.fullmatch(r"<--sms:\S+", other) for other in others)
    assert any(re.fullmatch(r"<--79\d{9}", other) for other in others)
    assert any(re.fullmatch(r"<--\+79\d{9}", other) for other in others)
    assert any(re.fullmatch(r"\d{3,4}", other) for other in others), "short numbers"
    assert any(event.zone == "" for event in events)
    assert any(event.zone == "VoLTE" for event in events if event.service == "Телеф.")
    assert all(event.other == "internet.mts.ru" for event in events if event.service in DATA_SERVICES)


def test_events_stay_inside_the_period_and_belong_to_the_number():
    for first, last in ((START, END), (date(2026, 10, 5), date(2026, 10, 5)), (date(2026, 9, 20), date(2026, 10, 9))):
        for size in (None, 500):
            events = generate_events(ACCOUNT, BUSY, first, last, SEED, size)
            assert all(first <= event.at.date() <= last for event in events)
            assert {event.number for event in events} <= {BUSY.number}


# --- document size ------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 2500])
def test_document_size_gives_that_many_events_per_number(size):
    for subscriber in SUBSCRIBERS:
        assert len(generate_events(ACCOUNT, subscriber, START, END, SEED, size)) == size
    root = ET.fromstring(render_call_details(LOGIN, ACCOUNT, SUBSCRIBERS, START, END, "XML", SEED,
                                             document_size=size))
    assert [len(ds.findall("i")) for ds in number_sections(root)] == [size] * len(SUBSCRIBERS)
    page = render_call_details(LOGIN, ACCOUNT, SUBSCRIBERS, START, END, "HTML", SEED, document_size=size)
    sections = html_sections(html_rows(page).rows)
    counts = [sum(1 for row in sections[s.number] if re.fullmatch(r"\d\d\.\d\d\.\d{4}", row[0])) for s in SUBSCRIBERS]
    assert counts == [size] * len(SUBSCRIBERS)


def test_document_size_is_deterministic_and_the_default_is_the_usual_count():
    big = render_call_details(LOGIN, ACCOUNT, SUBSCRIBERS, START, END, "HTML", SEED, document_size=3000)
    assert big == render_call_details(LOGIN, ACCOUNT, SUBSCRIBERS, START, END, "HTML", SEED, document_size=3000)
    assert big != render_call_details(LOGIN, ACCOUNT, SUBSCRIBERS, START, END, "HTML", SEED, document_size=3001)
    usual = render_call_details(LOGIN, ACCOUNT, SUBSCRIBERS, START, END, "HTML", SEED)
    assert usual == render_call_details(LOGIN, ACCOUNT, SUBSCRIBERS, START, END, "HTML", SEED, document_size=None)
    assert len(big) > 3 * len(usual)
    with pytest.raises(ValueError, match="document_size"):
        generate_events(ACCOUNT, BUSY, START, END, SEED, -1)


def test_the_command_line_takes_document_size():
    args = sandbox_main.parse_args(["--data-dir", "d", "--env-file", "e"])
    assert args.document_size is None
    args = sandbox_main.parse_args(["--data-dir", "d", "--env-file", "e", "--document-size", "20000"])
    assert args.document_size == 20000
    for bad in ("-1", "many"):
        with pytest.raises(SystemExit):
            sandbox_main.parse_args(["--data-dir", "d", "--env-file", "e", "--document-size", bad])


def test_main_passes_document_size_into_the_sandbox_options(monkeypatch, tmp_path):
    assert sandbox_options_from(monkeypatch, tmp_path, "--document-size", "77").document_size == 77


def test_sandbox_options_reach_the_portal(monkeypatch, tmp_path):
    monkeypatch.setattr(stack, "MailServer", NotStartedMail)
    running = stack.Sandbox(stack.SandboxOptions(data_dir=tmp_path / "data", document_size=1234)).start()
    try:
        assert running.portal_app.extensions["portal"].document_size == 1234
    finally:
        running.stop()
    portal = create_app(LOGINS, {}, smtp_host="h", smtp_port=1, data_dir=tmp_path / "p").extensions["portal"]
    portal.shutdown()
    assert portal.document_size is None


# --- the whole way through the portal -----------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def test_a_large_document_travels_zipped_from_the_portal(tmp_path, smtp):
    port, inbox = smtp
    passwords = {LOGIN.login: "секрет"}
    size = 4000
    app = create_app(LOGINS, passwords, smtp_host="127.0.0.1", smtp_port=port, delivery_delay=0.05,
                     data_dir=tmp_path, zip_above_bytes=100_000, document_size=size, today=lambda: date(2026, 11, 15))
    try:
        client = app.test_client()
        form = {LOGIN_FIELDS["login"]: LOGIN.login, LOGIN_FIELDS["password"]: "секрет"}
        assert client.post("/selfcare/login", data=form).status_code == 302
        numbers = [s.number for s in SUBSCRIBERS]
        assert client.post("/selfcare/api/selection", json={"add": {"numbers": numbers}}).status_code == 200
        answer = client.post("/selfcare/api/orders", json={
            "document": "call_details", "period_from": "01.10.2026", "period_to": "31.10.2026",
            "email": "robot@example.com", "format": "HTML", "accept": True,
        })
        assert answer.status_code == 201, answer.get_data(as_text=True)
        assert app.extensions["portal"].wait_deliveries(60)
    finally:
        app.extensions["portal"].shutdown()
    (message,) = inbox.messages
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "application/zip"
    with zipfile.ZipFile(io.BytesIO(attachment.get_payload(decode=True))) as archive:
        (member,) = archive.infolist()
        page = archive.read(member)
    assert page == render_call_details(LOGIN, ACCOUNT, SUBSCRIBERS, START, END, "HTML", SEED, document_size=size)
    sections = html_sections(html_rows(page).rows)
    assert list(sections) == numbers
    for number in numbers:
        assert sum(1 for row in sections[number] if re.fullmatch(r"\d\d\.\d\d\.\d{4}", row[0])) == size
