"""GFF3 text of decoded genes, laid out exactly as HelixerPost writes it.

One gene per kept run of non-intergenic labels, one transcript (`.1`) per gene; features five_prime_UTR,
CDS (with phase) and three_prime_UTR numbered per type; exons merged from touching features; records built
in stream coordinates and, on the minus strand, mirrored afterwards (order unchanged, so minus-strand
records run 5' to 3', with descending coordinates).
"""

from __future__ import annotations

import numpy as np

from helixtune.decode.states import LABEL_CODING, LABEL_INTERGENIC, LABEL_UTR3, LABEL_UTR5

SOURCE = "Helixer"
GFF_VERSION = "3.2.1"
_PHASE_OF_OFFSET = ("0", "2", "1")  # phase counts the bases left to the next codon start
_FEATURE = {LABEL_UTR5: "five_prime_UTR", LABEL_CODING: "CDS", LABEL_UTR3: "three_prime_UTR"}


def file_header(species: str, model_md5sum: str | None) -> str:
    text = f"##gff-version {GFF_VERSION}\n##species {species}\n"
    if model_md5sum is not None:
        text += f"# {model_md5sum}\n"
    return text


def sequence_header(seqid: str, length: int) -> str:
    return f"##sequence-region {seqid} 1 {length}\n"


def split_genes(runs: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Label runs -> genes: (runs of the gene, coding length); intergenic runs separate genes."""
    genes = []
    current: list[int] = []
    coding = 0
    for i in range(len(runs)):
        label = runs[i, 2]
        if label == LABEL_INTERGENIC:
            if current:
                genes.append((runs[current], coding))
                current, coding = [], 0
        else:
            if label == LABEL_CODING:
                coding += int(runs[i, 1] - runs[i, 0])
            current.append(i)
    if current:
        genes.append((runs[current], coding))
    return genes


def gene_records(gene_runs: np.ndarray, offset: int, gene_name: str) -> list[tuple[str, int, int, str, str]]:
    """(type, start, end, phase, attributes) for one gene, 1-based inclusive stream coordinates."""
    features = []
    counters = {LABEL_UTR5: 0, LABEL_CODING: 0, LABEL_UTR3: 0}
    coding_offset = 0
    for start, end, label in gene_runs.tolist():
        if label not in _FEATURE:
            continue  # introns produce no record
        counters[label] += 1
        feature = _FEATURE[label]
        phase = "."
        if label == LABEL_CODING:
            phase = _PHASE_OF_OFFSET[coding_offset % 3]
            coding_offset += end - start
        features.append((feature, start + offset + 1, end + offset, phase,
                         f"ID={gene_name}.1.{feature}.{counters[label]};Parent={gene_name}.1"))
    if not features:
        return []
    exons = []
    exon_start, exon_end = None, None
    for _, start, end, _, _ in features:
        if exon_end is not None and exon_end + 1 < start:
            exons.append((exon_start, exon_end))
            exon_start = None
        if exon_start is None:
            exon_start = start
        exon_end = end
    exons.append((exon_start, exon_end))
    first, last = features[0][1], features[-1][2]
    records = [("gene", first, last, ".", f"ID={gene_name}"),
               ("mRNA", first, last, ".", f"ID={gene_name}.1;Parent={gene_name}")]
    exon_iter = iter(exons)
    current_exon_end = None
    exon_index = 1
    for record in features:
        if current_exon_end is None or current_exon_end < record[1]:
            exon_start, exon_end = next(exon_iter)
            records.append(("exon", exon_start, exon_end, ".",
                            f"ID={gene_name}.1.exon.{exon_index};Parent={gene_name}.1"))
            exon_index += 1
            current_exon_end = exon_end
        records.append(record)
    return records


def format_records(records, seqid: str, reverse: bool, sequence_length: int) -> str:
    lines = []
    strand = "-" if reverse else "+"
    for feature, start, end, phase, attributes in records:
        if reverse:
            start, end = 1 + sequence_length - end, 1 + sequence_length - start
        lines.append(f"{seqid}\t{SOURCE}\t{feature}\t{start}\t{end}\t.\t{strand}\t{phase}\t{attributes}\n")
    return "".join(lines)


def region_genes_text(runs: np.ndarray, start: int, reverse: bool, seqid: str, sequence_length: int, name: str,
                      first_index: int, min_coding_length: int) -> tuple[list[str], int]:
    """The GFF3 lines of one decoded region's genes (those with enough coding bases), numbered from
    `first_index`; returns (texts, genes written)."""
    texts = []
    index = first_index
    for gene_runs, coding_length in split_genes(runs):
        if coding_length < min_coding_length:
            continue
        records = gene_records(gene_runs, start, f"{name}_{seqid}_{index:06d}")
        texts.append(format_records(records, seqid, reverse, sequence_length))
        index += 1
    return texts, index - first_index

