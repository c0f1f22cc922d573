"""The «Текущая выборка» pane: its header and whether a document may be ordered."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.dataset import Account
from sandbox.portal import texts
from sandbox.portal.catalog import Line


def numbers_chosen(count: int) -> str:
    """«Выбрано 1 номер», «Выбрано 2 номера», «Выбрано 5 номеров», «Выбрано 11 номеров»."""
    one, few, many = texts.NUMBER_FORMS
    if count % 10 == 1 and count % 100 != 11:
        noun = one
    elif 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        noun = few
    else:
        noun = many
    return texts.NUMBERS_CHOSEN.format(count=count, noun=noun)


@dataclass(frozen=True)
class SelectionView:
    """The selected subscribers as the portal shows and judges them."""

    lines: tuple[Line, ...]

    @property
    def _contracts(self) -> set[str]:
        """The contracts the selected numbers belong to."""
        return {line.account.contract for line in self.lines}

    @property
    def _types(self) -> set[str]:
        """The subscriber types among the selected numbers."""
        return {line.subscriber.type for line in self.lines}

    @property
    def header(self) -> str:
        """The pane's heading, e.g. «Текущая выборка (5): один контракт, однотиповая»."""
        heading = f"{texts.SELECTION} ({len(self.lines)})"
        if not self.lines:
            return heading
        if len(self._contracts) > 1:
            return f"{heading}: {texts.SEVERAL_CONTRACTS}"
        if len(self._types) > 1:
            return f"{heading}: {texts.ONE_CONTRACT_SEVERAL_TYPES}"
        return f"{heading}: {texts.ONE_CONTRACT_ONE_TYPE}"

    @property
    def problem(self) -> str | None:
        """Why no document can be ordered for this selection, or None if one can."""
        if not self.lines:
            return texts.SELECTION_EMPTY
        if len(self._contracts) > 1:
            return texts.CHOOSE_ONE_CONTRACT
        if len(self._types) > 1:
            return texts.CHOOSE_ONE_TYPE
        return None

    @property
    def numbers(self) -> tuple[str, ...]:
        """The selected phone numbers, in the order they were added."""
        return tuple(line.subscriber.number for line in self.lines)

    @property
    def account(self) -> Account | None:
        """The one personal account of an orderable selection, else None."""
        return None if self.problem else self.lines[0].account

    def to_json(self) -> dict:
        """The selection as the page's script and the API clients read it."""
        return {
            "count": len(self.lines),
            "header": self.header,
            "chosen": numbers_chosen(len(self.lines)),
            "orderable": self.problem is None,
            "order_error": self.problem,
            "account": self.account.number if self.account else None,
            "rows": [
                {
                    "type": line.subscriber.type,
                    "number": line.subscriber.number,
                    "folder": line.subscriber.folder,
                    "full_name": line.subscriber.full_name,
                    "account": line.account.number,
                    "contract": line.account.contract,
                }
                for line in self.lines
            ],
        }
