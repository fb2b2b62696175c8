"""The 73 states of HelixerPost's gene-structure HMM and its transition table, as plain numpy arrays.

State numbering, base counts, annotation labels, emission columns and the successor lists (in upstream's
order, which matters for reproducing its best-first search exactly) follow the specification of
HelixerPost's `hmm.rs`. The arrays are consumed by the compiled search in `helixtune.decode.hmm`.
"""

from __future__ import annotations

import numpy as np

# ---- primary states -------------------------------------------------------------------------------
PRIMARIES = ("Intergenic", "UTR5", "Start0", "Start1", "Start2", "Coding0", "Coding1", "Coding2",
             "Stop0T", "Stop1TA", "Stop1TG", "Stop2", "UTR3")
# primaries that carry intron sub-states (Intergenic, Start2 and Stop2 do not)
WITH_INTRONS = ("UTR5", "Start0", "Start1", "Coding0", "Coding1", "Coding2", "Stop0T", "Stop1TA", "Stop1TG", "UTR3")

# intron types: U2 GT-AG, U2 GC-AG, U12 AT-AC
GTAG, GCAG, ATAC = 0, 1, 2
INTRON_TYPES = (GTAG, GCAG, ATAC)
DSS_BASES = (49, 49, 29)  # bases emitted at once by a donor (DSS) state: minimum intron 50 / 50 / 30

# intron part of a state
NO_INTRON, DSS, BODY = 0, 1, 2

# annotation labels (what a traced region becomes)
LABEL_INTERGENIC, LABEL_UTR5, LABEL_CODING, LABEL_INTRON, LABEL_UTR3 = 0, 1, 2, 3, 4
LABEL_NAMES = ("Intergenic", "UTR5", "Coding", "Intron", "UTR3")

# emission columns of the per-base cost table (see helixtune.decode.costs)
EM_INTERGENIC, EM_UTR, EM_CODON1, EM_CODON3, EM_CODON2, EM_INTRON, EM_CODING1 = range(7)
N_EMISSION_COLUMNS = 7

N_STATES = 73


def _enumerate_states():
    names, primary, intron_part, intron_type = [], [], [], []
    for p_index, p in enumerate(PRIMARIES):
        names.append(p)
        primary.append(p_index)
        intron_part.append(NO_INTRON)
        intron_type.append(-1)
        if p in WITH_INTRONS:
            for kind, kind_name in zip(INTRON_TYPES, ("U2GtAg", "U2GcAg", "U12AtAc")):
                for part, part_name in ((DSS, "DSS"), (BODY, "")):
                    names.append(f"{p}Intron{kind_name}{part_name}")
                    primary.append(p_index)
                    intron_part.append(part)
                    intron_type.append(kind)
    return names, np.array(primary, np.int64), np.array(intron_part, np.int64), np.array(intron_type, np.int64)


STATE_NAMES, STATE_PRIMARY, STATE_INTRON_PART, STATE_INTRON_TYPE = _enumerate_states()
assert len(STATE_NAMES) == N_STATES
STATE_INDEX = {name: i for i, name in enumerate(STATE_NAMES)}


def state(name: str) -> int:
    return STATE_INDEX[name]


def dss(primary: str, kind: int) -> int:
    return STATE_INDEX[primary] + 1 + 2 * kind


def body(primary: str, kind: int) -> int:
    return STATE_INDEX[primary] + 2 + 2 * kind


def _base_counts():
    counts = np.ones(N_STATES, np.int64)
    for s in range(N_STATES):
        if STATE_INTRON_PART[s] == DSS:
            counts[s] = DSS_BASES[STATE_INTRON_TYPE[s]]
    return counts


def _labels():
    labels = np.empty(N_STATES, np.int64)
    for s in range(N_STATES):
        p = PRIMARIES[STATE_PRIMARY[s]]
        if STATE_INTRON_PART[s] != NO_INTRON:
            labels[s] = LABEL_INTRON
        elif p == "Intergenic":
            labels[s] = LABEL_INTERGENIC
        elif p == "UTR5":
            labels[s] = LABEL_UTR5
        elif p == "UTR3":
            labels[s] = LABEL_UTR3
        else:  # start and stop codons are part of the CDS
            labels[s] = LABEL_CODING
    return labels


def _emission_columns():
    by_primary = {
        "Intergenic": EM_INTERGENIC, "UTR5": EM_UTR, "UTR3": EM_UTR,
        # codon position 1 reads Helixer phase class 0; position 2 reads phase 2; position 3 reads phase 1
        "Coding0": EM_CODON1, "Start0": EM_CODON1, "Stop0T": EM_CODON1,
        "Coding1": EM_CODING1, "Start1": EM_CODON2, "Stop1TA": EM_CODON2, "Stop1TG": EM_CODON2,
        "Coding2": EM_CODON3, "Start2": EM_CODON3, "Stop2": EM_CODON3,
    }
    cols = np.empty(N_STATES, np.int64)
    for s in range(N_STATES):
        cols[s] = EM_INTRON if STATE_INTRON_PART[s] != NO_INTRON else by_primary[PRIMARIES[STATE_PRIMARY[s]]]
    return cols


BASE_COUNT = _base_counts()
LABEL = _labels()
EMISSION_COLUMN = _emission_columns()

# ---- entrance penalties (cost of entering a state at path end t) ------------------------------------
# kinds of entrance checks, evaluated in helixtune.decode.hmm
ENTER_FREE, ENTER_A, ENTER_T, ENTER_G, ENTER_NOT_T, ENTER_DONOR_GTAG, ENTER_DONOR_GCAG, ENTER_DONOR_ATAC = range(8)


def _entrance_kinds():
    kinds = np.full(N_STATES, ENTER_FREE, np.int64)
    for name, kind in (("Start0", ENTER_A), ("Start1", ENTER_T), ("Start2", ENTER_G), ("Coding0", ENTER_NOT_T),
                       ("Stop0T", ENTER_T), ("Stop1TA", ENTER_A), ("Stop1TG", ENTER_G)):
        kinds[STATE_INDEX[name]] = kind
    for s in range(N_STATES):
        if STATE_INTRON_PART[s] == DSS:
            kinds[s] = (ENTER_DONOR_GTAG, ENTER_DONOR_GCAG, ENTER_DONOR_ATAC)[STATE_INTRON_TYPE[s]]
    return kinds


ENTRANCE_KIND = _entrance_kinds()

# ---- transitions ------------------------------------------------------------------------------------
# DIRECT: cost 0, no entrance check. The others add the destination's entrance penalty to an extra cost:
# ENTER: extra 0; ACC: the acceptor penalty of the source intron; STOP_*: 1000 x a codon-base mismatch
# (only when a downstream base exists); ACC_STOP_*: both.
(DIRECT, ENTER, ACC, STOP_CT, ACC_STOP_CT, STOP_AG, ACC_STOP_AG, STOP_A, ACC_STOP_A, STOP_CGT,
 ACC_STOP_CGT) = range(11)


def _successors():
    table = {s: [] for s in range(N_STATES)}

    def add(src, dst, kind):
        table[src].append((dst, kind))

    def donors(src_state, intron_primary):
        for k in INTRON_TYPES:
            add(src_state, dss(intron_primary, k), ENTER)

    S = STATE_INDEX
    add(S["Intergenic"], S["Intergenic"], DIRECT)
    add(S["Intergenic"], S["UTR5"], ENTER)

    add(S["UTR5"], S["UTR5"], DIRECT)
    add(S["UTR5"], S["Start0"], ENTER)
    donors(S["UTR5"], "UTR5")

    add(S["Start0"], S["Start1"], ENTER)
    donors(S["Start0"], "Start0")
    add(S["Start1"], S["Start2"], ENTER)
    donors(S["Start1"], "Start1")
    add(S["Coding0"], S["Coding1"], ENTER)
    donors(S["Coding0"], "Coding0")
    add(S["Coding1"], S["Coding2"], ENTER)
    donors(S["Coding1"], "Coding1")
    for src in ("Start2", "Coding2"):  # Start2 has no introns of its own: it uses Coding2's
        add(S[src], S["Coding0"], ENTER)
        add(S[src], S["Stop0T"], ENTER)
        donors(S[src], "Coding2")
    add(S["Stop0T"], S["Stop1TA"], ENTER)
    add(S["Stop0T"], S["Stop1TG"], ENTER)
    add(S["Stop0T"], S["Coding1"], STOP_CT)
    donors(S["Stop0T"], "Stop0T")
    add(S["Stop1TA"], S["Stop2"], STOP_AG)
    add(S["Stop1TA"], S["Coding2"], STOP_CT)
    donors(S["Stop1TA"], "Stop1TA")
    add(S["Stop1TG"], S["Stop2"], STOP_A)
    add(S["Stop1TG"], S["Coding2"], STOP_CGT)
    donors(S["Stop1TG"], "Stop1TG")
    add(S["Stop2"], S["UTR3"], DIRECT)
    donors(S["Stop2"], "UTR3")
    add(S["UTR3"], S["UTR3"], DIRECT)
    add(S["UTR3"], S["Intergenic"], DIRECT)
    donors(S["UTR3"], "UTR3")

    # what follows an intron body, per primary: (destination, kind)
    after_intron = {
        "UTR5": (("UTR5", ACC), ("Start0", ACC)),
        "Start0": (("Start1", ACC),),
        "Start1": (("Start2", ACC),),
        "Coding0": (("Coding1", ACC),),
        "Coding1": (("Coding2", ACC),),
        "Coding2": (("Coding0", ACC), ("Stop0T", ACC)),
        "Stop0T": (("Stop1TA", ACC), ("Stop1TG", ACC), ("Coding1", ACC_STOP_CT)),
        "Stop1TA": (("Stop2", ACC_STOP_AG), ("Coding2", ACC_STOP_CT)),
        "Stop1TG": (("Stop2", ACC_STOP_A), ("Coding2", ACC_STOP_CGT)),
        "UTR3": (("UTR3", ACC),),
    }
    for p in WITH_INTRONS:
        for k in INTRON_TYPES:
            add(dss(p, k), body(p, k), DIRECT)
            add(body(p, k), body(p, k), DIRECT)
            for dst, kind in after_intron[p]:
                add(body(p, k), S[dst], kind)

    offsets = np.zeros(N_STATES + 1, np.int64)
    dests, kinds = [], []
    for s in range(N_STATES):
        offsets[s + 1] = offsets[s] + len(table[s])
        for dst, kind in table[s]:
            dests.append(dst)
            kinds.append(kind)
    return offsets, np.array(dests, np.int64), np.array(kinds, np.int64)


SUCCESSOR_OFFSETS, SUCCESSOR_STATE, SUCCESSOR_KIND = _successors()

INTERGENIC = STATE_INDEX["Intergenic"]


def _predecessors():
    lists = {s: [] for s in range(N_STATES)}
    for src in range(N_STATES):
        for j in range(SUCCESSOR_OFFSETS[src], SUCCESSOR_OFFSETS[src + 1]):
            lists[int(SUCCESSOR_STATE[j])].append((src, int(SUCCESSOR_KIND[j])))
    offsets = np.zeros(N_STATES + 1, np.int64)
    for s in range(N_STATES):
        offsets[s + 1] = offsets[s] + len(lists[s])
    srcs = np.array([src for s in range(N_STATES) for src, _ in lists[s]], np.int64)
    kinds = np.array([kind for s in range(N_STATES) for _, kind in lists[s]], np.int64)
    return offsets, srcs, kinds


PREDECESSOR_OFFSETS, PREDECESSOR_STATE, PREDECESSOR_KIND = _predecessors()
