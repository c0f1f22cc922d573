"""The ledger behind summary.json and the state a later run continues from."""

import json

import pytest

from libraries.ledger import Ledger


def start(tmp_path, period="2026-10"):
    ledger = Ledger()
    ledger.start_ledger("SANDBOX", period, str(tmp_path))
    return ledger


def summary(tmp_path):
    return json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))


def add(ledger, account="277300018417"):
    return ledger.add_document("9161234567", account, "invoice", "2026-10-01", "2026-10-31")


def test_summary_has_the_contract_shape_after_every_change(tmp_path):
    ledger = start(tmp_path)
    key = add(ledger)
    assert summary(tmp_path)["documents"] == []  # nothing happened to it yet
    ledger.mark_document(key, "ordered", order_id="12345678")
    data = summary(tmp_path)
    assert set(data) == {"environment", "period", "started_at", "finished_at", "documents"}
    assert data["environment"] == "SANDBOX" and data["period"] == "2026-10" and data["finished_at"] is None
    (entry,) = data["documents"]
    assert entry == {
        "login": "9161234567",
        "account": "277300018417",
        "kind": "invoice",
        "period_from": "2026-10-01",
        "period_to": "2026-10-31",
        "format": "pdf",
        "numbers": [],
        "status": "ordered",
        "order_id": "12345678",
        "file": None,
        "sha256": None,
        "tarifer_id": None,
        "error": None,
    }
    ledger.finish_ledger()
    assert summary(tmp_path)["finished_at"]


def test_unknown_status_or_fact_is_refused(tmp_path):
    ledger = start(tmp_path)
    key = add(ledger)
    with pytest.raises(ValueError, match="Unknown status"):
        ledger.mark_document(key, "lost")
    with pytest.raises(ValueError, match="Unknown document facts"):
        ledger.mark_document(key, "ordered", colour="red")


def test_a_later_run_continues_an_order_instead_of_ordering_again(tmp_path):
    first = start(tmp_path)
    first.mark_document(add(first), "ordered", order_id="111")
    second = start(tmp_path)
    key = add(second)
    assert second.document_status(key) == "ordered"
    assert second.document(key)["order_id"] == "111"


def test_a_received_document_whose_upload_failed_is_uploaded_by_the_next_run(tmp_path):
    first = start(tmp_path)
    key = add(first)
    first.mark_document(key, "ordered", order_id="111")
    first.mark_document(key, "received", file="results/documents/a.pdf", sha256="ab")
    first.fail_document(key, "Tarifer refused it (HTTP 503)")
    assert first.ledger_problems(key) == [
        "invoice of personal account 277300018417 (2026-10-01–2026-10-31): Tarifer refused it (HTTP 503)"
    ]
    second = start(tmp_path)
    key = add(second)
    assert second.document_status(key) == "received"
    assert second.document(key)["file"] == "results/documents/a.pdf"


def test_an_uploaded_document_is_forgotten_by_the_state(tmp_path):
    first = start(tmp_path)
    key = add(first)
    first.mark_document(key, "ordered", order_id="111")
    first.mark_document(key, "uploaded", tarifer_id="doc-1")
    second = start(tmp_path)
    assert second.document_status(add(second)) == ""


def test_problems_can_be_limited_to_some_documents(tmp_path):
    ledger = start(tmp_path)
    one, two = add(ledger, "111111111111"), add(ledger, "222222222222")
    ledger.fail_document(one, "broken")
    ledger.mark_document(two, "ordered", order_id="1")
    assert ledger.ledger_problems(two) == []
    assert ledger.ledger_problems() == []
    assert len(ledger.ledger_problems(one, two)) == 1


def test_an_unconfirmed_order_keeps_its_reason_and_is_continued_without_a_number(tmp_path):
    first = start(tmp_path)
    key = add(first)
    first.mark_document(key, "ordered", error="The portal did not confirm the order")
    assert summary(tmp_path)["documents"][0]["error"] == "The portal did not confirm the order"
    second = start(tmp_path)
    key = add(second)
    assert second.document_status(key) == "ordered" and second.document(key)["order_id"] is None


def test_the_final_suite_adopts_what_earlier_runs_received_but_did_not_upload(tmp_path):
    first = start(tmp_path)
    key = add(first)
    first.mark_document(key, "received", order_id="1", file="a.pdf", sha256="ab")
    first.fail_document(key, "Tarifer refused it (HTTP 503)")
    later = start(tmp_path)
    (adopted,) = later.adopt_unfinished_documents()
    assert later.document(adopted)["sha256"] == "ab" and later.document(adopted)["error"] is None
    assert summary(tmp_path)["documents"][0]["status"] == "received"
