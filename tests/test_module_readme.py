"""email_integration/README.md's commands work as written (run from the repository root)."""
import os
import re
import subprocess
import sys

from conftest import ROOT

README = os.path.join(ROOT, "email_integration", "README.md")


def test_the_parser_one_liner_runs_as_written():
    text = open(README, encoding="utf-8").read()
    block = re.search(r"```sh\n(\.venv/bin/python -c .*?)\n```", text, re.S).group(1)
    command = block.replace(".venv/bin/python", sys.executable, 1)
    result = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Fund III — deck"


def test_every_file_in_the_table_exists():
    text = open(README, encoding="utf-8").read()
    table = text.split("## Contents", 1)[1].split("\n## ", 1)[0]
    for cell in re.findall(r"^\| (`[^|]+`) \|", table, re.M):
        for name in re.findall(r"`([^`]+)`", cell):
            assert os.path.exists(os.path.join(ROOT, "email_integration", name)), name


def test_every_variable_is_a_config_field():
    from email_integration.config import GmailConfig, env_name
    text = open(README, encoding="utf-8").read()
    documented = set(re.findall(r"`(CRM_(?:(?:GMAIL|INTAKE|UNDO|CALENDAR)_[A-Z_]+|CALENDAR))`", text))
    known = {env_name(f) for f in GmailConfig.__dataclass_fields__ if f != "errors"}
    documented = {n for n in documented if not n.endswith("_")}  # `CRM_GMAIL_OAUTH_CLIENT_ID`, `_CLIENT_SECRET`…
    assert documented - known == set(), documented - known
    assert known - documented == set(), known - documented
