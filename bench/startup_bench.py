"""How long the command line takes to start: every subcommand's ``--help`` and ``info`` on a PDB file,
against a bare ``python -c pass`` measured in the same run (the interpreter's own start-up).

    .venv/bin/python bench/startup_bench.py [--repeat 5]

Prints one JSON line per command: the best of ``--repeat`` runs in seconds, the same less the bare
interpreter, and the ratio to it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def best_of(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, cwd=REPO)
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from protein_studio.cli import COMMANDS

    python = sys.executable
    bare = best_of([python, "-c", "pass"], args.repeat)
    cases = {f"{name} --help": [python, "-m", "protein_studio", name, "--help"] for name in COMMANDS}
    cases["info 1btl.pdb"] = [python, "-m", "protein_studio", "info", str(REPO / "tests" / "data" / "1btl.pdb")]
    for label, command in cases.items():
        seconds = best_of(command, args.repeat)
        print(json.dumps({"bench": "startup", "command": label, "seconds": round(seconds, 3),
                          "beyond_python_s": round(seconds - bare, 3), "bare_python_s": round(bare, 3),
                          "ratio_to_bare_python": round(seconds / bare, 2)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
