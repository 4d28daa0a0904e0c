import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV_READ = re.compile(r"""(?:env_\w+|environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def names_read_in(paths) -> set[str]:
    return {name for path in paths for name in ENV_READ.findall(path.read_text())}


def test_every_setting_read_from_the_environment_is_documented():
    sources = [*ROOT.glob("leadflow/**/*.py"), *ROOT.glob("tests/**/*.py"), *ROOT.glob("scripts/*.sh")]
    read = names_read_in(sources) - {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (ROOT / "docs" / "settings.md").read_text()))
    assert "DATABASE_URL" in read
    assert read - documented == set()


def test_readme_starts_with_the_run_and_test_commands_ci_uses():
    lines = [line.strip() for line in (ROOT / "README.md").read_text().splitlines() if line.strip()]
    commands = [line for line in lines[:6] if line.startswith("make ")]
    assert [c.split("#")[0].strip() for c in commands] == ["make run", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
