"""GFF3 records -> gene models in GeenuFF's representation (transcript, one CDS span, introns).

Coordinates are GeenuFF's: 0-based, start inclusive, end exclusive, oriented 5'->3'. On the plus strand
`start = gff_start - 1, end = gff_end`; on the minus strand `start = gff_end - 1, end = gff_start - 2`
(so the plus-ordered slice of a minus feature is `[end + 1, start + 1)`).

Assembly follows the `Parent` attributes (upstream attaches exons and CDS to the transcript line that
precedes them in the file and files transcripts under the gene line above them; for well-ordered files the
result is the same, for others ours is right). The rules that decide labels are upstream's:
- one `geenuff_transcript` feature per transcript line;
- coding transcripts get one `geenuff_cds` feature from the first to the last CDS line (it spans the
  internal introns), phase = the GFF phase of the 5'-most CDS line; a "hanging intron" (first exon starts
  where the CDS starts but the transcript starts earlier) moves the CDS start to the transcript start,
  likewise at the end;
- introns = the transcript interval minus the union of the exons; overlapping exons leave a "backwards"
  intron over the overlap, which the error detection turns into an `overlapping_exons` error;
- of the coding transcripts of a gene, the one with the most coding bases (first on ties) is `longest`.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from helixtune.annotation import so_terms
from helixtune.annotation.gff3 import GffRecord
from helixtune.errors import InputFileError

log = logging.getLogger("helixtune.annotation")

GEENUFF_TRANSCRIPT = "geenuff_transcript"
GEENUFF_CDS = "geenuff_cds"
GEENUFF_INTRON = "geenuff_intron"


def feature_class(feature_type: str) -> str:
    """'gene', 'transcript', 'exon', 'cds', 'ignorable' or 'unknown'."""
    if feature_type in so_terms.GENE:
        return "gene"
    if feature_type in so_terms.TRANSCRIPT:
        return "transcript"
    if feature_type in so_terms.EXON:
        return "exon"
    if feature_type in so_terms.CDS:
        return "cds"
    if feature_type in so_terms.IGNORABLE:
        return "ignorable"
    return "unknown"


def geenuff_start_end(gff_start: int, gff_end: int, plus: bool) -> tuple[int, int]:
    if plus:
        return gff_start - 1, gff_end
    return gff_end - 1, gff_start - 2


@dataclass
class Feature:
    """A feature in GeenuFF coordinates (also used for error regions)."""

    type: str
    start: int
    end: int
    plus: bool
    phase: int | None = 0
    given_name: str | None = None
    score: float | None = None
    source: str | None = None
    start_is_biological_start: bool = True
    end_is_biological_end: bool = True
    phase_3p: int | None = 0  # phase of the 3'-most CDS line; only used by the checks, not stored

    @property
    def low(self) -> int:
        """Start of the feature in 'sorted GeenuFF space' (min of start, end)."""
        return min(self.start, self.end)


@dataclass
class TranscriptModel:
    id: int
    name: str
    type: str
    feature: Feature
    line_number: int
    cds: Feature | None = None
    protein_name: str | None = None
    introns: list[Feature] = field(default_factory=list)
    errors: list[Feature] = field(default_factory=list)
    longest: bool = False
    phases_filled: int = 0  # CDS lines whose phase came from the CDS chain (the file gave none)


@dataclass
class GeneModel:
    id: int
    name: str
    type: str
    plus: bool
    start: int  # GeenuFF coordinates of the gene line
    end: int
    line_number: int
    transcripts: list[TranscriptModel] = field(default_factory=list)
    fully_erroneous: bool = False
    partial: bool = False  # marked `partial=true` (cut by a sequence end): masked, not taught as complete


# ---- collecting records ------------------------------------------------------------------------------
@dataclass
class _GeneEntry:
    record: GffRecord
    transcripts: list["_TranscriptEntry"] = field(default_factory=list)


@dataclass
class _TranscriptEntry:
    record: GffRecord
    exons: list[GffRecord] = field(default_factory=list)
    cds: list[GffRecord] = field(default_factory=list)


@dataclass
class GffAnnotation:
    """The gene-level structure of a GFF3 file, grouped by seqid (in order of first appearance)."""

    genes_by_seqid: dict[str, list[_GeneEntry]]
    first_line_by_seqid: dict[str, int]
    ignored_types: Counter
    unknown_types: Counter
    orphans: Counter  # children skipped because their parent is an ignored feature or a gene
    undefined_parents: Counter  # children skipped because their Parent is not in the file
    merged_gene_lines: int = 0  # gene lines that repeat an ID (a GFF3 multi-line feature), merged into one gene
    genes_for_parentless_transcripts: int = 0  # e.g. a tRNA line without a gene above it

    @property
    def n_genes(self) -> int:
        return sum(len(g) for g in self.genes_by_seqid.values())


def collect_annotation(records, path) -> GffAnnotation:
    """Group GFF3 records into genes and transcripts by `ID`/`Parent`; one-line errors for broken links."""
    genes: dict[str, _GeneEntry] = {}
    transcripts: dict[str, _TranscriptEntry] = {}
    defined_at: dict[str, int] = {}
    ignored_ids: set[str] = set()
    children: list[tuple[str, GffRecord]] = []
    ignored_types: Counter = Counter()
    unknown_types: Counter = Counter()
    orphans: Counter = Counter()
    undefined: Counter = Counter()
    first_line_by_seqid: dict[str, int] = {}
    genes_by_seqid: dict[str, list[_GeneEntry]] = {}
    merged_gene_lines = 0
    parentless: list[GffRecord] = []

    def require_unique_id(record: GffRecord, what: str) -> str:
        if record.id is None:
            raise InputFileError(path, f"{what} '{record.type}' has no ID attribute", f"line {record.line_number}")
        if record.id in defined_at:
            raise InputFileError(path, f"duplicate ID '{record.id}' (first defined at line "
                                       f"{defined_at[record.id]})", f"line {record.line_number}")
        defined_at[record.id] = record.line_number
        return record.id

    for record in records:
        kind = feature_class(record.type)
        if kind in ("ignorable", "unknown"):
            (ignored_types if kind == "ignorable" else unknown_types)[record.type] += 1
            if record.id is not None:
                ignored_ids.add(record.id)
            continue
        first_line_by_seqid.setdefault(record.seqid, record.line_number)
        if kind == "gene":
            previous = genes.get(record.id) if record.id is not None else None
            if previous is not None and _same_place(previous.record, record):
                # one ID on several gene lines is one (discontinuous) feature in GFF3: the gene spans them all
                previous.record.start = min(previous.record.start, record.start)
                previous.record.end = max(previous.record.end, record.end)
                previous.record.attributes.update(
                    {k: v for k, v in record.attributes.items() if k not in previous.record.attributes})
                merged_gene_lines += 1
                log.warning(f"gene lines sharing the ID '{record.id}' merged into one gene ({path}, line "
                            f"{record.line_number})")
                continue
            entry = _GeneEntry(record)
            genes[require_unique_id(record, "gene-level feature")] = entry
            genes_by_seqid.setdefault(record.seqid, []).append(entry)
        elif kind == "transcript":
            transcripts[require_unique_id(record, "transcript-level feature")] = _TranscriptEntry(record)
            if record.parents:
                children.append(("transcript", record))
            else:
                parentless.append(record)
        else:
            if not record.parents:
                raise InputFileError(path, f"{record.type} without a Parent attribute", f"line {record.line_number}")
            children.append((kind, record))

    # a transcript without a gene (a tRNA, an ncRNA in many GFF3s) is a gene of its own
    for record in parentless:
        gene_id = f"{record.id}.gene"
        if gene_id in defined_at:
            raise InputFileError(path, f"transcript-level feature '{record.id}' has no Parent and the ID "
                                       f"'{gene_id}' for its gene is taken", f"line {record.line_number}")
        defined_at[gene_id] = record.line_number
        gene_record = GffRecord(record.line_number, record.seqid, record.source, "gene", record.start, record.end,
                                record.score, record.strand, None, {"ID": [gene_id]})
        entry = _GeneEntry(gene_record, [transcripts[record.id]])
        genes[gene_id] = entry
        genes_by_seqid.setdefault(record.seqid, []).append(entry)
    # links are resolved after reading, as GFF3 allows children before their parents
    for kind, record in children:
        where = f"line {record.line_number}"
        if kind == "transcript":
            parents = record.parents
            if not parents:
                raise InputFileError(path, f"transcript-level feature '{record.id}' has no Parent (gene)", where)
            if len(parents) > 1:
                raise InputFileError(path, f"transcript '{record.id}' has {len(parents)} parents; one gene "
                                           "per transcript is supported", where)
            parent = parents[0]
            if parent in genes:
                gene = genes[parent]
                if gene.record.seqid != record.seqid:
                    raise InputFileError(path, f"transcript '{record.id}' is on '{record.seqid}' but its gene "
                                               f"'{parent}' is on '{gene.record.seqid}'", where)
                gene.transcripts.append(transcripts[record.id])
            elif parent in ignored_ids:
                orphans[record.type] += 1
                ignored_ids.add(record.id)  # its exons go too
                log.warning(f"Ignoring {record.type} '{record.id}' whose parent '{parent}' is an ignored feature "
                            f"({path}, {where})")
            elif parent in transcripts:
                raise InputFileError(path, f"transcript '{record.id}' has a transcript '{parent}' as parent", where)
            else:
                # e.g. a region cut out of a larger annotation; the transcript and its children are skipped
                undefined[record.type] += 1
                ignored_ids.add(record.id)
                log.warning(f"Ignoring {record.type} '{record.id}': its Parent '{parent}' is not defined in the file "
                            f"({path}, {where})")
            continue
        attached, skipped_for = False, None
        for parent in record.parents:
            if parent in transcripts:
                transcript = transcripts[parent]
                if transcript.record.seqid != record.seqid:
                    raise InputFileError(path, f"{record.type} is on '{record.seqid}' but its parent '{parent}' is "
                                               f"on '{transcript.record.seqid}'", where)
                (transcript.exons if kind == "exon" else transcript.cds).append(record)
                attached = True
            elif parent in ignored_ids or parent in genes:
                skipped_for = skipped_for or ("orphan", parent)  # e.g. a TAIR CDS's second parent, the protein
            else:
                skipped_for = skipped_for or ("undefined", parent)
        if not attached:
            reason, parent = skipped_for
            if reason == "orphan":
                # upstream drops exons/CDS that have no transcript above them; so do we
                orphans[record.type] += 1
                log.warning(f"Ignoring {record.type} without transcript (parent '{parent}') ({path}, {where})")
            else:
                undefined[record.type] += 1
                log.warning(f"Ignoring {record.type}: its Parent '{parent}' is not defined in the file "
                            f"({path}, {where})")
    return GffAnnotation(genes_by_seqid, first_line_by_seqid, ignored_types, unknown_types, orphans, undefined,
                         merged_gene_lines, len(parentless))


def _same_place(a: GffRecord, b: GffRecord) -> bool:
    return a.seqid == b.seqid and a.strand == b.strand and a.type == b.type


def is_partial(record: GffRecord) -> bool:
    """`partial=true` (NCBI/INSDC): the feature is cut, e.g. by a contig end."""
    return any(v.lower() == "true" for v in record.attributes.get("partial", []))


def fill_missing_phases(cds_records: list[GffRecord], plus: bool) -> int:
    """Give CDS lines without a phase the phase their place in the CDS chain implies; returns how many.

    Walking 5'->3' from phase 0, a CDS piece's phase is the number of bases that complete the codon left
    open by the pieces before it: (3 - coding bases so far % 3) % 3. Lines that have a phase keep it.
    """
    if all(r.phase is not None for r in cds_records):
        return 0
    filled, coding = 0, 0
    for record in (cds_records if plus else cds_records[::-1]):
        if record.phase is None:
            record.phase = (3 - coding % 3) % 3
            filled += 1
        coding += record.end - record.start + 1
    return filled


# ---- building GeenuFF models -------------------------------------------------------------------------
def _strand(record: GffRecord, path) -> bool:
    if record.strand == "+":
        return True
    if record.strand == "-":
        return False
    raise InputFileError(path, f"{record.type} '{record.id}' has strand '{record.strand}'; genes and transcripts "
                               "need + or -", f"line {record.line_number}")


def _protein_name(cds_records: list[GffRecord], transcript_name: str) -> str:
    names = {v for r in cds_records for v in r.attributes.get("protein_id", [])}
    return names.pop() if len(names) == 1 else transcript_name


def _subtract(lo: int, hi: int, exons: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """[lo, hi) minus the union of `exons` (half-open), as sorted intervals."""
    pieces = [(lo, hi)]
    for a, b in exons:
        new = []
        for p, q in pieces:
            if b <= p or a >= q:
                new.append((p, q))
                continue
            if p < a:
                new.append((p, a))
            if b < q:
                new.append((b, q))
        pieces = new
    return sorted(pieces)


class IdCounter:
    """Primary keys handed out in creation order (file order), as upstream does."""

    def __init__(self):
        self.gene = 0
        self.transcript = 0

    def next_gene(self) -> int:
        self.gene += 1
        return self.gene

    def next_transcript(self) -> int:
        self.transcript += 1
        return self.transcript


def build_gene_model(entry: _GeneEntry, ids: IdCounter, path) -> GeneModel:
    record = entry.record
    plus = _strand(record, path)
    start, end = geenuff_start_end(record.start, record.end, plus)
    gene = GeneModel(ids.next_gene(), record.id, record.type, plus, start, end, record.line_number)
    gene.partial = is_partial(record)
    for t_entry in entry.transcripts:
        gene.partial = gene.partial or is_partial(t_entry.record)
        gene.transcripts.append(_build_transcript(gene, t_entry, ids, path))
    _set_longest(gene)
    return gene


def _build_transcript(gene: GeneModel, entry: _TranscriptEntry, ids: IdCounter, path) -> TranscriptModel:
    t = entry.record
    t_plus = _strand(t, path)
    t_start, t_end = geenuff_start_end(t.start, t.end, t_plus)
    feature = Feature(GEENUFF_TRANSCRIPT, t_start, t_end, t_plus, 0, t.id, t.score, t.source)
    model = TranscriptModel(ids.next_transcript(), t.id, t.type, feature, t.line_number)
    if t_plus != gene.plus:
        # upstream would file the transcript's features on one strand and check them on the other
        gene.fully_erroneous = True
        log.warning(f"transcript '{t.id}' is on the other strand than its gene '{gene.name}' "
                    f"({path}, line {t.line_number}); the gene is masked")
    if not entry.cds:
        return model  # non-coding: only the transcript feature, no checks

    cds_records = sorted(entry.cds, key=lambda r: r.start)
    exon_records = sorted(entry.exons, key=lambda r: r.start)
    if any(r.strand != t.strand for r in cds_records):
        # upstream aborts the whole import here; we mask the gene instead
        gene.fully_erroneous = True
        log.warning(f"CDS of transcript '{t.id}' on another strand ({path}, line {t.line_number}); gene masked")
    if not exon_records:
        # upstream crashes; a CDS-only transcript is read as if each CDS line were an exon
        exon_records = cds_records
        log.info(f"transcript '{t.id}' has CDS but no exons; its CDS lines are used as exons")
    model.protein_name = _protein_name(cds_records, t.id)
    model.phases_filled = fill_missing_phases(cds_records, t_plus)
    first, last = (cds_records[0], cds_records[-1])
    phase_5p, phase_3p = (first.phase, last.phase) if t_plus else (last.phase, first.phase)
    gff_cds_start, gff_cds_end = first.start, last.end
    # hanging introns: a partial model whose first/last exon is coding but the transcript goes further
    if exon_records[0].start == gff_cds_start != t.start:
        gff_cds_start = t.start
    if exon_records[-1].end == gff_cds_end != t.end:
        gff_cds_end = t.end
    c_start, c_end = geenuff_start_end(gff_cds_start, gff_cds_end, t_plus)
    model.cds = Feature(GEENUFF_CDS, c_start, c_end, t_plus, phase_5p, None, t.score, t.source, phase_3p=phase_3p)

    # introns: transcript minus exons, in 'sorted GeenuFF space' (min/max of start, end)
    t_lo, t_hi = sorted((t_start, t_end))
    seen: list[tuple[int, int]] = []
    introns: list[Feature] = []
    for exon in exon_records:
        if exon.strand != t.strand:
            gene.fully_erroneous = True
            break
        e_lo, e_hi = sorted(geenuff_start_end(exon.start, exon.end, t_plus))
        overlapping = [(a, b) for a, b in seen if a < e_hi and b > e_lo]
        if overlapping:
            # a 'backwards' intron over the overlap, later turned into an overlapping_exons error
            o_begin = max(min(a for a, _ in overlapping), e_lo)
            o_end = min(max(b for _, b in overlapping), e_hi)
            start, end = (o_end, o_begin) if t_plus else (o_begin, o_end)
            introns.append(Feature(GEENUFF_INTRON, start, end, t_plus, 0, None, t.score, t.source))
        seen.append((e_lo, e_hi))
    for lo, hi in _subtract(t_lo, t_hi, seen):
        start, end = (lo, hi) if t_plus else (hi, lo)
        introns.append(Feature(GEENUFF_INTRON, start, end, t_plus, 0, None, t.score, t.source))
    introns.sort(key=lambda f: f.start)
    model.introns = introns if t_plus else introns[::-1]
    return model


def _set_longest(gene: GeneModel) -> None:
    best, best_length = None, -1
    for transcript in gene.transcripts:
        cds = transcript.cds
        if cds is None:
            continue
        lo, hi = sorted((cds.start, cds.end))
        coding = abs(cds.start - cds.end)
        for intron in transcript.introns:
            i_lo, i_hi = sorted((intron.start, intron.end))
            if min(hi, i_hi) - max(lo, i_lo) > 0:
                coding -= abs(intron.start - intron.end)
        if coding > best_length:
            best, best_length = transcript, coding
    for transcript in gene.transcripts:
        transcript.longest = transcript is best
