"""The month on one page for the finance team: ``results/summary.html``, in Russian.

Written from the same object as ``summary.json`` when the run ends: the month,
the environment, a table per login of every document (personal account,
document, period, numbers, status in words with the channel the document went
by, Tarifer's id, the invoice's total), what failed and what a person should do about it, and the mails the
robot left alone. Self-contained (styles inline, no external file) and
printable. ``document_line`` is the same document in one English line, for
the task messages of report.html.
"""

from __future__ import annotations

import re
from html import escape

from libraries.periods import month_in_words

STATUS_WORDS = {
    "ordering": "заказ прерван, будет проверен при следующем запуске",
    "ordered": "заказан, письмо ещё не пришло",
    "received": "получен, ещё не загружен в Tarifer",
    "uploaded": "загружен в Tarifer",
    "skipped": "уже был в Tarifer",
    "planned": "запланирован (пробный запуск)",
    "failed": "ошибка",
}
PLAN_WORDS = {
    "order": "план: будет заказан",
    "skip": "план: уже в Tarifer, заказа не будет",
    "continue": "план: будет продолжен заказ прошлого запуска",
}
NEEDS_A_PERSON = ("failed", "ordering", "ordered", "received")
"""Statuses at the end of a run that a person should look at."""

KIND_WORDS = {"invoice": "Счёт", "call_details": "Детализация разговоров"}
CHANNEL_WORDS = {"api": "через API", "email": "по e-mail"}
"""How a document went to Tarifer (``channel``), said after its status."""

ADVICE = (
    (r"refused the login|Not logged in", "Проверьте номер и пароль входа в «Виртуальный менеджер»."),
    (r"not listed for login", "Проверьте список лицевых счетов (MTS_ACCOUNTS или accounts в файле логинов)."),
    (r"No e-mail .* arrived", "Письмо оператора не пришло вовремя: следующий запуск дождётся его."),
    (
        r"too large for Tarifer's e-mail collector",
        "Документ велик для почтового сборщика Tarifer даже в ZIP: передайте его вручную "
        "или увеличьте TARIFER_MAX_MAIL_SIZE, если сборщик примет письмо больше.",
    ),
    (r"Tarifer", "Tarifer не принял документ: проверьте доступ; следующий запуск загрузит его снова."),
    (r"portal|недоступн", "Портал оператора не ответил: следующий запуск продолжит с того же места."),
)
DEFAULT_ADVICE = "Посмотрите причину в log.html; следующий запуск (make run) повторит только незавершённое."

MAIL_REASONS = (
    ("the sender is not among MAIL_FROM", "отправитель не из списка MAIL_FROM"),
    ("a copy of an e-mail whose document was already taken", "копия письма, чей документ уже получен"),
    ("it arrived before any outstanding document was ordered", "пришло раньше заказа"),
    ("it names none of the outstanding orders", "не называет ни одного ожидаемого заказа"),
    ("it carries no attachment", "без вложения (например, уведомление о приёме заказа)"),
    ("its attachments", "во вложениях нет ожидаемых документов"),
    ("the e-mail could not be read", "письмо не удалось прочитать"),
)

STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; color: #222; margin: 2em; }
h1 { font-size: 16pt; margin-bottom: 0.2em; } h2 { font-size: 13pt; margin-top: 1.6em; }
p.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin-top: 0.5em; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eee; } td.money { text-align: right; white-space: nowrap; }
tr.bad td { background: #fde8e8; } tr.wait td { background: #fff6dd; }
.verdict { font-size: 12pt; font-weight: bold; padding: 0.4em 0.6em; border-radius: 3px; display: inline-block; }
.ok { background: #e3f4e1; } .attention { background: #fde8e8; }
@media print { body { margin: 0; } tr { page-break-inside: avoid; } }
"""


def ru_date(iso: str) -> str:
    """``2026-10-01`` → ``01.10.2026``."""
    year, month, day = iso[:10].split("-")
    return f"{day}.{month}.{year}"


def plural(count: int, one: str, few: str, many: str) -> str:
    """The Russian form for ``count``: 1, 21 → ``one``; 2–4, 22 → ``few``; 0, 5–20, 111 → ``many``."""
    if count % 10 == 1 and count % 100 != 11:
        return one
    if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        return few
    return many


def plural_ru(count: int, one: str, few: str, many: str) -> str:
    """``count`` with the Russian noun form it takes: 1 документ, 3 документа, 5 документов."""
    return f"{count} {plural(count, one, few, many)}"


def documents_ru(count: int) -> str:
    """``count`` documents in Russian words."""
    return plural_ru(count, "документ", "документа", "документов")


def moment(iso: str) -> str:
    """``2026-11-03T06:00:00+00:00`` → ``03.11.2026 06:00 (UTC+00:00)``; anything else as it is."""
    if len(iso) < 16 or iso[10] != "T":
        return iso
    offset = iso[19:].replace("Z", "+00:00")
    return f"{ru_date(iso)} {iso[11:16]}" + (f" (UTC{offset})" if offset else "")


def mail_reason(reason: str) -> str:
    """Why a mail was left alone, in Russian where the reason is a known one."""
    for english, russian in MAIL_REASONS:
        if reason.startswith(english):
            return russian
    return reason


def period_words(entry: dict) -> str:
    """The document's period as a person writes it: ``01.10.2026–31.10.2026``."""
    return f"{ru_date(entry['period_from'])}–{ru_date(entry['period_to'])}"


def needs_a_person(entry: dict) -> bool:
    """Whether the document is not done at the end of the run."""
    return entry["status"] in NEEDS_A_PERSON


def advice(error: str) -> str:
    """What a person should do about a document that failed with ``error``."""
    for pattern, words in ADVICE:
        if re.search(pattern, error or ""):
            return words
    return DEFAULT_ADVICE


def money(amount) -> str:
    """``12345.6`` → ``12 345,60 ₽``; empty when unknown."""
    if amount in (None, ""):
        return ""
    whole, _, cents = f"{float(amount):,.2f}".partition(".")
    return f"{whole.replace(',', ' ')},{cents} ₽"


def numbers_words(entry: dict) -> str:
    """The ordered numbers, shortened when there are many."""
    numbers = entry.get("numbers") or []
    if len(numbers) <= 3:
        return ", ".join(f"+{number}" for number in numbers)
    return f"{plural_ru(len(numbers), 'номер', 'номера', 'номеров')}: +{numbers[0]} … +{numbers[-1]}"


def status_words(entry: dict) -> str:
    """The status in Russian words, with the order number while waiting."""
    if entry["status"] == "planned":
        return PLAN_WORDS.get(entry.get("plan"), STATUS_WORDS["planned"])
    words = STATUS_WORDS.get(entry["status"], entry["status"])
    if entry["status"] == "ordered" and entry.get("order_id"):
        words += f" (заказ № {entry['order_id']})"
    channel = entry.get("channel")
    if entry["status"] in ("uploaded", "skipped") and channel == "email":
        words = f"{'уже был ' if entry['status'] == 'skipped' else ''}отправлен в Tarifer {CHANNEL_WORDS[channel]}"
    elif entry["status"] in ("uploaded", "skipped") and channel in CHANNEL_WORDS:
        words += f" {CHANNEL_WORDS[channel]}"
    elif entry["status"] == "received" and entry.get("tarifer_message_id"):
        words += "; письмо в Tarifer отправлялось без подтверждения, следующий запуск отправит его снова"
    return words


def document_row(entry: dict) -> str:
    """One row of a login's table."""
    row_class = "bad" if entry["status"] == "failed" else "wait" if needs_a_person(entry) else ""
    cells = [
        escape(entry["account"]),
        escape(KIND_WORDS.get(entry["kind"], entry["kind"])),
        escape(period_words(entry)),
        escape(numbers_words(entry)),
        escape(status_words(entry)),
        escape(str(entry.get("tarifer_id") or "")),
    ]
    html = "".join(f"<td>{cell}</td>" for cell in cells)
    return f'<tr class="{row_class}">{html}<td class="money">{escape(money(entry.get("amount")))}</td></tr>'


def login_table(login: str, entries: list[dict]) -> str:
    """The table of one login's documents."""
    head = "".join(
        f"<th>{name}</th>"
        for name in ("Лицевой счёт", "Документ", "Период", "Номера", "Статус", "Id в Tarifer", "Сумма счёта")
    )
    rows = "\n".join(document_row(entry) for entry in sorted(entries, key=lambda e: (e["account"], e["kind"])))
    total = sum(float(entry["amount"]) for entry in entries if entry.get("amount") not in (None, ""))
    total_row = f'<tr><th colspan="6">Итого по счетам</th><td class="money">{escape(money(total))}</td></tr>'
    return f"<h2>Логин +7{escape(login)}</h2>\n<table>\n<tr>{head}</tr>\n{rows}\n{total_row}\n</table>"


def problems_section(entries: list[dict]) -> str:
    """What needs a person: each such document with its reason and what to do."""
    waiting = [entry for entry in entries if needs_a_person(entry)]
    if not waiting:
        return ""
    items = []
    for entry in waiting:
        what = f"{KIND_WORDS.get(entry['kind'], entry['kind'])}, лицевой счёт {entry['account']}, {period_words(entry)}"
        if entry["status"] == "failed":
            reason = f"Причина: {entry.get('error') or 'не указана'}. {advice(entry.get('error', ''))}"
        else:
            reason = f"{status_words(entry).capitalize()}. Следующий запуск продолжит его, не заказывая заново."
        items.append(f"<li><b>{escape(what)}</b> (логин +7{escape(entry['login'])}). {escape(reason)}</li>")
    return "<h2>Требует внимания</h2>\n<ul>\n" + "\n".join(items) + "\n</ul>"


def ignored_section(ignored: list[dict]) -> str:
    """The mails the robot looked at and left alone."""
    if not ignored:
        return ""
    rows = "\n".join(
        "<tr>"
        + "".join(
            f"<td>{escape(text)}</td>"
            for text in (
                moment(mail.get("date") or ""),
                mail.get("from") or "",
                mail.get("subject") or "",
                mail_reason(mail.get("reason") or ""),
            )
        )
        + "</tr>"
        for mail in ignored
    )
    head = "<tr><th>Дата</th><th>От кого</th><th>Тема</th><th>Почему не взято</th></tr>"
    return f"<h2>Письма, оставленные без внимания</h2>\n<table>\n{head}\n{rows}\n</table>"


def verdict(entries: list[dict]) -> tuple[str, str]:
    """The one-line verdict and its style class."""
    waiting = sum(1 for entry in entries if needs_a_person(entry))
    if not entries:
        return "Документов в этом месяце не было.", "attention"
    if all(entry["status"] == "planned" for entry in entries):
        return f"Пробный запуск: запланировано {documents_ru(len(entries))}, ничего не заказано.", "ok"
    if waiting:
        of_all = plural_ru(len(entries), "документа", "документов", "документов")
        return f"Требуют внимания: {waiting} из {of_all}.", "attention"
    return f"Всё загружено: {documents_ru(len(entries))}.", "ok"


def render_page(summary: dict) -> str:
    """The whole page for ``summary`` (the object of summary.json)."""
    entries = summary.get("documents", [])
    text, style = verdict(entries)
    logins = sorted({entry["login"] for entry in entries})
    tables = "\n".join(login_table(login, [e for e in entries if e["login"] == login]) for login in logins)
    environment = {"PRODUCTION": "рабочие системы", "SANDBOX": "песочница (учебные стенды)"}.get(
        summary.get("environment", ""), summary.get("environment", "")
    )
    started = moment(summary.get("started_at") or "")
    finished = moment(summary.get("finished_at") or "") or "ещё идёт"
    return f"""<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8">
<title>Телеком-документы за {escape(month_in_words(summary["period"]))}</title>
<style>{STYLE}</style></head>
<body>
<h1>Телеком-документы за {escape(month_in_words(summary["period"]))}</h1>
<p class="meta">Среда: {escape(environment)}. Запуск: {escape(started)} — {escape(finished)}.</p>
<p class="verdict {style}">{escape(text)}</p>
{tables}
{problems_section(entries)}
{ignored_section(summary.get("ignored_mail", []))}
</body></html>
"""


def document_line(entry: dict) -> str:
    """A document in one line for report.html: account, document, period, outcome."""
    kind = "invoice" if entry["kind"] == "invoice" else f"call details of {len(entry.get('numbers') or [])} numbers"
    outcome = entry["status"] + (f": {entry['plan']}" if entry.get("plan") else "")
    if entry.get("tarifer_id"):
        outcome += f", Tarifer id {entry['tarifer_id']}"
    elif entry.get("tarifer_message_id") and entry["status"] in ("uploaded", "skipped"):
        outcome += f", Message-ID {entry['tarifer_message_id']}"
    elif entry.get("order_id"):
        outcome += f", order {entry['order_id']}"
    if entry.get("channel") and entry["status"] in ("uploaded", "skipped"):
        outcome += f" (by {'e-mail' if entry['channel'] == 'email' else 'API'})"
    if entry["status"] == "failed":
        outcome += f": {entry.get('error', '')}"
    return f"{entry['account']} · {kind} · {entry['period_from']}–{entry['period_to']} · {outcome}"
