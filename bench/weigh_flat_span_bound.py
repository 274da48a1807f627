"""How well can a quiet-span rule weigh small items at all? (issue 3, docs/benchmarks.md)

The weigh chain decides a small step (< 100 g) when a span of totals looks flat. The hand that
sets an item down presses or pulls a few grams until it lets go, and its force can have a flat
stretch off the final level (the top of the hump that the item's ramp and the hand's push make
together). This script measures, on small events drawn like the evaluation scenario, what the
best rules of that family can reach, with two idealisations that favour the rule:

  * the plate's ring after the release is removed for free (as if a perfect ring fit existed);
  * the reference level is exact, and the rule decides at the first span it accepts (no restart
    costs, no confirmation).

Modes:
  noise-free  the noise-free force (ring removed); a span is accepted when its standard deviation
              is below --sd-g: no rule that looks only inside the span can tell a flat hump top
              from a settled level, so the share of such spans is a floor on its error.
  noisy       80 samples/s with 2 g of Gaussian noise per total (four cells of 1 g): a span is
              accepted when its linear and quadratic components (orthonormal, in sigma) and its
              residual variance (in sigma^2) are below the thresholds; grid over span and
              thresholds. `--ring` keeps the ring in the samples (what the chain sees today).
  ring-fit    noisy, ring kept, and removed by a fit instead of for free: over each span the
              best of a grid of damped modes (8-15 Hz, decay 10-60 /s; level and the mode's two
              coefficients by least squares), then the same tests on the fit's residual and the
              fit's level as the weight.
  oracle-release
              the best case of a sequential detector that finds the moment the hand lets go and
              weighs from the samples after it: the release time is given exactly, and the level
              comes from the first --after samples after it (noisy, 2 g per total): their mean with
              the ring removed for free, their plain mean with the ring kept, or a fit of a constant
              plus a damped mode (the grid above, phase free) with the ring kept. No search for the
              release, no flatness test, no restart, all in the detector's favour. With
              --stop-sigma-g the fit instead grows from 6 samples until the level's standard
              error is within the given bound (a per-event stopping rule).

The generator re-implements, for this analysis only, sim::LoadChange::ForceAt, RingDecayPerS and
the draws of MakeChange in src/sim/weigh_eval.cc (masses 10-100 g log-uniform, 60 % placements);
it must be kept in step with them. Simulation only.

    .venv/bin/python bench/weigh_flat_span_bound.py noise-free --sd-g 1.0
    .venv/bin/python bench/weigh_flat_span_bound.py noisy --spans 10,11,12,13,14
    .venv/bin/python bench/weigh_flat_span_bound.py noisy --ring --spans 11,12,14
    .venv/bin/python bench/weigh_flat_span_bound.py ring-fit --spans 12,14,16
    .venv/bin/python bench/weigh_flat_span_bound.py oracle-release --after 5,6,7,8,9,10,12
    .venv/bin/python bench/weigh_flat_span_bound.py oracle-release --stop-sigma-g 0.8,0.75
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

SAMPLE_S = 1.0 / 80
NOISE_G = 2.0  # per total: four cells of 1 g RMS
SETTLE_BAND_G = 2.5
MIN_EVENT_G = 7.0
MPE_G = 2.5  # OIML R76 class III, e = 5 g, up to 2.5 kg


def smooth_step(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


class SmallEvent:
    """One placement or removal of a 10-100 g item, drawn like sim/weigh_eval.cc MakeChange."""

    def __init__(self, rng: np.random.Generator) -> None:
        m = math.exp(rng.uniform(math.log(10), math.log(100)))
        sign = 1.0 if rng.random() < 0.5 else -1.0
        if rng.random() < 0.6:
            self.contact_s = rng.uniform(0.1, 0.4)
            self.hand_g = rng.uniform(-0.2, 0.2) * m + rng.uniform(-0.5, 1.0) * 10
            self.ring_g = sign * (rng.uniform(0.05, 0.3) * m + rng.uniform(0, 5))
            self.mass_g = m
        else:
            self.contact_s = rng.uniform(0.15, 0.4)
            self.hand_g = rng.uniform(-0.15, 0.15) * m + rng.uniform(-0.5, 0.75) * 10
            self.ring_g = sign * (rng.uniform(0.02, 0.15) * m + rng.uniform(0, 3))
            self.mass_g = -m
        self.ring_hz = rng.uniform(8, 15)
        self.tremor_g = 1 + 0.04 * (m + abs(self.hand_g))
        self.tremor_hz = rng.uniform(8, 12)
        settle_s = rng.uniform(0.15, 0.4)
        ring = abs(self.ring_g)
        self.decay_per_s = max(math.log(ring / SETTLE_BAND_G), math.log(50)) / settle_s
        fine = np.arange(0.0, self.contact_s + 1.0, 0.0005)
        outside = np.abs(self.force(fine, ring=True) - self.mass_g) > SETTLE_BAND_G
        self.settle_s = fine[np.nonzero(outside)[0][-1]] + 0.0005

    def force(self, t: np.ndarray, ring: bool) -> np.ndarray:
        c = self.contact_s
        envelope = np.sin(np.pi * np.clip(t / c, 0.0, 1.0))
        hand = (
            self.mass_g * smooth_step(t / c)
            + self.hand_g * envelope
            + self.tremor_g
            * np.sqrt(np.abs(envelope))
            * np.sin(2 * np.pi * self.tremor_hz * t)
        )
        after = np.maximum(t - c, 0.0)
        plate = (
            self.ring_g
            * np.exp(-self.decay_per_s * after)
            * np.sin(2 * np.pi * self.ring_hz * after)
        )
        return np.where(t < c, hand, self.mass_g + (plate if ring else 0.0))


def draw_series(
    events: list[SmallEvent], rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per event: sample times at 80 samples/s from a random phase, and 2 g of noise per total."""
    series = []
    for e in events:
        t = np.arange(rng.uniform(0, SAMPLE_S), e.contact_s + 1.0, SAMPLE_S)
        series.append((t, NOISE_G * rng.standard_normal(len(t))))
    return series


def damped_mode_designs(after: np.ndarray):
    """Constant plus one damped mode, for each mode of the grid (8-15 Hz, decay 10-60 /s)."""
    for hz in np.linspace(8, 15, 8):
        for decay in np.linspace(10, 60, 6):
            envelope = np.exp(-decay * after)
            yield np.vstack(
                [
                    np.ones(len(after)),
                    envelope * np.cos(2 * np.pi * hz * after),
                    envelope * np.sin(2 * np.pi * hz * after),
                ]
            ).T


def summary(out: int, latency: list[float], with_p50: bool) -> str:
    """Share outside the limit, latency percentiles and share slower than 150 ms."""
    lat = np.array(latency)
    p50, p90 = np.percentile(lat, [50, 90])
    median = f"p50 {p50:4.0f} " if with_p50 else ""
    return (
        f"outside MPE {out / len(lat):.4f}  latency {median}p90 {p90:4.0f} ms"
        f"  > 150 ms {np.mean(lat > 150):.3f}"
    )


def noise_free(events: list[SmallEvent], spans_ms: list[float], sd_g: float) -> None:
    step = SAMPLE_S / 10
    print(
        f"noise-free, ring removed, span accepted when its SD < {sd_g} g; {len(events)} events"
    )
    for span_ms in spans_ms:
        n = round(span_ms * 1e-3 / step)
        out = 0
        latency = []
        for e in events:
            t = np.arange(0.0, e.contact_s + 1.0, step)
            windows = sliding_window_view(e.force(t, ring=False), n)
            mean = windows.mean(axis=1)
            ok = (windows.std(axis=1) < sd_g) & (np.abs(mean) >= MIN_EVENT_G)
            k = int(np.argmax(ok))
            out += abs(mean[k] - e.mass_g) > MPE_G
            latency.append((t[k + n - 1] - e.settle_s) * 1e3)
        print(f"  span {span_ms:5.1f} ms: {summary(out, latency, with_p50=True)}")


def noisy(
    events: list[SmallEvent],
    spans: list[int],
    thresholds: list[tuple[float, float, float]],
    with_ring: bool,
    rng: np.random.Generator,
) -> None:
    series = [
        (t, e.force(t, ring=with_ring) + noise)
        for e, (t, noise) in zip(events, draw_series(events, rng))
    ]
    ring_text = "ring kept" if with_ring else "ring removed"
    print(f"noisy (2 g per total, 80 samples/s), {ring_text}; {len(events)} events")
    for n in spans:
        x = np.arange(n) - (n - 1) / 2
        basis = np.vstack([np.ones(n), x, x * x - np.mean(x * x)]).T
        basis /= np.linalg.norm(basis, axis=0)
        for lin, quad, var in thresholds:
            out = 0
            latency = []
            for e, (t, y) in zip(events, series):
                windows = sliding_window_view(y, n)
                coef = windows @ basis
                mean = windows.mean(axis=1)
                residual = ((windows - mean[:, None]) ** 2).sum(axis=1)
                residual -= coef[:, 1] ** 2 + coef[:, 2] ** 2
                ok = (
                    (np.abs(coef[:, 1]) <= lin * NOISE_G)
                    & (np.abs(coef[:, 2]) <= quad * NOISE_G)
                    & (residual / (n - 3) <= var * NOISE_G**2)
                    & (np.abs(mean) >= MIN_EVENT_G)
                )
                k = int(np.argmax(ok))
                if not ok[k]:
                    out += 1
                    latency.append(1e9)
                    continue
                out += abs(mean[k] - e.mass_g) > MPE_G
                latency.append((t[k + n - 1] - e.settle_s) * 1e3)
            print(
                f"  span {n:2d} samples, linear {lin:.1f} quadratic {quad:.1f} variance {var:.1f}: "
                f"{summary(out, latency, with_p50=False)}"
            )


def ring_fit(
    events: list[SmallEvent],
    spans: list[int],
    thresholds: list[tuple[float, float, float]],
    rng: np.random.Generator,
) -> None:
    series = [
        (t, e.force(t, ring=True) + noise)
        for e, (t, noise) in zip(events, draw_series(events, rng))
    ]
    print(
        f"noisy, ring kept and fitted (damped mode 8-15 Hz, 10-60 /s); {len(events)} events"
    )
    for n in spans:
        k = np.arange(n) * SAMPLE_S
        x = np.arange(n) - (n - 1) / 2
        basis = np.vstack([x, x * x - np.mean(x * x)]).T
        basis /= np.linalg.norm(basis, axis=0)
        shapes = []
        for design in damped_mode_designs(k):
            pinv = np.linalg.pinv(design)
            shapes.append((pinv[0], np.eye(n) - design @ pinv))
        for lin, quad, var in thresholds:
            out = 0
            latency = []
            for e, (t, y) in zip(events, series):
                windows = sliding_window_view(y, n)
                best = np.full(len(windows), np.inf)
                level = np.zeros(len(windows))
                residual = np.zeros_like(windows)
                for level_row, annihilator in shapes:
                    r = windows @ annihilator.T
                    rss = (r * r).sum(axis=1)
                    better = rss < best
                    best[better] = rss[better]
                    level[better] = (windows @ level_row)[better]
                    residual[better] = r[better]
                coef = residual @ basis
                ok = (
                    (np.abs(coef[:, 0]) <= lin * NOISE_G)
                    & (np.abs(coef[:, 1]) <= quad * NOISE_G)
                    & (best / (n - 5) <= var * NOISE_G**2)
                    & (np.abs(level) >= MIN_EVENT_G)
                )
                j = int(np.argmax(ok))
                if not ok[j]:
                    out += 1
                    latency.append(1e9)
                    continue
                out += abs(level[j] - e.mass_g) > MPE_G
                latency.append((t[j + n - 1] - e.settle_s) * 1e3)
            print(
                f"  span {n:2d} samples, linear {lin:.1f} quadratic {quad:.1f} variance {var:.1f}: "
                f"{summary(out, latency, with_p50=False)}"
            )


def fit_mode(y: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """Constant plus the best damped mode of a grid: (level, the level's standard error)."""
    best = np.inf
    level = 0.0
    level_sigma = 0.0
    for design in damped_mode_designs(after):
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        rss = float(((y - design @ coef) ** 2).sum())
        if rss < best:
            best, level = rss, float(coef[0])
            level_sigma = NOISE_G * math.sqrt(np.linalg.inv(design.T @ design)[0, 0])
    return level, level_sigma


def oracle_release(
    events: list[SmallEvent],
    afters: list[int],
    stop_sigmas: list[float],
    rng: np.random.Generator,
) -> None:
    series = [
        (
            t,
            e.force(t, ring=False) + noise,
            e.force(t, ring=True) + noise,
            int(np.searchsorted(t, e.contact_s)),
        )
        for e, (t, noise) in zip(events, draw_series(events, rng))
    ]
    print(
        f"release known exactly, level from the samples after it (2 g per total); "
        f"{len(events)} events"
    )
    modes = ("ring removed, mean", "ring kept, mean", "ring kept, damped-mode fit")
    for n in afters:
        for mode in modes:
            out = 0
            latency = []
            for e, (t, flat, ringing, first) in zip(events, series):
                y = (flat if mode.startswith("ring removed") else ringing)[
                    first : first + n
                ]
                after = t[first : first + n] - e.contact_s
                level = y.mean() if mode.endswith("mean") else fit_mode(y, after)[0]
                out += abs(level - e.mass_g) > MPE_G
                latency.append((t[first + n - 1] - e.settle_s) * 1e3)
            print(
                f"  {n:2d} samples after the release, {mode:27s}: "
                f"{summary(out, latency, with_p50=True)}"
            )
    for bound in stop_sigmas:
        out = 0
        latency = []
        for e, (t, _, ringing, first) in zip(events, series):
            for n in range(6, 21):
                y = ringing[first : first + n]
                level, level_sigma = fit_mode(y, t[first : first + n] - e.contact_s)
                if level_sigma <= bound:
                    break
            out += abs(level - e.mass_g) > MPE_G
            latency.append((t[first + n - 1] - e.settle_s) * 1e3)
        print(
            f"  fit grown until the level's sigma <= {bound} g (6-20 samples): "
            f"{summary(out, latency, with_p50=True)}"
        )
    settled_first = np.mean([e.settle_s < e.contact_s for e in events])
    print(
        f"  share of events physically settled before the release: {settled_first:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "mode", choices=["noise-free", "noisy", "ring-fit", "oracle-release"]
    )
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--sd-g", type=float, default=1.0)
    parser.add_argument("--spans-ms", default="100,112.5,125,137.5,150,175")
    parser.add_argument("--spans", default="10,11,12,13,14")
    parser.add_argument("--after", default="5,6,7,8,9,10,12")
    parser.add_argument("--stop-sigma-g", default="")
    parser.add_argument(
        "--ring", action="store_true", help="noisy: keep the ring in the samples"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    events = [SmallEvent(rng) for _ in range(args.events)]
    if args.mode == "oracle-release":
        stops = [float(s) for s in args.stop_sigma_g.split(",") if s]
        afters = [] if stops else [int(s) for s in args.after.split(",")]
        oracle_release(events, afters, stops, rng)
    elif args.mode == "noise-free":
        noise_free(events, [float(s) for s in args.spans_ms.split(",")], args.sd_g)
    else:
        thresholds = [
            (1.5, 1.5, 1.5),
            (1.5, 1.5, 2.0),
            (2.0, 2.0, 1.5),
            (2.0, 2.0, 2.0),
        ]
        spans = [int(s) for s in args.spans.split(",")]
        if args.mode == "noisy":
            noisy(events, spans, thresholds, args.ring, rng)
        else:
            ring_fit(
                events, spans, [(1.0, 1.0, 1.5), thresholds[0], thresholds[2]], rng
            )


if __name__ == "__main__":
    main()
