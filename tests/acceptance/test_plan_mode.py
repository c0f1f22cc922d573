"""Plan mode (``MODE=plan``): a safe first contact that logs in, looks and orders nothing."""

from tests.acceptance.conftest import sandbox_process
from tests.acceptance.robot_runs import orders, run_robot, summary_of, tarifer_listing


def test_a_plan_orders_uploads_and_marks_nothing_and_says_what_a_run_would_do(tmp_path):
    """After one real invoice, the plan skips it (Tarifer has it) and would order the rest."""
    with sandbox_process() as sandbox:
        settings = sandbox.settings
        done = settings["MTS_ACCOUNTS"].split(",")[0]
        first = run_robot(tmp_path / "first", dict(settings, MTS_ACCOUNTS=done))
        assert first.returncode == 0, first.output
        state = tmp_path / "state" / "ledger-state.json"
        before = (state.read_bytes(), orders(sandbox.data_dir), tarifer_listing(settings))

        plan = run_robot(tmp_path / "plan", dict(settings, MODE="plan"), suite="robot")
        assert plan.returncode == 0, plan.output
        assert (state.read_bytes(), orders(sandbox.data_dir), tarifer_listing(settings)) == before, (
            "the ledger state, the portal's orders and Tarifer are as they were"
        )
        documents = summary_of(plan)["documents"]
        assert {entry["status"] for entry in documents} == {"planned"}
        plans = {(entry["account"], entry["kind"]): entry["plan"] for entry in documents}
        accounts = settings["MTS_ACCOUNTS"].split(",")
        assert plans == {
            **{(account, kind): "order" for account in accounts for kind in ("invoice", "call_details")},
            (done, "invoice"): "skip",
        }
        assert "Plan mode: the mailbox answers; no mail is read or marked." in plan.output
        page = (plan.outputdir / "summary.html").read_text(encoding="utf-8")
        assert "Пробный запуск" in page and "план: уже в Tarifer, заказа не будет" in page
        screenshots = list((plan.outputdir / "browser" / "screenshot").glob("*"))
        assert len(screenshots) >= 10, f"a screenshot of every screen: {screenshots}"


def test_a_plan_names_the_screen_and_the_label_the_portal_lacks(tmp_path):
    """With «Детализация разговоров» gone from the portal, the plan fails saying where; nothing is ordered."""
    with sandbox_process("--without-label", "Детализация разговоров") as sandbox:
        plan = run_robot(tmp_path / "plan", dict(sandbox.settings, MODE="plan"), suite="robot")
        assert plan.returncode != 0
        assert "Screen «Заказать документ»: «Детализация разговоров» is not there" in plan.output
        assert not orders(sandbox.data_dir) and not tarifer_listing(sandbox.settings)
