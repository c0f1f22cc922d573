"""The checker people run: ``python -m libraries.documents FILE --kind … --from … --to …``.

Run as a subprocess, as people run it: 0 accepted, 1 refused (with the
reason), 2 bad usage.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from libraries.document_cli import main
from tests.support import pdf_bytes

ROOT = Path(__file__).resolve().parents[2]

XML = """<?xml version="1.0" encoding="utf-8"?>
<Report layerType="OldCompatible" version="2">
 <b an="277300018417" sd="01.06.2026" ed="30.06.2026"/>
 <ds n="79161234567" sim="89701130086043068682" pt="Сетевой ресурс" t="1,5000" cn="руб.">
  <i d="05.06.2026 8:28:49" n="79613456895" s="Телеф." du="0:18" c="1,5000"/>
  <i d="06.06.2026 0:24:32" n="internet.mts.ru" s="4G" du="250Kb" c="0"/>
 </ds>
 <ds n="79161234568" sim="89701130086043068683" pt="Сетевой ресурс" t="0" cn="руб."/>
 <ds n="Абонентская плата" t="1600,0000"/>
</Report>
"""
HTML = (
    "\ufeff<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>Детализация за период с 01.06.2026 по "
    "30.06.2026</title></head><body><table><tr><td><table><tr><td>Оказанные услуги связи</td></tr>"
    "<tr><td>за период с 01.06.2026 по 30.06.2026</td></tr></table></td></tr><tr><td><table>"
    "<tr><td>Сетевой ресурс 79161234567</td><td>Номер SIM карты /Виртуальный Номер: 89701130086043068682</td></tr>"
    "<tr><td>Дата</td><td>Время</td><td>GMT*</td><td>Номер</td><td>Зона вызова</td>"
    "<td>Зона направления вызова/номер сессии</td><td>Услуга</td><td></td>"
    "<td>Длительность/Объем (мин.:сек.)/(Kb)</td><td>Стоимость руб. без НДС</td></tr>"
    "<tr><td>05.06.2026</td><td>8:28:49</td><td>+03:00</td><td>79120000000</td><td></td><td></td><td>Телеф.</td>"
    "<td></td><td>0:11</td><td>0,0000</td><td></td></tr>"
    "<tr><td colspan=\"9\">Итого:</td><td>1519,0785</td></tr></table></td></tr>"
    "<tr><td>* - Часовой пояс места оказания услуги</td></tr><tr><td>FORIS OSS</td></tr></table></body></html>"
)
CALL_DETAILS = ["--kind", "call_details", "--from", "2026-06-01", "--to", "2026-06-30"]


def run(*args: str) -> subprocess.CompletedProcess:
    """Run the checker as people do, from the project's folder."""
    return subprocess.run(
        [sys.executable, "-m", "libraries.document_cli", *map(str, args)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def xml(tmp_path):
    path = tmp_path / "details.xml"
    path.write_text(XML, encoding="utf-8")
    return path


@pytest.fixture
def html(tmp_path):
    path = tmp_path / "details.html"
    path.write_text(HTML, encoding="utf-8")
    return path


@pytest.fixture
def invoice(tmp_path):
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf_bytes("Счёт", "Лицевой счёт: 277300018417", "Расчётный период: 01.06.2026 – 30.06.2026"))
    return path


def test_accepted_call_details_print_what_was_read_and_exit_0(xml):
    result = run(xml, *CALL_DETAILS, "--account", "277300018417", "--numbers", "79161234567,+79161234568",
                 "--format", "XML")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Format:    XML" in out
    assert "Period:    01.06.2026–30.06.2026" in out
    assert "Account:   277300018417" in out
    assert "79161234567: 2 events, total 1,5000" in out
    assert "79161234568: 0 events" in out
    assert "Абонентская" not in out
    assert "ordered numbers without events (made no calls): 79161234568" in out
    assert "Verdict:   accepted" in out


def test_the_real_html_is_accepted_with_its_total(html):
    result = run(html, *CALL_DETAILS, "--numbers", "79161234567", "--format", "html")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Format:    HTML" in result.stdout
    assert "Account:   not stated" in result.stdout
    assert "79161234567: 1 event, total 1519,0785" in result.stdout
    assert "Total:     1519,0785" in result.stdout


def test_without_numbers_they_are_listed_not_checked(xml):
    result = run(xml, *CALL_DETAILS)
    assert result.returncode == 0
    assert "numbers not checked" in result.stdout


@pytest.mark.parametrize("extra, reason", [
    (["--numbers", "79161234567"], "details.xml lists numbers that were not ordered: unexpected 79161234568."),
    (["--account", "277300099999"],
     "details.xml is the call details of personal account 277300018417, not of the ordered account 277300099999."),
    (["--format", "pdf"], "details.xml is XML, not the ordered PDF."),
])
def test_refused_call_details_say_why_and_exit_1(xml, extra, reason):
    result = run(xml, *CALL_DETAILS, *extra)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Verdict:   REFUSED — {reason}" in result.stdout


def test_another_period_is_refused(xml):
    result = run(xml, "--kind", "call_details", "--from", "2026-05-01", "--to", "2026-05-31")
    assert result.returncode == 1
    assert "covers 01.06.2026–30.06.2026, not the ordered period 01.05.2026–31.05.2026" in result.stdout
    assert "Period:    01.06.2026–30.06.2026" in result.stdout  # what was read is shown before the verdict


def test_an_unreadable_document_is_refused(tmp_path):
    path = tmp_path / "x.xml"
    path.write_text("<Invoice/>", encoding="utf-8")
    result = run(path, *CALL_DETAILS)
    assert result.returncode == 1
    assert "its root is <Invoice>, not <Report>" in result.stdout


def test_an_invoice_is_checked_for_its_account_and_month(invoice):
    result = run(invoice, "--kind", "invoice", "--account", "277300018417", "--from", "2026-06-01")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Account:   277300018417" in result.stdout
    assert "Period:    01.06.2026–30.06.2026" in result.stdout
    assert "Verdict:   accepted — the invoice of account 277300018417 for 2026-06." in result.stdout
    refused = run(invoice, "--kind", "invoice", "--account", "277300099999", "--from", "2026-06-01",
                  "--to", "2026-06-30")
    assert refused.returncode == 1
    assert "does not name personal account 277300099999" in refused.stdout


@pytest.mark.parametrize("args, message", [
    ([], "the following arguments are required"),
    (["--kind", "bill", "--from", "2026-06-01", "--to", "2026-06-30"], "invalid choice: 'bill'"),
    (["--kind", "call_details", "--from", "2026-06-01"], "needs --to"),
    (["--kind", "call_details", "--from", "June", "--to", "2026-06-30"], "is not a date"),
    (["--kind", "call_details", "--from", "2026-06-30", "--to", "2026-06-01"], "--to is before --from"),
    (["--kind", "call_details", "--from", "2026-06-01", "--to", "2026-06-30", "--numbers", "12,34"],
     "not a list of phone numbers"),
    (["--kind", "call_details", "--from", "2026-06-01", "--to", "2026-06-30", "--format", "xls"], "invalid choice"),
    (["--kind", "invoice", "--from", "2026-06-01"], "needs --account"),
    (["--kind", "invoice", "--account", "1", "--from", "2026-06-01", "--to", "2026-07-31"], "covers one month"),
    (["--kind", "invoice", "--account", "1", "--from", "2026-06-01", "--format", "xml"], "an invoice is a PDF"),
])
def test_bad_usage_exits_2(xml, args, message):
    result = run(xml, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr


def test_a_missing_file_is_bad_usage(tmp_path):
    result = run(tmp_path / "nothing.xml", *CALL_DETAILS)
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_main_returns_the_status_in_process(xml, capsys):
    assert main([str(xml), *CALL_DETAILS, "--numbers", "79161234567,79161234568"]) == 0
    assert main([str(xml), *CALL_DETAILS, "--numbers", "79161234567"]) == 1
    with pytest.raises(SystemExit) as usage:
        main([str(xml), "--kind", "call_details"])
    assert usage.value.code == 2
    assert "Verdict" in capsys.readouterr().out


def test_the_documents_module_runs_the_checker_once_it_is_wired(xml):
    if "document_cli" not in (ROOT / "libraries" / "documents.py").read_text(encoding="utf-8"):
        pytest.skip("libraries/documents.py does not run libraries.document_cli yet")
    result = subprocess.run([sys.executable, "-m", "libraries.documents", str(xml), *CALL_DETAILS],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verdict:   accepted" in result.stdout


def test_a_100_mb_account_wide_xml_is_accepted_in_bounded_memory(tmp_path):
    """The issue's figure: a generated 100 MB XML, checked by the command people run, under 250 MB RSS."""
    event = '  <i d="05.06.2026 8:28:49" n="79613456895" s="Телеф." du="0:18" c="1,5000"/>\n'
    path = tmp_path / "big.xml"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0" encoding="utf-8"?>\n<Report>\n <b sd="01.06.2026" ed="30.06.2026"/>\n')
        handle.write(' <ds n="79161234567">\n')
        handle.writelines(event for _ in range(100_000_000 // len(event.encode())))
        handle.write(" </ds>\n</Report>\n")
    command = [sys.executable, "-m", "libraries.documents", str(path), "--kind", "call_details"]
    command += ["--from", "2026-06-01", "--to", "2026-06-30", "--numbers", "79161234567", "--format", "xml"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak_kib = 0
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
        except OSError:
            break
        peak_kib = max([peak_kib] + [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")])
        time.sleep(0.05)  # sampling interval of the memory reading, not a wait for an outcome
    output = process.communicate(timeout=300)[0]
    assert process.returncode == 0, output
    assert "ACCEPTED" in output.upper()
    assert 0 < peak_kib < 250 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"
