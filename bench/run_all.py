"""`make bench`: run every benchmark in bench/ and rewrite the latest-run section of
docs/performance.md with what each printed (figures are ratios against same-run baselines)."""

from __future__ import annotations

import datetime as dt
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- make-bench:begin -->"
END = "<!-- make-bench:end -->"


def benchmarks() -> list[Path]:
    """Every bench script except this runner and private helpers."""
    return sorted(
        path for path in (ROOT / "bench").glob("*.py")
        if path.name not in {"run_all.py", "__init__.py"} and not path.name.startswith("_")
    )


def run(path: Path) -> tuple[int, str, float]:
    """Run one benchmark as `python -m bench.<name>`; returns (exit code, output, seconds)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{path.stem}"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    output = (done.stdout + ("\n" + done.stderr if done.returncode else "")).strip()
    return done.returncode, output, time.perf_counter() - started


def render(results: list[tuple[Path, int, str, float]]) -> str:
    """The markdown block that replaces the previous run's."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        f"Latest `make bench` run: {stamp}, {platform.machine()}, Python "
        f"{platform.python_version()}.",
        "",
    ]
    for path, code, output, seconds in results:
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        lines += [
            f"### `python -m bench.{path.stem}` ({status}, {seconds:.0f} s)",
            "",
            "```",
            output[-6000:],
            "```",
            "",
        ]
    lines.append(END)
    return "\n".join(lines)


def main() -> int:
    """Run all benchmarks, print their output, and update docs/performance.md."""
    results = []
    for path in benchmarks():
        print(f"== bench.{path.stem}", flush=True)
        code, output, seconds = run(path)
        print(output, flush=True)
        results.append((path, code, output, seconds))
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    block = render(results)
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _m: block, text,
                      flags=re.S)
    else:
        text = text.rstrip() + "\n\n## Latest full run\n\n" + block + "\n"
    DOC.write_text(text)
    return 0 if all(code == 0 for _, code, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
