"""Fit and check the basket reasoner's vision likelihood (issue 8, docs/reasoner.md).

Input: the placements that `bench_reasoner_tune --placements FILE` writes (one JSON line per
single-item placement of simulated sessions: the product placed, the product scanned for it, the
weight event's delta, the combined views' products and p_nic, as the reasoner combines them).

It reports, for the vision likelihood vision(h) = (1 - eps) q(h) + eps / (N + 1) (docs/reasoner.md):
  * the maximum-likelihood eps over the placements with views (sum of log vision(h_true)), with
    its 1-sigma from the curvature;
  * for each placement scanned for (scan then place, or a ticket switch), P(placed != scanned) as
    the reasoner's check after a scan-supported add computes it (prior x vision x weight x scan),
    for the eps given with --eps, and how the switches and the honest scans fall against the
    flag threshold.

Usage:
  .venv/bin/python bench/fit_vision_likelihood.py PLACEMENTS.jsonl [--eps 0.41 0.2 ...]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

CATALOGUE = (
    Path(__file__).resolve().parent.parent / "data/catalogue/grocery-store-81.csv"
)
UNKNOWN_PRIOR = 0.03
SCAN_TRUST = 0.95
OUTSIDE_MAX = 1e-4
MISSING_FACTOR = 0.5
FLOOR = 1e-6
MIN_SIGMA_G = 3.0
UNIT_PRIORS = (1.0, 0.05, 0.01)
PRODUCE_MIN_PIECE = 0.35
PRODUCE_MAX_G = 6000.0
UNKNOWN_MAX_G = 5000.0


def load_catalogue(path: Path) -> dict[str, dict]:
    with path.open(newline="") as f:
        return {row["product_id"]: row for row in csv.DictReader(f)}


def q_of(placement: dict, product: str, nic_weight: float = 1.0) -> float:
    """The views' distribution q(h) as LogVision takes it ("" = unknown / own item); the views'
    p_nic counts nic_weight times (1 = as the reasoner did up to bundle v2)."""
    nic = nic_weight * min(max(placement["p_nic"], 0.0), 1.0)
    if product == "":
        return nic
    smallest = 1.0
    for pid, p in placement["products"]:
        if pid == product:
            return (1 - nic) * p
        smallest = min(smallest, p)
    if not placement["products"]:
        smallest = 0.0
    return (1 - nic) * min(smallest * MISSING_FACTOR, OUTSIDE_MAX)


def vision(
    q: float, eps: float, n: int, q_class: float = 0.0, eps_class: float = 0.0
) -> float:
    """(1 - eps - eps_class) q(h) + eps_class q(class of h) / |class| + eps / (N + 1)."""
    return max((1 - eps - eps_class) * q + eps_class * q_class + eps / (n + 1), FLOOR)


def class_share(
    placement: dict, product: str, catalogue: dict[str, dict], nic_weight: float
) -> float:
    """q(class of h) / |class|: the views' mass on h's coarse class, spread over its products."""
    if product == "":
        return q_of(placement, "", nic_weight)
    coarse = catalogue[product]["coarse_id"]
    members = [pid for pid, row in catalogue.items() if row["coarse_id"] == coarse]
    return sum(q_of(placement, pid, nic_weight) for pid in members) / len(members)


def log_normal(x: float, mean: float, sigma: float) -> float:
    z = (x - mean) / sigma
    return -0.5 * z * z - math.log(sigma * math.sqrt(2 * math.pi))


def log_weight(row: dict | None, amount: float, sigma: float) -> float:
    if row is None:
        return -math.log(UNKNOWN_MAX_G) if amount <= UNKNOWN_MAX_G else -700.0
    m = float(row["unit_mass_g"])
    sm = max(float(row["unit_mass_sigma_g"]), 0.5)
    if row["sold_by"] == "kg":
        lower = PRODUCE_MIN_PIECE * m
        lu = -math.log(max(PRODUCE_MAX_G - lower, 1.0))
        if amount > PRODUCE_MAX_G:
            return -700.0
        if amount >= lower:
            return lu
        z = (lower - amount) / math.hypot(sm, sigma)
        return lu - 0.5 * z * z
    total = 0.0
    for n, prior in enumerate(UNIT_PRIORS, start=1):
        s = math.sqrt(n * sm * sm + sigma * sigma)
        total += prior * math.exp(log_normal(amount, n * m, s))
    return math.log(max(total, 1e-300))


def p_switch(
    placement: dict,
    catalogue: dict[str, dict],
    eps: float,
    nic_weight: float = 1.0,
    eps_class: float = 0.0,
) -> tuple[float, str]:
    """1 - P(scanned) and the best hypothesis, as Watch computes them."""
    n = len(catalogue)
    sigma = max(placement["sigma_g"], MIN_SIGMA_G)
    scan_factor = math.log(1 + SCAN_TRUST / (1 - SCAN_TRUST) * n)
    scores = {}
    for pid, row in catalogue.items():
        s = math.log((1 - UNKNOWN_PRIOR) / n)
        qc = class_share(placement, pid, catalogue, nic_weight) if eps_class else 0.0
        s += math.log(vision(q_of(placement, pid, nic_weight), eps, n, qc, eps_class))
        s += log_weight(row, placement["delta_g"], sigma)
        if pid == placement["scanned"]:
            s += scan_factor
        scores[pid] = s
    scores[""] = (
        math.log(UNKNOWN_PRIOR)
        + math.log(
            vision(
                q_of(placement, "", nic_weight),
                eps,
                n,
                q_of(placement, "", nic_weight),
                eps_class,
            )
        )
        + log_weight(None, placement["delta_g"], sigma)
    )
    top = max(scores.values())
    total = sum(math.exp(v - top) for v in scores.values())
    p_scanned = math.exp(scores[placement["scanned"]] - top) / total
    best = max(scores, key=lambda k: scores[k])
    return 1 - p_scanned, best


def fit_eps(
    placements: list[dict], n: int, nic_weight: float = 1.0
) -> tuple[float, float, float]:
    qs = [q_of(p, p["product"], nic_weight) for p in placements]

    def ll(eps: float) -> float:
        return sum(math.log(vision(q, eps, n)) for q in qs)

    grid = [i / 1000 for i in range(1, 1000)]
    best = max(grid, key=ll)
    h = 0.005
    curvature = (ll(best + h) - 2 * ll(best) + ll(best - h)) / (h * h)
    sd = math.sqrt(-1 / curvature) if curvature < 0 else float("nan")
    return best, sd, ll(best)


def fit_class_model(
    placements: list[dict], catalogue: dict[str, dict]
) -> tuple[float, float, float, float]:
    """Maximum likelihood (eps, eps_class, nic_weight) on a grid."""
    n = len(catalogue)
    best = (float("-inf"), 0.0, 0.0, 0.0)
    for w in (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0):
        pairs = [
            (q_of(p, p["product"], w), class_share(p, p["product"], catalogue, w))
            for p in placements
        ]
        for i in range(1, 40):
            eps = i * 0.01
            for j in range(60):
                eps_class = j * 0.01
                if eps + eps_class >= 1:
                    continue
                ll = sum(math.log(vision(q, eps, n, qc, eps_class)) for q, qc in pairs)
                if ll > best[0]:
                    best = (ll, eps, eps_class, w)
    return best[1], best[2], best[3], best[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("placements", nargs="+", type=Path)
    parser.add_argument("--eps", nargs="*", type=float, default=[0.41])
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--nic-weight", type=float, default=1.0)
    parser.add_argument("--eps-class", type=float, default=0.0)
    parser.add_argument("--fit-class", action="store_true")
    parser.add_argument("--ask", nargs="*", type=float, default=[0.05, 0.1, 0.2])
    args = parser.parse_args()
    catalogue = load_catalogue(CATALOGUE)
    n = len(catalogue)
    rows = [
        json.loads(line) for f in args.placements for line in f.read_text().splitlines()
    ]
    with_views = [r for r in rows if r["views"] > 0]
    eps, sd, ll = fit_eps(with_views, n)
    for w in (1.0, 0.75, 0.5, 0.25, 0.1, 0.0):
        e, d, l = fit_eps(with_views, n, w)
        print(f"nic weight {w}: ML eps {e:.3f} +- {d:.3f} (ll {l:.1f})")
    if args.fit_class:
        e, ec, w, ll_class = fit_class_model(with_views, catalogue)
        print(
            f"class model: ML eps {e:.2f}, eps_class {ec:.2f}, nic weight {w} (ll {ll_class:.1f})"
        )
    shop = [r for r in with_views if r["product"]]
    top1 = sum(1 for r in shop if r["products"] and r["products"][0][0] == r["product"])
    in_topk = sum(
        1 for r in shop if any(pid == r["product"] for pid, _ in r["products"])
    )
    print(
        f"placements {len(rows)}, with views {len(with_views)} ({len(shop)} shop products): "
        f"top-1 right {top1}, in top-k {in_topk}; ML eps = {eps:.3f} +- {sd:.3f} (ll {ll:.1f})"
    )
    scanned = [r for r in with_views if r["scanned"]]
    for e in args.eps:
        caught = honest_flagged = swaps = honest = 0
        asked_swaps = dict.fromkeys(args.ask, 0)
        asked_honest = dict.fromkeys(args.ask, 0)
        for r in scanned:
            ps, best = p_switch(r, catalogue, e, args.nic_weight, args.eps_class)
            for a in args.ask:
                if a <= ps < args.threshold:
                    asked_swaps[a] += r["behaviour"] == "swap"
                    asked_honest[a] += r["behaviour"] != "swap"
            is_swap = r["behaviour"] == "swap"
            swaps += is_swap
            honest += not is_swap
            if ps >= args.threshold and best not in ("", r["scanned"]):
                caught += is_swap
                honest_flagged += not is_swap
        print(
            f"eps {e}: swaps flagged {caught}/{swaps}, honest scans flagged "
            f"{honest_flagged}/{honest} (threshold {args.threshold}, nic weight {args.nic_weight})"
        )
        for a in args.ask:
            print(
                f"   asked from P(switch) {a}: swaps {asked_swaps[a]}, honest {asked_honest[a]}"
            )
    print("swaps (with views):")
    for r in scanned:
        if r["behaviour"] != "swap":
            continue
        ms = float(catalogue[r["scanned"]]["unit_mass_g"])
        mp = (
            float(catalogue[r["product"]]["unit_mass_g"])
            if r["product"]
            else float("nan")
        )
        rank = next(
            (i + 1 for i, (pid, _) in enumerate(r["products"]) if pid == r["product"]),
            None,
        )
        ps, best = p_switch(r, catalogue, args.eps[0], args.nic_weight, args.eps_class)
        top = r["products"][0] if r["products"] else ["-", 0]
        print(
            f"  {r['session']} {r['t_s']:.0f}s scanned {r['scanned']} ({ms:.0f} g) placed "
            f"{r['product']} ({mp:.0f} g, delta {r['delta_g']:.0f}) views {r['views']} "
            f"nic {r['p_nic']:.2f} top1 {top[0]} {top[1]:.2f} rank(placed) {rank} "
            f"q(placed) {q_of(r, r['product']):.3g} q(scanned) {q_of(r, r['scanned']):.3g} "
            f"P(switch) {ps:.3f}"
        )


if __name__ == "__main__":
    main()
