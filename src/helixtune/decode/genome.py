"""The `genome` decoder: HelixerPost's gene grammar, scored with the genome sequence and lineage statistics.

The states are HelixerPost's 13 primary states (intergenic, 5' UTR, the three bases of ATG, three codon
positions, the stop-codon prefixes T / TA / TG and the last stop base, 3' UTR), with the same codon rules:
ATG to start, no in-frame stop, a stop codon TAA / TAG / TGA to end, start and stop codons may be split by
introns. What differs is how a path is scored (all costs in bits, float64, minimised by a Viterbi
dynamic programme):

* **Network evidence** is `emission_weight * -log2(p)` of the class (and codon-phase) probabilities, as
  HelixerPost's costs with its codon-position-2 quirk corrected (relative to the best class), plus
  `confident_weight` per bit beyond `confident_bits`: a class the network rules out almost certainly
  (p below about 1e-4 of the best) stays ruled out even when the emission weight is small.
* **Introns are explicit-duration steps** from a donor to an acceptor: a donor must read GT (or GC, at a
  fitted extra cost; AT-AC only when allowed), the acceptor AG (AC for AT-AC); position weight matrices
  score the donor and acceptor contexts against the background; an intron of length L costs the fitted
  `-log2 P(L)` (lengths outside [min, max] are impossible unless an RNA-seq junction supports them).
* **Coding statistics**: a Markov chain of the CDS (the base after the previous `coding_order` bases, per
  codon position) against the genome's own chain scores every codon position, as ab initio gene finders do.
* **Length and frequency priors**: per-base costs for staying intergenic, in a UTR or in the CDS and costs
  for leaving them (geometric lengths with the fitted means), a cost per intron.
* **Start-codon context**: a position weight matrix around the ATG.
* **Intron hints**: an RNA-seq junction that matches an intron exactly lowers its cost by
  `hint_weight * log2(1 + reads)`.
* A region's path ends in the intergenic state unless the region reaches the end of the strand or was
  cut there, so genes are complete.

`solve_genome_region` decodes one region into label runs like `hmm.solve_region` does; the compiled
search runs in time linear in the region length (times the number of acceptor sites within the maximum
intron length) and releases the GIL.
"""

from __future__ import annotations

import numba
import numpy as np

from helixtune.decode import states as S
from helixtune.decode.costs import COST_CORRECTED, base_penalties, emission_costs

INF = np.inf
N_PRIMARY = 13
(IG, UTR5, START0, START1, START2, CODING0, CODING1, CODING2, STOP0T, STOP1TA, STOP1TG, STOP2, UTR3) = range(13)
# letters in the C, A, T, G order of data/X, as bit masks of the base a step may emit
C_, A_, T_, G_ = 1, 2, 4, 8
ANY = C_ | A_ | T_ | G_
# annotation label of each primary state (start and stop codons are CDS)
PRIMARY_LABEL = np.array([S.LABEL_INTERGENIC, S.LABEL_UTR5] + [S.LABEL_CODING] * 10 + [S.LABEL_UTR3], np.int64)
# emission column (see helixtune.decode.states.EM_*) of each primary state
PRIMARY_COLUMN = np.array([S.EM_INTERGENIC, S.EM_UTR, S.EM_CODON1, S.EM_CODON2, S.EM_CODON3, S.EM_CODON1,
                           S.EM_CODING1, S.EM_CODON3, S.EM_CODON1, S.EM_CODON2, S.EM_CODON2, S.EM_CODON3, S.EM_UTR],
                          np.int64)

# prior kinds of a step (index into the `prior` vector built by `prior_vector`)
(P_IG_STAY, P_GENE_START, P_UTR5_STAY, P_UTR5_EXIT, P_CDS, P_UTR3_ENTER, P_UTR3_STAY, P_GENE_END) = range(8)
N_PRIORS = 8
# step flags
F_START_CONTEXT = 1

# ordinary steps: (source, destination, letters the destination's base may be, prior kind, flags)
_STEPS = [
    (IG, IG, ANY, P_IG_STAY, 0), (IG, UTR5, ANY, P_GENE_START, 0),
    (UTR5, UTR5, ANY, P_UTR5_STAY, 0), (UTR5, START0, A_, P_UTR5_EXIT, F_START_CONTEXT),
    (START0, START1, T_, P_CDS, 0), (START1, START2, G_, P_CDS, 0),
    (START2, CODING0, C_ | A_ | G_, P_CDS, 0), (START2, STOP0T, T_, P_CDS, 0),
    (CODING2, CODING0, C_ | A_ | G_, P_CDS, 0), (CODING2, STOP0T, T_, P_CDS, 0),
    (CODING0, CODING1, ANY, P_CDS, 0), (CODING1, CODING2, ANY, P_CDS, 0),
    (STOP0T, STOP1TA, A_, P_CDS, 0), (STOP0T, STOP1TG, G_, P_CDS, 0), (STOP0T, CODING1, C_ | T_, P_CDS, 0),
    (STOP1TA, STOP2, A_ | G_, P_CDS, 0), (STOP1TA, CODING2, C_ | T_, P_CDS, 0),
    (STOP1TG, STOP2, A_, P_CDS, 0), (STOP1TG, CODING2, C_ | G_ | T_, P_CDS, 0),
    (STOP2, UTR3, ANY, P_UTR3_ENTER, 0),
    (UTR3, UTR3, ANY, P_UTR3_STAY, 0), (UTR3, IG, ANY, P_GENE_END, 0),
]
# which intron a state opens (the state whose codon position the intron interrupts), and what may follow it
_INTRON_OF = {UTR5: UTR5, START0: START0, START1: START1, START2: CODING2, CODING0: CODING0, CODING1: CODING1,
              CODING2: CODING2, STOP0T: STOP0T, STOP1TA: STOP1TA, STOP1TG: STOP1TG, STOP2: UTR3, UTR3: UTR3}
_AFTER_INTRON = {
    UTR5: ((UTR5, ANY, P_UTR5_STAY, 0), (START0, A_, P_UTR5_EXIT, F_START_CONTEXT)),
    START0: ((START1, T_, P_CDS, 0),),
    START1: ((START2, G_, P_CDS, 0),),
    CODING0: ((CODING1, ANY, P_CDS, 0),),
    CODING1: ((CODING2, ANY, P_CDS, 0),),
    CODING2: ((CODING0, C_ | A_ | G_, P_CDS, 0), (STOP0T, T_, P_CDS, 0)),
    STOP0T: ((STOP1TA, A_, P_CDS, 0), (STOP1TG, G_, P_CDS, 0), (CODING1, C_ | T_, P_CDS, 0)),
    STOP1TA: ((STOP2, A_ | G_, P_CDS, 0), (CODING2, C_ | T_, P_CDS, 0)),
    STOP1TG: ((STOP2, A_, P_CDS, 0), (CODING2, C_ | G_ | T_, P_CDS, 0)),
    UTR3: ((UTR3, ANY, P_UTR3_STAY, 0),),
}


def _tables():
    steps = np.array(_STEPS, np.int64)
    off = np.zeros(N_PRIMARY + 1, np.int64)
    rows = []
    utr_intron = np.zeros(N_PRIMARY, np.int64)
    for src in range(N_PRIMARY):
        if src in _INTRON_OF:
            intron = _INTRON_OF[src]
            utr_intron[src] = int(intron in (UTR5, UTR3))
            for dst, mask, prior, flags in _AFTER_INTRON[intron]:
                rows.append((dst, mask, prior, flags))
        off[src + 1] = len(rows)
    return steps, off, np.array(rows, np.int64), utr_intron


STEP_TABLE, JUMP_OFFSETS, JUMP_TABLE, UTR_INTRON = _tables()
CAN_DONATE = (JUMP_OFFSETS[1:] > JUMP_OFFSETS[:-1]).astype(np.int64)


@numba.njit(cache=True, nogil=True, inline="always")
def _allowed(ok, x, mask):
    return ((mask & 1) and ok[x, 0]) or ((mask & 2) and ok[x, 1]) or ((mask & 4) and ok[x, 2]) or \
        ((mask & 8) and ok[x, 3])


@numba.njit(cache=True, nogil=True)
def _pwm_scores(bases, table, offset):
    """score[x] = sum_i sum_letter bases[x + offset + i, letter] * table[i, letter] (0 outside the region)."""
    n = bases.shape[0]
    k = table.shape[0]
    out = np.zeros(n + 1, np.float64)
    for x in range(n + 1):
        total = 0.0
        for i in range(k):
            y = x + offset + i
            if y < 0 or y >= n:
                continue
            for c in range(4):
                total += bases[y, c] * table[i, c]
        out[x] = total
    return out


@numba.njit(cache=True, nogil=True)
def _decode(bases, classes, phases, emission_weight, knee_bits, knee_weight, coding, coding_order, prior, intron_open, utr_intron_open, type_cost,
            allow_atac, len_cost, min_intron, max_intron, tail_cost, donor_pwm, donor_off, acceptor_pwm,
            acceptor_off, start_pwm, start_off, hint_donor, hint_acceptor, hint_bonus, end_in_intergenic,
            steps, jump_off, jumps, utr_intron, can_donate, column, label):
    n = bases.shape[0]
    bp = base_penalties(bases)
    ok = np.empty((n + 1, 4), np.bool_)
    for x in range(n):
        for c in range(4):
            ok[x, c] = bp[x, c] < 0.5
    for c in range(4):
        ok[n, c] = False
    em = emission_costs(classes, phases, COST_CORRECTED)
    for x in range(n):
        for c in range(7):
            pen = em[x, c]
            em[x, c] = emission_weight * pen
            if pen > knee_bits:  # near-certain predictions keep their weight however small emission_weight is
                em[x, c] += knee_weight * (pen - knee_bits)
    # the sequence's own coding statistics, per codon position (0: columns CODON1; 1: CODON2 and CODING1; 2: CODON3)
    n_ctx = 4 ** coding_order
    if coding.shape[1] == n_ctx and n_ctx > 1:
        code = np.full(n, -1, np.int64)
        for x in range(n):
            for c in range(4):
                if bases[x, c] > 0.99:
                    code[x] = c
        for x in range(coding_order, n):
            if code[x] < 0:
                continue
            ctx = 0
            valid = True
            for k in range(x - coding_order, x):
                if code[k] < 0:
                    valid = False
                    break
                ctx = ctx * 4 + code[k]
            if not valid:
                continue
            em[x, S.EM_CODON1] += coding[0, ctx, code[x]]
            em[x, S.EM_CODON2] += coding[1, ctx, code[x]]
            em[x, S.EM_CODING1] += coding[1, ctx, code[x]]
            em[x, S.EM_CODON3] += coding[2, ctx, code[x]]
    intron_sum = np.zeros(n + 1, np.float64)
    for x in range(n):
        intron_sum[x + 1] = intron_sum[x] + em[x, S.EM_INTRON]
    donor_score = _pwm_scores(bases, donor_pwm, donor_off)
    acceptor_score = _pwm_scores(bases, acceptor_pwm, acceptor_off)
    start_score = _pwm_scores(bases, start_pwm, start_off)
    # splice motifs must be read in the sequence: unlike codons, an N (or other ambiguity code) matches none
    sure = np.empty((n + 1, 4), np.bool_)
    for x in range(n):
        for c in range(4):
            sure[x, c] = bases[x, c] > 0.99
    for c in range(4):
        sure[n, c] = False
    # donor type at x (first intron base): 0 GT, 1 GC, 2 AT (AT-AC, only when allowed), -1 none
    donor_type = np.full(n + 1, -1, np.int64)
    for x in range(n - 1):
        if sure[x, 3] and sure[x + 1, 2]:
            donor_type[x] = 0
        elif sure[x, 3] and sure[x + 1, 0]:
            donor_type[x] = 1
        elif allow_atac and sure[x, 1] and sure[x + 1, 2]:
            donor_type[x] = 2
    # acceptor sites a (first base after the intron): AG at a-2, a-1 (AC for AT-AC)
    ag = np.zeros(n + 1, np.bool_)
    ac = np.zeros(n + 1, np.bool_)
    n_acc = 0
    for a in range(2, n + 1):
        ag[a] = sure[a - 2, 1] and sure[a - 1, 3]
        ac[a] = allow_atac and sure[a - 2, 1] and sure[a - 1, 0]
        if ag[a] or ac[a]:
            n_acc += 1
    acc_pos = np.empty(n_acc, np.int64)
    j = 0
    for a in range(2, n + 1):
        if ag[a] or ac[a]:
            acc_pos[j] = a
            j += 1

    ring = 1
    longest = max_intron
    for h in range(hint_donor.shape[0]):
        if hint_acceptor[h] - hint_donor[h] > longest:
            longest = hint_acceptor[h] - hint_donor[h]
    while ring < longest + 4:
        ring *= 2
    mask = ring - 1
    V = np.full((ring, N_PRIMARY), INF)
    back = np.full((n + 1) * N_PRIMARY, -1, np.int32)
    V[0, IG] = 0.0
    first_acc = 0
    hint_i = 0
    n_steps = steps.shape[0]
    for t in range(n):
        row = t & mask
        nxt = (t + 1) & mask
        # ordinary steps: emit base t
        for i in range(n_steps):
            src = steps[i, 0]
            v = V[row, src]
            if v == INF:
                continue
            dst = steps[i, 1]
            if not _allowed(ok, t, steps[i, 2]):
                continue
            cost = v + prior[steps[i, 3]] + em[t, column[dst]]
            if steps[i, 4] == 1:
                cost += start_score[t]
            if cost < V[nxt, dst]:
                V[nxt, dst] = cost
                back[(t + 1) * N_PRIMARY + dst] = np.int32(src)
        # introns [t, a): the state before the intron emitted base t - 1, the one after emits base a
        while first_acc < n_acc and acc_pos[first_acc] < t + min_intron:
            first_acc += 1
        kind = donor_type[t]
        best_src = INF
        for src in range(N_PRIMARY):
            if can_donate[src] and V[row, src] < best_src:
                best_src = V[row, src]
        has_hint = False
        while hint_i < hint_donor.shape[0] and hint_donor[hint_i] < t:
            hint_i += 1
        if hint_i < hint_donor.shape[0] and hint_donor[hint_i] == t:
            has_hint = True
        if best_src == INF:
            kind = -1
            has_hint = False
        if kind >= 0:
            base_cost = type_cost[kind] + donor_score[t]
            j = first_acc
            while j < n_acc and acc_pos[j] <= t + max_intron:
                a = acc_pos[j]
                j += 1
                if a >= n:
                    break
                if (kind == 2 and not ac[a]) or (kind != 2 and not ag[a]):
                    continue
                length = a - t
                intron_cost = base_cost + acceptor_score[a] + len_cost[length] + intron_sum[a] - intron_sum[t]
                _jump(V, back, t, a, intron_cost, row, mask, ok, em, prior, intron_open, utr_intron_open,
                      start_score, jump_off, jumps, utr_intron, column, np.int32(length))
        h = hint_i
        while has_hint and h < hint_donor.shape[0] and hint_donor[h] == t:
            a = hint_acceptor[h]
            length = a - t
            h += 1
            if a >= n or length < 4:
                continue
            if kind == 0 or kind == 1:
                motif_ok = ag[a]
            elif kind == 2:
                motif_ok = ac[a]
            else:
                motif_ok = False
            if not motif_ok:
                continue
            if length < min_intron:
                lc = len_cost[min_intron]
            elif length > max_intron:
                lc = len_cost[max_intron] + tail_cost * (length - max_intron)
            else:
                lc = len_cost[length]
            intron_cost = (type_cost[kind] + donor_score[t] + acceptor_score[a] + lc + intron_sum[a]
                           - intron_sum[t] - hint_bonus[h - 1])
            _jump(V, back, t, a, intron_cost, row, mask, ok, em, prior, intron_open, utr_intron_open,
                  start_score, jump_off, jumps, utr_intron, column, np.int32(length))
        for s in range(N_PRIMARY):
            V[row, s] = INF
    final = n & mask
    best = INF
    best_state = -1
    if end_in_intergenic:
        best = V[final, IG]
        best_state = IG
    else:
        for s in range(N_PRIMARY):
            if V[final, s] < best:
                best = V[final, s]
                best_state = s
    labels = np.zeros(n, np.int64)  # intergenic everywhere when no path exists (cannot happen: IG -> IG)
    if best == INF:
        return labels, best
    t = n
    s = best_state
    while t > 0:
        b = back[t * N_PRIMARY + s]
        if b < 0:
            raise RuntimeError("genome decoder: broken traceback")
        labels[t - 1] = label[s]
        prev = np.int64(b & 15)
        length = np.int64(b >> 4)
        for x in range(t - 1 - length, t - 1):
            labels[x] = S.LABEL_INTRON
        t = t - 1 - length
        s = prev
    return labels, best


@numba.njit(cache=True, nogil=True)
def _jump(V, back, t, a, intron_cost, row, mask, ok, em, prior, intron_open, utr_intron_open, start_score,
          jump_off, jumps, utr_intron, column, length):
    dst_row = (a + 1) & mask
    for src in range(N_PRIMARY):
        v = V[row, src]
        if v == INF or jump_off[src] == jump_off[src + 1]:
            continue
        base = v + intron_cost + (utr_intron_open if utr_intron[src] else intron_open)
        for k in range(jump_off[src], jump_off[src + 1]):
            dst = jumps[k, 0]
            if not _allowed(ok, a, jumps[k, 1]):
                continue
            cost = base + prior[jumps[k, 2]] + em[a, column[dst]]
            if jumps[k, 3] == 1:
                cost += start_score[a]
            if cost < V[dst_row, dst]:
                V[dst_row, dst] = cost
                back[(a + 1) * N_PRIMARY + dst] = np.int32(src) | (length << np.int32(4))


def _runs(labels: np.ndarray) -> np.ndarray:
    if len(labels) == 0:
        return np.zeros((0, 3), np.int64)
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(labels)]])
    return np.stack([starts, ends, labels[starts]], axis=1).astype(np.int64)


def solve_genome_region(bases: np.ndarray, classes: np.ndarray, phases: np.ndarray, compiled,
                        hints: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                        end_in_intergenic: bool = True) -> np.ndarray:
    """Decode one region with the genome decoder. `compiled`: `DecodeParams.compiled()`.

    `hints`: (donor, acceptor, bonus) arrays in region coordinates, sorted by donor (intron [donor, acceptor)).
    Returns (k, 3) int64 label runs [start, end, label) in region coordinates.
    """
    if hints is None:
        hints = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
    labels, _ = _decode(np.ascontiguousarray(bases, np.float32), np.ascontiguousarray(classes, np.float32),
                        np.ascontiguousarray(phases, np.float32), *compiled,
                        np.ascontiguousarray(hints[0], np.int64), np.ascontiguousarray(hints[1], np.int64),
                        np.ascontiguousarray(hints[2], np.float64), bool(end_in_intergenic),
                        STEP_TABLE, JUMP_OFFSETS, JUMP_TABLE, UTR_INTRON, CAN_DONATE, PRIMARY_COLUMN,
                        PRIMARY_LABEL)
    return _runs(labels)

