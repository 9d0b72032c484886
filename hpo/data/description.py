"""Dataset descriptions: which files make each class, which columns are the inputs, what is cut.

A description is a small YAML file (or the same as a :class:`DatasetDescription` object). Features
are the user's own column or branch names, or names defined by an expression::

    name: my-analysis
    format: root                    # or csv (default: from the files' suffix)
    tree: Events
    weight: genWeight * puWeight    # a column or an expression (omit: every event weighs 1)
    features:                       # the model inputs; a list, or named sets (the first is the default)
      kinematics: [lead_mu_pt, n_jets30, MET_pt]
      all: [lead_mu_pt, n_jets30, MET_pt, Muon_pfRelIso03_all_0]
    derived:                        # names defined by expressions over columns (see hpo.data.expressions)
      lead_mu_pt: Muon_pt[0]
      n_jets30: count(Jet_pt > 30)
      Muon_pfRelIso03_all_0: Muon_pfRelIso03_all[0]
    columns: {MET_pt: MET_pt}       # optional renames: feature name -> column name
    selection:                      # cut-flow steps applied to every process (a string is one step)
      - {name: one muon, cut: nMuon >= 1}
      - {name: two jets, cut: nJet >= 2}
    missing:                        # rules for undefined values (NaN and absent objects are always undefined)
      - {value: -999, action: absent, columns: [DER_mass_MMC]}
    signal:
      - {name: ttH, files: [tth_*.root], cross_section: 0.507, generated: 1.0e6}
    background:
      - {name: ttbar, files: [ttbar.root], cross_section: 833.9, generated: 7.7e7, selection: "nJet >= 4"}
    luminosity: 36.3                # fb^-1, with the cross sections (pb) gives each process its scale

Classes come either from files (``signal`` and ``background`` processes) or from a label column
(``label: {column: Label, signal: s}`` with the files listed under ``samples``). The split is
hpo's random one unless processes give ``train``/``val``/``test`` files or a ``split`` column says
which event goes where. ``data`` lists real collision data files (no label) for reports.
File entries may be globs; relative paths are resolved against the data root for built-in presets
and against the YAML file's folder for user files; ``${DATA_ROOT}`` and ``${SYNTHETIC}`` expand to
the data root and the default synthetic-sample folder (generated on first use).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hpo.data.expressions import Expression, ExpressionError
from hpo.errors import DataError
from hpo.options import Channel

ROLES = ("train", "val", "test")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".tsv", ".txt")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _expression(text: str, what: str) -> str:
    """Check that ``text`` parses as an expression (the parsed form is rebuilt where it is used)."""
    try:
        Expression(text)
    except ExpressionError as err:
        raise ValueError(f"{what}: {err}") from None
    return text


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


class ProcessSpec(_Strict):
    """One physics process: its files, an optional selection of its own, and its normalisation.

    ``files`` are split at random; ``train``/``val``/``test`` give fixed splits instead. The event
    weights are multiplied by ``scale`` and, with ``cross_section`` (pb) and ``generated`` (number
    or weight sum of generated events), by cross section x luminosity / generated.
    """

    name: str
    files: list[str] = Field(default_factory=list)
    train: list[str] = Field(default_factory=list)
    val: list[str] = Field(default_factory=list)
    test: list[str] = Field(default_factory=list)
    optional: bool = False  # a missing optional process is skipped (e.g. ttH as an extra background)
    selection: str | None = None
    scale: float = Field(default=1.0, gt=0)
    cross_section: float | None = Field(default=None, gt=0)
    generated: float | None = Field(default=None, gt=0)

    @field_validator("selection")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        return None if value is None else _expression(value, "selection")

    @model_validator(mode="after")
    def _consistent(self) -> ProcessSpec:
        if not (self.files or self.train or self.val or self.test):
            raise ValueError(f"process {self.name!r} lists no files; give 'files' (or 'train'/'val'/'test')")
        if self.files and (self.train or self.val or self.test):
            raise ValueError(f"process {self.name!r} gives both 'files' and fixed 'train'/'val'/'test' files; keep one")
        if (self.train or self.val or self.test) and not (self.train and self.test):
            raise ValueError(f"process {self.name!r}: fixed splits need 'train' and 'test' files ('val' is optional)")
        if (self.cross_section is None) != (self.generated is None):
            raise ValueError(f"process {self.name!r}: 'cross_section' (pb) and 'generated' (events) go together")
        return self

    @property
    def fixed_split(self) -> bool:
        return bool(self.train or self.test)

    def entries(self) -> list[tuple[str, str | None]]:
        """(file entry, fixed split or None) pairs."""
        if not self.fixed_split:
            return [(f, None) for f in self.files]
        return [(f, role) for role in ROLES for f in getattr(self, role)]


class DerivedFeature(_Strict):
    """A feature computed from columns: the invariant mass of the sum of (pt, eta, phi, mass) four-vectors."""

    invariant_mass: list[tuple[str, str, str, str]] = Field(min_length=1)

    @property
    def inputs(self) -> list[str]:
        return [c for vec in self.invariant_mass for c in vec]


class Step(_Strict):
    """One step of a selection: a name for the cut flow and a boolean expression."""

    name: str
    cut: str

    @field_validator("cut")
    @classmethod
    def _parses(cls, value: str) -> str:
        return _expression(value, "cut")


class MissingRule(_Strict):
    """What an undefined value means for the features it covers (``columns``; default: every input).

    NaN in the input and an absent object (``Muon_pt[0]`` without a muon) are always undefined;
    ``value`` adds a marker (the exercise's -999). ``action: drop`` drops the event; ``absent``
    keeps it with the value undefined: NaN for models that take NaN, and for the others ``fill``
    (trees: default the marker; network: default the training mean) plus an indicator column.
    """

    value: float | None = None
    action: Literal["drop", "absent"] = "drop"
    columns: list[str] | None = None
    fill: float | None = None

    def covers(self, name: str) -> bool:
        return self.columns is None or name in self.columns


class LabelSpec(_Strict):
    """Classes from a column (or expression): the values meaning signal, and those meaning background
    (default: every other value)."""

    column: str
    signal: list[Any]
    background: list[Any] | None = None

    @field_validator("signal", "background", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return None if value is None else _values(value)

    @field_validator("column")
    @classmethod
    def _parses(cls, value: str) -> str:
        return _expression(value, "label column")


class SplitSpec(_Strict):
    """Fixed splits from a column: the values of each split ('val' may be left to hpo's random split)."""

    column: str
    train: list[Any]
    test: list[Any]
    val: list[Any] = Field(default_factory=list)

    @field_validator("train", "val", "test", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return _values(value)


class Display(_Strict):
    """How a column is shown in reports."""

    label: str = ""
    unit: str = ""
    log: bool = False


class SyntheticSpec(_Strict):
    """The synthetic samples that ``${SYNTHETIC}`` names (generated by :func:`hpo.data.synthesize` on first use).

    When every file of a description is a synthetic one, its Bayes-optimal AUC is known.
    """

    channel: Channel = "4mu"
    seed: int = 0
    scale: float = Field(default=1.0, gt=0)


class DatasetDescription(_Strict):
    """Files, classes, inputs, selection, missing-value rules and weights of one dataset."""

    name: str
    title: str = ""
    experiment: str = ""  # tag drawn on plots ("CMS", "ATLAS"); empty: none
    status: str | None = None  # label beside the tag ("Open Data", "Simulation"); None: "Simulation" for synthetic samples
    luminosity: float | None = Field(default=None, gt=0)  # integrated luminosity in fb^-1
    energy: float | None = Field(default=None, gt=0)  # centre-of-mass energy in TeV, stated in reports
    b_reg: float = Field(default=0.0, ge=0)  # background regularisation of the AMS (the Higgs ML challenge: 10)
    format: Literal["root", "csv"] | None = None
    tree: str | None = None
    channel: str = ""
    weight: str | None = None
    features: dict[str, list[str]] = Field(default_factory=dict)
    columns: dict[str, str] = Field(default_factory=dict)
    derived: dict[str, str | DerivedFeature] = Field(default_factory=dict)
    selection: list[Step] = Field(default_factory=list)
    missing: list[MissingRule] = Field(default_factory=list)
    marker: float | None = None  # shorthand for missing: [{value: marker, action: drop, columns: checked}]
    checked: list[str] = Field(default_factory=list)
    label: LabelSpec | None = None
    split: SplitSpec | None = None
    observables: list[str] | None = None
    display: dict[str, Display] = Field(default_factory=dict)
    identifiers: list[str] = Field(default_factory=list)
    run: str | None = None
    event: str | None = None
    signal: list[ProcessSpec] = Field(default_factory=list)
    background: list[ProcessSpec] = Field(default_factory=list)
    samples: list[ProcessSpec] = Field(default_factory=list)
    data: list[ProcessSpec] = Field(default_factory=list)
    synthetic: SyntheticSpec | None = None
    base_dir: Path | None = Field(default=None, exclude=True)  # where relative paths of a user file start

    @field_validator("features", mode="before")
    @classmethod
    def _feature_sets(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return {"all": list(value)}
        return value

    @field_validator("selection", mode="before")
    @classmethod
    def _steps(cls, value: Any) -> Any:
        if value is None:
            return []
        steps = value if isinstance(value, list) else [value]
        return [{"name": s, "cut": s} if isinstance(s, str) else s for s in steps]

    @field_validator("missing", mode="before")
    @classmethod
    def _rules(cls, value: Any) -> Any:
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    @field_validator("weight")
    @classmethod
    def _weight_parses(cls, value: str | None) -> str | None:
        return None if value is None else _expression(value, "weight")

    @field_validator("derived")
    @classmethod
    def _derived_parse(cls, value: dict) -> dict:
        for name, spec in value.items():
            if isinstance(spec, str):
                _expression(spec, f"derived feature {name!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DatasetDescription:
        if self.label is None:
            for side in ("signal", "background"):
                if not getattr(self, side):
                    raise ValueError(f"'{side}': Field required (the {side} processes), or give a 'label' column with 'samples'")
            if self.samples:
                raise ValueError("'samples' go with a 'label' column; without one list 'signal' and 'background' processes")
        elif self.signal or self.background or not self.samples:
            raise ValueError("with a 'label' column list the files under 'samples', not under 'signal'/'background'")
        both = set(self.columns) & set(self.derived)
        if both:
            raise ValueError(f"feature(s) {sorted(both)} are both read and derived; keep one")
        unknown = sorted(set(self.checked) - set(self.available))
        if unknown:
            raise ValueError(f"'checked' names {unknown}, which the description does not provide")
        if any("${SYNTHETIC}" in f for p in self.processes for f, _ in p.entries()) and self.synthetic is None:
            raise ValueError("files use ${SYNTHETIC}; add 'synthetic: {channel: 4mu}' (or 4e) to say which samples")
        if self.marker is not None and not self.checked:
            raise ValueError("'marker' is set but 'checked' lists no feature to check it on")
        names = [p.name for p in [*self.processes, *self.data]]
        if len(set(names)) != len(names):
            raise ValueError(f"process names must be unique, got {names}")
        fixed = {p.fixed_split for p in self.processes}
        if len(fixed) > 1:
            raise ValueError("either every process gives fixed 'train'/'test' files or none does")
        if self.split is not None and fixed == {True}:
            raise ValueError("give fixed splits by 'split' column or by per-process 'train'/'test' files, not both")
        if any(p.cross_section is not None for p in self.processes) and self.luminosity is None:
            raise ValueError("processes give 'cross_section'; add 'luminosity' (fb^-1) to turn them into expected yields")
        for name, members in self.features.items():
            if not members:
                raise ValueError(f"feature set {name!r} is empty")
            if len(set(members)) != len(members):
                raise ValueError(f"feature set {name!r} repeats a name; give each feature once")
        return self

    # -- what the description provides ----------------------------------------------------------
    @property
    def available(self) -> list[str]:
        """Every feature name the description declares (its sets, renames and derived names)."""
        declared = [f for members in self.features.values() for f in members]
        return list(dict.fromkeys([*declared, *self.columns, *self.derived]))

    @property
    def feature_sets(self) -> dict[str, list[str]]:
        """Named feature sets; the first is the default. Without any, one set 'all' of every declared name."""
        return dict(self.features) if self.features else {"all": self.available}

    @property
    def processes(self) -> list[ProcessSpec]:
        """The labelled processes: signal and background, or the samples of a label column."""
        return [*self.signal, *self.background, *self.samples]

    def label_of(self, process: ProcessSpec) -> int | None:
        """1 for a signal process, 0 for a background one, None where a label column decides."""
        if process in self.signal:
            return 1
        return 0 if process in self.background else None

    def missing_rules(self) -> list[MissingRule]:
        """The missing-value rules, the ``marker``/``checked`` shorthand included."""
        legacy = [MissingRule(value=self.marker, action="drop", columns=self.checked)] if self.marker is not None else []
        return [*legacy, *self.missing]

    def source_of(self, name: str) -> str | DerivedFeature:
        """How a name is computed: an expression text, an invariant mass, or a column name."""
        if name in self.derived:
            return self.derived[name]
        return self.columns.get(name, name)

    def resolve_features(self, features: str | list[str] | tuple[str, ...] | None = None) -> list[str]:
        """Model inputs for a feature set name, a comma list or a list of names (None: the default set)."""
        sets = self.feature_sets
        if features is None:
            return list(next(iter(sets.values())))
        if isinstance(features, str) and features in sets:
            return list(sets[features])
        if isinstance(features, str) and "," not in features and features.strip() not in self.available:
            raise DataError(
                f"dataset {self.name!r} has no {features!r} features; available: {', '.join(self.available)} "
                f"(feature sets: {', '.join(sets)})"
            )
        names = [f.strip() for f in features.split(",")] if isinstance(features, str) else list(features)
        unknown = [f for f in names if f not in self.available]
        if unknown or not names or not all(names):
            raise DataError(
                f"unknown feature(s) {', '.join(unknown) or '(none given)'} for dataset {self.name!r}; choose a set "
                f"({', '.join(sets)}) or names from: {', '.join(self.available)}"
            )
        if len(set(names)) != len(names):
            raise DataError(f"feature list {names} repeats a name; give each feature once")
        return names

    def observables_for(self, features: list[str]) -> list[str]:
        """Columns the reports plot: the description's ``observables``, else the first few inputs."""
        return list(self.observables) if self.observables is not None else list(features[:4])

    @property
    def is_synthetic(self) -> bool:
        """Whether every file is a synthetic sample, so that the exact likelihood ratio is known."""
        files = [f for p in self.processes for f, _ in p.entries()]
        return self.synthetic is not None and all(f.startswith("${SYNTHETIC}/") for f in files)

    def hash_document(self) -> dict[str, Any]:
        """What identifies the description in a prepared dataset's hash: every field not at its default."""
        return self.model_dump(mode="json", exclude_defaults=True)


def presets_dir() -> Path:
    return Path(str(resources.files("hpo.data") / "presets"))


def list_presets() -> dict[str, str]:
    """Built-in preset names and their one-line titles."""
    out = {}
    for path in sorted(presets_dir().glob("*.yaml")):
        out[path.stem] = str((yaml.safe_load(path.read_text()) or {}).get("title", ""))
    return out


def load_description(name_or_path: str | os.PathLike[str] | DatasetDescription | None = None) -> DatasetDescription:
    """A description by preset name, YAML path, or as given (None: the ``synthetic`` preset)."""
    if isinstance(name_or_path, DatasetDescription):
        return name_or_path
    spec = "synthetic" if name_or_path is None else str(name_or_path)
    preset = presets_dir() / f"{spec}.yaml"
    if preset.is_file():
        return _parse(preset, base_dir=None)
    path = Path(spec)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise DataError(f"dataset description {path} does not exist; give a preset name or an existing YAML file")
        return _parse(path, base_dir=path.resolve().parent)
    raise DataError(
        f"unknown dataset preset {spec!r}; choose one of {', '.join(list_presets())} or give a YAML description file"
    )


def _parse(path: Path, base_dir: Path | None) -> DatasetDescription:
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise DataError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path} must hold a mapping with 'name', 'signal' and 'background'")
    raw.setdefault("name", path.stem)
    return from_mapping(raw, base_dir=base_dir, where=str(path))


def from_mapping(raw: dict[str, Any], *, base_dir: Path | None = None, where: str = "description") -> DatasetDescription:
    """A description from a mapping (a parsed YAML file); problems are one :class:`DataError` line."""
    try:
        return DatasetDescription(**raw, base_dir=base_dir)
    except ValidationError as err:
        errors = err.errors()
        first = errors[0]
        field = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        more = f" ({len(errors)} problems in all; this is the first)" if len(errors) > 1 else ""
        location = f"field {field!r}: " if field else ""
        raise DataError(f"{where}: {location}{message}{more}") from None
    except TypeError as err:  # a key that is not a string
        raise DataError(f"{where}: {err}") from None
