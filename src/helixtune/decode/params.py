"""Parameters of the `genome` decoder: a small JSON file, fitted from a reference annotation.

`fit_params(gff3, fasta)` estimates, from any annotation with its genome (the lineage's training genomes or
a user's relatives): intron, CDS-exon, UTR and intergenic lengths; how often introns open per coding base;
the splice-site motif frequencies (GT-AG, GC-AG, other); position weight matrices of the donor, acceptor and
start-codon contexts against the genome's base composition. `DecodeParams.load` reads the JSON that `save`
writes (`helixtune decode-params fit`), `compiled()` turns it into the arrays the compiled decoder takes.

All costs are in bits (-log2 of a probability or of a likelihood ratio).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from helixtune import h5layout
from helixtune.errors import HelixtuneError, InputFileError

FORMAT = "helixtune-decode-params"
VERSION = 1
LETTERS = h5layout.X_COLUMNS
BUNDLED = Path(__file__).resolve().parents[1] / "data" / "decode_params"
DEFAULT_NAME = "fungi"

# context windows, relative to the first intron base (donor), the first base after the intron (acceptor) and
# the A of ATG (start); the fixed motif bases inside them carry no weight (their cost is the motif's)
DONOR_OFFSET, DONOR_WIDTH, DONOR_FIXED = -3, 9, (3, 4)
ACCEPTOR_OFFSET, ACCEPTOR_WIDTH, ACCEPTOR_FIXED = -14, 16, (12, 13)
START_OFFSET, START_WIDTH, START_FIXED = -8, 14, (8, 9, 10)

DEFAULT_UTR5, DEFAULT_UTR3 = 150.0, 200.0  # used when the annotation has no UTRs
MIN_UTR_MEAN = 10.0  # a mean UTR below this is stubs (a decoded annotation's trimmed UTRs), not a length

# adapting to the target genome (`adapt_params`): the fewest first-pass genes whose statistics are trusted
MIN_ADAPT_GENES = 100


@dataclass
class DecodeParams:
    """Everything the genome decoder needs besides the predictions; see docs/decode.md for each field."""

    source: dict = field(default_factory=dict)
    emission_weight: float = 1.0
    confident_bits: float = 13.3  # beyond this many bits below the best class (p ratio ~1e-4) ...
    confident_weight: float = 1.0  # ... each further bit costs this much on top of emission_weight
    splice_weight: float = 1.0
    start_weight: float = 1.0
    allow_noncanonical: bool = False
    # lengths (bp): means for the geometric states, medians for the record
    mean_intergenic: float = 1500.0
    mean_utr5: float = DEFAULT_UTR5
    mean_utr3: float = DEFAULT_UTR3
    mean_cds_exon: float = 800.0
    introns_per_coding_base: float = 1e-3
    utr_introns_per_utr_base: float = 1e-4
    medians: dict = field(default_factory=dict)
    # intron lengths: -log2 P(L) for L in [min_intron, max_intron]; longer ones only with a hint
    min_intron: int = 40
    max_intron: int = 1000
    intron_length_cost: list = field(default_factory=list)
    intron_tail_cost: float = 0.01  # bits per bp beyond max_intron (hinted introns only)
    # splice motifs: fractions of GT-AG, GC-AG and AT-AC (others are never decoded)
    motif_fraction: dict = field(default_factory=lambda: {"GT-AG": 0.98, "GC-AG": 0.015, "AT-AC": 0.005})
    # position weight matrices, rows = positions of the window, columns C, A, T, G: log2 odds against background
    donor_pwm: list = field(default_factory=list)
    acceptor_pwm: list = field(default_factory=list)
    start_pwm: list = field(default_factory=list)
    # coding statistics: log2 odds of a base after the `coding_order` bases before it, per codon position,
    # against the genome's own Markov chain of that order; rows = codon position x context, columns C, A, T, G
    coding_order: int = 4
    coding_weight: float = 1.0
    coding_log_odds: list = field(default_factory=list)
    # candidate regions
    window_size: int = 100
    edge_threshold: float = 0.1
    peak_threshold: float = 0.8
    region_margin: int = 500
    max_region_length: int = 400_000
    min_coding_length: int = 100
    hint_weight: float = 4.0

    # ---- I/O -------------------------------------------------------------------------------------------
    def to_json(self) -> dict:
        data = {"format": FORMAT, "version": VERSION}
        data.update(asdict(self))
        return data

    def save(self, path) -> None:
        from helixtune.atomic import atomic_output

        with atomic_output(path) as tmp:
            Path(tmp).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: dict, path="parameters") -> "DecodeParams":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputFileError(path, f"not a decode parameter file (no \"format\": \"{FORMAT}\")")
        if data.get("version") != VERSION:
            raise InputFileError(path, f"decode parameter version {data.get('version')} is not supported "
                                       f"(expected {VERSION})")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known - {"format", "version"})
        if unknown:
            raise InputFileError(path, f"unknown decode parameter(s): {', '.join(unknown)}")
        params = cls(**{k: v for k, v in data.items() if k in known})
        params.validate(path)
        return params

    @classmethod
    def load(cls, path=None) -> "DecodeParams":
        """Read a parameter file; None = the bundled fungal parameters."""
        path = Path(path) if path is not None else BUNDLED / f"{DEFAULT_NAME}.json"
        if not path.exists():
            raise InputFileError(path, "no such file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputFileError(path, f"not valid JSON ({err})") from None
        return cls.from_json(data, path)

    def validate(self, path="parameters") -> None:
        def bad(problem):
            raise InputFileError(path, problem)

        for name in ("emission_weight", "splice_weight", "start_weight", "hint_weight", "intron_tail_cost",
                     "coding_weight", "confident_bits", "confident_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                bad(f"{name} must be a non-negative number, got {value!r}")
        for name in ("mean_intergenic", "mean_utr5", "mean_utr3", "mean_cds_exon"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 1:
                bad(f"{name} must be a number above 1, got {value!r}")
        for name in ("introns_per_coding_base", "utr_introns_per_utr_base"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value < 1:
                bad(f"{name} must be a probability between 0 and 1, got {value!r}")
        if not (isinstance(self.min_intron, int) and isinstance(self.max_intron, int)
                and 4 <= self.min_intron <= self.max_intron <= 100_000):
            bad(f"intron lengths must satisfy 4 <= min_intron <= max_intron <= 100000, got {self.min_intron} "
                f"and {self.max_intron}")
        if self.intron_length_cost and len(self.intron_length_cost) != self.max_intron - self.min_intron + 1:
            bad(f"intron_length_cost has {len(self.intron_length_cost)} values, expected "
                f"max_intron - min_intron + 1 = {self.max_intron - self.min_intron + 1}")
        for name, width in (("donor_pwm", DONOR_WIDTH), ("acceptor_pwm", ACCEPTOR_WIDTH), ("start_pwm", START_WIDTH)):
            table = getattr(self, name)
            if table and (len(table) != width or any(len(row) != 4 for row in table)):
                bad(f"{name} must be {width} rows of 4 numbers (C, A, T, G)")
        if not (isinstance(self.coding_order, int) and 0 <= self.coding_order <= 6):
            bad(f"coding_order must be an integer from 0 to 6, got {self.coding_order!r}")
        if self.coding_log_odds and (len(self.coding_log_odds) != 3 * 4 ** self.coding_order
                                     or any(len(row) != 4 for row in self.coding_log_odds)):
            bad(f"coding_log_odds must be 3 x 4^coding_order = {3 * 4 ** self.coding_order} rows of 4 numbers")
        for motif in ("GT-AG", "GC-AG", "AT-AC"):
            value = self.motif_fraction.get(motif)
            if not isinstance(value, (int, float)) or not 0 < value <= 1:
                bad(f"motif_fraction[{motif}] must be in (0, 1], got {value!r}")
        from helixtune.decode.streams import check_thresholds

        try:
            check_thresholds(self.window_size, self.edge_threshold, self.peak_threshold, self.min_coding_length)
        except HelixtuneError as err:
            bad(str(err))
        if not (isinstance(self.region_margin, int) and self.region_margin >= 0):
            bad(f"region_margin must be a non-negative integer, got {self.region_margin!r}")
        if not (isinstance(self.max_region_length, int) and self.max_region_length >= 10_000):
            bad(f"max_region_length must be an integer of at least 10000, got {self.max_region_length!r}")

    # ---- the arrays of the compiled decoder ------------------------------------------------------------
    def compiled(self) -> tuple:
        from helixtune.decode import genome as G

        def geometric(mean):
            return -math.log2(1.0 - 1.0 / mean), -math.log2(1.0 / mean)

        ig_stay, gene_start = geometric(self.mean_intergenic)
        u5_stay, u5_exit = geometric(self.mean_utr5)
        u3_stay, gene_end = geometric(self.mean_utr3)
        cds_stay, _ = geometric(self.mean_cds_exon)
        prior = np.zeros(G.N_PRIORS, np.float64)
        prior[G.P_IG_STAY], prior[G.P_GENE_START] = ig_stay, gene_start
        prior[G.P_UTR5_STAY], prior[G.P_UTR5_EXIT] = u5_stay, u5_exit
        prior[G.P_CDS] = cds_stay
        prior[G.P_UTR3_ENTER] = 0.0
        prior[G.P_UTR3_STAY], prior[G.P_GENE_END] = u3_stay, gene_end
        intron_open = -math.log2(self.introns_per_coding_base)
        utr_intron_open = -math.log2(self.utr_introns_per_utr_base)
        type_cost = np.array([-math.log2(self.motif_fraction[m]) for m in ("GT-AG", "GC-AG", "AT-AC")])
        len_cost = np.full(self.max_intron + 1, np.inf)
        if self.intron_length_cost:
            len_cost[self.min_intron:] = self.intron_length_cost
        else:
            len_cost[self.min_intron:] = math.log2(self.max_intron - self.min_intron + 1)

        def pwm(table, width, weight):
            array = np.zeros((width, 4), np.float64) if not table else -weight * np.asarray(table, np.float64)
            return np.ascontiguousarray(array)

        if self.coding_log_odds:
            coding = -self.coding_weight * np.asarray(self.coding_log_odds, np.float64).reshape(3, -1, 4)
        else:
            coding = np.zeros((3, 1, 4), np.float64)
        return (float(self.emission_weight), float(self.confident_bits), float(self.confident_weight),
                np.ascontiguousarray(coding), int(self.coding_order) if
                self.coding_log_odds else 0, prior, intron_open, utr_intron_open, type_cost,
                bool(self.allow_noncanonical), len_cost, int(self.min_intron), int(self.max_intron),
                float(self.intron_tail_cost),
                pwm(self.donor_pwm, DONOR_WIDTH, self.splice_weight), DONOR_OFFSET,
                pwm(self.acceptor_pwm, ACCEPTOR_WIDTH, self.splice_weight), ACCEPTOR_OFFSET,
                pwm(self.start_pwm, START_WIDTH, self.start_weight), START_OFFSET)


# ---- fitting -------------------------------------------------------------------------------------------

def _one_hot(seq: bytes) -> np.ndarray:
    """Bytes -> (n, 4) float C, A, T, G (anything else counts as N: a quarter each)."""
    table = np.full((256, 4), 0.25)
    for i, letter in enumerate(LETTERS):
        row = np.zeros(4)
        row[i] = 1.0
        table[ord(letter)] = row
        table[ord(letter.lower())] = row
    return table[np.frombuffer(seq, np.uint8)]


def _log_odds(counts: np.ndarray, background: np.ndarray, fixed, pseudo: float = 1.0) -> list:
    freq = (counts + pseudo * background) / (counts.sum(axis=1, keepdims=True) + pseudo)
    table = np.log2(freq / background)
    table[list(fixed)] = 0.0
    return np.round(table, 4).tolist()


_CODE = np.full(256, -1, np.int64)
for _i, _letter in enumerate(LETTERS):
    _CODE[ord(_letter)] = _i
    _CODE[ord(_letter.lower())] = _i


# genome-wide statistics are counted a window at a time, so that memory stays bounded on long chromosomes
_WINDOW = 1 << 20


def _composition(seq: bytes) -> np.ndarray:
    """Base counts C, A, T, G of `seq`; anything else counts as N (a quarter each)."""
    counts = np.bincount(np.frombuffer(seq, np.uint8), minlength=256).astype(np.float64)
    letters = np.array([counts[ord(letter)] + counts[ord(letter.lower())] for letter in LETTERS])
    return letters + 0.25 * (counts.sum() - letters.sum())


def _markov_counts(seq: bytes, order: int, counts: np.ndarray, frames) -> None:
    """Add (context of `order` bases, next base) counts of `seq`; with `frames` = 3, per position i % 3.
    Long sequences are read in windows that overlap by `order` bases (each position is counted once)."""
    for start in range(0, max(len(seq) - order, 0), _WINDOW):
        _markov_window(seq[start:start + _WINDOW + order], order, counts, frames, start)


def _markov_window(seq: bytes, order: int, counts: np.ndarray, frames, offset: int) -> None:
    codes = _CODE[np.frombuffer(seq, np.uint8)]
    n = len(codes)
    if n <= order:
        return
    valid = codes >= 0
    ctx = np.zeros(n - order, np.int64)
    ok = valid[order:].copy()
    for k in range(order):
        ctx = ctx * 4 + np.maximum(codes[k:n - order + k], 0)
        ok &= valid[k:n - order + k]
    flat = ctx * 4 + codes[order:]
    if frames is not None:
        flat += ((np.arange(order, n) + offset) % 3) * (counts.shape[1] * 4)
    counts += np.bincount(flat[ok], minlength=counts.size).reshape(counts.shape)


def length_costs(lengths, low: int, high: int, bandwidth: float = 0.12, floor: float = 0.005) -> list:
    """-log2 P(L) for L in [low, high]: a kernel density in log length, mixed with a small uniform part."""
    grid = np.arange(low, high + 1, dtype=np.float64)
    logs = np.log(np.asarray(lengths, np.float64))
    density = np.zeros_like(grid)
    for chunk in np.array_split(logs, max(1, len(logs) // 2000)):
        density += np.exp(-0.5 * ((np.log(grid)[:, None] - chunk[None, :]) / bandwidth) ** 2).sum(axis=1)
    density /= grid
    density /= density.sum()
    density = (1 - floor) * density + floor / len(grid)
    return np.round(-np.log2(density), 4).tolist()


def _genome(fasta) -> dict:
    """{name: sequence} of a FASTA file; a dict (sequences already read) is returned as it is."""
    from helixtune.genome.fasta import iter_fasta

    if isinstance(fasta, dict):
        return fasta
    path = Path(fasta)
    if not path.exists():
        raise InputFileError(path, "no such file")
    return {name: bytes(seq) for name, seq in iter_fasta(path)}


def fit_params(gff3_paths, fasta_paths, base: DecodeParams | None = None, progress=None) -> DecodeParams:
    """Fit a `DecodeParams` from annotations and their genomes (lists of equal length, paired in order; a
    genome is a FASTA path or a {name: sequence} dict)."""
    from helixtune.annotation.coding_transcripts import normalise_stop_codons, read_gene_models
    from helixtune.genome.codons import reverse_complement

    params = base if base is not None else DecodeParams()
    intron_lengths, exon_lengths, utr5, utr3, gaps = [], [], [], [], []
    coding_bases = coding_introns = utr_bases = utr_introns = 0
    motifs = {"GT-AG": 0, "GC-AG": 0, "AT-AC": 0, "other": 0}
    donor = np.zeros((DONOR_WIDTH, 4))
    acceptor = np.zeros((ACCEPTOR_WIDTH, 4))
    start = np.zeros((START_WIDTH, 4))
    composition = np.zeros(4)
    intergenic_bases = genes_total = 0
    n_transcripts = 0
    sources = []
    order = params.coding_order
    n_contexts = 4 ** order
    coding_counts = np.zeros((3, n_contexts, 4))
    genome_counts = np.zeros((n_contexts, 4))
    for gff3, fasta in zip(gff3_paths, fasta_paths):
        genome = _genome(fasta)
        models = normalise_stop_codons(read_gene_models(gff3), genome, "auto")
        missing = sorted(models.seqids() - set(genome))
        if missing:
            raise InputFileError(gff3, f"sequence '{missing[0]}' is not in {fasta}")
        sources.append({"gff3": Path(gff3).name, "fasta": "(sequences given)" if isinstance(fasta, dict)
                        else Path(fasta).name})
        for seq in genome.values():
            composition += _composition(seq)
            for strand_seq in (seq, reverse_complement(seq)):
                _markov_counts(strand_seq, order, genome_counts, None)
        # one transcript per gene: the one with the longest CDS
        chosen = {}
        for t in models.transcripts:
            key = (t.seqid, t.gene_id)
            if key not in chosen or t.coding_length > chosen[key].coding_length:
                chosen[key] = t
        spans = {}
        for t in chosen.values():
            n_transcripts += 1
            seq = genome[t.seqid]
            exons = t.exons if t.exons else t.cds
            first, last = min(exons[0][0], t.cds_start), max(exons[-1][1], t.cds_end)
            spans.setdefault((t.seqid, t.strand), []).append((first, last))
            coding_bases += t.coding_length
            exon_lengths.extend(e - s for s, e in t.cds)
            if t.exons:
                before = sum(max(0, min(e, t.cds_start) - s) for s, e in t.exons)
                after = sum(max(0, e - max(s, t.cds_end)) for s, e in t.exons)
                five, three = (before, after) if t.strand == "+" else (after, before)
                if five > 0:
                    utr5.append(five)
                if three > 0:
                    utr3.append(three)
                utr_bases += five + three
                cds_introns = set(t.introns)
                utr_introns += sum(1 for intron in t.transcript_introns if intron not in cds_introns)
            coding_introns += len(t.introns)
            for s, e in t.introns:
                length = e - s
                if length < 4:
                    continue  # frameshift notes, not introns
                intron_lengths.append(length)
                if t.strand == "+":
                    d_ctx = seq[s + DONOR_OFFSET:s + DONOR_OFFSET + DONOR_WIDTH]
                    a_ctx = seq[e + ACCEPTOR_OFFSET:e + ACCEPTOR_OFFSET + ACCEPTOR_WIDTH]
                    motif = seq[s:s + 2] + seq[e - 2:e]
                else:
                    d_ctx = reverse_complement(seq[e - DONOR_OFFSET - DONOR_WIDTH:e - DONOR_OFFSET])
                    a_ctx = reverse_complement(seq[s - ACCEPTOR_OFFSET - ACCEPTOR_WIDTH:s - ACCEPTOR_OFFSET])
                    motif = reverse_complement(seq[e - 2:e]) + reverse_complement(seq[s:s + 2])
                motif = motif.upper()
                name = {b"GTAG": "GT-AG", b"GCAG": "GC-AG", b"ATAC": "AT-AC"}.get(motif, "other")
                motifs[name] += 1
                if name in ("GT-AG", "GC-AG"):
                    if len(d_ctx) == DONOR_WIDTH:
                        donor += _one_hot(d_ctx)
                    if len(a_ctx) == ACCEPTOR_WIDTH:
                        acceptor += _one_hot(a_ctx)
            cds_seq = t.coding_sequence(genome).upper()
            _markov_counts(cds_seq, order, coding_counts, 3)
            if cds_seq[:3] == b"ATG":
                if t.strand == "+":
                    ctx = seq[t.cds_start + START_OFFSET:t.cds_start + START_OFFSET + START_WIDTH]
                else:
                    ctx = reverse_complement(seq[t.cds_end - START_OFFSET - START_WIDTH:t.cds_end - START_OFFSET])
                if len(ctx) == START_WIDTH:
                    start += _one_hot(ctx)
        for (seqid, _strand), items in spans.items():
            items.sort()
            covered = 0
            end = -1
            for s, e in items:
                if end >= 0 and s > end:
                    gaps.append(s - end)
                covered += max(0, e - max(s, end)) if e > end else 0
                end = max(end, e)
            intergenic_bases += len(genome[seqid]) - covered
            genes_total += len(items)
        # sequences without genes are intergenic on both strands
        for seqid, seq in genome.items():
            for strand in "+-":
                if (seqid, strand) not in spans:
                    intergenic_bases += len(seq)
        if progress is not None:
            progress(f"{Path(gff3).name}: {len(chosen)} genes")
    if n_transcripts == 0 or not intron_lengths:
        raise HelixtuneError("the annotation has no coding transcripts with introns: nothing to fit")
    background = composition / composition.sum()
    lengths = np.asarray(intron_lengths)
    low = max(20, int(np.quantile(lengths, 0.002)) - 2)
    high = min(5000, max(low + 50, int(math.ceil(np.quantile(lengths, 0.995) * 1.5))))
    calibration = params.source.get("calibration") if isinstance(params.source, dict) else None
    params.source = {"annotations": sources, "genes": n_transcripts, "introns": int(len(lengths))}
    if calibration is not None:
        params.source["calibration"] = calibration  # the emission weight kept from the starting file
    params.mean_intergenic = round(float(intergenic_bases / max(genes_total, 1)), 1)
    params.mean_cds_exon = round(float(np.mean(exon_lengths)), 1)
    params.mean_utr5 = round(float(np.mean(utr5)), 1) if len(utr5) >= 20 and np.mean(utr5) >= MIN_UTR_MEAN \
        else DEFAULT_UTR5
    params.mean_utr3 = round(float(np.mean(utr3)), 1) if len(utr3) >= 20 and np.mean(utr3) >= MIN_UTR_MEAN \
        else DEFAULT_UTR3
    params.introns_per_coding_base = float(f"{coding_introns / max(coding_bases, 1):.4g}")
    if utr_bases > 1000 and utr_introns > 0:
        params.utr_introns_per_utr_base = float(f"{utr_introns / utr_bases:.4g}")
    params.medians = {"intron": float(np.median(lengths)), "cds_exon": float(np.median(exon_lengths)),
                      "intergenic": float(np.median(gaps)) if gaps else None,
                      "utr5": float(np.median(utr5)) if utr5 else None,
                      "utr3": float(np.median(utr3)) if utr3 else None}
    params.min_intron, params.max_intron = low, high
    params.intron_length_cost = length_costs(lengths[(lengths >= low) & (lengths <= high)], low, high)
    canonical = motifs["GT-AG"] + motifs["GC-AG"] + motifs["AT-AC"]
    params.motif_fraction = {m: round((motifs[m] + 0.5) / (canonical + 1.5), 6) for m in ("GT-AG", "GC-AG", "AT-AC")}
    params.source["motifs"] = motifs
    params.donor_pwm = _log_odds(donor, background, DONOR_FIXED)
    params.acceptor_pwm = _log_odds(acceptor, background, ACCEPTOR_FIXED)
    params.start_pwm = _log_odds(start, background, START_FIXED)
    genome_freq = (genome_counts + 1.0) / (genome_counts + 1.0).sum(axis=1, keepdims=True)
    coding_freq = (coding_counts + 4.0 * genome_freq) / (coding_counts.sum(axis=2, keepdims=True) + 4.0)
    params.coding_log_odds = np.round(np.log2(coding_freq / genome_freq), 3).reshape(-1, 4).tolist()
    params.validate()
    return params


def adapt_params(base: DecodeParams, first_pass_gff3, genome: dict,
                 min_genes: int | None = None) -> tuple[DecodeParams | None, str]:
    """The lineage statistics refitted on the target genome's own first-pass gene models.

    The genome decoder's first pass (with `base`) finds the genes the network sees clearly; their lengths,
    splice-site and start contexts and codon statistics are the target species' own, where `base` holds its
    lineage's average (as GeneMark-ES and BRAKER train their models on their own first predictions). The
    weights, thresholds and UTR settings stay `base`'s: a first pass's UTRs are the network's guesses, not
    the species' lengths. Returns (params, why): None with the reason when the first pass is too small to
    fit (fewer than `min_genes` genes, default `MIN_ADAPT_GENES`, or no introns); `base` is not changed.
    """
    import copy

    from helixtune.annotation.coding_transcripts import read_gene_models

    min_genes = MIN_ADAPT_GENES if min_genes is None else min_genes
    genes = len({(t.seqid, t.gene_id) for t in read_gene_models(first_pass_gff3).transcripts})
    if genes < min_genes:
        return None, f"the first pass found {genes} genes, fewer than the {min_genes} needed to refit the statistics"
    try:
        fitted = fit_params([first_pass_gff3], [genome], base=copy.deepcopy(base))
    except HelixtuneError as err:
        return None, f"the first pass cannot be fitted ({err})"
    for name in ("mean_utr5", "mean_utr3", "utr_introns_per_utr_base"):
        setattr(fitted, name, getattr(base, name))
    fitted.medians["utr5"], fitted.medians["utr3"] = base.medians.get("utr5"), base.medians.get("utr3")
    fitted.source = {"adapted_to": f"{genes} first-pass genes of the decoded genome",
                     "genes": fitted.source.get("genes"), "introns": fitted.source.get("introns"),
                     "motifs": fitted.source.get("motifs"), "adapted_from": base.source}
    fitted.validate()
    return fitted, f"refitted on {genes} first-pass genes"
