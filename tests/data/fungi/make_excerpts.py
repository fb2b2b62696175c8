"""Cut the small real excerpts in this folder out of the fungal genomes of the shared data (see README.md).

    python tests/data/fungi/make_excerpts.py SHARED_DATA/fungi

Each excerpt is one whole sequence, or the start of one cut in an intergenic gap (no feature crosses the cut),
with every annotation line of the features inside it, unchanged.
"""

import gzip
import sys
from pathlib import Path

import pysam

HERE = Path(__file__).resolve().parent
EXCERPTS = [  # (folder, fasta, annotation, seqid, cut after base, output stem)
    ("saccharomyces_cerevisiae", "Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz",
     "Saccharomyces_cerevisiae.R64-1-1.96.gtf.gz", "I", None, "scerevisiae_chrI", "gtf"),
    ("saccharomyces_paradoxus_CBS432", "CBS432.genome.fa.gz", "CBS432.all_feature.gff.gz", "chrI", 133500,
     "sparadoxus_chrI_1-133500", "gff3"),
    ("pneumocystis_jirovecii_SE8_partial", "Pneumocystis_jirovecii_CAKM01_53contigs.fa.gz",
     "Pneumocystis_jirovecii_CAKM01_53contigs.gff3.gz", "CAKM01000028.1", None, "pjirovecii_CAKM01000028", "gff3"),
]


def main(fungi: Path) -> None:
    for folder, fasta, annotation, seqid, cut, stem, ext in EXCERPTS:
        sequence = None
        for record in pysam.FastxFile(str(fungi / folder / fasta)):
            if record.name == seqid:
                sequence = record.sequence
                break
        lines = []
        with gzip.open(fungi / folder / annotation, "rt") as handle:
            for line in handle:
                columns = line.split("\t")
                if line.startswith("#") or len(columns) != 9 or columns[0] != seqid:
                    continue
                if cut is not None and int(columns[3]) <= cut < int(columns[4]):
                    raise SystemExit(f"{stem}: the cut at {cut} crosses {line.strip()}")
                if cut is None or int(columns[4]) <= cut:
                    lines.append(line)
        if cut is not None:
            sequence = sequence[:cut]
        with gzip.open(HERE / f"{stem}.fa.gz", "wt") as out:
            out.write(f">{seqid}\n")
            for i in range(0, len(sequence), 60):
                out.write(sequence[i:i + 60] + "\n")
        with gzip.open(HERE / f"{stem}.{ext}.gz", "wt") as out:
            if ext == "gff3":
                out.write("##gff-version 3\n")
            out.writelines(lines)
        print(stem, len(sequence), "bp,", len(lines), "annotation lines")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
