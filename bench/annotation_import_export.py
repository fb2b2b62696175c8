"""Benchmark: GFF3 import + h5 export, helixtune vs upstream (rare-geenuff import + geenuff2h5.py), same run.

Default input: S. pombe chromosome I (5.58 Mbp, 2,302 genes) from the shared data folder. Each side runs as
a separate process (interpreter start-up included), one after the other; the script prints wall times,
the ratio, and whether the exported arrays are identical.

    python bench/annotation_import_export.py [--data DIR] [--peer-env DIR] [--repeats N]
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
COMPARED = ("X", "y", "phases", "transitions", "sample_weights", "gene_lengths", "err_samples",
            "fully_intergenic_samples", "is_annotated", "seqids", "species", "start_ends")


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child: user + system, all threads)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPOSITORY.parent / "shared" / "data")
    parser.add_argument("--peer-env", type=Path, default=Path(os.environ.get("PEERS", "/tmp/peers")) / "helixer")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    gff3 = args.data / "schizosaccharomyces_pombe" / "SP2.chrI.derived.gff3"
    fasta_gz = args.data / "schizosaccharomyces_pombe" / "SP2.chr.fa.gz"
    peer_bin = args.peer_env / "bin"
    if not (peer_bin / "rare-geenuff-import").exists():
        sys.exit(f"upstream peer not found in {args.peer_env}")
    helixtune = [sys.executable, "-m", "helixtune"]

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fasta = tmp / "genome.fa"  # upstream's reader handles gzip too; plain for both, to time the same work
        with gzip.open(fasta_gz, "rb") as src, open(fasta, "wb") as dst:
            shutil.copyfileobj(src, dst)
        ours, theirs = [], []
        for repeat in range(args.repeats):
            for path in tmp.glob("*.sqlite3*"):
                path.unlink()
            t_import = timed([str(peer_bin / "rare-geenuff-import"), "--gff3", str(gff3), "--fasta", str(fasta),
                              "--db-path", str(tmp / "up.sqlite3"), "--log-file", str(tmp / "up.log"),
                              "--species", "Spombe"], tmp)
            t_export = timed([str(peer_bin / "python"), str(peer_bin / "geenuff2h5.py"), "--input-db-path",
                              str(tmp / "up.sqlite3"), "--h5-output-path", str(tmp / "up.h5")], tmp)
            theirs.append((t_import, t_export))
            o_import = timed(helixtune + ["import", "--gff3", str(gff3), "--fasta", str(fasta), "--db-path",
                                          str(tmp / "ours.sqlite3"), "--species", "Spombe", "--replace-db"], tmp)
            o_export = timed(helixtune + ["export", "--input-db-path", str(tmp / "ours.sqlite3"),
                                          "--h5-output-path", str(tmp / "ours.h5")], tmp)
            ours.append((o_import, o_export))
        with h5py.File(tmp / "up.h5") as a, h5py.File(tmp / "ours.h5") as b:
            identical = all(np.array_equal(a[f"data/{k}"][:], b[f"data/{k}"][:]) for k in COMPARED)

    def best(runs, step, kind):  # kind 0: wall, 1: CPU
        return min(r[step][kind] for r in runs)

    def total(runs, kind):
        return min(r[0][kind] + r[1][kind] for r in runs)

    print(f"S. pombe chromosome I, import + export (best of {args.repeats}; seconds, wall / CPU)")
    for name, runs in (("upstream ", theirs), ("helixtune", ours)):
        print(f"  {name} import {best(runs, 0, 0):6.2f} / {best(runs, 0, 1):6.2f}   export {best(runs, 1, 0):6.2f} / "
              f"{best(runs, 1, 1):6.2f}   total {total(runs, 0):6.2f} / {total(runs, 1):6.2f}")
    print(f"  speed-up: wall {total(theirs, 0) / total(ours, 0):.2f}x, CPU {total(theirs, 1) / total(ours, 1):.2f}x "
          f"(goal >= 5x); exported data/* arrays identical: {identical}")

if __name__ == "__main__":
    main()
