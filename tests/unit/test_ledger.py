"""The ledger behind summary.json and the state a later run continues from."""

import json

import pytest

from libraries.ledger import Ledger, LedgerLocked

RUNNING: list[Ledger] = []


def state_file(tmp_path):
    return tmp_path / "state" / "ledger-state.json"


def start(tmp_path, period="2026-10", output=None):
    """A new run on the same state; the run before it has ended."""
    while RUNNING:
        RUNNING.pop().finish_ledger()
    ledger = Ledger()
    ledger.start_ledger("SANDBOX", period, str(output or tmp_path), str(state_file(tmp_path)))
    RUNNING.append(ledger)
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
    assert set(data) == {"environment", "period", "started_at", "finished_at", "documents", "ignored_mail"}
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
        "ordered_at": None,
        "file": None,
        "sha256": None,
        "tarifer_id": None,
        "message_id": None,
        "channel": None,
        "tarifer_message_id": None,
        "amount": None,
        "plan": None,
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


def test_a_second_run_on_the_same_state_stops_at_once_and_writes_nothing(tmp_path):
    first = start(tmp_path)
    first.mark_document(add(first), "ordered", order_id="111")
    before = state_file(tmp_path).read_bytes()
    second = Ledger()
    with pytest.raises(LedgerLocked, match="Another run is working on the ledger state"):
        second.start_ledger("SANDBOX", "2026-10", str(tmp_path / "other"), str(state_file(tmp_path)))
    assert not (tmp_path / "other").exists()
    assert state_file(tmp_path).read_bytes() == before
    first.finish_ledger()
    second.start_ledger("SANDBOX", "2026-10", str(tmp_path / "other"), str(state_file(tmp_path)))
    second.finish_ledger()


def test_the_intent_is_on_disk_before_the_order_and_is_continued(tmp_path):
    first = start(tmp_path)
    key = add(first)
    first.mark_document(key, "ordering")
    state = json.loads(state_file(tmp_path).read_text(encoding="utf-8"))
    assert state["outstanding"][key]["status"] == "ordering" and state["outstanding"][key]["ordered_at"]
    second = start(tmp_path)
    assert second.document_status(add(second)) == "ordering"
    assert second.document(key)["ordered_at"] == state["outstanding"][key]["ordered_at"]


def test_another_output_folder_continues_the_same_month(tmp_path):
    first = start(tmp_path, output=tmp_path / "one")
    first.mark_document(add(first, "111111111111"), "uploaded", tarifer_id="t1")
    first.mark_document(add(first, "222222222222"), "received", file="b.pdf", sha256="bb")
    second = start(tmp_path, output=tmp_path / "two")
    (adopted,) = second.adopt_unfinished_documents()
    second.mark_document(adopted, "uploaded", tarifer_id="t2")
    data = summary(tmp_path / "two")
    assert sorted((entry["account"], entry["status"]) for entry in data["documents"]) == [
        ("111111111111", "uploaded"),
        ("222222222222", "uploaded"),
    ]


def test_a_rerun_never_leaves_an_emptier_summary(tmp_path):
    first = start(tmp_path)
    first.mark_document(add(first), "uploaded", tarifer_id="t1")
    start(tmp_path)
    assert [entry["tarifer_id"] for entry in summary(tmp_path)["documents"]] == ["t1"]
    start(tmp_path, period="2026-11")
    assert summary(tmp_path)["documents"] == [], "another month has its own account"


def test_a_wrong_document_is_ordered_again_by_the_next_run_but_a_late_one_is_awaited(tmp_path):
    first = start(tmp_path)
    wrong, late = add(first, "111111111111"), add(first, "222222222222")
    first.mark_document(wrong, "ordered", order_id="1")
    first.mark_document(late, "ordered", order_id="2")
    first.reject_mail(wrong, "<m1@x>", "7", "The e-mail for order № 1 does not carry the ordered document.")
    first.fail_document(late, "No e-mail arrived within 60 s.")
    assert "ordered again on the next run" in first.document(wrong)["error"]
    second = start(tmp_path)
    assert second.document_status(add(second, "111111111111")) == ""
    assert second.document_status(add(second, "222222222222")) == "ordered"
    assert second.mail_taken("<m1@x>")["uid"] == "7"


def test_a_taken_mail_is_remembered_with_its_document(tmp_path):
    first = start(tmp_path)
    key = add(first)
    first.mark_document(key, "ordered", order_id="1")
    first.receive_from_mail(key, "a.pdf", "ab", "<m@x>", "12")
    second = start(tmp_path)
    assert second.mail_taken("<m@x>")["key"] == key
    assert second.document_status(add(second)) == "received"
    assert second.document(key)["message_id"] == "<m@x>"


def test_ignored_mail_is_listed_once_per_mail_and_reason(tmp_path):
    ledger = start(tmp_path)
    for _ in range(2):
        ledger.ignore_mail("2026-11-02T10:00:00+00:00", "x@evil.test", "Счёт", "the sender is not among MAIL_FROM")
    assert summary(tmp_path)["ignored_mail"] == [
        {
            "date": "2026-11-02T10:00:00+00:00",
            "from": "x@evil.test",
            "subject": "Счёт",
            "reason": "the sender is not among MAIL_FROM",
        }
    ]


def test_a_state_file_of_the_first_version_is_read(tmp_path):
    old = {"k": {"status": "ordered", "order_id": "5"}, "u": {"status": "uploaded"}}
    state_file(tmp_path).parent.mkdir(parents=True)
    state_file(tmp_path).write_text(json.dumps(old), encoding="utf-8")
    ledger = start(tmp_path)
    assert ledger.state["outstanding"] == {"k": {"status": "ordered", "order_id": "5"}}


def test_plan_mode_plans_in_the_summary_and_leaves_the_state_as_it_was(tmp_path):
    ledger = start(tmp_path)
    ordered = add(ledger, "277300000001")
    ledger.mark_document(ordered, "ordered", order_id="1")
    RUNNING.pop().finish_ledger()
    before = state_file(tmp_path).read_bytes()

    plan = Ledger()
    plan.start_ledger("SANDBOX", "2026-10", str(tmp_path), str(state_file(tmp_path)), plan=True)
    RUNNING.append(plan)
    continued, new = add(plan, "277300000001"), add(plan, "277300000002")
    assert plan.document_status(continued) == "ordered", "the earlier order is known to the plan"
    plan.mark_document(continued, "planned", plan="continue")
    plan.mark_document(new, "planned", plan="order")
    for status in ("ordering", "ordered", "received", "uploaded", "skipped"):
        with pytest.raises(ValueError, match="Plan mode orders, collects and uploads nothing"):
            plan.mark_document(new, status)
    with pytest.raises(ValueError, match="plan is one of order, skip, continue"):
        plan.mark_document(new, "planned", plan="maybe")
    plan.fail_document(new, "not listed")
    plan.mark_document(new, "planned", plan="order")
    RUNNING.pop().finish_ledger()
    assert state_file(tmp_path).read_bytes() == before, "the next real run finds the state as it was"
    assert [(entry["account"], entry["status"], entry["plan"]) for entry in summary(tmp_path)["documents"]] == [
        ("277300000001", "planned", "continue"),
        ("277300000002", "planned", "order"),
    ]


def test_only_plan_mode_plans(tmp_path):
    ledger = start(tmp_path)
    with pytest.raises(ValueError, match="Only plan mode plans"):
        ledger.mark_document(add(ledger), "planned", plan="order")
