"""Configuration of the environments: keyword arguments to the JSON the Rust cores read."""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

Range = Union[int, float, Tuple[float, float], Sequence[float]]


def param_texts(params: Optional[Mapping[str, Any]], what: str) -> dict:
    """Parameter values as the text the CLI takes (booleans refused: no parameter is a flag)."""
    out = {}
    for k, v in dict(params or {}).items():
        if not isinstance(k, str):
            raise TypeError(f"{what} names must be strings, got {k!r}")
        if isinstance(v, (bool, np.bool_)):
            raise TypeError(f"{what} `{k}`: expected a number or text, got a boolean")
        out[k] = v if isinstance(v, str) else repr(v.item() if isinstance(v, np.generic) else v)
    return out


def _range(name: str, v: Range, kind: type) -> list:
    if isinstance(v, (int, float, np.integer, np.floating)):
        return [kind(v), kind(v)]
    lo, hi = v
    return [kind(lo), kind(hi)]


def slot_config(
    params: Optional[Mapping[str, Any]] = None,
    n_devices: Range = (10, 200),
    n_edges: Range = (2, 8),
    share_mcu: Range = (0.0, 0.0),
    share_gpu_node: Range = (0.0, 0.0),
    variant: str = "full",
    reference_baseline: bool = False,
) -> str:
    return json.dumps(
        {
            "params": param_texts(params, "scenario parameter"),
            "n_devices": _range("n_devices", n_devices, int),
            "n_edges": _range("n_edges", n_edges, int),
            "share_mcu": _range("share_mcu", share_mcu, float),
            "share_gpu_node": _range("share_gpu_node", share_gpu_node, float),
            "variant": variant,
            "reference_baseline": bool(reference_baseline),
        }
    )


def online_config(
    params: Optional[Mapping[str, Any]] = None,
    dynamics: Optional[Mapping[str, Any]] = None,
    assigner: str = "dp",
    checkpoint: Optional[str] = None,
    eviction: str = "lazy",
    hindsight: bool = False,
    hindsight_time_limit: Optional[float] = None,
    pad_edges: Optional[int] = None,
    pad_models: Optional[int] = None,
    pad_services: Optional[int] = None,
    pad_regimes: Optional[int] = None,
) -> str:
    return json.dumps(
        {
            "params": param_texts(params, "scenario parameter"),
            "dynamics": param_texts(dynamics, "dynamics parameter"),
            "assigner": assigner,
            "checkpoint": None if checkpoint is None else str(checkpoint),
            "eviction": eviction,
            "hindsight": bool(hindsight),
            "hindsight_time_limit": hindsight_time_limit,
            "pad_edges": pad_edges,
            "pad_models": pad_models,
            "pad_services": pad_services,
            "pad_regimes": pad_regimes,
        }
    )
