"""Normalise notebooks before committing: clean metadata, collapsed progress bars, no widget state.

Usage: python scripts/normalise_notebook.py NOTEBOOK [...]

Keeps outputs (they are what a reader sees on GitHub) but removes what changes from run to
run without meaning anything: execution timestamps, kernel details, widget state, and the
intermediate frames of progress bars (text before a carriage return).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

KEEP_CELL_METADATA = {"tags", "collapsed", "jupyter", "slideshow"}
CARRIAGE_RETURN = re.compile(r"[^\n]*\r(?!\n)")
# TensorFlow's C++ start-up lines (no CUDA driver, CPU features): noise for a reader.
TF_LOG_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} [\d:.]+\s+\d+ \S+\.cc:\d+\].*"
    r"|To enable the following instructions: .*)\n?",
    re.M,
)


def _clean_stream(output):
    """Keep only the last frame of each progress-bar line; drop TensorFlow's start-up lines."""
    if output.get("output_type") != "stream":
        return output
    text = CARRIAGE_RETURN.sub("", output["text"])
    if output["name"] == "stderr":
        text = TF_LOG_LINE.sub("", text)
    if not text.strip():
        return None
    output["text"] = text
    return output


def normalise(nb):
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    count = 0
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA}
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count if cell.outputs else None
        outputs = []
        for output in cell.outputs:
            if output.get("output_type") == "execute_result":
                output["execution_count"] = count
            if output.get("output_type") == "stream":
                if outputs and outputs[-1].get("output_type") == "stream" and outputs[-1]["name"] == output["name"]:
                    outputs[-1]["text"] += output["text"]
                    continue
            data = output.get("data")
            if data and "application/vnd.jupyter.widget-view+json" in data:
                data.pop("application/vnd.jupyter.widget-view+json")
                if not data:
                    continue
            output.pop("metadata", None) if output.get("output_type") == "stream" else None
            outputs.append(output)
        cell.outputs = [o for o in map(_clean_stream, outputs) if o is not None]
    return nb


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python scripts/normalise_notebook.py NOTEBOOK [...]", file=sys.stderr)
        return 2
    missing = [name for name in argv if not Path(name).is_file()]
    if missing:
        print(f"error: no such notebook: {', '.join(missing)}. Nothing was changed.", file=sys.stderr)
        return 2
    for name in argv:
        path = Path(name)
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as error:  # not JSON, not a notebook: say which file, change nothing
            print(f"error: {path} is not a readable notebook ({error}); it was left as it is.", file=sys.stderr)
            return 2
        nbformat.write(normalise(nb), path)
        print(f"normalised {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
