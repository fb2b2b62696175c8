"""The genome decoder adapting its statistics to the genome it decodes, on the fungal base model's validation
genomes: one pass with the bundled lineage statistics against the default (a first pass, the statistics
refitted on its genes, a second pass).

For each of the four fungal training genomes, the sequences held out for validation (the base model never
trained on them; `experiments/build_base_model.py data` makes them) are predicted by the bundled model
(`predict --overlap`, as `annotate` does), decoded both ways from the same predictions, and scored with
`helixtune evaluate` against the genome's published annotation (GFF3 or Ensembl GTF) on those sequences.

    python bench/decode_adaptation.py [--data-dir DIR] [--work DIR] [--threads 1]

DIR is the shared data folder (default: $HELIXTUNE_SHARED_DATA, else ../shared/data beside the repository).
--work keeps the data and predictions between runs (default: scratch/fungal_base, the base model's). Not run
in CI.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY / "experiments"))

from build_base_model import DEFAULT_WORK, GENOMES, build_data  # noqa: E402
from decode_genome_vs_helixerpost import default_data_dir, helixtune  # noqa: E402  (this folder)


def validation_seqids(genome_h5: Path) -> list[str]:
    import h5py

    with h5py.File(genome_h5, "r") as h5:
        return sorted({bytes(s).decode() for s in h5["data/seqids"][:]})


def main() -> int:
    from helixtune.evaluate.compare import evaluate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    build_data(args.data_dir, args.work)
    rows = []
    for name, (folder, annotation, fasta) in GENOMES.items():
        genome_h5 = args.work / f"{name}_validation_data.h5"
        predictions = args.work / f"{name}_validation_data.bundled.predictions.h5"
        if not predictions.exists():
            helixtune("predict", "-l", "bundled", "-t", genome_h5, "-p", predictions, "--overlap",
                      "--threads", args.threads)
        sequences = validation_seqids(genome_h5)
        for label, extra in (("one pass (bundled statistics)", ("--no-adapt-to-genome",)),
                             ("adapted to the genome (default)", ())):
            out = args.work / f"{name}_validation_data.{'adapted' if not extra else 'one_pass'}.gff3"
            seconds = helixtune("decode", "--decoder", "genome", "--species", name, "--threads", args.threads,
                                *extra, genome_h5, predictions, out)
            result = evaluate(args.data_dir / folder / annotation, out, fasta=args.data_dir / folder / fasta,
                              sequences=sequences)
            features = result["features"]
            rows.append({"genome": name, "decoder": label, "seconds": round(seconds, 1),
                         "reference_genes": result["sanity"]["reference"]["genes"],
                         "genes": result["sanity"]["prediction"]["genes"],
                         **{f"{level}_f1": features[level]["f1"] for level in ("gene", "cds_exon", "intron")}})
    print("| genome | decoder | gene F1 | CDS-exon F1 | intron F1 | genes (reference) | seconds |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['genome']} | {r['decoder']} | {r['gene_f1']:.3f} | {r['cds_exon_f1']:.3f} | "
              f"{r['intron_f1']:.3f} | {r['genes']} ({r['reference_genes']}) | {r['seconds']:.1f} |")
    for label in dict.fromkeys(r["decoder"] for r in rows):
        mine = [r for r in rows if r["decoder"] == label]
        print(f"| mean | {label} | " + " | ".join(f"{sum(r[k] for r in mine) / len(mine):.3f}"
                                                   for k in ("gene_f1", "cds_exon_f1", "intron_f1")) + " | | |")
    (args.work / "decode_adaptation.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
