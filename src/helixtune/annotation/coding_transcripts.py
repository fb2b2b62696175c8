"""The coding transcripts of a GFF3 file: a light, read-only view (no validation), as evaluation, the
pseudolabel checks and the decoder's parameter fit need them. (Import into the store goes through
`geenuff_models`, which builds upstream's GeenuFF gene models and validates them.)

Only what a comparison of coding structures uses is kept: for every transcript that has CDS
features, its CDS segments, exons, stop-codon features, the GFF phase at its 5' end and its gene.
A transcript is any feature that is the Parent of a CDS (mRNA, transcript, ...); its gene is its own
first Parent (or itself when it has none). Lines are parsed by `helixtune.annotation.gff3`, so a
malformed line fails with the file and line named.

Coordinates are 0-based half-open [start, end) throughout this module (GeenuFF's differ on the minus strand).

Stop codons: references differ in whether the CDS includes the stop codon (the S. pombe reference
does, AUGUSTUS does not; GFF3 says it should). `normalise_stop_codons` brings a set of models to
"stop codon inside the CDS", from explicit `stop_codon` features or, with the genome sequence, from
the codon that follows the CDS.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from helixtune.annotation.gff3 import iter_annotation
from helixtune.errors import HelixtuneError, InputFileError
from helixtune.genome.codons import STOP_CODONS, reverse_complement


@dataclass
class Transcript:
    """One coding transcript. `cds` and `exons` are sorted ascending, merged where they touch."""

    id: str
    gene_id: str
    seqid: str
    strand: str  # '+' or '-'
    cds: list = field(default_factory=list)  # [(start, end)], 0-based half-open
    exons: list = field(default_factory=list)
    stop_codons: list = field(default_factory=list)
    five_prime_phase: int = 0  # GFF phase of the 5'-most CDS segment
    span: tuple = (0, 0)  # transcript feature's extent (or the CDS/exon extent when absent)

    @property
    def cds_chain(self) -> tuple:
        return tuple(self.cds)

    @property
    def cds_start(self) -> int:
        return self.cds[0][0]

    @property
    def cds_end(self) -> int:
        return self.cds[-1][1]

    @property
    def introns(self) -> list:
        """Introns of the coding part: gaps between consecutive CDS segments."""
        return [(a[1], b[0]) for a, b in zip(self.cds, self.cds[1:])]

    @property
    def transcript_introns(self) -> list:
        """All introns: gaps between exons when exons are given, else between CDS segments."""
        segments = self.exons if self.exons else self.cds
        return [(a[1], b[0]) for a, b in zip(segments, segments[1:])]

    @property
    def coding_length(self) -> int:
        return sum(e - s for s, e in self.cds)

    def key(self) -> tuple:
        """Identity of the coding structure: where it is and its exact CDS chain."""
        return (self.seqid, self.strand, self.cds_chain)

    def coding_sequence(self, genome: dict) -> bytes:
        """The spliced CDS, 5'->3' on the transcript's strand."""
        seq = genome[self.seqid]
        spliced = b"".join(seq[s:e] for s, e in self.cds)
        return reverse_complement(spliced) if self.strand == "-" else spliced

    def splice_motifs(self, sequence: bytes) -> list[bytes]:
        """Donor + acceptor dinucleotides of each coding intron (e.g. b"GTAG"), on the transcript's strand."""
        motifs = []
        for s, e in self.introns:
            motif = sequence[s:s + 2] + sequence[e - 2:e]
            motifs.append(bytes(reverse_complement(motif) if self.strand == "-" else motif))
        return motifs


@dataclass
class GeneModels:
    """All coding transcripts of one file, grouped by gene."""

    path: str
    transcripts: list
    n_cds_without_parent: int = 0
    stop_codon_normalisation: str = "as given"

    @property
    def genes(self) -> dict:
        genes = defaultdict(list)
        for t in self.transcripts:
            genes[(t.seqid, t.gene_id)].append(t)
        return dict(genes)

    def seqids(self) -> set:
        return {t.seqid for t in self.transcripts}


def merge_segments(segments) -> list:
    """Sort and merge overlapping or touching [start, end) segments."""
    merged = []
    for s, e in sorted(segments):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def read_gene_models(path) -> GeneModels:
    """Read the coding transcripts of a GFF3 or GTF file (plain or gzip)."""
    parents_of = {}  # feature id -> its first parent id
    spans = {}  # feature id -> (seqid, strand, start, end)
    cds = defaultdict(list)  # transcript id -> [(start, end, phase, line)]
    exons = defaultdict(list)
    stops = defaultdict(list)
    n_orphans = 0
    for record in iter_annotation(path):
        if record.id is not None:
            parents_of.setdefault(record.id, record.parents[0] if record.parents else None)
            spans.setdefault(record.id, (record.seqid, record.strand, record.start - 1, record.end))
        kind = record.type
        if kind in ("CDS", "exon", "stop_codon"):
            if not record.parents:
                if kind == "CDS":
                    n_orphans += 1
                continue
            for parent in record.parents:
                if kind == "CDS":
                    if record.strand not in ("+", "-"):
                        raise InputFileError(path, f"CDS without a strand ('{record.strand}')",
                                             f"line {record.line_number}")
                    cds[parent].append((record.seqid, record.strand, record.start - 1, record.end,
                                        record.phase, record.line_number))
                elif kind == "exon":
                    exons[parent].append((record.start - 1, record.end))
                else:
                    stops[parent].append((record.start - 1, record.end))
    transcripts = []
    for tid, parts in cds.items():
        seqids = {p[0] for p in parts}
        strands = {p[1] for p in parts}
        if len(seqids) > 1 or len(strands) > 1:
            raise InputFileError(path, f"CDS of transcript '{tid}' lie on several sequences or strands",
                                 f"line {parts[0][5]}")
        strand = strands.pop()
        segments = merge_segments((p[2], p[3]) for p in parts)
        five_prime = min(parts, key=lambda p: p[2]) if strand == "+" else max(parts, key=lambda p: p[3])
        gene_id = parents_of.get(tid) or tid
        exon_segments = merge_segments(exons.get(tid, []))
        if tid in spans:
            span = spans[tid][2:]
        else:
            all_segments = segments + exon_segments
            span = (min(s for s, _ in all_segments), max(e for _, e in all_segments))
        transcripts.append(Transcript(tid, gene_id, seqids.pop(), strand, segments, exon_segments,
                                      merge_segments(stops.get(tid, [])), five_prime[4] or 0, span))
    transcripts.sort(key=lambda t: (t.seqid, t.cds_start, t.cds_end, t.strand, t.id))
    return GeneModels(str(path), transcripts, n_orphans)


# ---- stop codons ------------------------------------------------------------------------------------

def _ends_with_stop(t: Transcript, genome: dict) -> bool:
    return t.coding_sequence(genome)[-3:] in STOP_CODONS


def _followed_by_stop(t: Transcript, genome: dict) -> bool:
    seq = genome.get(t.seqid)
    if seq is None:
        return False
    if t.strand == "+":
        codon = seq[t.cds_end:t.cds_end + 3]
    else:
        codon = reverse_complement(seq[max(t.cds_start - 3, 0):t.cds_start])
    return len(codon) == 3 and codon in STOP_CODONS


def _extend_by_stop(t: Transcript) -> None:
    if t.strand == "+":
        t.cds[-1] = (t.cds[-1][0], t.cds[-1][1] + 3)
    else:
        t.cds[0] = (t.cds[0][0] - 3, t.cds[0][1])


def normalise_stop_codons(models: GeneModels, genome: dict | None, mode: str = "auto") -> GeneModels:
    """Make the stop codon part of the CDS (mode 'auto'/'include'), or leave the models ('as-is').

    auto: if the file has `stop_codon` features outside its CDS, they are merged into the CDS; else,
    with the genome, the file is judged by its transcripts: when most CDS do not end in a stop codon
    but are followed by one, every CDS followed by a stop codon is extended by it.
    include: the same, but without the majority rule (each CDS followed by a stop is extended).
    """
    if mode == "as-is":
        return models
    if mode not in ("auto", "include"):
        raise HelixtuneError(f"unknown stop-codon mode '{mode}' (expected auto, include or as-is)")
    with_features = [t for t in models.transcripts if t.stop_codons]
    outside = [t for t in with_features
               if any(not any(cs <= s and e <= ce for cs, ce in t.cds) for s, e in t.stop_codons)]
    if outside and len(outside) >= len(with_features) / 2:
        for t in outside:
            t.cds = merge_segments(t.cds + t.stop_codons)
        models.stop_codon_normalisation = f"stop_codon features merged into the CDS of {len(outside)} transcripts"
        return models
    if genome is None:
        models.stop_codon_normalisation = "as given (no stop_codon features; no genome to check the CDS ends)"
        return models
    checked = [t for t in models.transcripts if t.seqid in genome]
    ending = sum(_ends_with_stop(t, genome) for t in checked)
    followed = [t for t in checked if not _ends_with_stop(t, genome) and _followed_by_stop(t, genome)]
    if mode == "include" or (checked and ending < len(checked) / 2 and len(followed) >= len(checked) / 2):
        for t in followed:
            _extend_by_stop(t)
        models.stop_codon_normalisation = f"CDS extended by the following stop codon for {len(followed)} transcripts"
    else:
        models.stop_codon_normalisation = f"as given ({ending} of {len(checked)} CDS end in a stop codon)"
    return models


# ---- regions ----------------------------------------------------------------------------------------

def parse_regions(texts) -> dict | None:
    """`seqid` or `seqid:start-end` (1-based, inclusive) -> {seqid: [(start0, end)] or None (whole)}."""
    if not texts:
        return None
    regions: dict = {}
    for text in texts:
        seqid, colon, coords = text.rpartition(":")
        if colon and "-" in coords and coords.replace("-", "").replace(",", "").isdigit():
            start_text, _, end_text = coords.replace(",", "").partition("-")
            start, end = int(start_text), int(end_text)
            if start < 1 or end < start:
                raise HelixtuneError(f"--sequences: bad region '{text}' (expected seqid:start-end, 1-based)")
            if regions.get(seqid, []) is not None:
                regions.setdefault(seqid, []).append((start - 1, end))
        else:
            regions[text] = None
    return regions


def in_regions(t: Transcript, regions: dict | None) -> bool:
    """A transcript belongs to the selection when its CDS overlaps a selected region."""
    if regions is None:
        return True
    if t.seqid not in regions:
        return False
    spans = regions[t.seqid]
    return spans is None or any(t.cds_start < e and s < t.cds_end for s, e in spans)


def select(models: GeneModels, regions: dict | None) -> GeneModels:
    if regions is None:
        return models
    return GeneModels(models.path, [t for t in models.transcripts if in_regions(t, regions)],
                      models.n_cds_without_parent, models.stop_codon_normalisation)
