"""The documentation stays whole: README.md is short and maps every page in docs/, every
relative link and anchor resolves, and every environment variable the package reads is
documented in docs/configuration.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PACKAGE = ROOT / "src" / "openrespond"
CONFIGURATION = DOCS / "configuration.md"
README_MAX_LINES = 150

ENV_NAME = re.compile(r"OPENRESPOND_[A-Z0-9_]+")

# Names matching ENV_NAME that are not settings a user of openrespond sets, each with why.
# Names listed here are skipped only if the package's source happens to contain them.
NOT_USER_SETTINGS: dict[str, str] = {
    # Test-harness switches (scripts/test.sh, tests/), documented in docs/development.md.
    "OPENRESPOND_TEST_BACKEND": "selects the suite's database backend; test harness only",
    "OPENRESPOND_TEST_POSTGRES_URL": "the PostgreSQL the suite runs against; test harness only",
    "OPENRESPOND_REQUIRE_POSTGRES": "makes a missing PostgreSQL fail the suite (CI); test harness only",
    "OPENRESPOND_BROWSER": "the Chromium the browser tests drive; test harness only",
    "OPENRESPOND_REQUIRE_BROWSER": "makes a missing browser fail the suite (CI); test harness only",
    "OPENRESPOND_REQUIRE_NODE": "makes a missing Node or npm registry fail the suite (CI); test harness only",
    # Set by `serve` for the server processes it starts, not by users.
    "OPENRESPOND_SUPERVISOR_PID": "the pid of `serve`, handed to its server processes",
    "OPENRESPOND_SERVER_PROCESSES": "how many server processes `serve --workers N` started",
}

LINK = re.compile(r"\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]*)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
INLINE_CODE = re.compile(r"`[^`\n]*`")


def doc_pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def markdown_files() -> list[Path]:
    return [README, *doc_pages()]


def rel(path: Path) -> str:
    return path.resolve().relative_to(ROOT).as_posix()


def prose_lines(text: str) -> list[str]:
    """The lines of a markdown text outside fenced code blocks."""
    lines: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        stripped = line.lstrip()
        marker = stripped[:3]
        if fence is None and marker in ("```", "~~~"):
            fence = marker
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        lines.append(line)
    return lines


def slug(title: str) -> str:
    """GitHub's anchor for a heading: lowercase, backticks and punctuation other than
    hyphens, underscores and spaces dropped, spaces turned into hyphens."""
    title = LINK.sub(lambda m: m.group("text"), title).replace("`", "").lower()
    title = re.sub(r"[^\w\- ]", "", title)
    return title.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor GitHub gives the headings of a markdown file (repeats get -1, -2, …)."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for line in prose_lines(path.read_text(encoding="utf-8")):
        if match := HEADING.match(line):
            base = slug(match.group("title"))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    """Targets of the markdown links in a file that are not web or mail addresses."""
    text = "\n".join(prose_lines(path.read_text(encoding="utf-8")))
    text = INLINE_CODE.sub("`code`", text)  # a link written inside code is not a link
    targets = [m.group("target") for m in LINK.finditer(text)]
    return [t for t in targets if not re.match(r"(?i)(https?:|mailto:)", t)]


def documented_variables() -> set[str]:
    """The variables named in the first cell of a row of docs/configuration.md's table."""
    names: set[str] = set()
    for line in CONFIGURATION.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^\|\s*`(OPENRESPOND_[A-Z0-9_]+)`\s*\|", line):
            names.add(match.group(1))
    return names


def variables_read_by_package() -> dict[str, list[str]]:
    """Every OPENRESPOND_* name in the package's source, with the files naming it."""
    found: dict[str, list[str]] = {}
    for source in sorted(PACKAGE.rglob("*.py")):
        for name in sorted(set(ENV_NAME.findall(source.read_text(encoding="utf-8")))):
            found.setdefault(name, []).append(rel(source))
    return found


def test_every_user_setting_is_in_the_configuration_table() -> None:
    read = variables_read_by_package()
    assert "OPENRESPOND_DATABASE_URL" in read, (
        f"scanning {rel(PACKAGE)} found no OPENRESPOND_DATABASE_URL: is the path right?"
    )
    documented = documented_variables()
    missing = {
        name: files
        for name, files in read.items()
        if name not in NOT_USER_SETTINGS and name not in documented
    }
    assert not missing, (
        f"{rel(CONFIGURATION)} has no table row for these variables the package reads: "
        + "; ".join(f"{name} (in {', '.join(files)})" for name, files in sorted(missing.items()))
        + ". Add a row with its default and meaning, or list it in NOT_USER_SETTINGS with why."
    )


def test_every_docs_page_is_linked_from_the_readme() -> None:
    pages = doc_pages()
    assert pages, f"no pages in {rel(DOCS)}"
    linked = {
        (ROOT / target.split("#", 1)[0]).resolve()
        for target in relative_links(README)
        if target.split("#", 1)[0]
    }
    unlinked = [rel(page) for page in pages if page.resolve() not in linked]
    assert not unlinked, f"README.md does not link these pages: {', '.join(unlinked)}"


def test_every_docs_page_has_a_title_and_links_back() -> None:
    problems: list[str] = []
    for page in doc_pages():
        lines = page.read_text(encoding="utf-8").splitlines()
        if not lines or not lines[0].startswith("# "):
            problems.append(f"{rel(page)}: the first line is not a '# Title'")
        if "../README.md" not in relative_links(page):
            problems.append(f"{rel(page)}: no link back to ../README.md")
    assert not problems, "\n".join(problems)


def test_every_relative_link_resolves() -> None:
    broken: list[str] = []
    for source in markdown_files():
        for target in relative_links(source):
            file_part, _, anchor = target.partition("#")
            destination = (source.parent / file_part).resolve() if file_part else source
            if not destination.exists():
                broken.append(f"{rel(source)}: ({target}) -> no file {file_part}")
                continue
            if anchor and destination.suffix == ".md" and anchor not in anchors(destination):
                broken.append(
                    f"{rel(source)}: ({target}) -> {rel(destination)} has no heading #{anchor}"
                )
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_readme_is_short() -> None:
    count = len(README.read_text(encoding="utf-8").splitlines())
    assert count <= README_MAX_LINES, (
        f"README.md has {count} lines (at most {README_MAX_LINES}): move detail into docs/"
    )
