"""The finance team's page (summary.html), the one-line documents of report.html and the report's title."""

from html.parser import HTMLParser

from robot.model import TestSuite as Suite

from libraries.periods import month_in_words
from libraries.report import EnvironmentInTitle
from libraries.summary_page import advice, document_line, documents_ru, money, render_page

INVOICE = {
    "login": "9161234567",
    "account": "277300018417",
    "kind": "invoice",
    "period_from": "2026-10-01",
    "period_to": "2026-10-31",
    "numbers": [],
    "status": "uploaded",
    "tarifer_id": "17",
    "amount": 12345.6,
}
DETAILS = {
    **INVOICE,
    "kind": "call_details",
    "numbers": ["79161234567", "79161234568", "79161234569", "79161234570"],
    "tarifer_id": "",
    "amount": None,
    "status": "failed",
    "error": "Tarifer refused the document: 422 unreadable",
}


class Cells(HTMLParser):
    """The text of every table cell and the external references of a page."""

    def __init__(self):
        super().__init__()
        self.cells, self.references, self.inside = [], [], False

    def handle_starttag(self, tag, attrs):
        self.inside = tag in ("td", "th")
        self.references += [value for name, value in attrs if name in ("src", "href")]
        if self.inside:
            self.cells.append("")

    def handle_endtag(self, tag):
        self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.cells[-1] += data


def parsed(page: str) -> Cells:
    cells = Cells()
    cells.feed(page)
    return cells


def summary(*documents, ignored=()):
    return {
        "environment": "SANDBOX",
        "period": "2026-10",
        "started_at": "2026-11-03T06:00:00+00:00",
        "finished_at": "2026-11-03T06:10:00+00:00",
        "documents": list(documents),
        "ignored_mail": list(ignored),
    }


def test_the_page_lists_every_document_per_login_in_russian():
    other = {**INVOICE, "login": "9167654321", "account": "277300099999", "amount": "100"}
    page = render_page(summary(INVOICE, DETAILS, other))
    assert '<html lang="ru">' in page and "Телеком-документы за октябрь 2026" in page
    assert "Логин +79161234567" in page and "Логин +79167654321" in page
    cells = parsed(page).cells
    row = cells.index("Счёт") - 1
    expected = ["277300018417", "Счёт", "01.10.2026–31.10.2026", "", "загружен в Tarifer", "17", "12 345,60 ₽"]
    assert cells[row : row + 7] == expected
    assert "4 номера: +79161234567 … +79161234570" in cells and "ошибка" in cells
    assert "Требуют внимания: 1 из 3 документов." in page
    assert "Запуск: 03.11.2026 06:00 (UTC+00:00) — 03.11.2026 06:10 (UTC+00:00)." in page
    assert "Tarifer не принял документ" in page, "what a person should do"
    assert not parsed(page).references, "self-contained: no external file"


def test_a_month_with_everything_uploaded_says_so_and_lists_the_ignored_mail():
    stranger = {"date": "2026-11-03T06:05:00+00:00", "from": "x@y.z", "subject": "<b>Счёт</b>",
                "reason": "the sender is not among MAIL_FROM (@mts.ru)"}
    page = render_page(summary(INVOICE, ignored=[stranger]))
    assert "Всё загружено: 1 документ." in page and "Требует внимания" not in page
    assert "отправитель не из списка MAIL_FROM" in parsed(page).cells and "03.11.2026 06:05 (UTC+00:00)" in page
    assert "&lt;b&gt;Счёт&lt;/b&gt;" in page, "whatever a stranger wrote is escaped"


def test_advice_depends_on_the_reason():
    assert "пароль" in advice("LoginRefused: The portal refused the login of +79161234567: «Неверный пароль»")
    assert "не пришло" in advice("No e-mail with the invoice arrived within 3600 s; the next run goes on")
    assert "log.html" in advice("something nobody foresaw")


def test_one_line_per_document_for_the_report():
    assert document_line(INVOICE) == "277300018417 · invoice · 2026-10-01–2026-10-31 · uploaded, Tarifer id 17"
    assert document_line(DETAILS).endswith("· failed: Tarifer refused the document: 422 unreadable")
    assert "call details of 4 numbers" in document_line(DETAILS)
    waiting = {**INVOICE, "status": "ordered", "tarifer_id": "", "order_id": "5"}
    assert document_line(waiting).endswith("ordered, order 5")


def test_russian_plurals():
    assert [documents_ru(n) for n in (1, 2, 5, 11, 12, 21, 22, 25, 111, 104)] == [
        "1 документ", "2 документа", "5 документов", "11 документов", "12 документов",
        "21 документ", "22 документа", "25 документов", "111 документов", "104 документа",
    ]


def test_money_and_months_in_words():
    assert money(1234567.891) == "1 234 567,89 ₽" and money(None) == ""
    assert month_in_words("2026-01") == "январь 2026" and month_in_words("2025-12") == "декабрь 2025"


def test_only_the_top_suite_gets_environment_and_period_in_its_name():
    top = Suite(name="Monthly Telecom Paperwork", metadata={"Environment": "SANDBOX", "Period": "2026-10"})
    login = top.suites.create(name="Login 9161234567")
    routine = login.suites.create(name="Monthly Invoice", metadata={"Environment": "SANDBOX", "Period": "2026-10"})
    top.visit(EnvironmentInTitle())
    assert top.name == "Monthly Telecom Paperwork · SANDBOX · 2026-10"
    assert routine.name == "Monthly Invoice"
    alone = Suite(name="Monthly Invoice", metadata={"Environment": "SANDBOX", "Period": "2026-10"})
    alone.visit(EnvironmentInTitle())
    assert alone.name == "Monthly Invoice · SANDBOX · 2026-10"


def test_a_plan_says_what_a_real_run_would_do():
    planned = [
        {**INVOICE, "status": "planned", "plan": "order", "tarifer_id": "", "amount": None},
        {**INVOICE, "account": "277300000002", "status": "planned", "plan": "skip", "amount": None},
    ]
    page = render_page(summary(*planned))
    assert "Пробный запуск: запланировано 2 документа, ничего не заказано." in page
    assert "план: будет заказан" in page and "план: уже в Tarifer, заказа не будет" in page
    assert document_line(planned[0]) == "277300018417 · invoice · 2026-10-01–2026-10-31 · planned: order"
