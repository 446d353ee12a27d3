"""email_integration's subpackages import downward only (issue 20): import-linter's contracts in
.importlinter (the order email_integration/README.md writes down; mail/ pure; google/ free of the CRM), run
over the real tree; and proof that each breaks on the import it forbids."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

CONFIG = os.path.join(ROOT, ".importlinter")
LINT = os.path.join(os.path.dirname(sys.executable), "lint-imports")


def lint(root: str) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--no-cache", CONFIG], cwd=root, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": root})


def test_the_tree_keeps_the_layers():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_no_module_imports_by_name_where_the_contracts_cannot_see():
    """import-linter reads import statements; importlib or __import__ would hide an edge from it."""
    for folder, _, files in os.walk(os.path.join(ROOT, "email_integration")):
        for name in files:
            if name.endswith(".py"):
                text = open(os.path.join(folder, name), encoding="utf-8").read()
                assert "importlib" not in text and "__import__" not in text, os.path.join(folder, name)


@pytest.fixture
def copy(tmp_path):
    for package in ("email_integration", "backend"):
        shutil.copytree(os.path.join(ROOT, package), tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def add_import(root, module: str, line: str) -> None:
    path = os.path.join(root, *module.split(".")) + ".py"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("\n" + line + "\n")


def test_an_import_against_the_order_breaks_the_contract(copy):
    add_import(copy, "email_integration.capture.db_emails", "from email_integration.review import db_proposals")
    result = lint(str(copy))
    assert result.returncode == 1
    assert "email_integration.capture.db_emails -> email_integration.review.db_proposals" in result.stdout


def test_a_cycle_between_subpackages_breaks_the_contract(copy):
    add_import(copy, "email_integration.google.errors", "import email_integration.gmail.batch")
    result = lint(str(copy))
    assert result.returncode == 1
    assert "email_integration.google.errors -> email_integration.gmail.batch" in result.stdout


def test_a_new_subpackage_must_take_its_place_in_the_order(copy):
    os.makedirs(copy / "email_integration" / "newcomer")
    (copy / "email_integration" / "newcomer" / "__init__.py").write_text('"""A newcomer."""\n')
    result = lint(str(copy))
    assert result.returncode == 1
    assert "email_integration.newcomer" in result.stdout


def test_mail_may_not_read_settings_or_the_core(copy):
    add_import(copy, "email_integration.mail.headers", "from email_integration.config import CONFIG")
    add_import(copy, "email_integration.mail.html_text", "import backend.db")
    result = lint(str(copy))
    assert result.returncode == 1
    assert "email_integration.mail.headers -> email_integration.config" in result.stdout
    assert "email_integration.mail.html_text -> backend.db" in result.stdout


def test_google_may_not_reach_the_crm(copy):
    add_import(copy, "email_integration.google.quota", "import backend.web")
    result = lint(str(copy))
    assert result.returncode == 1
    assert "email_integration.google.quota -> backend.web" in result.stdout
