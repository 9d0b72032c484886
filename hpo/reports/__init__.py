"""Reports: comparison of studies, one study explained, and scores exported for downstream use.

- :func:`compare` draws best-so-far curves of several studies and writes the comparison table;
- :func:`report` writes one study's self-contained HTML page and its Markdown twin;
- :func:`export` writes the best model's scores for the events of an input file (CSV and ROOT).
"""

from __future__ import annotations

from hpo.reports.compare import Comparison, compare
from hpo.reports.export import Export, export
from hpo.reports.report import StudyReport, report

__all__ = ["Comparison", "Export", "StudyReport", "compare", "export", "report"]
