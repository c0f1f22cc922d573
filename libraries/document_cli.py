"""Check a received document by hand, the way the robot checks it before upload.

    python -m libraries.documents FILE --kind call_details --from 2026-10-01 --to 2026-10-31 \\
        [--account 277300018417] [--numbers 79161234567,79161234568] [--format pdf|xml|html]
    python -m libraries.documents FILE --kind invoice --account 277300018417 --from 2026-10-01

It prints what it read (format, period, personal account, numbers with their
event counts, totals) and the verdict in words. Exit status: 0 the document
is accepted, 1 it is refused (the reason is printed), 2 the command was used
wrongly.

Call details: without ``--numbers`` the numbers are listed but not checked;
without ``--format`` any of PDF, XML and HTML is taken; without
``--account`` a personal account the document states is not compared.
Invoices: the period is the month of ``--from``; ``--account`` is required.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from libraries.call_details import (
    FORMAT_LABELS,
    FORMATS,
    ReadCallDetails,
    detect_format,
    judge_call_details,
    normalize_number,
    read_call_details,
    to_date,
)
from libraries.documents import DocumentCheckError, check_invoice, pdf_text, ru_date
from libraries.periods import period_bounds

KINDS = ("call_details", "invoice")
INVOICE_ACCOUNT = re.compile(r"Лицевой\s+сч[её]т\s*(?:№\s*)?:?\s*(\d{6,})", re.I)
INVOICE_PERIOD = re.compile(
    r"(?:Расч[её]тный\s+)?период\s*:?\s*(\d{2}\.\d{2}\.\d{4})\s*[–—-]\s*(\d{2}\.\d{2}\.\d{4})", re.I
)


def _day(text: str) -> date:
    """An argparse type: a date written ``YYYY-MM-DD`` (or ``dd.mm.yyyy``)."""
    try:
        return to_date(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _numbers(text: str) -> list[str]:
    """An argparse type: comma-separated phone numbers, each normalised to ``79XXXXXXXXX``."""
    numbers = [normalize_number(part) for part in text.split(",") if part.strip()]
    wrong = [number for number in numbers if not re.fullmatch(r"7\d{10}", number)]
    if wrong or not numbers:
        raise argparse.ArgumentTypeError(f"not a list of phone numbers: {text!r}")
    return numbers


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    parser = argparse.ArgumentParser(
        prog="python -m libraries.documents",
        description="Check a received MTS document (call details or invoice) the way the robot does.",
    )
    parser.add_argument("file", type=Path, help="the document to check")
    parser.add_argument("--kind", required=True, choices=KINDS, help="what the document should be")
    parser.add_argument("--account", default="", help="the ordered personal account (required for an invoice)")
    parser.add_argument("--from", dest="period_from", required=True, type=_day, metavar="YYYY-MM-DD",
                        help="the ordered period's first day (an invoice: any day of its month)")
    parser.add_argument("--to", dest="period_to", type=_day, metavar="YYYY-MM-DD",
                        help="the ordered period's last day (required for call details)")
    parser.add_argument("--numbers", type=_numbers, metavar="N,N,…",
                        help="the ordered numbers (call details); without it the numbers are not checked")
    parser.add_argument("--format", choices=FORMATS, type=str.lower,
                        help="the ordered format (call details); without it any is taken")
    return parser


def _money(amount: Decimal | None) -> str:
    """An amount the way the documents write it: ``1519,0785``."""
    return "—" if amount is None else f"{amount}".replace(".", ",")


def _moment(moment) -> str:
    """A moment as ``dd.mm.yyyy H:MM:SS``."""
    return f"{ru_date(moment.date())} {moment.hour}:{moment.minute:02d}:{moment.second:02d}"


def _show(label: str, value: object) -> None:
    """Print one fact."""
    print(f"{label + ':':<10} {value}")


def _refused(reason: str) -> int:
    """Print the refusal and return its exit status."""
    print(f"Verdict:   REFUSED — {reason}")
    return 1


def _show_call_details(document: ReadCallDetails, ordered: list[str] | None) -> None:
    """Print what the call details say."""
    _show("Period", f"{ru_date(document.period_from)}–{ru_date(document.period_to)}")
    _show("Account", document.account or "not stated")
    _show("Numbers", len(document.numbers) or "none")
    for number in document.numbers:
        count = document.counts.get(number, 0)
        total = f", total {_money(document.totals[number])}" if number in document.totals else ""
        print(f"  {number}: {count} event{'' if count == 1 else 's'}{total}")
    for number in sorted(set(ordered or []) - document.numbers.keys()):
        print(f"  {number}: not in the document (ordered)")
    _show("Total", _money(document.total) if document.total is not None else "not stated")
    if document.earliest and document.latest:
        _show("Events", f"{_moment(document.earliest[0])} … {_moment(document.latest[0])}")


def _check_usage(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with status 2 (argparse) if the arguments do not fit together."""
    if not args.file.is_file():
        parser.error(f"{args.file}: no such file")
    if args.kind == "call_details":
        if args.period_to is None:
            parser.error("--kind call_details needs --to (the ordered period's last day)")
        if args.period_to < args.period_from:
            parser.error("--to is before --from")
        return
    if not args.account:
        parser.error("--kind invoice needs --account (the ordered personal account)")
    if args.format and args.format != "pdf":
        parser.error("an invoice is a PDF: --format must be pdf or left out")
    first, last = period_bounds(f"{args.period_from:%Y-%m}")
    if args.period_to is not None and not first <= args.period_to <= last:
        parser.error(f"an invoice covers one month: --to must lie in {args.period_from:%Y-%m}")
    if args.numbers is not None:
        parser.error("--numbers is for call details, not for an invoice")


def _call_details(args: argparse.Namespace) -> int:
    """Check call details; print what was read and the verdict."""
    path: Path = args.file
    found = detect_format(path)
    _show("Format", FORMAT_LABELS[found] if found else "neither PDF, XML nor HTML")
    if found is None:
        return _refused(f"{path.name} is neither a PDF, an XML nor an HTML document: it is not call details.")
    if args.format and found != args.format:
        return _refused(f"{path.name} is {FORMAT_LABELS[found]}, not the ordered {FORMAT_LABELS[args.format]}.")
    try:
        document = read_call_details(path, keep_events=False)
    except DocumentCheckError as error:
        return _refused(str(error))
    _show_call_details(document, args.numbers)
    try:
        quiet = judge_call_details(document, path.name, args.numbers, args.period_from, args.period_to, args.account)
    except DocumentCheckError as error:
        return _refused(str(error))
    if quiet:
        print(f"Note:      ordered numbers without events (made no calls): {', '.join(quiet)}")
    checked = "" if args.numbers is not None else " (numbers not checked: no --numbers given)"
    print(f"Verdict:   accepted — the ordered call details{checked}.")
    return 0


def _invoice(args: argparse.Namespace) -> int:
    """Check an invoice; print what was read and the verdict."""
    period = f"{args.period_from:%Y-%m}"
    first, last = period_bounds(period)
    path: Path = args.file
    found = detect_format(path)
    _show("Format", FORMAT_LABELS[found] if found else "neither PDF, XML nor HTML")
    _show("Ordered", f"account {args.account}, period {period} ({ru_date(first)}–{ru_date(last)})")
    if found == "pdf":
        try:
            text = pdf_text(path)
        except DocumentCheckError:
            text = ""
        account = INVOICE_ACCOUNT.search(text)
        stated = INVOICE_PERIOD.search(text)
        _show("Account", account.group(1) if account else "not found in the text")
        _show("Period", f"{stated.group(1)}–{stated.group(2)}" if stated else "not found in the text")
    try:
        check_invoice(path, args.account, period)
    except DocumentCheckError as error:
        return _refused(str(error))
    print(f"Verdict:   accepted — the invoice of account {args.account} for {period}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the check; return 0 accepted, 1 refused. Bad usage exits with status 2 (argparse)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_usage(parser, args)
    _show("File", args.file)
    _show("Kind", args.kind.replace("_", " "))
    if args.kind == "invoice":
        return _invoice(args)
    return _call_details(args)


if __name__ == "__main__":
    sys.exit(main())
