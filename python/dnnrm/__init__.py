"""dnnrm from Python: resource management for DNN inference in end-edge-cloud IIoT.

The compiled core (``dnnrm._dnnrm``, Rust) does every computation; this package adds
the Gymnasium environments (``dnnrm/Slot-v0``, ``dnnrm/Online-v0``, registered on
import) and their vector forms (``dnnrm.vector``).

    import dnnrm
    inst = dnnrm.generate({"n_devices": 50}, seed=7)
    sol = dnnrm.solve(inst, "milp")
    print(sol.status, sol.objective, sol.bound)
    dnnrm.evaluate(inst, sol)["objective"]

See docs/python.md for the API, the spaces of the environments and the figures.
"""

from __future__ import annotations

import json as _json
from typing import Any, Mapping, Optional, Union

from . import _dnnrm
from ._dnnrm import (  # noqa: F401  (re-exported)
    REVISION,
    ConstraintViolation,
    DnnrmError,
    Episode,
    Instance,
    InvalidAction,
    Solution,
    __version__,
    dynamics_parameters,
    generate_episode,
    hindsight,
    online_policies,
    scenario_parameters,
    simulate,
    solve,
    solvers,
)

__all__ = [
    "ConstraintViolation",
    "DnnrmError",
    "Episode",
    "Instance",
    "InvalidAction",
    "Solution",
    "dynamics_parameters",
    "evaluate",
    "evaluate_episode",
    "generate",
    "generate_episode",
    "hindsight",
    "online_policies",
    "scenario_parameters",
    "simulate",
    "solve",
    "solvers",
]


def generate(params: Optional[Mapping[str, Any]] = None, seed: int = 0, id: Optional[str] = None) -> Instance:
    """One instance of the scenario ``params`` (scenario parameters by name, the
    defaults of MODEL.md §7 for the others) with ``seed``: the instance of
    ``dnnrm generate --seed SEED`` with the same flags."""
    return _dnnrm.generate(dict(params or {}), seed, id)


def evaluate(instance: Instance, solution: Union[Solution, str, Mapping[str, Any]]) -> dict:
    """Judges ``solution`` (a ``Solution``, solution JSON text or a dict in the solution
    JSON format) on ``instance`` with the evaluator, the only judge of ``A``. Returns the
    evaluation (``objective``, ``served_fraction``, counts per location, utilisations,
    per-task outcomes) or raises ``ConstraintViolation`` whose message names the task or
    server and the violated constraint (its ``constraint`` attribute: e.g. ``deadline``).
    """
    if isinstance(solution, Mapping):
        solution = _json.dumps({"format_version": 1, **solution})
    return _dnnrm.evaluate(instance, solution)


def evaluate_episode(episode: Episode, decisions: Union[str, Mapping[str, Any]]) -> dict:
    """Replays decisions (JSON text or dict in the format of ``dnnrm simulate --out``)
    on ``episode`` with the episode evaluator: the evaluation (``objective`` is
    ``A_ep``) or ``ConstraintViolation`` naming the slot, site or task and the rule."""
    if isinstance(decisions, Mapping):
        decisions = _json.dumps(decisions)
    return _dnnrm.evaluate_episode(episode, decisions)


def _register() -> None:
    try:
        import gymnasium
    except ImportError:  # the core API works without gymnasium
        return
    for env_id, entry in (("dnnrm/Slot-v0", "dnnrm.envs:SlotEnv"), ("dnnrm/Online-v0", "dnnrm.envs:OnlineEnv")):
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry)


_register()
