"""The synthetic default: VBF H -> ZZ -> 4l signal, ggH and qq -> ZZ backgrounds with known densities.

Each process has an analytic density over the five high-level features of the exercise
(``f_massjj, f_deltajj, f_mass4l, f_Z1mass, f_Z2mass``), calibrated against the real samples in
``../shared/data`` (``tests/test_data_synthetic.py`` checks the figures):

- whether the event has a jet pair: a Bernoulli draw with a per-process fraction;
- ``f_deltajj`` from a (mixture of) gamma distribution(s), ``log f_massjj`` given ``f_deltajj``
  from a normal distribution whose mean rises linearly with ``f_deltajj``;
- ``f_mass4l`` from a mixture of components; in each component ``f_Z1mass`` given ``f_mass4l``
  and ``f_Z2mass`` given both are truncated mixtures, so ``Z1 + Z2 <= m4l`` always holds.

The lepton and jet kinematics (``f_lept*``, ``f_jet*``) are built from the high-level values and
randomness that is the same for every process (4l-system boost, decay angles, jet rapidity
centre and pt balance), so they carry no class information beyond the high-level features:
the likelihood ratio of :func:`log_density` is the Bayes-optimal classifier for every feature set.
Conversely the 18 lepton and jet ``pt, eta, phi`` (:data:`LOW_LEVEL`, the presets' feature set
``low``) determine the five high-level values (the masses from the four-vectors, ``f_deltajj``
from the jets' ``eta``), so they reach the same Bayes limit; but a classifier has to learn the
invariant masses itself. That makes ``--features low`` the hard benchmark, where tuning matters,
and ``high`` the easy one.

Files are written with uproot in the exercise's format: tree ``HZZ4LeptonsAnalysisReduced``,
the 26 branches it reads, ``-999`` for jet variables of events without a jet pair.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import uproot
import vector
from scipy import stats
from scipy.special import logsumexp
from tqdm.auto import tqdm

from hpo import paths
from hpo.errors import UsageError
from hpo.staging import staging_path

TREE = "HZZ4LeptonsAnalysisReduced"
MISSING = -999.0
CHANNELS = ("4mu", "4e")
# The exercise's feature vocabulary: its high-level inputs and the 18 lepton and jet kinematics.
HIGH_LEVEL = ("f_massjj", "f_deltajj", "f_mass4l", "f_Z1mass", "f_Z2mass")
LOW_LEVEL = (
    *(f"f_lept{i}_{v}" for i in range(1, 5) for v in ("pt", "eta", "phi")),
    *(f"f_jet{i}_{v}" for i in (1, 2) for v in ("pt", "eta", "phi")),
)
ALL_FEATURES = HIGH_LEVEL + LOW_LEVEL
BRANCHES = ("f_run", "f_event", "f_weight", *ALL_FEATURES)
Z_MASS = 91.1876
Z1_RANGE = (40.0, 120.0)
Z2_RANGE = (12.0, 120.0)
DETA_MAX = 9.4  # both jets within |eta| < 4.7


@dataclass(frozen=True)
class Mixture:
    """A mixture of scipy distributions, optionally truncated to ``[lo, hi]`` per event."""

    parts: tuple[tuple[float, stats.rv_continuous], ...]

    def _masses(self, lo: np.ndarray | float, hi: np.ndarray | float) -> np.ndarray:
        """Weight times probability inside [lo, hi] of each part, shape (parts, *shape of lo and hi)."""
        return np.array([a * (d.cdf(hi) - d.cdf(lo)) for a, d in self.parts])

    def logpdf(self, x: np.ndarray, lo: np.ndarray | float = -np.inf, hi: np.ndarray | float = np.inf) -> np.ndarray:
        """Log density of the truncated mixture (``-inf`` outside ``[lo, hi]``)."""
        log_dens = logsumexp([np.log(a) + d.logpdf(x) for a, d in self.parts], axis=0)  # finite far in the tails
        norm = self._masses(lo, hi).sum(axis=0)
        inside = (x >= lo) & (x <= hi)
        with np.errstate(divide="ignore"):
            return np.where(inside, log_dens - np.log(norm), -np.inf)

    def sample(self, rng: np.random.Generator, n: int, lo: np.ndarray | float = -np.inf, hi: np.ndarray | float = np.inf) -> np.ndarray:
        """Draw ``n`` values: pick a part by its truncated mass, then invert its truncated CDF."""
        lo, hi = np.broadcast_to(lo, n), np.broadcast_to(hi, n)
        masses = self._masses(lo, hi)
        cum = np.cumsum(masses, axis=0) / masses.sum(axis=0)
        part = (rng.random(n) > cum).sum(axis=0).clip(max=len(self.parts) - 1)
        out = np.empty(n)
        for k, (_, d) in enumerate(self.parts):
            sel = part == k
            u = rng.uniform(d.cdf(lo[sel]), d.cdf(hi[sel]))
            out[sel] = d.ppf(u)
        return out


def _mix(*parts: tuple[float, stats.rv_continuous]) -> Mixture:
    total = sum(a for a, _ in parts)
    return Mixture(tuple((a / total, d) for a, d in parts))


@dataclass(frozen=True)
class DecayComponent:
    """One component of the four-lepton density: m4l, then Z1 given m4l, then Z2 given both."""

    fraction: float
    mass4l: Mixture
    z1: Mixture
    z2: Mixture

    @staticmethod
    def z1_bounds(m4l: np.ndarray) -> tuple[float, np.ndarray]:
        return Z1_RANGE[0], np.minimum(Z1_RANGE[1], m4l - Z2_RANGE[0])

    @staticmethod
    def z2_bounds(m4l: np.ndarray, z1: np.ndarray) -> tuple[float, np.ndarray]:
        return Z2_RANGE[0], np.minimum(Z2_RANGE[1], m4l - z1)

    def logpdf(self, m4l: np.ndarray, z1: np.ndarray, z2: np.ndarray) -> np.ndarray:
        return (
            self.mass4l.logpdf(m4l)
            + self.z1.logpdf(z1, *self.z1_bounds(m4l))
            + self.z2.logpdf(z2, *self.z2_bounds(m4l, z1))
        )

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m4l = self.mass4l.sample(rng, n)
        z1 = self.z1.sample(rng, n, *self.z1_bounds(m4l))
        z2 = self.z2.sample(rng, n, *self.z2_bounds(m4l, z1))
        return m4l, z1, z2


@dataclass(frozen=True)
class Process:
    """A physics process: its file name, expected yield and density over the high-level features."""

    name: str
    file_stem: str  # the exercise's file name without channel and extension
    label: int
    n_events: int  # generated events at scale 1 (before the jet-pair requirement)
    yield_4mu: float  # expected events for 137 fb^-1 at 13 TeV (before the jet-pair requirement)
    jet_fraction: float
    deta: Mixture
    log_mjj: tuple[float, float, float]  # intercept, slope in deta, width
    decay: tuple[DecayComponent, ...] = field(default_factory=tuple)

    def log_density(self, x: Mapping[str, np.ndarray]) -> np.ndarray:
        """Log density of events *with* a jet pair over the five high-level features."""
        deta, mjj = np.asarray(x["f_deltajj"], float), np.asarray(x["f_massjj"], float)
        a, b, s = self.log_mjj
        with np.errstate(divide="ignore", invalid="ignore"):
            log_mjj = np.log(mjj)
            jets = self.deta.logpdf(deta, 0.0, DETA_MAX) + stats.norm.logpdf(log_mjj, a + b * deta, s) - log_mjj
        m4l, z1, z2 = (np.asarray(x[k], float) for k in ("f_mass4l", "f_Z1mass", "f_Z2mass"))
        decay = logsumexp([np.log(c.fraction) + c.logpdf(m4l, z1, z2) for c in self.decay], axis=0)
        return np.where(mjj > 0, jets, -np.inf) + decay


def _higgs(m4l_width: float) -> tuple[DecayComponent, ...]:
    """H -> ZZ -> 4l: a narrow m4l peak with a radiative low tail; one on-shell Z."""
    peak = _mix((0.82, stats.norm(124.8, m4l_width)), (0.18, stats.norm(121.0, 6.0)))
    z1 = _mix((0.62, stats.norm(90.6, 2.2)), (0.38, stats.norm(76.0, 12.0)))
    z2 = _mix((1.0, stats.norm(33.0, 14.0)))
    return (DecayComponent(1.0, peak, z1, z2),)


def _qqzz() -> tuple[DecayComponent, ...]:
    """qq -> ZZ -> 4l: Z -> 4l resonance, off-shell continuum and on-shell ZZ pairs."""
    on_z = _mix((1.0, stats.cauchy(Z_MASS, 1.5)))
    return (
        DecayComponent(0.10, _mix((1.0, stats.norm(91.0, 2.5))), _mix((1.0, stats.norm(68.0, 10.0))), _mix((1.0, stats.norm(18.0, 6.0)))),
        DecayComponent(0.15, _mix((1.0, stats.truncexpon(3.0, loc=100.0, scale=25.0))), on_z, _mix((1.0, stats.norm(30.0, 15.0)))),
        DecayComponent(0.75, _mix((1.0, stats.lognorm(0.35, loc=180.0, scale=90.0))), on_z, _mix((0.85, stats.cauchy(Z_MASS, 2.0)), (0.15, stats.norm(70.0, 20.0)))),
    )  # fmt: skip


def processes(channel: str = "4mu") -> tuple[Process, ...]:
    """The three simulated processes of ``channel`` ('4mu' or '4e'), signal first."""
    if channel not in CHANNELS:
        raise UsageError(f"unknown channel {channel!r}; choose one of {', '.join(CHANNELS)}")
    width = 1.2 if channel == "4mu" else 2.0  # electrons have a coarser four-lepton mass resolution
    qcd_deta = _mix((1.0, stats.gamma(2.0, scale=1.2)))
    return (
        Process("VBF", "VBF_HToZZTo", 1, 23_000, 4.5, 0.617, _mix((1.0, stats.norm(4.1, 1.8))), (4.46, 0.464, 0.41), _higgs(width)),
        Process("ggH", "GluGluHToZZTo", 0, 120_000, 52.0, 0.144, qcd_deta, (4.21, 0.463, 0.47), _higgs(width)),
        Process("ZZ", "ZZTo", 0, 700_000, 330.0, 0.12, qcd_deta, (4.25, 0.463, 0.47), _qqzz()),
    )  # fmt: skip


def file_name(process: Process, channel: str) -> str:
    """The exercise's file name of ``process`` in ``channel``, e.g. ``VBF_HToZZTo4mu.root``."""
    return f"{process.file_stem}{channel}.root"


# -- generation ----------------------------------------------------------------------------------
def _leptons(rng: np.random.Generator, m4l: np.ndarray, z1: np.ndarray, z2: np.ndarray) -> dict[str, np.ndarray]:
    """Lepton pt, eta, phi from the masses plus process-independent boost and decay angles."""
    n = len(m4l)

    def isotropic(mass: np.ndarray, p: np.ndarray) -> vector.MomentumNumpy4D:
        cos, phi = rng.uniform(-1, 1, n), rng.uniform(-np.pi, np.pi, n)
        sin = np.sqrt(1 - cos**2)
        return vector.array({"px": p * sin * np.cos(phi), "py": p * sin * np.sin(phi), "pz": p * cos, "mass": mass})

    def two_body(m: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
        return np.sqrt(np.clip((m**2 - (m1 + m2) ** 2) * (m**2 - (m1 - m2) ** 2), 0, None)) / (2 * m)

    za = isotropic(z1, two_body(m4l, z1, z2))  # Z1 in the 4l rest frame
    zb = vector.array({"px": -za.px, "py": -za.py, "pz": -za.pz, "mass": z2})
    system = vector.array({
        "pt": rng.gamma(1.3, 25.0, n), "eta": rng.normal(0, 1.6, n), "phi": rng.uniform(-np.pi, np.pi, n), "mass": m4l,
    })  # fmt: skip
    out: dict[str, np.ndarray] = {}
    for first, z, mass in ((1, za, z1), (3, zb, z2)):
        l1 = isotropic(np.zeros(n), mass / 2)  # massless leptons in the Z rest frame
        l2 = vector.array({"px": -l1.px, "py": -l1.py, "pz": -l1.pz, "mass": np.zeros(n)})
        pair = [l.boost_p4(z).boost_p4(system) for l in (l1, l2)]
        lead = pair[0].pt >= pair[1].pt
        for i, (a, b) in enumerate(((pair[0], pair[1]), (pair[1], pair[0]))):
            for v in ("pt", "eta", "phi"):
                out[f"f_lept{first + i}_{v}"] = np.where(lead, getattr(a, v), getattr(b, v))
    return out


def _jets(rng: np.random.Generator, mjj: np.ndarray, deta: np.ndarray) -> dict[str, np.ndarray]:
    """Jet pt, eta, phi from m_jj and delta-eta_jj plus process-independent centre, balance and phi."""
    n = len(mjj)
    centre, sign = rng.normal(0, 0.9, n), rng.choice([-1.0, 1.0], n)
    dphi, balance = rng.uniform(0, np.pi, n), rng.uniform(0.15, 1.0, n)
    pt1 = mjj / np.sqrt(2 * balance * (np.cosh(deta) - np.cos(dphi)))  # massless jets
    phi1 = rng.uniform(-np.pi, np.pi, n)
    return {
        "f_jet1_pt": pt1, "f_jet1_eta": centre + sign * deta / 2, "f_jet1_phi": phi1,
        "f_jet2_pt": balance * pt1, "f_jet2_eta": centre - sign * deta / 2,
        "f_jet2_phi": np.mod(phi1 + dphi + np.pi, 2 * np.pi) - np.pi,
    }  # fmt: skip


def generate(process: Process, n: int, rng: np.random.Generator, weight: float) -> dict[str, np.ndarray]:
    """``n`` events of ``process`` as the 26 exercise branches (float32; run and event int32)."""
    counts = rng.multinomial(n, [c.fraction for c in process.decay])
    parts = [c.sample(rng, k) for c, k in zip(process.decay, counts)]
    m4l, z1, z2 = (np.concatenate(v) for v in zip(*parts))
    order = rng.permutation(n)
    m4l, z1, z2 = m4l[order], z1[order], z2[order]
    has_jets = rng.random(n) < process.jet_fraction
    k = int(has_jets.sum())
    deta = process.deta.sample(rng, k, 0.0, DETA_MAX)
    a, b, s = process.log_mjj
    mjj = np.exp(rng.normal(a + b * deta, s))
    out = {"f_run": np.ones(n, np.int32), "f_event": np.arange(1, n + 1, dtype=np.int32), "f_weight": np.full(n, weight)}
    out |= {"f_mass4l": m4l, "f_Z1mass": z1, "f_Z2mass": z2}
    out |= _leptons(rng, m4l, z1, z2)
    for name, values in ({"f_massjj": mjj, "f_deltajj": deta} | _jets(rng, mjj, deta)).items():
        column = np.full(n, MISSING)
        column[has_jets] = values
        out[name] = column
    return {k: (v if v.dtype.kind == "i" else v.astype(np.float32)) for k, v in out.items()}


@functools.cache
def generator_fingerprint() -> str:
    """SHA-256 of this generator's code and of numpy's version: what a generated sample's events
    depend on besides its seed and scale (its ROOT file's bytes also hold write times and a
    random UUID, so they differ between two syntheses of the same events)."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(np.__version__.encode())
    return digest.hexdigest()


def default_folder(seed: int = 0, scale: float = 1.0) -> Path:
    """Where :func:`synthesize` writes by default: ``<home>/synthetic/seed<seed>[_x<scale>]``."""
    suffix = "" if scale == 1.0 else f"_x{scale:g}"
    return paths.synthetic_dir() / f"seed{seed}{suffix}"


def synthesize(
    channels: str | tuple[str, ...] = CHANNELS,
    *,
    seed: int = 0,
    scale: float = 1.0,
    folder: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    luminosity: float = 137.0,
) -> list[Path]:
    """Write the synthetic ROOT files of ``channels`` and return their paths.

    ``scale`` multiplies the default numbers of events (scale 1: about 14k signal and 100k
    background events with a jet pair per channel); ``luminosity`` (fb^-1) sets the weights, so
    each process sums to its expected yield. Deterministic given ``seed``; existing files are kept
    unless ``overwrite``. Files are written to a temporary name and renamed into place.
    """
    channels = (channels,) if isinstance(channels, str) else tuple(channels)
    if not scale > 0:
        raise UsageError(f"scale must be positive, got {scale}")
    folder = Path(folder) if folder is not None else default_folder(seed, scale)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    jobs = [(channel, index, process) for channel in channels for index, process in enumerate(processes(channel))]
    for channel, p_index, process in tqdm(jobs, desc="synthesizing", unit="file", leave=False, disable=None):
        path = folder / file_name(process, channel)
        written.append(path)
        if path.exists() and not overwrite:
            continue
        n = max(10, round(process.n_events * scale))
        channel_yield = process.yield_4mu * (0.8 if channel == "4e" else 1.0)  # lower electron efficiency
        rng = np.random.default_rng([seed, CHANNELS.index(channel), p_index])
        branches = generate(process, n, rng, channel_yield * luminosity / 137.0 / n)
        tmp = staging_path(path)  # a synthesis killed earlier left its staging file: removed here
        try:
            with uproot.recreate(tmp) as out:  # a TTree, as the exercise reads (not uproot's default RNTuple)
                tree = out.mktree(TREE, {b: branches[b].dtype for b in BRANCHES})
                tree.extend({b: branches[b] for b in BRANCHES})
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return written


def log_likelihood_ratio(x: Mapping[str, np.ndarray], channel: str, background_shares: Mapping[str, float]) -> np.ndarray:
    """Log of p(signal) / p(background) for events with a jet pair.

    ``background_shares`` maps each background process name to its share of the background weight.
    """
    procs = {p.name: p for p in processes(channel)}
    signal = [p for p in procs.values() if p.label == 1][0].log_density(x)
    unknown = set(background_shares) - {p.name for p in procs.values() if p.label == 0}
    if unknown:
        raise UsageError(f"unknown background process(es) {sorted(unknown)} for the synthetic model")
    terms = [np.log(s) + procs[name].log_density(x) for name, s in background_shares.items() if s > 0]
    return signal - logsumexp(terms, axis=0)
