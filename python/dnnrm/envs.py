"""The Gymnasium environments ``dnnrm/Slot-v0`` and ``dnnrm/Online-v0``.

Both are thin shells over the batched Rust cores (``dnnrm._dnnrm.SlotEnvs`` and
``OnlineEnvs``) with one environment; ``dnnrm.vector`` has the batched forms. Spaces,
padding, masks and rewards are documented in docs/python.md.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from . import _dnnrm
from ._config import online_config, slot_config

#: Candidate rows of a Slot-v0 observation, and values per row (the ``drl`` learner's).
MAX_CANDIDATES: int = _dnnrm.SlotEnvs.MAX_CANDIDATES
FEATURES: int = _dnnrm.SlotEnvs.FEATURES


class MaskedDiscrete(spaces.Discrete):
    """``Discrete(n)`` whose ``sample()`` without a mask draws among the candidates the
    environment's current step offers (its ``action_mask``), so random rollouts and
    ``check_env`` play valid actions. An explicit ``mask`` or ``probability`` wins."""

    def __init__(self, n: int, seed: Optional[int] = None):
        super().__init__(n, seed=seed)
        self.current_mask: Optional[np.ndarray] = None

    def sample(self, mask: Optional[np.ndarray] = None, probability: Optional[np.ndarray] = None) -> np.int64:
        if mask is None and probability is None and self.current_mask is not None and self.current_mask.any():
            mask = self.current_mask
        return super().sample(mask=mask, probability=probability)


def slot_observation_space() -> spaces.Dict:
    return spaces.Dict(
        {
            "features": spaces.Box(-np.inf, np.inf, (MAX_CANDIDATES, FEATURES), np.float32),
            "action_mask": spaces.MultiBinary(MAX_CANDIDATES),
        }
    )


class SlotEnv(gym.Env):
    """The sequential view of MODEL.md §8 (the ``drl`` learner's environment).

    An episode is the decisions of one edge server of an instance: first its cache
    (add a model, or stop), then its tasks one by one (reject, a local model, an edge
    model in the cache, a cloud model); the RBs and compute units of the chosen tasks
    are packed exactly, and only candidates that still fit are offered. Observation:
    ``features`` (32 x 17 float32, the learner's feature rows, zero padding) and
    ``action_mask`` (32 int8, 1 for the offered candidates). Action: the index of an
    offered candidate; another index raises ``dnnrm.InvalidAction``. Reward: the
    accuracy a task step earns above the task's best local option (cache steps earn 0),
    so the return of an instance is ``N * A`` minus a constant of the instance.

    Instances are drawn from the learner's family (``params`` for the base scenario, N
    and M uniform in ``n_devices`` and ``n_edges``); ``reset(seed=s)`` starts the
    instance stream of training run ``s``; ``reset()`` after an episode continues it.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        params: Optional[dict] = None,
        n_devices: Any = (10, 200),
        n_edges: Any = (2, 8),
        share_mcu: Any = (0.0, 0.0),
        share_gpu_node: Any = (0.0, 0.0),
        variant: str = "full",
        reference_baseline: bool = False,
    ):
        cfg = slot_config(params, n_devices, n_edges, share_mcu, share_gpu_node, variant, reference_baseline)
        self._core = _dnnrm.SlotEnvs(1, cfg, autoreset=False)
        self.observation_space = slot_observation_space()
        self.action_space = MaskedDiscrete(MAX_CANDIDATES)
        self._seeded = False
        self._mask = np.zeros(MAX_CANDIDATES, dtype=np.int8)

    def _obs(self, feats: np.ndarray, mask: np.ndarray) -> dict:
        self._mask = mask[0]
        self.action_space.current_mask = self._mask
        return {"features": feats[0], "action_mask": mask[0]}

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        if seed is None and not self._seeded:
            seed = int(self.np_random.integers(0, 2**62))
        self._seeded = True
        feats, mask = self._core.reset([seed])
        return self._obs(feats, mask), {}

    def step(self, action):
        feats, mask, reward, term, trunc = self._core.step(np.asarray([action], dtype=np.int64).reshape(1))
        return self._obs(feats, mask), float(reward[0]), bool(term[0]), bool(trunc[0]), {}

    def action_masks(self) -> np.ndarray:
        """The current mask as booleans (what sb3-contrib's MaskablePPO asks for)."""
        return self._mask.astype(bool)


def online_spaces(dims: Sequence[int]):
    m, k, q, r = dims
    obs = spaces.Dict(
        {
            "resident": spaces.Box(0.0, 1.0, (m, k), np.float32),
            "received": spaces.Box(0.0, 1.0, (m, k), np.float32),
            "demand": spaces.Box(0.0, np.inf, (m, q), np.float32),
            "regime": spaces.Box(0.0, 1.0, (r,), np.float32),
            "progress": spaces.Box(0.0, 1.0, (1,), np.float32),
            "model_accuracy": spaces.Box(0.0, 1.0, (k,), np.float32),
            "model_size": spaces.Box(0.0, np.inf, (m, k), np.float32),
            "model_service": spaces.Box(0.0, 1.0, (k, q), np.float32),
            "action_mask": spaces.MultiBinary(m * k),
        }
    )
    return obs, spaces.MultiBinary(m * k)


def _pick(info: dict, i: int, terminated: bool) -> dict:
    out = {"slot_objective": float(info["slot_objective"][i]), "seed": int(info["seed"][i])}
    if terminated:
        out["episode_objective"] = float(info["episode_objective"][i])
    if "hindsight_objective" in info:
        out["hindsight_objective"] = float(info["hindsight_objective"][i])
        out["hindsight_bound"] = float(info["hindsight_bound"][i])
        out["hindsight_optimal"] = bool(info["hindsight_optimal"][i])
    return out


class OnlineEnv(gym.Env):
    """The episode view of MODEL.md §9: one step per slot.

    Action: the edge placement target, one bit per (edge server, model), flattened
    (``MultiBinary(edges * models)``, index ``m * models + k``). Devices follow the
    rule-based policies' device rule; the slot's tasks are assigned on the resident
    placement by ``assigner`` (default ``dp``: the per-slot optimum, as the rule-based
    policies and ``drl-online`` assign; any registered solver). Every decision is played through the episode evaluator; the
    reward is the slot's contribution to ``A_ep``, so the return is ``A_ep``. With
    ``hindsight=True`` the hindsight optimum of each episode is solved once (cached)
    and reported in ``info``. ``reset(seed=s)`` plays the episode of
    ``dnnrm generate-episode --seed s`` with the same parameters (or
    ``episodes[s % len]`` when a list is given); ``reset()`` plays the next seed.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        params: Optional[dict] = None,
        dynamics: Optional[dict] = None,
        episodes: Optional[Sequence[_dnnrm.Episode]] = None,
        assigner: str = "dp",
        checkpoint: Optional[str] = None,
        eviction: str = "lazy",
        hindsight: bool = False,
        hindsight_time_limit: Optional[float] = None,
        pad_edges: Optional[int] = None,
        pad_models: Optional[int] = None,
        pad_services: Optional[int] = None,
        pad_regimes: Optional[int] = None,
    ):
        cfg = online_config(
            params, dynamics, assigner, checkpoint, eviction, hindsight, hindsight_time_limit,
            pad_edges, pad_models, pad_services, pad_regimes,
        )
        self._core = _dnnrm.OnlineEnvs(1, cfg, list(episodes) if episodes is not None else None, autoreset=False)
        self.dims = self._core.dims
        self.observation_space, self.action_space = online_spaces(self.dims)
        self._seeded = False
        self._mask = np.zeros(self.dims[0] * self.dims[1], dtype=np.int8)

    def _obs(self, obs: dict) -> dict:
        out = {k: v[0] for k, v in obs.items()}
        self._mask = out["action_mask"]
        return out

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        if seed is None and not self._seeded:
            seed = int(self.np_random.integers(0, 2**62))
        self._seeded = True
        obs, info = self._core.reset([seed])
        out = {"seed": int(info["seed"][0])}
        if "hindsight_objective" in info:
            out["hindsight_objective"] = float(info["hindsight_objective"][0])
            out["hindsight_bound"] = float(info["hindsight_bound"][0])
            out["hindsight_optimal"] = bool(info["hindsight_optimal"][0])
        return self._obs(obs), out

    def step(self, action):
        a = np.asarray(action)
        if a.shape != (self.dims[0] * self.dims[1],):
            raise _dnnrm.InvalidAction(
                f"action has shape {a.shape}, expected ({self.dims[0] * self.dims[1]},) "
                "(one bit per edge server and model)"
            )
        obs, reward, term, trunc, info = self._core.step(a.astype(np.int8).reshape(1, -1))
        terminated = bool(term[0])
        return self._obs(obs), float(reward[0]), terminated, bool(trunc[0]), _pick(info, 0, terminated)

    def action_masks(self) -> np.ndarray:
        """Masks in sb3-contrib's MultiBinary layout: per bit, (may be 0, may be 1)."""
        m = self._mask.astype(bool)
        return np.stack([np.ones_like(m), m], axis=1).reshape(-1)
