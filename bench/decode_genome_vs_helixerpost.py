"""The genome decoder against the helixerpost decoder: accuracy and time on S. pombe chromosome I.

Both decoders decode the same predictions in the same run; each output is scored with `helixtune evaluate`
against the reference annotation (feature level: gene, CDS exon, intron; stop codon inside the CDS), and
its canonical (GT-AG or GC-AG) intron fraction and wall time are reported. The genome decoder runs as its
default (adapting its statistics to the genome: two passes) and in one pass (`--no-adapt-to-genome`). Cases:

1. `labels`: chromosome I, predictions made from the reference labels (the "perfect network").
2. `pieces`: the fine-tuning study's held-out pieces p1, p5, p8 (experiments/fine_tuning_study.py), the
   bundled model's predictions (`predict --overlap`, as `annotate` makes them).
3. `chrI`: the whole chromosome, the bundled model's predictions (the time case).
4. `hints`: case 3 decoded by the genome decoder with and without `--hints-bam SP2.chr.bam` (dense stranded
   RNA-seq on the first 100 kbp), intron F1 on chromosome I's first 100 kbp.

    python bench/decode_genome_vs_helixerpost.py [--data-dir DIR] [--work DIR] [--threads 1] [--cases ...]

DIR is the shared data folder (default: $HELIXTUNE_SHARED_DATA, else ../shared/data beside the repository).
Intermediate files are kept in --work and reused. Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
CHROMOSOME = "7000000090838467"
MODEL = "bundled"  # the bundled model (fungi_base)


def default_data_dir() -> Path:
    return Path(os.environ.get("HELIXTUNE_SHARED_DATA") or REPOSITORY.parent / "shared" / "data")


def helixtune(*args) -> float:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "helixtune", *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"helixtune {args[0]} failed: {result.stderr[-2000:]}")
    return time.perf_counter() - start


def prepare(data: Path, work: Path) -> dict:
    import numpy as np

    sys.path.insert(0, str(REPOSITORY / "experiments"))
    from fine_tuning_study import N_PIECES, TEST_PIECES, cut_points, shift_gff_lines

    from helixtune.decode.label_predictions import write_label_predictions
    from helixtune.genome.fasta import iter_fasta, write_fasta

    work.mkdir(parents=True, exist_ok=True)
    pombe = data / "schizosaccharomyces_pombe"
    files = {"chrI_fa": work / "chrI.fa", "chrI_gff": pombe / "SP2.chrI.derived.gff3",
             "chrI_h5": work / "chrI.genome.h5", "chrI_pred": work / "chrI.predictions.h5",
             "labels_h5": data / "reference_outputs" / "spombe_chrI.geenuff2h5_with_rnaseq.h5",
             "labels_pred": work / "chrI.label_predictions.h5",
             "pieces_fa": work / "pieces.fa", "pieces_gff": work / "pieces.gff3",
             "pieces_h5": work / "pieces.genome.h5", "pieces_pred": work / "pieces.predictions.h5",
             "bam": pombe / "SP2.chr.bam"}
    if not files["pieces_gff"].exists():
        seq = dict(iter_fasta(pombe / "SP2.chr.fa.gz"))[CHROMOSOME]
        lines = files["chrI_gff"].read_text().splitlines()
        covered = np.zeros(len(seq), bool)
        for line in lines:
            cols = line.split("\t")
            if len(cols) == 9 and cols[0] == CHROMOSOME:
                covered[int(cols[3]) - 1:int(cols[4])] = True
        points = cut_points(len(seq), covered)
        pieces = [(f"chrI_p{k}", points[k], points[k + 1]) for k in range(N_PIECES)]
        write_fasta(files["chrI_fa"], [(CHROMOSOME, seq.decode())])
        write_fasta(files["pieces_fa"], [(pieces[k][0], seq[pieces[k][1]:pieces[k][2]].decode()) for k in TEST_PIECES])
        files["pieces_gff"].write_text("\n".join(shift_gff_lines(lines, pieces, TEST_PIECES)) + "\n")
    for name in ("chrI", "pieces"):
        if not files[f"{name}_h5"].exists():
            helixtune("encode", "--fasta-path", files[f"{name}_fa"], "--h5-output-path", files[f"{name}_h5"],
                      "--species", "Spombe", "--threads", 1)
        if not files[f"{name}_pred"].exists():
            helixtune("predict", "-l", MODEL, "-t", files[f"{name}_h5"], "-p", files[f"{name}_pred"], "--threads", 1,
                      "--overlap")
    if not files["labels_pred"].exists():
        write_label_predictions(files["labels_h5"], files["labels_pred"])
    return files


def decode(genome, predictions, out: Path, decoder: str, threads: int, extra=()) -> float:
    return helixtune("decode", "--decoder", decoder, "--min-coding-length", 100, "--species", "Spombe",
                     "--threads", threads, *extra, genome, predictions, out)


def score(reference, prediction, fasta, sequences=None) -> dict:
    from helixtune.evaluate.compare import evaluate

    result = evaluate(reference, prediction, fasta=fasta, sequences=sequences)
    features, sanity = result["features"], result["sanity"]["prediction"]
    return {"gene_f1": features["gene"]["f1"], "cds_exon_f1": features["cds_exon"]["f1"],
            "intron_f1": features["intron"]["f1"], "genes": sanity["genes"],
            "canonical": sanity.get("canonical_splice_site_fraction", 0) + sanity.get("gc_ag_splice_site_fraction", 0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--work", type=Path, default=Path("decode_genome_bench"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cases", nargs="+", default=["labels", "pieces", "chrI", "hints"])
    args = parser.parse_args()
    files = prepare(args.data_dir, args.work)
    rows = []
    w = args.work
    for case in args.cases:
        if case == "hints":
            plain = w / "chrI.genome.gff3"
            if not plain.exists():
                decode(files["chrI_h5"], files["chrI_pred"], plain, "genome", args.threads)
            hinted = w / "chrI.genome_hints.gff3"
            seconds = decode(files["chrI_h5"], files["chrI_pred"], hinted, "genome", args.threads,
                             ("--hints-bam", files["bam"], "--hints-second-read-is-sense-strand"))
            region = [f"{CHROMOSOME}:1-100000"]
            for label, gff, secs in (("genome", plain, None), ("genome + hints", hinted, seconds)):
                rows.append({"case": "hints (first 100 kbp)", "decoder": label, "seconds": secs,
                             **score(files["chrI_gff"], gff, files["chrI_fa"], region)})
            continue
        genome, predictions, reference, fasta = {
            "labels": (files["labels_h5"], files["labels_pred"], files["chrI_gff"], files["chrI_fa"]),
            "pieces": (files["pieces_h5"], files["pieces_pred"], files["pieces_gff"], files["pieces_fa"]),
            "chrI": (files["chrI_h5"], files["chrI_pred"], files["chrI_gff"], files["chrI_fa"]),
        }[case]
        # the genome decoder by default adapts its statistics to the genome (two passes); "one pass" is the
        # decoder itself with the bundled statistics (`--no-adapt-to-genome`), the time to compare with HelixerPost's
        for label, decoder, extra in (("helixerpost", "helixerpost", ()), ("genome", "genome", ()),
                                      ("genome, one pass", "genome", ("--no-adapt-to-genome",))):
            out = w / f"{case}.{label.replace(', ', '_').replace(' ', '_')}.gff3"
            seconds = decode(genome, predictions, out, decoder, args.threads, extra)
            rows.append({"case": case, "decoder": label, "seconds": seconds, **score(reference, out, fasta)})
    print("| case | decoder | gene F1 | CDS-exon F1 | intron F1 | genes | canonical introns | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        secs = "–" if r["seconds"] is None else f"{r['seconds']:.1f}"
        print(f"| {r['case']} | {r['decoder']} | {r['gene_f1']:.3f} | {r['cds_exon_f1']:.3f} | {r['intron_f1']:.3f} | "
              f"{r['genes']} | {r['canonical']:.3f} | {secs} |")
    (w / "results.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
