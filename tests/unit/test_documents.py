"""The check of a received invoice before upload, on real PDFs."""

from pathlib import Path

import pytest

from libraries.documents import DocumentCheckError, check_invoice, sha256_of
from tests.support import pdf_bytes

def write_pdf(path: Path, *lines: str) -> Path:
    path.write_bytes(pdf_bytes(*lines))
    return path


GOOD = ("Счёт", "Лицевой счёт: 277300018417", "Расчётный период: 01.10.2026 – 31.10.2026")


def test_the_ordered_invoice_passes(tmp_path):
    check_invoice(write_pdf(tmp_path / "a.pdf", *GOOD), "277300018417", "2026-10")


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
