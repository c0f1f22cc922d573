"""The check of a received invoice before upload, on real PDFs."""

import zipfile
from pathlib import Path

import pytest

from libraries.documents import DocumentCheckError, check_invoice, document_file_name, sha256_of, unpack_zip
from tests.support import pdf_bytes


def write_pdf(path: Path, *lines: str) -> Path:
    path.write_bytes(pdf_bytes(*lines))
    return path


GOOD = ("Счёт", "Лицевой счёт: 277300018417", "Расчётный период: 01.10.2026 – 31.10.2026")


def test_the_ordered_invoice_passes(tmp_path):
    assert check_invoice(write_pdf(tmp_path / "a.pdf", *GOOD), "277300018417", "2026-10") == {"amount": None}


@pytest.mark.parametrize(
    ("line", "amount"),
    [
        ("Итого с НДС 12 454,40", "12454.40"),
        ("Итого с НДС: 1\u00a0200,00", "1200.00"),
        ("Всего к оплате 987,65", "987.65"),
        ("Итого к оплате: 0,00", "0.00"),
    ],
)
def test_the_invoice_s_total_is_read(tmp_path, line, amount):
    path = write_pdf(tmp_path / "a.pdf", *GOOD, "Итого без НДС 10 378,67", line)
    assert check_invoice(path, "277300018417", "2026-10") == {"amount": amount}


def test_a_pdf_that_does_not_say_it_is_an_invoice_fails(tmp_path):
    path = write_pdf(tmp_path / "a.pdf", "Акт сверки", *GOOD[1:])
    with pytest.raises(DocumentCheckError, match="does not say it is an invoice"):
        check_invoice(path, "277300018417", "2026-10")


def test_another_account_fails_naming_the_account(tmp_path):
    path = write_pdf(tmp_path / "a.pdf", *GOOD)
    with pytest.raises(DocumentCheckError, match="does not name personal account 999999999999"):
        check_invoice(path, "999999999999", "2026-10")


def test_another_period_fails_naming_the_period(tmp_path):
    path = write_pdf(tmp_path / "a.pdf", *GOOD)
    with pytest.raises(DocumentCheckError, match="does not cover the period 01.09.2026–30.09.2026"):
        check_invoice(path, "277300018417", "2026-09")


def test_a_file_named_pdf_that_is_not_one_fails(tmp_path):
    path = tmp_path / "invoice.pdf"
    path.write_text("<html>Счёт 277300018417</html>", encoding="utf-8")
    with pytest.raises(DocumentCheckError, match="is not a PDF document"):
        check_invoice(path, "277300018417", "2026-10")


def test_a_damaged_pdf_fails(tmp_path):
    good = write_pdf(tmp_path / "good.pdf", *GOOD).read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(good[: len(good) // 3])
    with pytest.raises(DocumentCheckError):
        check_invoice(path, "277300018417", "2026-10")


def test_fingerprint_is_the_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    assert sha256_of(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def test_unpacking_keeps_names_only_so_nothing_lands_outside_the_folder(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"../../etc/evil.pdf": b"x", "/abs/doc.xml": b"y"})
    unpacked = unpack_zip(archive, tmp_path / "out")
    assert [path.parent for path in unpacked] == [tmp_path / "out"] * 2
    assert [path.read_bytes() for path in unpacked] == [b"x", b"y"]


def test_an_archive_that_would_unpack_too_big_is_refused_before_writing(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {"big.xml": b"0" * 100_000})
    with pytest.raises(DocumentCheckError, match="would unpack to more than 1000 bytes"):
        unpack_zip(archive, tmp_path / "out", max_bytes=1000)
    assert not (tmp_path / "out").exists()


def test_an_archive_with_very_many_files_is_refused(tmp_path):
    archive = make_zip(tmp_path / "many.zip", {f"{n}.pdf": b"x" for n in range(50)})
    with pytest.raises(DocumentCheckError, match="holds 50 files"):
        unpack_zip(archive, tmp_path / "out")


def test_file_names_say_kind_account_period_and_order():
    invoice = {"kind": "invoice", "account": "1", "period_from": "2026-10-01", "period_to": "2026-10-31"}
    assert document_file_name({**invoice, "order_id": "9", "format": "pdf"}) == "invoice_1_2026-10_9.pdf"
    details = {**invoice, "kind": "call_details", "order_id": "9", "format": "xml"}
    assert document_file_name(details) == "call_details_1_2026-10-01_2026-10-31_9.xml"
