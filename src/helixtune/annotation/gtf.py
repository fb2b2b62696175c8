"""Reading GTF (GTF2.2 / Ensembl / GENCODE) as the GFF3 records the importer already understands.

GTF links features by `gene_id` and `transcript_id` instead of `ID`/`Parent`. Each line becomes a
`GffRecord` with those links written as GFF3 attributes:
- `gene` lines -> `ID=gene:<gene_id>`; `transcript` (or `mRNA`) lines ->
  `ID=transcript:<transcript_id>;Parent=gene:<gene_id>` (GTF lets a gene and a transcript share an id;
  the prefixes are the ones Ensembl's own GFF3 uses);
- `exon` and `CDS` lines -> `Parent=transcript:<transcript_id>`, the CDS frame as its phase;
- a gene or transcript that has no line of its own (plain GTF2.2 lists only exons and CDS) gets one
  spanning its children;
- `stop_codon` lines: Ensembl and GENCODE keep the stop codon outside the CDS, GFF3 keeps it inside. A
  stop codon next to its transcript's CDS extends that CDS line; a part split off by an intron becomes a
  CDS line of its own. `start_codon`, UTR and `Selenocysteine` lines add nothing (the exons and CDS
  already hold them) and are counted as ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

from helixtune.annotation.gff3 import GffRecord, open_text, parse_line
from helixtune.errors import InputFileError

_ATTRIBUTE = re.compile(r'\s*([^\s;]+)\s+(?:"([^"]*)"|([^;\s]*))\s*;?')
GTF_TRANSCRIPT_TYPES = ("transcript", "mRNA")
GTF_IGNORED_TYPES = ("start_codon", "UTR", "five_prime_utr", "three_prime_utr", "Selenocysteine")


def parse_gtf_attributes(text: str) -> dict[str, list[str]]:
    """`key "value"; key2 "value2";` -> {key: [value], ...} (repeated keys such as `tag` collect values)."""
    attributes: dict[str, list[str]] = {}
    for match in _ATTRIBUTE.finditer(text):
        key, quoted, bare = match.groups()
        attributes.setdefault(key, []).append(quoted if quoted is not None else bare)
    return attributes


def looks_like_gtf(path) -> bool:
    """True when the first feature line of `path` carries GTF attributes (`gene_id "..."`), not `key=value`."""
    with open_text(path) as stream:
        try:
            for line in stream:
                if line.startswith("#") or not line.strip():
                    continue
                columns = line.rstrip("\r\n").split("\t")
                return len(columns) == 9 and "=" not in columns[8] and "gene_id" in columns[8]
        except (OSError, EOFError, UnicodeDecodeError, ValueError):
            return False  # the GFF3 reader reports what is wrong with the file
    return False


@dataclass
class _Transcript:
    record: GffRecord | None = None
    gene_id: str = ""
    children: list[GffRecord] = field(default_factory=list)
    stop_codons: list[GffRecord] = field(default_factory=list)


def _with_links(record: GffRecord, **links: str) -> GffRecord:
    attributes = {k: v for k, v in record.attributes.items()}
    for key, value in links.items():
        attributes[key] = [value]
    record.attributes = attributes
    return record


def _span(records: list[GffRecord], type_name: str, links: dict[str, str]) -> GffRecord:
    first = min(records, key=lambda r: r.line_number)
    return GffRecord(first.line_number, first.seqid, first.source, type_name, min(r.start for r in records),
                     max(r.end for r in records), None, first.strand, None, {k: [v] for k, v in links.items()})


def _join_stop_codons(path, transcript_id: str, t: _Transcript) -> list[GffRecord]:
    """The transcript's CDS lines with its stop codon moved inside the CDS, as GFF3 has it."""
    cds = sorted((r for r in t.children if r.type == "CDS"), key=lambda r: r.start)
    for stop in t.stop_codons:
        if not cds:
            break  # a stop codon without a CDS: nothing to extend
        covered = any(c.start <= stop.start and stop.end <= c.end for c in cds)
        if covered:
            continue  # GTFs that keep the stop inside the CDS
        if stop.strand == "+" and stop.start == cds[-1].end + 1:
            cds[-1].end = stop.end
        elif stop.strand == "-" and stop.end == cds[0].start - 1:
            cds[0].start = stop.start
        else:
            # the stop codon split by an intron: this part is a CDS line of its own
            piece = GffRecord(stop.line_number, stop.seqid, stop.source, "CDS", stop.start, stop.end, None,
                              stop.strand, None, {"Parent": [f"transcript:{transcript_id}"]})
            t.children.append(piece)
            cds.append(piece)
            cds.sort(key=lambda r: r.start)
            if not any(e.type == "exon" and e.start <= stop.start and stop.end <= e.end for e in t.children):
                raise InputFileError(path, f"stop codon of transcript '{transcript_id}' lies outside its exons",
                                     f"line {stop.line_number}")
    return t.children


def iter_gtf(path, ignored=None) -> Iterator[GffRecord]:
    """Yield the GFF3-style records of a GTF file: genes first, then transcripts, then exons and CDS.

    `ignored`, a Counter, receives the types read and not turned into records.
    """
    genes: dict[str, GffRecord] = {}
    gene_children: dict[str, list[GffRecord]] = {}
    transcripts: dict[str, _Transcript] = {}
    for record in _iter_lines(path):
        where = f"line {record.line_number}"
        attributes = parse_gtf_attributes(record.attributes.pop("_gtf", [""])[0])
        gene_id = (attributes.get("gene_id") or [""])[0]
        transcript_id = (attributes.get("transcript_id") or [""])[0]
        gene_key, transcript_key = f"gene:{gene_id}", f"transcript:{transcript_id}"
        record.attributes = {k: v for k, v in attributes.items() if k not in ("gene_id", "transcript_id")}
        if not gene_id:
            raise InputFileError(path, f"GTF {record.type} line without a gene_id attribute", where)
        if record.type == "gene":
            if gene_id in genes:
                raise InputFileError(path, f"duplicate gene '{gene_id}' (first at line "
                                           f"{genes[gene_id].line_number})", where)
            genes[gene_id] = _with_links(record, ID=gene_key)
            continue
        if record.type in GTF_IGNORED_TYPES:
            if ignored is not None:
                ignored[record.type] += 1
            continue
        if not transcript_id:
            raise InputFileError(path, f"GTF {record.type} line without a transcript_id attribute", where)
        t = transcripts.setdefault(transcript_id, _Transcript(gene_id=gene_id))
        if t.gene_id != gene_id:
            raise InputFileError(path, f"transcript '{transcript_id}' is listed under genes '{t.gene_id}' and "
                                       f"'{gene_id}'", where)
        if record.type in GTF_TRANSCRIPT_TYPES:
            if t.record is not None:
                raise InputFileError(path, f"duplicate transcript '{transcript_id}' (first at line "
                                           f"{t.record.line_number})", where)
            t.record = _with_links(record, ID=transcript_key, Parent=gene_key)
        elif record.type == "stop_codon":
            t.stop_codons.append(record)
        else:  # exon, CDS, and any other type, which the importer sorts out by its Sequence Ontology class
            t.children.append(_with_links(record, Parent=transcript_key))

    for transcript_id, t in transcripts.items():
        if t.record is None:
            parts = t.children or t.stop_codons
            t.record = _span(parts, "transcript", {"ID": f"transcript:{transcript_id}", "Parent": f"gene:{t.gene_id}"})
        gene_children.setdefault(t.gene_id, []).append(t.record)
    for gene_id, children in gene_children.items():
        if gene_id not in genes:
            genes[gene_id] = _span(children, "gene", {"ID": f"gene:{gene_id}"})
    yield from sorted(genes.values(), key=lambda r: r.line_number)
    for transcript_id, t in transcripts.items():
        yield t.record
        yield from _join_stop_codons(path, transcript_id, t)


def _iter_lines(path) -> Iterator[GffRecord]:
    """Feature lines with the GFF3 checks of columns 1-8; the attribute column is kept raw (as `_gtf`)."""
    from helixtune.annotation.gff3 import iter_lines

    for line_number, line in iter_lines(path):
        columns = line.rstrip("\r\n").split("\t")
        if len(columns) == 9:
            raw = columns[8]
            columns[8] = ""
            record = parse_line(path, line_number, "\t".join(columns))
            record.attributes = {"_gtf": [raw]}
        else:
            record = parse_line(path, line_number, line)  # raises the column-count error
        yield record
