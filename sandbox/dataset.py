"""The portal's customers, generated from a seed.

``generate(seed)`` builds the Virtual Manager logins of two companies, their
personal accounts (лицевые счета) and the subscriber numbers on each account.
Only ``random.Random(seed)`` is used, so the same seed always gives the same
data and a different seed gives different data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LOGIN_ACCOUNTS = (3, 2)
"""How many personal accounts each generated login has, in order."""

SUBSCRIBERS_PER_ACCOUNT = (3, 6)
"""The smallest and the largest number of subscribers on one account."""

SUBSCRIBER_TYPE = "GSM"

COMPANIES = (
    "ООО «Северный ветер»",
    "АО «Уральские самоцветы»",
    "ООО «Балтийский берег»",
    "ООО «Волжская мануфактура»",
    "АО «Сибирский тракт»",
    "ООО «Невская логистика»",
)

FOLDERS = (
    "Руководство",
    "Бухгалтерия",
    "Отдел продаж",
    "Отдел закупок",
    "Склад",
    "Логистика",
    "ИТ-отдел",
    "Служба безопасности",
)

SURNAMES = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов",
    "Новиков", "Морозов", "Петров", "Волков", "Соловьёв", "Васильев", "Зайцев",
    "Павлов", "Семёнов", "Голубев", "Виноградов", "Богданов", "Воробьёв",
)
"""Male surnames; each forms its female variant by adding «а»."""

MALE_NAMES = (
    "Александр", "Алексей", "Андрей", "Дмитрий", "Евгений", "Игорь", "Максим",
    "Михаил", "Николай", "Павел", "Сергей", "Юрий",
)

FEMALE_NAMES = (
    "Анна", "Елена", "Екатерина", "Ирина", "Мария", "Наталья", "Ольга",
    "Светлана", "Татьяна", "Юлия", "Марина", "Ксения",
)

PATRONYMICS = (
    ("Александрович", "Александровна"),
    ("Алексеевич", "Алексеевна"),
    ("Андреевич", "Андреевна"),
    ("Викторович", "Викторовна"),
    ("Владимирович", "Владимировна"),
    ("Дмитриевич", "Дмитриевна"),
    ("Иванович", "Ивановна"),
    ("Михайлович", "Михайловна"),
    ("Николаевич", "Николаевна"),
    ("Петрович", "Петровна"),
    ("Сергеевич", "Сергеевна"),
    ("Юрьевич", "Юрьевна"),
)
"""Pairs of the male and the female patronymic from one father's name."""


@dataclass(frozen=True)
class Subscriber:
    """One subscriber number (a SIM card) on a personal account."""

    number: str
    """The phone number, 11 digits: ``79XXXXXXXXX``."""
    type: str
    """The subscriber type shown in the selection table, e.g. ``GSM``."""
    folder: str
    """The company's folder (department) the number is filed in."""
    full_name: str
    """The subscriber's full name (ФИО)."""
    sim: str
    """The SIM card's ICCID, 20 digits starting with ``8970``."""


@dataclass(frozen=True)
class Account:
    """A personal account (лицевой счёт) with its contract and numbers."""

    number: str
    """The personal account number, 12 digits."""
    contract: str
    """The contract number the account belongs to."""
    subscribers: tuple[Subscriber, ...]


@dataclass(frozen=True)
class Login:
    """A Virtual Manager login of a company, with its personal accounts."""

    login: str
    """The login: a phone number of 10 digits without ``+7``."""
    company: str
    """The company's name."""
    accounts: tuple[Account, ...]


class _UniqueDigits:
    """Draws digit strings from a random generator without repeating one."""

    def __init__(self, rng: random.Random):
        """Draw from ``rng``; nothing is issued yet."""
        self._rng = rng
        self._issued: set[str] = set()

    def draw(self, prefix: str, length: int) -> str:
        """Return a new string of ``length`` digits that starts with ``prefix``."""
        while True:
            tail = "".join(self._rng.choice("0123456789") for _ in range(length - len(prefix)))
            value = prefix + tail
            if value not in self._issued:
                self._issued.add(value)
                return value


def _full_name(rng: random.Random) -> str:
    """Return a random Russian full name (surname, name, patronymic)."""
    surname = rng.choice(SURNAMES)
    male_patronymic, female_patronymic = rng.choice(PATRONYMICS)
    if rng.random() < 0.5:
        return f"{surname} {rng.choice(MALE_NAMES)} {male_patronymic}"
    return f"{surname}а {rng.choice(FEMALE_NAMES)} {female_patronymic}"


def _subscriber(rng: random.Random, digits: _UniqueDigits) -> Subscriber:
    """Return a random subscriber with a unique number and SIM card."""
    return Subscriber(
        number=digits.draw("79" + rng.choice("0123456789"), 11),
        type=SUBSCRIBER_TYPE,
        folder=rng.choice(FOLDERS),
        full_name=_full_name(rng),
        sim=digits.draw("8970" + rng.choice("12"), 20),
    )


def _account(rng: random.Random, digits: _UniqueDigits) -> Account:
    """Return a random personal account with its contract and subscribers."""
    count = rng.randint(*SUBSCRIBERS_PER_ACCOUNT)
    return Account(
        number=digits.draw("2773", 12),
        contract=digits.draw(str(rng.randint(1, 9)), 9),
        subscribers=tuple(_subscriber(rng, digits) for _ in range(count)),
    )


def generate(seed: int = 1) -> tuple[Login, ...]:
    """Return the portal's logins generated from ``seed``.

    The first login has three personal accounts, the second two; every
    account has three to six subscribers. Login, account, contract, phone
    and SIM numbers are all unique.
    """
    rng = random.Random(seed)
    digits = _UniqueDigits(rng)
    companies = rng.sample(COMPANIES, len(LOGIN_ACCOUNTS))
    return tuple(
        Login(
            login=digits.draw("9" + rng.choice("0123456789"), 10),
            company=company,
            accounts=tuple(_account(rng, digits) for _ in range(account_count)),
        )
        for company, account_count in zip(companies, LOGIN_ACCOUNTS, strict=True)
    )
