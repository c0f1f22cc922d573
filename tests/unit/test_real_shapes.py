"""The robot's reader accepts every shape of shared/domain/real-documents.md, and refuses what was not ordered.

Every document here is written by the test itself (HTML and XML as strings,
PDF with fpdf), independent of the stand-in's generator.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from fpdf import FPDF

from libraries.call_details import (
    CallDetails,
    check_call_details,
    detect_format,
    read_call_details,
    subscriber_number,
)
from libraries.documents import DocumentCheckError
from tests.support import FONT

# --- HTML: the real file (2017, one number) --------------------------------------

NUMBER = "79120123000"
ICCID = "89700003027701200111"
HEADER_CELLS = (
    "Дата", "Время", "GMT*", "Номер", "Зона вызова", "Зона направления вызова/номер сессии", "Услуга", "",
    "Длительность/Объем (мин.:сек.)/(Kb)", "Стоимость руб. без НДС",
)
EVENTS = [
    # date, time, gmt, other, zone, direction, service, amount, cost
    ("01.05.2017", "7:53:01", "+05:00", "79120000000", "", "", "Телеф.", "0:11", "0,0000"),
    ("01.05.2017", "8:02:44", "+05:00", "<--+79120000000", "", "", "Телеф.", "1:05", "0,0000"),
    ("02.05.2017", "12:00:00", "+05:00", "<--79510000000", "Екатеринбург", "", "Телеф.", "2:30", "0,0000"),
    ("03.05.2017", "9:15:27", "+05:00", "<--sms:SMS.RU", "", "", "sms i", "1", "0,0000"),
    ("03.05.2017", "9:16:00", "+05:00", "<--sms:3339", "", "", "sms i", "1", "0,0000"),
    ("04.05.2017", "10:00:00", "+05:00", "<--MTC", "", "", "sms i", "1", "0,0000"),
    ("04.05.2017", "10:05:00", "+05:00", "<--900", "", "", "sms i", "1", "0,0000"),
    ("05.05.2017", "0:24:32", "+05:00", "internet.mts.ru", "", "7206856", "gprs", "250", "0,0000"),
    ("05.05.2017", "1:00:00", "+05:00", "internet.mts.ru", "", "", "hsdpa", "1024", "0,1500"),
    ("06.05.2017", "11:11:11", "+05:00", "0890", "", "", "Телеф.", "3:00", "0,0000"),
    ("06.05.2017", "11:12:00", "+05:00", "3339", "", "", "sms o", "1", "1,5000"),
    ("07.05.2017", "13:00:00", "+05:00", "79120000001", "", "", "cw", "0:01", "0,0000"),
    ("07.05.2017", "13:01:00", "+05:00", "79120000001", "", "", "ch", "0:01", "0,0000"),
    ("07.05.2017", "13:02:00", "+05:00", "79120000001", "", "", "ct", "0:01", "0,0000"),
    ("08.05.2017", "14:00:00", "+05:00", "79120000002", "", "", "mms i", "1", "0,0000"),
    ("08.05.2017", "14:01:00", "+05:00", "79120000002", "", "", "mms o", "1", "6,5000"),
    ("09.05.2017", "15:00:00", "+05:00", "internet.mts.ru", "", "", "HSDPA (3G)", "100", "0,0000"),
    ("09.05.2017", "15:30:00", "+05:00", "internet.mts.ru", "", "", "Данные", "100", "0,0000"),
    ("10.05.2017", "16:00:00", "+05:00", "79120000003", "", "", "clip", "1", "0,0000"),
    ("10.05.2017", "16:01:00", "+05:00", "*100#", "", "", "ussd", "1", "0,0000"),
    ("17.08.2017", "23:59:59", "+03:00", "internet.mts.ru", "Москва", "", "4G", "12", "0,0000"),
]
"""Events of the real HTML: every kind of other party and service seen; not the whole period (from 01.05)."""
TOTAL = "1519,0785"
"""«Итого:» of the real file: more than the events' sum (fees without events are in it)."""


def _td(text: str = "", attributes: str = "") -> str:
    return f"<td{attributes}>{text}</td>"


def real_html(
    events=EVENTS,
    period=("15.02.2017", "17.08.2017"),
    number=NUMBER,
    title=True,
    heading=True,
    header_cells=HEADER_CELLS,
    encoding="utf-8",
) -> bytes:
    """The real HTML call details: BOM, CRLF, XSLT's xmlns, no DOCTYPE, nested tables, split heading."""
    start, end = period
    rows = []
    for index, event in enumerate(events):
        date_cell, time_cell, gmt, other, zone, direction, service, amount, cost = event
        cells = [date_cell, time_cell, gmt, other.replace("<", "&lt;"), zone, direction, service, "", amount, cost]
        before, after = ("", "") if index % 3 == 0 else ("<td></td>", "") if index % 3 == 1 else ("", "<td></td>" * 2)
        rows.append("<tr>" + before + "".join(_td(cell) for cell in cells) + after + "</tr>")
    lines = [
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:fo="http://www.w3.org/1999/XSL/Format">',
        "<head>",
        f'<META http-equiv="Content-Type" content="text/html; charset={encoding}">',
        f"<title>Детализация за период с {start} по {end}</title>" if title else "<title>Детализация</title>",
        "</head>",
        "<body>",
        '<table width="100%"><tr><td>',
        '<table width="100%">',
        f"<tr>{_td('<b>Оказанные услуги связи</b>')}</tr>" if heading else "<tr><td>МТС</td></tr>",
        f"<tr>{_td(f'за период с {start} по {end}')}</tr>" if heading else "",
        "</table>",
        "</td></tr>",
        "<tr><td>",
        '<table border="1">',
        f"<tr>{_td(f'Сетевой ресурс {number}', ' colspan=4')}"
        f"{_td(f'Номер SIM карты /Виртуальный Номер: {ICCID}', ' colspan=6')}</tr>",
        "<tr>" + "".join(_td(cell, ' class="n"') for cell in header_cells) + "</tr>",
        *rows,
        f"<tr>{_td('Итого:', ' colspan=9')}{_td(TOTAL)}</tr>",
        "</table>",
        "</td></tr>",
        "<tr><td>* - Часовой пояс места оказания услуги</td></tr>",
        "<tr><td>FORIS OSS</td></tr>",
        "</table>",
        "</body>",
        "</html>",
        "",
    ]
    text = "\r\n".join(lines)
    return (b"\xef\xbb\xbf" if encoding == "utf-8" else b"") + text.encode(encoding)


@pytest.fixture
def write(tmp_path):
    """Write bytes (or text as UTF-8) to a file of the given name in a fresh folder; return its path."""
    def write_file(name, data):
        path = tmp_path / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path
    return write_file


def test_the_real_html_is_read_with_its_number_period_events_and_total(write):
    path = write("Детализация.html", real_html())
    assert detect_format(path) == "html"
    document = read_call_details(path)
    assert document.format == "html"
    assert (document.period_from, document.period_to) == (date(2017, 2, 15), date(2017, 8, 17))
    assert list(document.numbers) == [NUMBER]  # the SIM serial is not a number
    assert document.counts == {NUMBER: len(EVENTS)}
    assert document.total == Decimal("1519.0785")
    events = document.numbers[NUMBER]
    assert sum(event["cost"] for event in events) != document.total
    assert events[0] == {
        "at": datetime(2017, 5, 1, 7, 53, 1), "other": "79120000000", "service": "Телеф.", "amount": "0:11",
        "cost": Decimal("0.0000"), "cost_vat": None,
    }
    assert [event["other"] for event in events] == [event[3] for event in EVENTS]
    assert [event["service"] for event in events] == [event[6] for event in EVENTS]
    assert [event["amount"] for event in events] == [event[7] for event in EVENTS]
    assert events[8]["cost"] == Decimal("0.15")
    assert (document.earliest, document.latest) == (
        (datetime(2017, 5, 1, 7, 53, 1), NUMBER), (datetime(2017, 8, 17, 23, 59, 59), NUMBER)
    )


def test_the_real_html_is_accepted_as_ordered(write):
    path = write("d.html", real_html())
    document = check_call_details(path, [NUMBER], "2017-02-15", "2017-08-17", "HTML")
    assert document.counts == {NUMBER: len(EVENTS)} and document.quiet == []
    assert document.numbers == {NUMBER: []}  # a check keeps counts, not events
    check_call_details(path, [f"+{NUMBER}"], "15.02.2017", "17.08.2017", "html", account="277300018417")


def test_the_real_html_is_refused_for_another_number_naming_it(write):
    path = write("d.html", real_html())
    with pytest.raises(DocumentCheckError, match=re.escape(
        f"d.html lists numbers that were not ordered: unexpected {NUMBER}."
    )):
        check_call_details(path, ["79120123001"], "2017-02-15", "2017-08-17", "HTML")


def test_the_real_html_is_refused_for_another_period(write):
    path = write("d.html", real_html())
    with pytest.raises(DocumentCheckError, match=re.escape(
        "d.html covers 15.02.2017–17.08.2017, not the ordered period 01.05.2017–31.05.2017."
    )):
        check_call_details(path, [NUMBER], "2017-05-01", "2017-05-31", "HTML")


def test_an_html_event_outside_the_period_refuses_the_document(write):
    late = ("18.08.2017", "0:00:01", "+05:00", "79120000000", "", "", "Телеф.", "0:11", "0,0000")
    path = write("d.html", real_html(events=[*EVENTS, late]))
    with pytest.raises(DocumentCheckError, match=re.escape(
        f"d.html lists an event of number {NUMBER} on 18.08.2017 0:00:01, outside its period 15.02.2017–17.08.2017."
    )):
        check_call_details(path, [NUMBER], "2017-02-15", "2017-08-17", "HTML")


def test_the_title_states_the_period_when_the_heading_does_not(write):
    document = read_call_details(write("d.html", real_html(heading=False)))
    assert (document.period_from, document.period_to) == (date(2017, 2, 15), date(2017, 8, 17))


def test_the_heading_alone_states_the_period(write):
    document = read_call_details(write("d.html", real_html(title=False)))
    assert (document.period_from, document.period_to) == (date(2017, 2, 15), date(2017, 8, 17))


def test_a_page_whose_title_and_heading_disagree_is_refused(write):
    page = real_html().replace("<title>Детализация за период с 15.02.2017".encode(),
                               "<title>Детализация за период с 16.02.2017".encode())
    with pytest.raises(DocumentCheckError, match="states two periods: 15.02.2017–17.08.2017 in its heading"):
        read_call_details(write("d.html", page))


def test_an_html_page_without_any_period_is_refused(write):
    with pytest.raises(DocumentCheckError, match="d.html does not state its period"):
        read_call_details(write("d.html", real_html(title=False, heading=False)))


def test_columns_are_found_by_their_header_text_not_their_position(write):
    # another version: the time zone in the time's header, the number first, two money columns
    header = ("", "Номер", "Дата", "Время GMT*", "Услуга", "Длительность/Объем (мин.:сек.)/(Kb)",
              "Стоимость руб. без НДС", "Изм. баланса")
    rows = "".join(
        "<tr>" + "".join(_td(cell) for cell in cells) + "</tr>"
        for cells in (
            ("", "79120000000", "01.05.2017", "7:53:01", "Телеф.", "0:11", "1,0000", "1,2000"),
            ("79120000001", "01.05.2017", "19:00:00", "sms o", "1", "1,5000", "1,8000", "", ""),
        )
    )
    page = (
        "<html><body><p>Оказанные услуги связи за период с 01.05.2017 по 31.05.2017</p>"
        f"<p>Сетевой ресурс {NUMBER}</p><table><tr>{''.join(_td(cell) for cell in header)}</tr>{rows}</table>"
        "</body></html>"
    )
    events = read_call_details(write("d.html", page)).numbers[NUMBER]
    assert [(e["at"], e["other"], e["service"], e["amount"], e["cost"], e["cost_vat"]) for e in events] == [
        (datetime(2017, 5, 1, 7, 53, 1), "79120000000", "Телеф.", "0:11", Decimal("1"), Decimal("1.2")),
        (datetime(2017, 5, 1, 19, 0), "79120000001", "sms o", "1", Decimal("1.5"), Decimal("1.8")),
    ]


def test_dates_in_rows_that_are_no_events_are_text(write):
    page = real_html(heading=False).replace(
        "<tr><td>МТС</td></tr>".encode(),
        "<tr><td>Оказанные услуги связи за период с</td><td>15.02.2017</td><td>по</td><td>17.08.2017</td></tr>"
        "<tr><td>Дата формирования:</td><td>18.08.2017</td><td>6:00:00</td></tr>".encode(),
    ).replace(b"<tr><td>FORIS OSS</td></tr>", "<tr><td>Сформирован</td><td>18.08.2017</td><td>6:00:00</td></tr>"
              "<tr><td>FORIS OSS</td></tr>".encode())
    document = check_call_details(write("d.html", page), [NUMBER], "2017-02-15", "2017-08-17", "HTML")
    assert document.counts == {NUMBER: len(EVENTS)}


def test_the_header_row_may_carry_extra_empty_cells_too(write):
    header = ("", "", *HEADER_CELLS, "")
    document = read_call_details(write("d.html", real_html(header_cells=header)))
    assert document.numbers[NUMBER][0]["other"] == "79120000000"
    assert document.numbers[NUMBER][0]["cost"] == Decimal("0")
    assert [event["service"] for event in document.numbers[NUMBER]] == [event[6] for event in EVENTS]


def test_the_stand_ins_older_layout_names_the_number_after_the_sim_label(write):
    page = real_html().replace(f"Сетевой ресурс {NUMBER}".encode(), b"").replace(
        f"Виртуальный Номер: {ICCID}".encode(), f"Виртуальный Номер: {NUMBER}".encode()
    )
    assert list(read_call_details(write("d.html", page)).numbers) == [NUMBER]


def test_a_sim_serial_alone_names_no_number(write):
    page = real_html().replace(f"Сетевой ресурс {NUMBER}".encode(), b"")
    with pytest.raises(DocumentCheckError, match="lists events before any number's heading"):
        read_call_details(write("d.html", page))


def test_a_windows_1251_page_is_read(write):
    document = read_call_details(write("d.html", real_html(encoding="windows-1251")))
    assert list(document.numbers) == [NUMBER] and document.counts[NUMBER] == len(EVENTS)
    assert document.numbers[NUMBER][3]["other"] == "<--sms:SMS.RU"


def test_an_unreadable_event_row_is_refused_saying_which(write):
    broken = ("02.06.2017", "25:61:00", "+05:00", "79120000000", "", "", "Телеф.", "0:11", "0,0000")
    with pytest.raises(DocumentCheckError, match=f"unreadable event #{len(EVENTS) + 1} of number {NUMBER}"):
        read_call_details(write("d.html", real_html(events=[*EVENTS, broken])))


def test_a_large_html_is_read_in_chunks(write):
    many = [EVENTS[0]] * 30_000
    document = check_call_details(write("d.html", real_html(events=many)), [NUMBER], "2017-02-15", "2017-08-17",
                                  "html")
    assert document.counts == {NUMBER: 30_000}


# --- XML variants ---------------------------------------------------------------

XML_HEAD = '<?xml version="1.0" encoding="{encoding}"?>\n<Report layerType="OldCompatible" version="2">\n'
XML_CP = ' <cp dn="2" dt="4" dcd="01.07.2026 6:00:00" l="1"/>\n'


def report(body: str, encoding: str = "utf-8") -> bytes:
    """A ``<Report>`` with ``body``, encoded as its prolog declares."""
    return (XML_HEAD.format(encoding=encoding) + XML_CP + body + "</Report>\n").encode(encoding)


def i(day="05.06.2026 8:28:49", other="79613456895", service="Телеф.", extra=' c="0" f="0"', du="0:18") -> str:
    """One ``<i>`` event line."""
    return f'  <i d="{day}" n="{other}" s="{service}" du="{du}"{extra}/>\n'


PERIOD_ON_DS = report(
    '  <ds n="79161234567" sim="89701130086043068682" type="Сетевой ресурс" sd="01.06.2026" ed="30.06.2026"'
    ' t="1,5000" cn="руб.">\n'
    + i(extra=' zp="VoLTE" zv="" c="1,5000" bd="05.06.2026 8:29:07" gmt="+03:00" a="1,5000" cur="руб."')
    + i("06.06.2026 0:24:32", "internet.mts.ru", "4G", ' c="0" bd="06.06.2026 0:30:00" gmt="+03:00"', "250Kb")
    + i("07.06.2026 19:40:59", "&lt;--+79525269871", "Телеф.", ' c="0" gmt="+03:00"', "9:22")
    + " </ds>\n"
    '  <ds n="79161234568" sim="89701130086043068683" type="Сетевой ресурс" sd="01.06.2026" ed="30.06.2026"'
    ' t="0,0000" cn="руб.">\n'
    + i("30.06.2026 23:59:59", "100", "ussd", ' c="0"', "1")
    + " </ds>\n"
)
"""No ``<b>``: the period is on each ``<ds>``; ``type=`` instead of ``pt=``; ``<i bd gmt a cur>`` without ``f``."""

ACCOUNT_WIDE = report(
    ' <b an="277300018417" sd="01.06.2026" ed="30.06.2026"/>\n'
    ' <tp n="79161234567" u="Иванов Иван Иванович" sim="89701130086043068682" tp="Умный бизнес"/>\n'
    ' <tp n="79161234568" u="Петрова Анна Сергеевна" sim="89701130086043068683" tp="Умный бизнес"/>\n'
    ' <ds n="79161234567" sim="89701130086043068682" pt="Сетевой ресурс" t="1,5000" f="1,8000" cn="руб.">\n'
    + i(extra=' zp="VoLTE" c="1,5000" f="1,8000"')
    + '  <ss n="Телеф." c="1" t="1,5000"/>\n'
    '  <ss n="sms o" c="0" t="0,0000"></ss>\n'
    " </ds>\n"
    ' <ds n="79161234568" sim="89701130086043068683" pt="Сетевой ресурс" t="0" f="0" cn="руб.">\n'
    " </ds>\n"
    ' <ds n="Абонентская плата" t="1600,0000" cn="руб.">\n'
    + i("01.06.2026 0:00:00", "79161234567", "Абонентская плата", ' c="800,0000"', "1")
    + i("01.06.2026 0:00:00", "79161234568", "Абонентская плата", ' c="800,0000"', "1")
    + " </ds>\n"
)
"""Account-wide: ``<b an>``, a ``<tp>`` per subscriber, ``<ss>`` summaries, a ``<ds>`` that is no number."""


def test_xml_with_its_period_only_on_ds_and_type_is_read(write):
    document = read_call_details(write("d.xml", PERIOD_ON_DS))
    assert document.format == "xml"
    assert (document.period_from, document.period_to) == (date(2026, 6, 1), date(2026, 6, 30))
    assert document.account == ""
    assert document.counts == {"79161234567": 3, "79161234568": 1}
    first = document.numbers["79161234567"][0]
    assert first == {"at": datetime(2026, 6, 5, 8, 28, 49), "other": "79613456895", "service": "Телеф.",
                     "amount": "0:18", "cost": Decimal("1.5"), "cost_vat": None}
    assert document.numbers["79161234567"][2]["other"] == "<--+79525269871"
    assert document.totals == {"79161234567": Decimal("1.5"), "79161234568": Decimal("0")}
    document = check_call_details(write("d.xml", PERIOD_ON_DS), ["79161234567", "89161234568"],
                                  "2026-06-01", "2026-06-30", "XML", account="277300018417")
    assert document.quiet == []


def test_xml_with_its_period_on_ds_is_refused_for_another_period(write):
    with pytest.raises(DocumentCheckError, match=re.escape(
        "d.xml covers 01.06.2026–30.06.2026, not the ordered period 01.05.2026–31.05.2026."
    )):
        check_call_details(write("d.xml", PERIOD_ON_DS), ["79161234567", "79161234568"], "2026-05-01",
                           "2026-05-31", "XML")


def test_xml_whose_numbers_state_different_periods_covers_them_all(write):
    data = PERIOD_ON_DS.replace(b'sd="01.06.2026" ed="30.06.2026" t="0,0000"', b'sd="10.06.2026" ed="30.06.2026" t="0"')
    document = read_call_details(write("d.xml", data))
    assert (document.period_from, document.period_to) == (date(2026, 6, 1), date(2026, 6, 30))


def test_xml_with_the_personal_account_on_b_is_accepted_for_that_account(write):
    data = report(' <b an="277300018417" sd="01.06.2026" ed="30.06.2026"/>\n'
                  ' <ds n="79161234567" pt="Сетевой ресурс">\n' + i() + " </ds>\n")
    path = write("d.xml", data)
    assert read_call_details(path).account == "277300018417"
    document = check_call_details(path, ["79161234567"], "2026-06-01", "2026-06-30", "xml", "277300018417")
    assert document.account == "277300018417"
    check_call_details(path, ["79161234567"], "2026-06-01", "2026-06-30", "xml")  # no account ordered: not compared


def test_xml_of_another_personal_account_is_refused(write):
    data = report(' <b an="277300018417" sd="01.06.2026" ed="30.06.2026"/>\n'
                  ' <ds n="79161234567" pt="Сетевой ресурс">\n' + i() + " </ds>\n")
    with pytest.raises(DocumentCheckError, match=re.escape(
        "d.xml is the call details of personal account 277300018417, not of the ordered account 277300099999."
    )):
        check_call_details(write("d.xml", data), ["79161234567"], "2026-06-01", "2026-06-30", "xml",
                           account="277300099999")


def test_the_account_wide_xml_lists_subscribers_only(write):
    path = write("d.xml", ACCOUNT_WIDE)
    document = read_call_details(path)
    assert list(document.numbers) == ["79161234567", "79161234568"]  # not «Абонентская плата»
    assert document.counts == {"79161234567": 1, "79161234568": 0}  # fees are no calls
    assert document.account == "277300018417"
    document = check_call_details(path, ["79161234567", "79161234568"], "2026-06-01", "2026-06-30", "XML",
                                  "277300018417")
    assert document.quiet == ["79161234568"]


def test_the_account_wide_xml_is_refused_for_a_subset_of_its_numbers(write):
    with pytest.raises(DocumentCheckError, match="unexpected 79161234568"):
        check_call_details(write("d.xml", ACCOUNT_WIDE), ["79161234567"], "2026-06-01", "2026-06-30", "XML")


def test_a_tp_without_a_ds_still_names_a_number_of_the_document(write):
    data = ACCOUNT_WIDE.replace(b'<ds n="79161234568" sim=', b'<ds n="79161234569" sim=')
    document = read_call_details(write("d.xml", data))
    assert set(document.numbers) == {"79161234567", "79161234568", "79161234569"}


def test_events_inside_a_tp_belong_to_its_number(write):
    data = report(' <b sd="01.06.2026" ed="30.06.2026"/>\n'
                  ' <tp n="+7 916 123-45-67" u="Иванов И. И.">\n' + i() + i("06.06.2026 9:00:00") + " </tp>\n")
    assert read_call_details(write("d.xml", data)).counts == {"79161234567": 2}


def test_a_windows_1251_xml_is_read(write):
    data = report(' <b sd="01.06.2026" ed="30.06.2026"/>\n'
                  ' <ds n="79161234567" type="Сетевой ресурс">\n'
                  + i(service="Телеф.", extra=' zp="Москва" zv="Моб. МТС" c="0"')
                  + " </ds>\n"
                  ' <ds n="Абонентская плата">\n' + i(service="Абонентская плата") + " </ds>\n",
                  encoding="windows-1251")
    assert b"windows-1251" in data and "Телеф.".encode("cp1251") in data
    document = read_call_details(write("d.xml", data))
    assert document.numbers == {"79161234567": [{
        "at": datetime(2026, 6, 5, 8, 28, 49), "other": "79613456895", "service": "Телеф.", "amount": "0:18",
        "cost": Decimal("0"), "cost_vat": None,
    }]}


def test_an_xml_event_outside_the_period_refuses_the_document(write):
    data = report(' <b sd="01.06.2026" ed="30.06.2026"/>\n'
                  ' <ds n="79161234567">\n' + i() + i("01.07.2026 0:00:00") + " </ds>\n")
    with pytest.raises(DocumentCheckError, match=re.escape(
        "d.xml lists an event of number 79161234567 on 01.07.2026 0:00:00, outside its period 01.06.2026–30.06.2026."
    )):
        check_call_details(write("d.xml", data), ["79161234567"], "2026-06-01", "2026-06-30", "XML")
    early = report(' <b sd="01.06.2026" ed="30.06.2026"/>\n <ds n="79161234567">\n' + i("31.05.2026 23:59:59")
                   + " </ds>\n")
    with pytest.raises(DocumentCheckError, match="on 31.05.2026 23:59:59, outside its period"):
        check_call_details(write("e.xml", early), ["79161234567"], "2026-06-01", "2026-06-30", "XML")


def test_xml_number_forms_are_normalised(write):
    data = report(' <b sd="01.06.2026" ed="30.06.2026"/>\n'
                  ' <ds n="+79161234567"/>\n <ds n="89161234568"/>\n <ds n="9161234569"/>\n <ds n=""/>\n')
    assert list(read_call_details(write("d.xml", data)).numbers) == ["79161234567", "79161234568", "79161234569"]


def test_xml_without_any_period_is_refused(write):
    data = report(' <b an="277300018417"/>\n <ds n="79161234567">\n' + i() + " </ds>\n")
    with pytest.raises(DocumentCheckError, match=re.escape("without its period (<b sd=… ed=…> or <ds sd=… ed=…>)")):
        read_call_details(write("d.xml", data))


def test_an_xml_event_outside_any_section_is_refused(write):
    data = report(' <b sd="01.06.2026" ed="30.06.2026"/>\n' + i())
    with pytest.raises(DocumentCheckError, match="outside any section"):
        read_call_details(write("d.xml", data))


@pytest.mark.parametrize("text, number", [
    ("79161234567", "79161234567"), ("+79161234567", "79161234567"), ("89161234567", "79161234567"),
    ("9161234567", "79161234567"), ("+7 (916) 123-45-67", "79161234567"), ("89700003027701200111", None),
    ("Абонентская плата", None), ("", None), ("100", None), ("0890", None),
])
def test_what_is_a_subscriber_number(text, number):
    assert subscriber_number(text) == number


# --- numbers that made no calls -------------------------------------------------


def test_an_ordered_number_without_events_is_accepted_and_said_in_the_log(write, caplog):
    data = report(' <b sd="01.06.2026" ed="30.06.2026"/>\n'
                  ' <ds n="79161234567">\n' + i() + " </ds>\n <ds n=\"79161234568\"></ds>\n")
    with caplog.at_level(logging.INFO):
        document = check_call_details(write("d.xml", data), ["79161234567", "79161234568", "79161234569"],
                                      "2026-06-01", "2026-06-30", "XML")
    assert document.quiet == ["79161234568", "79161234569"]
    assert document.counts == {"79161234567": 1, "79161234568": 0}
    assert "79161234568, 79161234569 have no events" in caplog.text
    assert "79161234569 not in the document at all" in caplog.text


def test_the_keyword_takes_the_ordered_account(write):
    data = report(' <b an="277300018417" sd="01.06.2026" ed="30.06.2026"/>\n <ds n="79161234567"/>\n')
    path = str(write("d.xml", data))
    library = CallDetails()
    assert library.check_call_details_document(path, ["79161234567"], "2026-06-01", "2026-06-30", "XML",
                                               "277300018417") is None
    with pytest.raises(DocumentCheckError, match="personal account 277300018417, not of the ordered account 1234567"):
        library.check_call_details_document(path, ["79161234567"], "2026-06-01", "2026-06-30", "XML", "1234567")


# --- PDF ------------------------------------------------------------------------

PDF_HEADER_ONE = (
    "Дата Время GMT* Номер Зона вызова Зона направления вызова/номер сессии Услуга "
    "Длительность/Объем (мин.:сек.)/(Kb) Стоимость руб. без НДС"
)
PDF_HEADER_TWO = (
    "Дата Время GMT* Номер Зона вызова Зона направления вызова/номер сессии Услуга "
    "Длительность/Объем (мин.:сек./Kb/шт.) Стоимость руб. без НДС Изм. баланса"
)


def pdf_pages(*pages: list[str]) -> bytes:
    """A real landscape PDF, a page per list of (Cyrillic) lines, each page with its footer «Страница N из M»."""
    pdf = FPDF(orientation="L")
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=7)
    for number, lines in enumerate(pages, start=1):
        pdf.add_page()
        for line in [*lines, f"Страница {number} из {len(pages)}"]:
            pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def real_pdf(two_columns: bool = False, late: bool = False) -> bytes:
    """Call details of two numbers over two pages, with one or two money columns."""
    money = (lambda cost, vat: f"{cost} {vat}") if two_columns else (lambda cost, _vat: cost)
    header = PDF_HEADER_TWO if two_columns else PDF_HEADER_ONE
    first = [
        "ПАО «МТС»",
        "Оказанные услуги связи за период с 01.10.2026 по 31.10.2026",
        "Лицевой счет: 277300018417",
        "Сетевой ресурс 79161234567 Номер SIM карты /Виртуальный Номер: 89701130086043068682",
        header,
        f"01.10.2026 7:53:01 +03:00 79120000000 Москва Моб. МТС Телеф. 0:11 {money('0,0000', '0,0000')}",
        f"01.10.2026 8:02:44 +03:00 <--+79120000000 VoLTE Телеф. 1:05 {money('0,0000', '0,0000')}",
        f"02.10.2026 0:24:32 +03:00 internet.mts.ru 7206856 VOL_INTERNET_MTS 250Kb {money('0,0000', '0,0000')}",
        f"02.10.2026 1:00:00 +03:00 internet.mts.ru Traffic_Category_R2 hsdpa 1024Kb {money('0,1500', '0,1800')}",
        f"03.10.2026 9:15:27 +03:00 <--sms:SMS.RU sms i 1 {money('0,0000', '0,0000')}",
        f"03.10.2026 9:16:00 +03:00 3339 Москва sms o 1 {money('1,5000', '1,8000')}",
        f"04.10.2026 10:00:00 +05:00 internet.mts.ru Свердловская обл. HSDPA (3G) 100Kb {money('0,0000', '0,0000')}",
        # a line wrapped in two: the service and sums on the next line
        "05.10.2026 11:00:00 +03:00 internet.mts.ru Traffic_Category_R1",
        f"Traffic_Category_R1_VOL 12Kb {money('0,0000', '0,0000')}",
        "Итого: 1,6500" if not two_columns else "Итого: 1,6500 1,9800",
    ]
    second = [
        "Сетевой ресурс 79161234568 Номер SIM карты /Виртуальный Номер: 89701130086043068683",
        header,
        f"31.10.2026 23:59:59 +03:00 100 ussd 1 {money('0,0000', '0,0000')}",
        f"{'01.11.2026' if late else '31.10.2026'} 9:05:00 +03:00 <--MTC mms i 1 {money('0,0000', '0,0000')}",
        "Итого: 1519,0785" if not two_columns else "Итого: 1519,0785 1822,8942",
        "* - Часовой пояс места оказания услуги",
    ]
    return pdf_pages(first, second)


@pytest.mark.parametrize("two_columns", [False, True], ids=["one money column", "two money columns"])
def test_a_real_pdf_is_read_page_by_page(write, two_columns):
    document = read_call_details(write("d.pdf", real_pdf(two_columns)))
    assert document.format == "pdf"
    assert (document.period_from, document.period_to) == (date(2026, 10, 1), date(2026, 10, 31))
    assert document.account == "277300018417"
    assert document.counts == {"79161234567": 8, "79161234568": 2}
    assert document.totals == {"79161234567": Decimal("1.65"), "79161234568": Decimal("1519.0785")}
    events = document.numbers["79161234567"]
    assert [event["service"] for event in events] == [
        "Телеф.", "Телеф.", "VOL_INTERNET_MTS", "hsdpa", "sms i", "sms o", "HSDPA (3G)", "Traffic_Category_R1_VOL",
    ]
    assert [event["other"] for event in events][:3] == ["79120000000", "<--+79120000000", "internet.mts.ru"]
    assert events[0]["at"] == datetime(2026, 10, 1, 7, 53, 1) and events[0]["amount"] == "0:11"
    assert events[5]["cost"] == Decimal("1.5")
    assert events[5]["cost_vat"] == (Decimal("1.8") if two_columns else None)
    assert document.numbers["79161234568"][1]["other"] == "<--MTC"


@pytest.mark.parametrize("two_columns", [False, True], ids=["one money column", "two money columns"])
def test_a_real_pdf_is_accepted_as_ordered(write, two_columns):
    path = write("d.pdf", real_pdf(two_columns))
    document = check_call_details(path, ["79161234567", "79161234568"], "2026-10-01", "2026-10-31", "PDF",
                                  "277300018417")
    assert document.quiet == []


def test_a_real_pdf_is_refused_for_other_numbers_another_period_or_account(write):
    path = write("d.pdf", real_pdf())
    with pytest.raises(DocumentCheckError, match="lists numbers that were not ordered: unexpected 79161234568"):
        check_call_details(path, ["79161234567"], "2026-10-01", "2026-10-31", "PDF")
    with pytest.raises(DocumentCheckError, match="not the ordered period 01.09.2026–30.09.2026"):
        check_call_details(path, ["79161234567", "79161234568"], "2026-09-01", "2026-09-30", "PDF")
    with pytest.raises(DocumentCheckError, match="personal account 277300018417, not of the ordered account 2773"):
        check_call_details(path, ["79161234567", "79161234568"], "2026-10-01", "2026-10-31", "PDF", "277300000000")


def test_a_pdf_event_outside_the_period_refuses_the_document(write):
    path = write("d.pdf", real_pdf(late=True))
    with pytest.raises(DocumentCheckError, match=re.escape(
        "d.pdf lists an event of number 79161234568 on 01.11.2026 9:05:00, outside its period 01.10.2026–31.10.2026."
    )):
        check_call_details(path, ["79161234567", "79161234568"], "2026-10-01", "2026-10-31", "PDF")


def test_a_pdf_event_line_that_cannot_be_read_is_refused_saying_which(write):
    data = pdf_pages([
        "Оказанные услуги связи за период с 01.10.2026 по 31.10.2026",
        "Сетевой ресурс 79161234567",
        PDF_HEADER_ONE,
        "01.10.2026 7:53:01 +03:00 79120000000 Телеф. 0:11 0,0000",
        "01.10.2026 7:54:00 garbled",
        "02.10.2026 7:53:01 +03:00 79120000000 Телеф. 0:11 0,0000",
    ])
    with pytest.raises(DocumentCheckError, match="d.pdf has an unreadable event line «01.10.2026 7:54:00 garbled»"):
        read_call_details(write("d.pdf", data))


def test_the_pdf_heading_may_wrap_over_two_lines(write):
    data = pdf_pages(["Оказанные услуги связи", "за период с 01.10.2026 по 31.10.2026", "Сетевой ресурс 79161234567"])
    document = check_call_details(write("d.pdf", data), ["79161234567"], "2026-10-01", "2026-10-31", "pdf")
    assert document.quiet == ["79161234567"]
