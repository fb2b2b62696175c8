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


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-2000:]}")
    return elapsed


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

    up = min(sum(t) for t in theirs)
    me = min(sum(t) for t in ours)
    print("S. pombe chromosome I, import + export (best of %d, wall seconds)" % args.repeats)
    print(f"  upstream  import {min(t[0] for t in theirs):6.2f}  export {min(t[1] for t in theirs):6.2f}  total {up:6.2f}")
    print(f"  helixtune import {min(t[0] for t in ours):6.2f}  export {min(t[1] for t in ours):6.2f}  total {me:6.2f}")
    print(f"  speed-up {up / me:.2f}x (goal >= 5x); exported data/* arrays identical: {identical}")


if __name__ == "__main__":
    main()
