"""Peak memory of the command line on the largest inputs its caps accept, against the same command on a small one.

Each case runs ``protein-studio`` in a fresh process; its peak resident memory comes from ``os.wait4``. The
reference is the same command on a one-record file (for ``fit``, the same table without the big cell), so
the ratio is what the input itself costs above the interpreter, its imports and the work itself. The budget (issue 22) is 2 GB for any input within the caps.

Cases:

- ``fasta-many``: ``info`` on a FASTA of many 300-residue records, ``--mb`` in size (the input cap is 256 MB);
- ``fasta-one``: ``info`` on one record longer than :data:`MAX_RECORD_RESIDUES` (refused while read);
- ``gzip-bomb``: ``info`` on a .fasta.gz that inflates past the input cap (refused while inflating);
- ``mutant-cell``: ``fit`` on a table with a 20 MB mutant cell among real rows (skipped, the fit goes on).

    .venv/bin/python bench/input_memory_bench.py [--mb 256]
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "protein_studio"]
BUDGET_MB = 2048


def _peak(argv: list[str]) -> tuple[float, float, int]:
    """(peak resident MB, seconds, exit status) of one command in a fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    return usage.ru_maxrss / 1024, time.perf_counter() - started, process.returncode


def _records(path: Path, megabytes: float) -> None:
    residues = ("MSIQHFRVALIPFFAAFCLPVFAHPETLVKVKDAEDQLGARVGYIELDLNSGKILESFRPEERFPMMSTFKVLLCGAVLSRVDAGQEQLGRRIHYS"
                "QNDLVEYSPVTEKHLTDGMTVRELCSAAITMSDNTAANLLLTTIGGPKELTAFLHNMGDHVTRLDRWEPELNEAIPNDERDTTMPAAMATTLRK"
                "LLTGELLTLASRQQLIDWMEADKVAGPLLRSALPAGWFIADKSGAGERGSRGIIAALGPDGKPSRIVVIYTTGSQATMDERNRQIAEIGASL")
    record = "\n".join(residues[i:i + 60] for i in range(0, len(residues), 60)) + "\n"
    with path.open("w") as handle:
        written, n = 0, 0
        while written < megabytes * 2**20:
            line = f">variant_{n} generated\n{record}"
            handle.write(line)
            written += len(line)
            n += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=64.0, help="size of the many-record FASTA (below the 256 MB cap)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        small = folder / "small.fasta"
        _records(small, 0.0001)
        many = folder / "many.fasta"
        _records(many, args.mb)
        one = folder / "one.fasta"
        one.write_text(">long\n" + ("ACDEFGHIKLMNPQRSTVWY" * 3 + "\n") * 50_000)
        bomb = folder / "bomb.fasta.gz"
        with gzip.open(bomb, "wb", compresslevel=9) as handle:
            handle.write(b">bomb\n")
            for _ in range(300):
                handle.write(b"A" * 2**20)
        table = folder / "cell.csv"
        real = (REPO / "tests" / "data" / "BLAT_ECOLX_Ranganathan2015_2500.csv").read_text().splitlines()
        table.write_text("\n".join(real[:2] + ['9999,"' + "A1C:" * 5_000_000 + 'A1D",1.0,1.0'] + real[2:]) + "\n")
        small_table = folder / "small.csv"
        small_table.write_text("\n".join(real) + "\n")  # the same rows without the cell
        demo = str(REPO / "resources" / "demo" / "tem1_P62593.fasta")
        cases = [
            ("fasta-many", [*CLI, "info", str(many), "--json"], [*CLI, "info", str(small), "--json"]),
            ("fasta-one", [*CLI, "info", str(one)], [*CLI, "info", str(small)]),
            ("gzip-bomb", [*CLI, "info", str(bomb)], [*CLI, "info", str(small)]),
            ("mutant-cell", [*CLI, "fit", str(table), demo, "--column", "2500", "--cv", "none",
                             "--out", str(folder / "m1.json")],
             [*CLI, "fit", str(small_table), demo, "--column", "2500", "--cv", "none",
              "--out", str(folder / "m2.json")]),
        ]
        print(f"{'case':<12} {'input MB':>9} {'peak MB':>8} {'reference MB':>13} {'ratio':>6} {'of budget':>9} "
              f"{'s':>6} exit")
        for name, argv, reference in cases:
            size = Path(argv[4] if name != "mutant-cell" else str(table)).stat().st_size / 2**20
            peak, seconds, code = _peak(argv)
            base, _, _ = _peak(reference)
            print(f"{name:<12} {size:>9.1f} {peak:>8.0f} {base:>13.0f} {peak / base:>6.2f} "
                  f"{peak / BUDGET_MB:>9.2f} {seconds:>6.1f} {code}")


if __name__ == "__main__":
    main()
