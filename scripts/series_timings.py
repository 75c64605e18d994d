"""The series' time to read and time to run, as measured by run_series.py (issue 17, item 4).

``notebooks/timings.json`` keeps, for each profile, what the runner last measured for each
notebook (minutes, date, machine). From it this module writes the two places that show the
times, so they cannot drift from a run:

- each notebook's header line, between ``<!-- timings -->`` and ``<!-- /timings -->``;
- the README's notebook table (its ``read``, ``smoke``, ``default`` and ``full`` columns) and the
  sentence under it, between ``<!-- notebook-times -->`` and ``<!-- /notebook-times -->``.

Time to read is estimated from the notebook itself: prose at 200 words a minute and code at
10 lines a minute, rounded up to 5 minutes. ``python scripts/series_timings.py --check`` exits 1
when a header or the README differs from what timings.json gives (the tests run it).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
TIMINGS = ROOT / "notebooks" / "timings.json"
README = ROOT / "README.md"
PROFILES = ("smoke", "default", "full")
WORDS_PER_MINUTE, CODE_LINES_PER_MINUTE = 200, 10
HEADER = re.compile(r"<!-- timings -->.*?<!-- /timings -->", re.S)
README_NOTE = re.compile(r"<!-- notebook-times -->.*?<!-- /notebook-times -->", re.S)
NOT_MEASURED = {"full": "not measured here: it needs all of Kaggle's 25,000 images"}  # why a profile has no time
NOT_RUN = "not yet run by the maintainers"


def unmeasured(profile: str) -> str:
    """What a header or the README says of a profile with no measured time."""
    if profile in NOT_MEASURED:
        return f"`{profile}` {NOT_MEASURED[profile]}"
    return f"`{profile}` not measured yet ({NOT_RUN})"


def reading_minutes(nb) -> int:
    """Minutes to read a notebook: its prose and its code, rounded up to 5 (at least 5)."""
    words = sum(len(re.sub(r"<!--.*?-->", "", c.source, flags=re.S).split())
                for c in nb.cells if c.cell_type == "markdown")
    code = sum(len([line for line in c.source.splitlines() if line.strip()])
               for c in nb.cells if c.cell_type == "code")
    minutes = words / WORDS_PER_MINUTE + code / CODE_LINES_PER_MINUTE
    return max(5, 5 * math.ceil(minutes / 5))


def load(path: Path | None = None) -> dict:
    path = path or TIMINGS
    return json.loads(path.read_text()) if path.is_file() else {}


def save(timings: dict, path: Path | None = None) -> None:
    """Write atomically: a temporary file beside it, then rename."""
    path = path or TIMINGS
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".timings-", suffix=".json")
    with os.fdopen(fd, "w") as out:
        json.dump(timings, out, indent=1, sort_keys=True)
        out.write("\n")
    os.replace(tmp, path)


def record(timings: dict, profile: str, seconds: dict[str, float], machine: str, day: str | None = None) -> dict:
    """``timings`` with this run's time for each notebook stem in ``seconds`` (the others kept)."""
    day = day or dt.date.today().isoformat()
    entries = timings.setdefault(profile, {})
    for stem, value in seconds.items():
        entries[stem] = {"minutes": round(value / 60, 1), "date": day, "machine": machine}
    return timings


def _minutes(value: float) -> str:
    return f"{value:.1f} min" if value >= 0.1 else "under 0.1 min"


def header_line(stem: str, nb, timings: dict) -> str:
    """The generated header sentence of one notebook, markers included."""
    parts = []
    for profile in PROFILES:
        entry = timings.get(profile, {}).get(stem)
        if entry:
            parts.append(f"{_minutes(entry['minutes'])} in `{profile}` ({entry['machine']}, {entry['date']})")
        else:
            parts.append(unmeasured(profile))
    return (f"<!-- timings -->**Time to read:** about {reading_minutes(nb)} minutes. **Time to run**, measured by "
            f"`scripts/run_series.py`: {'; '.join(parts)}.<!-- /timings -->")


def update_header(path: Path, timings: dict, nb=None) -> bool:
    """Rewrite the timings line in the first cell of ``path`` (or of ``nb``, then the caller saves it).

    Returns True when the text changed.
    """
    own = nb is None
    nb = nb if nb is not None else nbformat.read(path, as_version=4)
    first = nb.cells[0]
    if not HEADER.search(first.source):
        raise SystemExit(f"{path.name}: its first cell has no <!-- timings --> ... <!-- /timings --> line to update.")
    new = HEADER.sub(lambda _: header_line(path.stem, nb, timings), first.source)
    changed = new != first.source
    first.source = new
    if own and changed:
        nbformat.write(nb, path)
    return changed


def readme_text(text: str, notebooks: list[Path], timings: dict) -> str:
    """README ``text`` with the table's time columns and the note under it taken from ``timings``."""
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| # | Notebook |"))
    columns = [c.strip() for c in lines[header].strip("|").split("|")]
    by_number = {p.stem[:2]: p for p in notebooks}
    i = header + 2
    while i < len(lines) and lines[i].startswith("|"):
        cells = [c.strip() for c in lines[i].strip("|").split("|")]
        path = by_number.get(cells[0])
        if path is not None:
            nb = nbformat.read(path, as_version=4)
            values = {"read": str(reading_minutes(nb))}
            for profile in PROFILES:
                entry = timings.get(profile, {}).get(path.stem)
                values[profile] = f"{entry['minutes']:.1f}" if entry else "–"
            cells = [values.get(column, cell) for column, cell in zip(columns, cells)]
            lines[i] = "| " + " | ".join(cells) + " |"
        i += 1
    text = "\n".join(lines) + ("\n" if text.endswith("\n") else "")
    return README_NOTE.sub(lambda _: readme_note(timings), text)


def readme_note(timings: dict) -> str:
    said = []
    for profile in PROFILES:
        entries = timings.get(profile, {}).values()
        runs = sorted({(e["date"], e["machine"]) for e in entries})
        if runs:
            said.append(f"`{profile}` on " + " and ".join(f"{day} ({machine})" for day, machine in runs))
        else:
            said.append(unmeasured(profile))
    return ("<!-- notebook-times -->Minutes to read (estimated from each notebook's prose at 200 words a minute and "
            "its code at 10 lines a minute) and wall-clock minutes to run, written by `scripts/run_series.py` from "
            f"`notebooks/timings.json`: {'; '.join(said)}.<!-- /notebook-times -->")


def refresh(notebooks: list[Path], timings: dict, readme: Path | None = None) -> list[str]:
    """Write every header and the README from ``timings``; returns the files that changed."""
    readme = readme or README
    changed = [p.name for p in notebooks if update_header(p, timings)]
    text = readme.read_text()
    new = readme_text(text, notebooks, timings)
    if new != text:
        readme.write_text(new)
        changed.append(readme.name)
    return changed


def stale(notebooks: list[Path], timings: dict, readme: Path | None = None) -> list[str]:
    """The files whose times differ from what ``timings`` gives (nothing is written)."""
    readme = readme or README
    out = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        before = nb.cells[0].source
        update_header(path, timings, nb=nb)
        if nb.cells[0].source != before:
            out.append(path.name)
    text = readme.read_text()
    if readme_text(text, notebooks, timings) != text:
        out.append(readme.name)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write (or --check) the notebook headers' and README's times.")
    parser.add_argument("--check", action="store_true", help="exit 1 if a header or the README is out of date")
    args = parser.parse_args(argv)
    notebooks = sorted((README.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    timings = load()
    if args.check:
        out = stale(notebooks, timings)
        if out:
            print("Out of date with notebooks/timings.json: " + ", ".join(out)
                  + ". Run: python scripts/series_timings.py", file=sys.stderr)
            return 1
        print("Every notebook header and the README show the times in notebooks/timings.json.")
        return 0
    changed = refresh(notebooks, timings)
    print("Updated: " + (", ".join(changed) if changed else "nothing (already up to date)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
