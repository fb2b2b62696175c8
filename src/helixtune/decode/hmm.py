"""The minimum-cost path through HelixerPost's 73-state HMM for one candidate region (compiled with numba).

Upstream solves each region with a best-first (Dijkstra) search over nodes (path end, state) with integer
costs (float64 step costs truncated to micro-units per step). Two searches live here:

* `viterbi_path`: a dynamic programme over the same integer costs, fast and regular. It finds the same
  optimum; where equal-cost alternatives could make upstream pick a different path, it reports that
  instead of guessing. The tie rule it can settle itself is upstream's: among equal-cost predecessors, the
  one with the smaller accumulated cost is expanded first and wins.
* `best_first_path`: a faithful re-enactment of upstream's search, including the order in which Rust's
  `BinaryHeap` hands out equal-priority entries, used for the (rare) regions with undecidable ties.

`tie_free_labels` settles most ties without replaying: when every path upstream could pick gives each
base the same label (e.g. Coding0 versus Stop0T over an N), the choice does not show in the output.
`solve_region` tries the DP, then the tie check, then the replay. All return the traced path as runs of
annotation labels: an (k, 3) int64 array of [start, end, label) in region coordinates.
"""

from __future__ import annotations

import numba
import numpy as np

from helixtune.decode import states as S
from helixtune.decode.costs import base_penalties, emission_costs

START_STOP_WEIGHT = 1000.0  # START_WEIGHT and STOP_WEIGHT upstream
PENALTY_SCALE = 1_000_000.0
INF = np.int64(1) << np.int64(62)
UNDEFINED = -1.0
RING = 64  # > the longest step (49 bases), so a ring of cost rows suffices for the forward pass
RING_MASK = RING - 1
TIE = np.uint8(0x80)

_N = S.N_STATES  # a compile-time constant for numba


@numba.njit(cache=True, nogil=True, inline="always")
def _min2(a, b):
    return a if a < b else b


@numba.njit(cache=True, nogil=True, inline="always")
def _min3(a, b, c):
    ab = a if a < b else b
    return ab if ab < c else c


@numba.njit(cache=True, nogil=True, inline="always")
def _to_step(local):
    """Upstream's `(local * 1e6) as u64`: truncation, negative and NaN saturate to 0."""
    scaled = local * PENALTY_SCALE
    if scaled >= 1.0:
        return np.int64(scaled)
    return np.int64(0)


@numba.njit(cache=True, nogil=True)
def _entrance(kind, t, n, bp):
    """Entrance penalty of a destination state whose first base is at t (UNDEFINED where context is missing)."""
    if kind == 0:  # ENTER_FREE
        return 0.0
    if kind <= 4:  # single-base codon checks need the base at t
        if t + 1 > n:
            return UNDEFINED
        if kind == 1:  # ENTER_A
            return bp[t, 1] * START_STOP_WEIGHT
        if kind == 2:  # ENTER_T
            return bp[t, 2] * START_STOP_WEIGHT
        if kind == 3:  # ENTER_G
            return bp[t, 3] * START_STOP_WEIGHT
        return _min3(bp[t, 1], bp[t, 0], bp[t, 3]) * START_STOP_WEIGHT  # ENTER_NOT_T
    if kind == 5:  # donor GT
        if t + 2 > n:
            return UNDEFINED
        return (bp[t, 3] + bp[t + 1, 2]) * 1.0 + 0.0
    if kind == 6:  # donor GC-AG: last exon base G, then GC
        if t < 2 or t + 2 > n:
            return UNDEFINED
        return (bp[t - 1, 3] + bp[t, 3] + bp[t + 1, 0]) * 1.0 + 0.0
    # donor U12 AT-AC: ATATCCT
    if t + 7 > n:
        return UNDEFINED
    pen = (bp[t, 1] + bp[t + 1, 2] + bp[t + 2, 1] + bp[t + 3, 2] + bp[t + 4, 0] + bp[t + 5, 0] + bp[t + 6, 2])
    return pen * 1.0 + 0.0


@numba.njit(cache=True, nogil=True)
def _acceptor(intron_type, t, bp):
    """Acceptor penalty when leaving an intron body of `intron_type` before base t (AG, or AC for U12)."""
    if intron_type < 0:
        return 0.0
    if t < 2:
        return UNDEFINED
    if intron_type == 2:
        return (bp[t - 2, 1] + bp[t - 1, 0]) * 1.0
    return (bp[t - 2, 1] + bp[t - 1, 3]) * 1.0


@numba.njit(cache=True, nogil=True)
def _extra(kind, acceptor, t, n, bp):
    """Extra transition cost before the entrance penalty (UNDEFINED when the transition is not allowed)."""
    if kind == 1:  # ENTER
        return 0.0
    if kind == 2:  # ACC
        return acceptor
    if t + 1 > n:
        return UNDEFINED
    if kind == 3 or kind == 4:
        codon = _min2(bp[t, 0], bp[t, 2]) * START_STOP_WEIGHT  # C or T
    elif kind == 5 or kind == 6:
        codon = _min2(bp[t, 1], bp[t, 3]) * START_STOP_WEIGHT  # A or G
    elif kind == 7 or kind == 8:
        codon = bp[t, 1] * START_STOP_WEIGHT  # A
    else:
        codon = _min3(bp[t, 0], bp[t, 3], bp[t, 2]) * START_STOP_WEIGHT  # C, G or T
    if kind == 3 or kind == 5 or kind == 7 or kind == 9:
        return codon
    if acceptor < 0.0:
        return UNDEFINED
    return acceptor + codon


@numba.njit(cache=True, nogil=True)
def _step_cost(src, dst, kind, t, n, bp, em, base_count, em_col, ent_kind, itype):
    """Integer cost of the step src -> dst starting at path end t, or -1 when the step is not possible."""
    m = base_count[dst]
    if t + m > n:
        return np.int64(-1)
    if kind == 0:  # DIRECT
        local = 0.0
    else:
        acceptor = _acceptor(itype[src], t, bp)
        ex = _extra(kind, acceptor, t, n, bp)
        if ex < 0.0:
            return np.int64(-1)
        en = _entrance(ent_kind[dst], t, n, bp)
        if en < 0.0:
            return np.int64(-1)
        local = ex + en
    col = em_col[dst]
    for pos in range(t, t + m):
        local += em[pos, col]
    return _to_step(local)


@numba.njit(cache=True, nogil=True, inline="always")
def _slot_steps_at(t, n, bp, em, slot_kind, slot_src_type, slot_ent_kind, slot_col, slot_len, ent8, codon, acc,
                   out):
    """All slot step costs at path end t < n: `_step_cost`'s arithmetic, shared terms computed once."""
    a, c, g, tt = bp[t, 1], bp[t, 0], bp[t, 3], bp[t, 2]
    ent8[0] = 0.0
    ent8[1] = a * START_STOP_WEIGHT
    ent8[2] = tt * START_STOP_WEIGHT
    ent8[3] = g * START_STOP_WEIGHT
    ent8[4] = _min3(a, c, g) * START_STOP_WEIGHT
    for k in range(3):
        ent8[5 + k] = _entrance(5 + k, t, n, bp)
    codon[0] = _min2(c, tt) * START_STOP_WEIGHT
    codon[1] = _min2(a, g) * START_STOP_WEIGHT
    codon[2] = a * START_STOP_WEIGHT
    codon[3] = _min3(c, g, tt) * START_STOP_WEIGHT
    has_acceptor = t >= 2
    if has_acceptor:
        for k in range(3):
            acc[k] = _acceptor(k, t, bp)
    for i in range(slot_kind.shape[0]):
        m = slot_len[i]
        if t + m > n:
            out[i] = -1
            continue
        kind = slot_kind[i]
        en = ent8[slot_ent_kind[i]]
        if kind == 0:
            local = 0.0
        elif en < 0.0:
            out[i] = -1
            continue
        elif kind == 1:
            local = 0.0 + en
        elif kind == 2:
            if not has_acceptor:
                out[i] = -1
                continue
            local = acc[slot_src_type[i]] + en
        elif kind & 1:  # STOP_*: 3, 5, 7, 9
            local = codon[(kind - 3) >> 1] + en
        else:  # ACC_STOP_*: 4, 6, 8, 10
            if not has_acceptor:
                out[i] = -1
                continue
            local = (acc[slot_src_type[i]] + codon[(kind - 4) >> 1]) + en
        col = slot_col[i]
        for pos in range(t, t + m):
            local += em[pos, col]
        out[i] = _to_step(local)


@numba.njit(cache=True, nogil=True)
def _path_to_label_runs(path_states, path_starts, path_ends, label):
    """Merge consecutive steps with the same annotation label into [start, end, label) runs."""
    k = path_states.shape[0]
    runs = np.empty((k, 3), np.int64)
    r = -1
    for i in range(k):
        lab = label[path_states[i]]
        if r >= 0 and runs[r, 2] == lab:
            runs[r, 1] = path_ends[i]
        else:
            r += 1
            runs[r, 0] = path_starts[i]
            runs[r, 1] = path_ends[i]
            runs[r, 2] = lab
    return runs[:r + 1].copy()


@numba.njit(cache=True, nogil=True)
def _forward(bp, em, succ_off, succ_state, slot_of, base_count, slot_kind, slot_src_type, slot_ent_kind, slot_col,
             slot_len, full):
    """Forward pass in upstream's integer costs. Returns (cost, back).

    cost rows are path ends (all n + 1 of them when `full`, else a ring of RING rows);
    back[(t * 73) + s] is the chosen predecessor state, with the TIE bit set when an equally cheap
    predecessor with an equally cheap parent exists (upstream's choice then depends on its heap order).
    Step costs depend only on a few properties of a transition ("slots"), so they are computed once per
    path end, not once per transition.
    """
    n = em.shape[0]
    rows = n + 1 if full else RING
    cost = np.full((rows, _N), INF, np.int64)
    parent_cost = np.full((RING, _N), INF, np.int64)  # only rows still being written are needed
    back = np.zeros((n + 1) * _N, np.uint8)
    cost[0, 0] = 0
    parent_cost[0, 0] = 0
    slot_step = np.empty(slot_kind.shape[0], np.int64)
    ent8 = np.empty(8, np.float64)
    codon = np.empty(4, np.float64)
    acc = np.empty(3, np.float64)
    for t in range(n):
        row = t if full else t & RING_MASK
        _slot_steps_at(t, n, bp, em, slot_kind, slot_src_type, slot_ent_kind, slot_col, slot_len, ent8, codon,
                       acc, slot_step)
        for p in range(_N):
            cp = cost[row, p]
            if cp >= INF:
                continue
            for j in range(succ_off[p], succ_off[p + 1]):
                step = slot_step[slot_of[j]]
                if step < 0:
                    continue
                d = succ_state[j]
                e = t + base_count[d]
                cand = cp + step
                tr = e if full else e & RING_MASK
                pr = e & RING_MASK
                old = cost[tr, d]
                if cand < old:
                    cost[tr, d] = cand
                    parent_cost[pr, d] = cp
                    back[e * _N + d] = np.uint8(p)
                elif cand == old:
                    # upstream expands the cheaper parent first and keeps the first arrival
                    if cp < parent_cost[pr, d]:
                        parent_cost[pr, d] = cp
                        back[e * _N + d] = np.uint8(p)
                    elif cp == parent_cost[pr, d]:
                        back[e * _N + d] = back[e * _N + d] | TIE
        for s in range(_N):
            if not full:
                cost[row, s] = INF
            parent_cost[t & RING_MASK, s] = INF
    return cost, back


@numba.njit(cache=True, nogil=True)
def viterbi_path(bp, em, succ_off, succ_state, slot_of, base_count, slot_kind, slot_src_type, slot_ent_kind,
                 slot_col, slot_len, label, diag):
    """Forward DP + traceback. Returns (runs, ok); ok is False when a tie makes upstream's choice undecidable.

    `diag` (int64[3]) receives where the undecidable tie was: path end, state, and the number of equally
    cheap final states.
    """
    n = em.shape[0]
    cost, back = _forward(bp, em, succ_off, succ_state, slot_of, base_count, slot_kind,
                                       slot_src_type, slot_ent_kind, slot_col, slot_len, False)
    # the answer: the cheapest state at the region end (must be unique to be decidable)
    final_row = n & RING_MASK
    best = INF
    best_state = -1
    count = 0
    for s in range(_N):
        c = cost[final_row, s]
        if c < best:
            best = c
            best_state = s
            count = 1
        elif c == best:
            count += 1
    empty = np.empty((0, 3), np.int64)
    diag[0], diag[1], diag[2] = -1, -1, count
    if count != 1:
        return empty, False
    # traceback
    steps = 0
    t = n
    s = best_state
    path_states = np.empty(n, np.int64)
    path_starts = np.empty(n, np.int64)
    path_ends = np.empty(n, np.int64)
    while t > 0:
        b = back[t * _N + s]
        if b & TIE:
            diag[0], diag[1] = t, s
            return empty, False
        m = base_count[s]
        path_states[steps] = s
        path_starts[steps] = t - m
        path_ends[steps] = t
        steps += 1
        t -= m
        s = np.int64(b & np.uint8(0x7F))
    return _path_to_label_runs(path_states[:steps][::-1], path_starts[:steps][::-1], path_ends[:steps][::-1],
                               label), True


# ---- settling ties that cannot change the annotation ----------------------------------------------
@numba.njit(cache=True, nogil=True)
def tie_free_labels(bp, em, succ_off, succ_state, slot_of, base_count, slot_kind, slot_src_type, slot_ent_kind,
                    slot_col, slot_len, label, em_col, ent_kind, itype, pred_off, pred_state, pred_kind):
    """Label runs when every path upstream's search could pick carries the same labels, else (empty, False).

    Walks back over all optimal predecessors that upstream might keep (equal total cost and equally cheap
    parent), and checks that each base gets one label from all of them.
    """
    n = em.shape[0]
    cost, _ = _forward(bp, em, succ_off, succ_state, slot_of, base_count, slot_kind, slot_src_type,
                          slot_ent_kind, slot_col, slot_len, True)
    empty = np.empty((0, 3), np.int64)
    best = INF
    for s in range(_N):
        if cost[n, s] < best:
            best = cost[n, s]
    visited = np.zeros((n + 1) * _N, np.uint8)
    stack = np.empty(16, np.int64)
    size = 0
    for s in range(_N):
        if cost[n, s] == best:
            if size == stack.shape[0]:
                stack = np.concatenate((stack, np.empty(size, np.int64)))
            stack[size] = n * _N + s
            size += 1
            visited[n * _N + s] = 1
    base_label = np.full(n, -1, np.int64)
    parents = np.empty(_N * 4, np.int64)
    while size > 0:
        size -= 1
        node = stack[size]
        t = node // _N
        s = node % _N
        if t == 0:
            continue
        m = base_count[s]
        lab = label[s]
        for x in range(t - m, t):
            if base_label[x] == -1:
                base_label[x] = lab
            elif base_label[x] != lab:
                return empty, False
        tp = t - m
        target = cost[t, s]
        cheapest_parent = INF
        count = 0
        for j in range(pred_off[s], pred_off[s + 1]):
            p = pred_state[j]
            cp = cost[tp, p]
            if cp >= INF:
                continue
            step = _step_cost(p, s, pred_kind[j], tp, n, bp, em, base_count, em_col, ent_kind, itype)
            if step < 0 or cp + step != target:
                continue
            if cp < cheapest_parent:
                cheapest_parent = cp
                count = 0
            if cp == cheapest_parent:
                parents[count] = p
                count += 1
        for i in range(count):
            pnode = tp * _N + parents[i]
            if visited[pnode] == 0:
                visited[pnode] = 1
                if size == stack.shape[0]:
                    stack = np.concatenate((stack, np.empty(size, np.int64)))
                stack[size] = pnode
                size += 1
    runs = np.empty((n, 3), np.int64)
    r = -1
    for x in range(n):
        if r >= 0 and runs[r, 2] == base_label[x]:
            runs[r, 1] = x + 1
        else:
            r += 1
            runs[r, 0] = x
            runs[r, 1] = x + 1
            runs[r, 2] = base_label[x]
    return runs[:r + 1].copy(), True


# ---- upstream's best-first search, replayed exactly --------------------------------------------------
@numba.njit(cache=True, nogil=True, inline="always")
def _less_or_equal(pa, ea, pb, eb):
    """Rust `a <= b` for upstream's eval ordering (greater = lower penalty, then larger end position)."""
    return not (pa < pb or (pa == pb and ea > eb))


@numba.njit(cache=True, nogil=True)
def _sift_up(hp, he, hs, start, pos):
    p, e, s = hp[pos], he[pos], hs[pos]
    while pos > start:
        parent = (pos - 1) // 2
        if _less_or_equal(p, e, hp[parent], he[parent]):
            break
        hp[pos], he[pos], hs[pos] = hp[parent], he[parent], hs[parent]
        pos = parent
    hp[pos], he[pos], hs[pos] = p, e, s


@numba.njit(cache=True, nogil=True)
def _sift_down_to_bottom(hp, he, hs, size):
    """Rust BinaryHeap::sift_down_to_bottom(0) followed by sift_up, as used by `pop`."""
    end = size
    pos = 0
    p, e, s = hp[0], he[0], hs[0]
    child = 1
    limit = end - 2 if end >= 2 else 0
    while child <= limit:
        if _less_or_equal(hp[child], he[child], hp[child + 1], he[child + 1]):
            child += 1
        hp[pos], he[pos], hs[pos] = hp[child], he[child], hs[child]
        pos = child
        child = 2 * pos + 1
    if child == end - 1:
        hp[pos], he[pos], hs[pos] = hp[child], he[child], hs[child]
        pos = child
    hp[pos], he[pos], hs[pos] = p, e, s
    _sift_up(hp, he, hs, 0, pos)


@numba.njit(cache=True, nogil=True)
def best_first_path(bp, em, succ_off, succ_state, succ_kind, base_count, em_col, ent_kind, itype, label):
    """Upstream's search: pop the cheapest eval (ties: larger end first, then heap order), expand, repeat."""
    n = em.shape[0]
    best = np.full((n + 1) * _N, INF, np.int64)
    prev = np.zeros((n + 1) * _N, np.uint8)
    cap = 1024
    hp = np.empty(cap, np.int64)
    he = np.empty(cap, np.int64)
    hs = np.empty(cap, np.int64)
    # root: Intergenic at position 0, cost 0
    best[0] = 0
    hp[0], he[0], hs[0] = 0, 0, 0
    size = 1
    final_state = -1
    while size > 0:
        # pop
        pen, end, st = hp[0], he[0], hs[0]
        size -= 1
        if size > 0:
            hp[0], he[0], hs[0] = hp[size], he[size], hs[size]
            _sift_down_to_bottom(hp, he, hs, size)
        if end == n:
            final_state = st
            break
        if best[end * _N + st] != pen:
            continue  # stale entry
        for j in range(succ_off[st], succ_off[st + 1]):
            d = succ_state[j]
            step = _step_cost(st, d, succ_kind[j], end, n, bp, em, base_count, em_col, ent_kind, itype)
            if step < 0:
                continue
            new_pen = pen + step
            new_end = end + base_count[d]
            idx = new_end * _N + d
            if new_pen >= best[idx]:
                continue
            best[idx] = new_pen
            prev[idx] = np.uint8(st)
            if size == cap:
                cap *= 2
                hp2 = np.empty(cap, np.int64)
                he2 = np.empty(cap, np.int64)
                hs2 = np.empty(cap, np.int64)
                hp2[:size] = hp[:size]
                he2[:size] = he[:size]
                hs2[:size] = hs[:size]
                hp, he, hs = hp2, he2, hs2
            hp[size], he[size], hs[size] = new_pen, new_end, d
            size += 1
            _sift_up(hp, he, hs, 0, size - 1)
    steps = 0
    t = n
    s = final_state
    path_states = np.empty(n, np.int64)
    path_starts = np.empty(n, np.int64)
    path_ends = np.empty(n, np.int64)
    while t > 0:
        m = base_count[s]
        path_states[steps] = s
        path_starts[steps] = t - m
        path_ends[steps] = t
        steps += 1
        p = np.int64(prev[t * _N + s])
        t -= m
        s = p
    return _path_to_label_runs(path_states[:steps][::-1], path_starts[:steps][::-1], path_ends[:steps][::-1], label)


@numba.njit(cache=True, nogil=True)
def _solve(bases, classes, phases, cost_model, force_best_first,
           succ_off, succ_state, succ_kind, slot_of, base_count, slot_kind, slot_src_type, slot_ent_kind, slot_col,
           slot_len, label, em_col, ent_kind, itype, pred_off, pred_state, pred_kind):
    bp = base_penalties(bases)
    em = emission_costs(classes, phases, cost_model)
    if not force_best_first:
        diag = np.zeros(3, np.int64)
        runs, ok = viterbi_path(bp, em, succ_off, succ_state, slot_of, base_count, slot_kind, slot_src_type,
                                slot_ent_kind, slot_col, slot_len, label, diag)
        if ok:
            return runs, 0
        runs, ok = tie_free_labels(bp, em, succ_off, succ_state, slot_of, base_count, slot_kind, slot_src_type,
                                   slot_ent_kind, slot_col, slot_len, label, em_col, ent_kind, itype, pred_off,
                                   pred_state, pred_kind)
        if ok:
            return runs, 1
    return best_first_path(bp, em, succ_off, succ_state, succ_kind, base_count, em_col, ent_kind, itype, label), 2


def _slots():
    """Group transitions by what their step cost depends on (see `_forward`)."""
    keys, slot_of = {}, np.empty(len(S.SUCCESSOR_STATE), np.int64)
    for src in range(S.N_STATES):
        for j in range(S.SUCCESSOR_OFFSETS[src], S.SUCCESSOR_OFFSETS[src + 1]):
            dst, kind = int(S.SUCCESSOR_STATE[j]), int(S.SUCCESSOR_KIND[j])
            uses_acceptor = kind in (S.ACC, S.ACC_STOP_CT, S.ACC_STOP_AG, S.ACC_STOP_A, S.ACC_STOP_CGT)
            if S.STATE_INTRON_PART[dst] == S.DSS:
                kind = S.ENTER  # every donor entry is an ENTER; its cost depends on the intron type only
            key = (kind, int(S.STATE_INTRON_TYPE[src]) if uses_acceptor else -1, int(S.ENTRANCE_KIND[dst]),
                   int(S.EMISSION_COLUMN[dst]), int(S.BASE_COUNT[dst]))
            slot_of[j] = keys.setdefault(key, len(keys))
    columns = np.array(list(keys), np.int64).T.copy()
    return slot_of, columns


_SLOT_OF, _SLOT_COLUMNS = _slots()
_TABLES = (S.SUCCESSOR_OFFSETS, S.SUCCESSOR_STATE, S.SUCCESSOR_KIND, _SLOT_OF, S.BASE_COUNT, *_SLOT_COLUMNS,
           S.LABEL, S.EMISSION_COLUMN, S.ENTRANCE_KIND, S.STATE_INTRON_TYPE,
           S.PREDECESSOR_OFFSETS, S.PREDECESSOR_STATE, S.PREDECESSOR_KIND)

# how a region was solved
SOLVED_BY_DP, SOLVED_BY_TIE_CHECK, SOLVED_BY_REPLAY = 0, 1, 2


def solve_region(bases: np.ndarray, classes: np.ndarray, phases: np.ndarray, cost_model: int = 0,
                 force_best_first: bool = False) -> tuple[np.ndarray, int]:
    """Decode one region: (n, 4) float32 bases (C,A,T,G), class and phase predictions -> label runs.

    Returns (runs, how): runs is (k, 3) int64 [start, end, label) in region coordinates; `how` is
    SOLVED_BY_DP, SOLVED_BY_TIE_CHECK (exact cost ties that cannot change the labels) or SOLVED_BY_REPLAY
    (ties that could: upstream's best-first search was replayed). Releases the GIL.
    """
    return _solve(np.ascontiguousarray(bases, np.float32), np.ascontiguousarray(classes, np.float32),
                  np.ascontiguousarray(phases, np.float32), int(cost_model), bool(force_best_first), *_TABLES)
