"""What the objectives take from the models: the fit result, the reporter, the lookup."""

from __future__ import annotations

from hpo.models.base import FitResult, Model, Reporter, loss_weights
from hpo.models.registry import ModelLike, get_model


def backend(model: ModelLike) -> Model:
    """The model object that fits ``model`` (a reference, class or instance; imported on first use)."""
    return get_model(model)


__all__ = ["FitResult", "Reporter", "backend", "loss_weights"]
