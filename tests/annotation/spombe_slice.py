"""The 40 kbp S. pombe slice with its reference annotation (15 genes), read into GeenuFF gene models."""

from __future__ import annotations

from pathlib import Path

from helixtune.annotation.geenuff_models import IdCounter, build_gene_model, collect_annotation
from helixtune.annotation.gff3 import iter_gff3
from helixtune.genome.fasta import iter_fasta

DATA = Path(__file__).resolve().parents[1] / "data" / "pseudolabel"
GFF3 = DATA / "spombe_chrI_200000-240000.reference.gff3"
FASTA = DATA / "spombe_chrI_200000-240000.fa"
SEQID = "chrI_200000_240000"


def sequence() -> bytes:
    return dict(iter_fasta(FASTA))[SEQID]


def gene_models(gff3=GFF3) -> dict:
    """{gene name: GeneModel} of a GFF3 file of the slice."""
    annotation = collect_annotation(iter_gff3(gff3), gff3)
    ids = IdCounter()
    return {gene.name: gene for gene in (build_gene_model(entry, ids, gff3)
                                         for entry in annotation.genes_by_seqid[SEQID])}


def edited_gff3(tmp_path, replace: dict, extra: str = "") -> Path:
    """The reference GFF3 with whole lines replaced ({old line start: new line}) and lines appended."""
    lines = GFF3.read_text().splitlines(keepends=True)
    out = []
    for line in lines:
        for old, new in replace.items():
            if line.startswith(old):
                line = new
        out.append(line)
    path = tmp_path / "edited.gff3"
    path.write_text("".join(out) + extra)
    return path
