"""The CLI reference in docs/cli.md, generated from the commands themselves; and an MkDocs hook
that puts CHANGELOG.md into the manual's changelog page.

Usage: python docs/tools/cli_reference.py [--check]

Between ``<!-- cli-reference:start -->`` and ``<!-- cli-reference:end -->`` in docs/cli.md it
writes ``sheetnet --help`` and each command's ``--help`` as the command prints them (100
columns wide), so that the page reads the same on GitHub and on the site. ``--check`` (run by
CI) exits 1 when the page is not what the commands print today.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "cli.md"
_REGION = re.compile(r"(<!-- cli-reference:start -->\n).*?(<!-- cli-reference:end -->)", re.S)


def reference() -> str:
    """Every command's help, as Markdown sections."""
    os.environ["COLUMNS"] = "100"
    os.environ["NO_COLOR"] = "1"
    import typer.main
    from typer.testing import CliRunner

    from sheetnet.cli import app

    runner = CliRunner()
    group: Any = typer.main.get_command(app)
    parts = []
    for name in [None, *group.commands]:
        args = [name, "--help"] if name else ["--help"]
        out = runner.invoke(app, args, prog_name="sheetnet",
                            env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
        title = f"sheetnet {name}" if name else "sheetnet"
        text = "\n".join(line.rstrip() for line in out.output.splitlines()).strip("\n")
        parts.append(f"### `{title}`\n\n```text\n$ {title} --help\n{text}\n```\n")
    return "\n".join(parts)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs hook: the changelog page shows CHANGELOG.md (one file, read on GitHub too)."""
    if "<!-- changelog -->" in markdown:
        return (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return markdown


def main() -> int:
    text = PAGE.read_text(encoding="utf-8")
    new = _REGION.sub(lambda m: m.group(1) + reference() + m.group(2), text)
    if "--check" in sys.argv[1:]:
        if new != text:
            print("docs/cli.md is not what the commands print: run"
                  " python docs/tools/cli_reference.py")
            return 1
        print("✓ docs/cli.md is every command's --help as it prints today")
        return 0
    PAGE.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
