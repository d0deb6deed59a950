"""Vector forms of the environments: N environments stepped by one call into Rust with
the GIL released (``gymnasium.vector.VectorEnv``, same-step autoreset).

    from dnnrm.vector import SlotVecEnv
    envs = SlotVecEnv(50)
    obs, _ = envs.reset(seed=0)
    actions = np.argmax(rng.random((50, 32)) * obs["action_mask"], axis=1)
    obs, rewards, terminated, truncated, infos = envs.step(actions)

``reset(seed=s)`` seeds environment ``i`` with ``s + i``. When an environment's episode
ends, the observation returned by that step is already the first one of its next
episode (``AutoresetMode.SAME_STEP``); episodes never truncate, so no final observation
is needed for bootstrapping. After an exception in ``step`` (e.g. ``InvalidAction``
raised before any environment moved, or an assignment failure) reset the vector env.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import _dnnrm
from ._config import online_config, slot_config
from .envs import MAX_CANDIDATES, online_spaces, slot_observation_space


def _seeds(seed: Union[None, int, Sequence[Optional[int]]], n: int) -> list:
    if seed is None:
        return [None] * n
    if isinstance(seed, (int, np.integer)):
        return [int(seed) + i for i in range(n)]
    seeds = list(seed)
    if len(seeds) != n:
        raise ValueError(f"{len(seeds)} seeds given for {n} environments")
    return seeds


class SlotVecEnv(VectorEnv):
    """``num_envs`` copies of ``dnnrm/Slot-v0`` (same keyword arguments as ``SlotEnv``)."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int, **kwargs: Any):
        self.num_envs = num_envs
        self._core = _dnnrm.SlotEnvs(num_envs, slot_config(**kwargs), autoreset=True)
        self.single_observation_space = slot_observation_space()
        self.single_action_space = spaces.Discrete(MAX_CANDIDATES)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)

    def reset(self, *, seed: Union[None, int, Sequence[Optional[int]]] = None, options: Optional[dict] = None):
        feats, mask = self._core.reset(_seeds(seed, self.num_envs))
        return {"features": feats, "action_mask": mask}, {}

    def step(self, actions):
        feats, mask, rewards, terminated, truncated = self._core.step(np.asarray(actions, dtype=np.int64))
        return {"features": feats, "action_mask": mask}, rewards, terminated, truncated, {}


class OnlineVecEnv(VectorEnv):
    """``num_envs`` copies of ``dnnrm/Online-v0`` (same keyword arguments as
    ``OnlineEnv``). Environment ``i`` plays seeds ``s + i``, ``s + i + N``, ...; infos
    are arrays: ``slot_objective``, ``episode_objective`` (NaN where no episode ended),
    ``seed`` and, with ``hindsight=True``, ``hindsight_objective``/``_bound``/``_optimal``
    of the episode each environment played."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int, episodes: Optional[Sequence[_dnnrm.Episode]] = None, **kwargs: Any):
        self.num_envs = num_envs
        self._core = _dnnrm.OnlineEnvs(
            num_envs, online_config(**kwargs), list(episodes) if episodes is not None else None, autoreset=True
        )
        self.dims = self._core.dims
        self.single_observation_space, self.single_action_space = online_spaces(self.dims)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)

    def reset(self, *, seed: Union[None, int, Sequence[Optional[int]]] = None, options: Optional[dict] = None):
        obs, info = self._core.reset(_seeds(seed, self.num_envs))
        return obs, info

    def step(self, actions):
        a = np.ascontiguousarray(actions, dtype=np.int8).reshape(self.num_envs, -1)
        return self._core.step(a)
