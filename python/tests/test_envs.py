"""The Gymnasium environments: the checker, determinism by seed, the vector forms
against the single ones, masks and bad actions, returns against the evaluators."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import dnnrm
from dnnrm.vector import OnlineVecEnv, SlotVecEnv

SMALL = {"n_devices": 12, "n_edges": 2}
SHORT = {"n_slots": 6}


def rollout(env, seed, steps, policy_seed=0):
    """Observations, rewards and terminations of `steps` steps of a seeded random policy."""
    rng = np.random.default_rng(policy_seed)
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    for _ in range(steps):
        mask = obs["action_mask"]
        if isinstance(env.unwrapped, dnnrm.envs.SlotEnv):
            action = int(np.argmax(rng.random(mask.shape) * mask))
        else:
            action = ((rng.random(mask.shape) < 0.3) & (mask == 1)).astype(np.int8)
        obs, reward, terminated, truncated, _ = env.step(action)
        trace.append((obs, reward, terminated))
        if terminated or truncated:
            obs, _ = env.reset()
            trace.append(obs)
    return trace


def same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return np.array_equal(a, b)


@pytest.mark.parametrize("env_id,kwargs", [("dnnrm/Slot-v0", {}), ("dnnrm/Online-v0", {"params": SMALL, "dynamics": SHORT})])
def test_envs_pass_the_gymnasium_checker(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unbounded feature boxes are warned about, not wrong
        check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id,kwargs,steps", [
    ("dnnrm/Slot-v0", {"n_devices": (10, 40)}, 300),
    ("dnnrm/Online-v0", {"params": SMALL, "dynamics": SHORT}, 14),
])
def test_same_seed_same_trajectory_other_seed_other(env_id, kwargs, steps):
    a = rollout(gym.make(env_id, **kwargs), seed=3, steps=steps)
    b = rollout(gym.make(env_id, **kwargs), seed=3, steps=steps)
    c = rollout(gym.make(env_id, **kwargs), seed=4, steps=steps)
    assert same(a, b)
    assert not same(a, c)
    # A reset with the same seed on a used environment starts over.
    env = gym.make(env_id, **kwargs)
    rollout(env, seed=9, steps=5)
    assert same(rollout(env, seed=3, steps=steps), a)


def test_slot_vector_env_steps_like_single_envs():
    n = 4
    vec = SlotVecEnv(n, n_devices=(10, 30))
    singles = [gym.make("dnnrm/Slot-v0", n_devices=(10, 30)) for _ in range(n)]
    obs, _ = vec.reset(seed=20)
    sobs = [e.reset(seed=20 + i)[0] for i, e in enumerate(singles)]
    rng = np.random.default_rng(1)
    episodes = 0
    for _ in range(150):
        for i in range(n):
            assert same(obs["features"][i], sobs[i]["features"]) and same(obs["action_mask"][i], sobs[i]["action_mask"])
        actions = np.argmax(rng.random((n, 32)) * obs["action_mask"], axis=1)
        obs, rewards, term, trunc, _ = vec.step(actions)
        for i, e in enumerate(singles):
            o, r, t, _, _ = e.step(actions[i])
            assert r == pytest.approx(float(rewards[i]), abs=0) and t == term[i]
            sobs[i] = e.reset()[0] if t else o
            episodes += t
    assert episodes > 0


def test_slot_bad_action_raises_invalid_action_and_sample_is_valid():
    env = gym.make("dnnrm/Slot-v0")
    obs, _ = env.reset(seed=0)
    masked = int(np.flatnonzero(obs["action_mask"] == 0)[0])
    with pytest.raises(dnnrm.InvalidAction, match=f"action {masked} is not offered"):
        env.step(masked)
    env.action_space.seed(0)
    for _ in range(200):
        a = env.action_space.sample()
        assert obs["action_mask"][a] == 1
        obs, _, term, _, _ = env.step(a)
        if term:
            obs, _ = env.reset()
    assert env.unwrapped.action_masks().dtype == bool


def test_online_return_is_a_ep_and_below_the_hindsight_optimum():
    eps = [dnnrm.generate_episode(SMALL, SHORT, seed=s) for s in (1, 2)]
    env = gym.make("dnnrm/Online-v0", episodes=eps, hindsight=True)
    obs, info = env.reset(seed=1)
    assert info["hindsight_optimal"]
    h = dnnrm.hindsight(eps[1])
    assert info["hindsight_objective"] == pytest.approx(h["objective"], abs=1e-9)
    ret, term = 0.0, False
    while not term:
        obs, r, term, _, info = env.step(obs["action_mask"])  # target every model that fits
        ret += r
    assert ret == pytest.approx(info["episode_objective"], abs=1e-9)
    assert info["episode_objective"] <= info["hindsight_objective"] + 1e-9
    # The same episode's return does not depend on the environment playing it.
    vec = OnlineVecEnv(2, episodes=eps)
    vobs, _ = vec.reset(seed=[1, 1])
    vret = np.zeros(2)
    for _ in range(eps[1].n_slots):
        vobs, r, t, _, vinfo = vec.step(vobs["action_mask"])
        vret += r
    assert t.all() and vret == pytest.approx([ret, ret], abs=1e-12)


def test_online_bad_actions_are_refused_by_name():
    env = gym.make("dnnrm/Online-v0", params=SMALL, dynamics=SHORT)
    obs, _ = env.reset(seed=0)
    with pytest.raises(dnnrm.InvalidAction, match="expected"):
        env.step(np.zeros(3, dtype=np.int8))
    bad = np.zeros_like(obs["action_mask"])
    bad[0] = 2
    with pytest.raises(dnnrm.InvalidAction, match=r"action\[0\] = 2"):
        env.step(bad)
    # Strict eviction: a target beyond the cache is judged by the episode evaluator.
    strict = gym.make("dnnrm/Online-v0", params=SMALL, dynamics=SHORT, eviction="strict")
    obs, _ = strict.reset(seed=0)
    with pytest.raises(dnnrm.ConstraintViolation, match="slot 0: storage") as e:
        strict.step(obs["action_mask"])
    assert e.value.constraint == "storage"
