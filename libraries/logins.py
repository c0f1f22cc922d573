"""The Virtual Manager logins of one run: one from ``MTS_LOGIN``, or several from a file.

A company with several logins lists them in a TOML file named by
``MTS_LOGINS_FILE``, one ``[[login]]`` table per login::

    [[login]]
    number = "9161234567"                      # the login: 10 digits, no +7
    password_env = "MTS_PASSWORD_9161234567"   # the variable holding its password
    accounts = ["277300018417"]                # optional: only these personal accounts
    # optional: call details of groups of numbers instead of whole accounts
    call_details_groups = { "Руководство" = { account = "277300018417", numbers = ["79161234567"] } }

The file holds no secret: each password stays in the environment variable
``password_env`` names. Without the file, ``MTS_LOGIN``/``MTS_PASSWORD``
(with ``MTS_ACCOUNTS`` and ``CALL_DETAILS_GROUPS``) are the one login.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

LOGIN = re.compile(r"^\d{10}$")
ACCOUNT = re.compile(r"^\d{12}$")
NUMBER = re.compile(r"^7\d{10}$")
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FIELDS = ("number", "password_env", "accounts", "call_details_groups")


def groups_from(data, source: str) -> list[dict]:
    """Named groups of numbers, ``{name: {account, numbers}}``, as a list of ``{name, account, numbers}``.

    ``source`` names where they were written, for the error message.
    """
    if not isinstance(data, dict) or not data:
        raise RuntimeError(f"{source} must map group names to {{account, numbers}}.")
    groups = []
    for name, group in data.items():
        account = str(group.get("account", "")) if isinstance(group, dict) else ""
        numbers = group.get("numbers") if isinstance(group, dict) else None
        if not ACCOUNT.match(account):
            raise RuntimeError(f"{source}: group '{name}' needs a 12-digit personal account.")
        if not isinstance(numbers, list) or not numbers or not all(NUMBER.match(str(n)) for n in numbers):
            raise RuntimeError(f"{source}: group '{name}' needs a list of numbers written 79XXXXXXXXX.")
        groups.append({"name": name, "account": account, "numbers": [str(n) for n in numbers]})
    return groups


def read_logins_file(path: str | Path) -> list[dict]:
    """The ``[[login]]`` tables of the logins file, checked; passwords not looked up.

    Each entry is ``{number, password_env, accounts, call_details_groups}``
    (``accounts`` empty means all of the login, ``call_details_groups`` empty
    means one group per personal account). Raises ``RuntimeError`` saying
    what is wrong, naming the file and the login.
    """
    source = f"MTS_LOGINS_FILE {path}"
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise RuntimeError(f"{source} cannot be read: {error.strerror}.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RuntimeError(f"{source} is not valid TOML: {error}") from None
    tables = data.get("login")
    if not isinstance(tables, list) or not tables or not all(isinstance(table, dict) for table in tables):
        raise RuntimeError(f"{source} must list at least one [[login]] table.")
    logins = [login_entry(table, f"{source}, login {index}") for index, table in enumerate(tables, 1)]
    numbers = [login["number"] for login in logins]
    twice = sorted({number for number in numbers if numbers.count(number) > 1})
    if twice:
        raise RuntimeError(f"{source} lists login {', '.join(twice)} more than once.")
    return logins


def login_entry(table: dict, source: str) -> dict:
    """One ``[[login]]`` table, checked."""
    unknown = sorted(set(table) - set(FIELDS))
    if unknown:
        raise RuntimeError(f"{source}: unknown field {', '.join(unknown)} (known: {', '.join(FIELDS)}).")
    number = str(table.get("number", ""))
    if not LOGIN.match(number):
        raise RuntimeError(f"{source}: number must be the 10-digit login without +7, not '{number}'.")
    source = f"{source} ({number})"
    password_env = str(table.get("password_env", ""))
    if not VARIABLE.match(password_env):
        raise RuntimeError(f"{source}: password_env must name the environment variable holding the password.")
    accounts = table.get("accounts", [])
    if not isinstance(accounts, list) or not all(ACCOUNT.match(str(account)) for account in accounts):
        raise RuntimeError(f"{source}: accounts must be a list of 12-digit personal accounts.")
    groups = table.get("call_details_groups")
    return {
        "number": number,
        "password_env": password_env,
        "accounts": [str(account) for account in accounts],
        "call_details_groups": [] if groups is None else groups_from(groups, f"{source}: call_details_groups"),
    }


def login_numbers(environ: dict[str, str]) -> list[str]:
    """The logins a production run will do, in order, as far as the logins file tells.

    Empty when there is no logins file or it cannot be read: the run's
    settings then report the problem (or use the one-login shortcut).
    """
    path = environ.get("MTS_LOGINS_FILE", "").strip()
    if not path or not environ.get("MTS_PORTAL_URL"):
        return []
    try:
        return [login["number"] for login in read_logins_file(path)]
    except RuntimeError:
        return []
