"""Trains a masked PPO policy on dnnrm/Slot-v0 with sb3-contrib's MaskablePPO, then
compares its greedy decisions with the MILP optimum on held-out instances.

Not run in CI: it needs PyTorch. Set up (in the venv of `make deps`):

    .venv/bin/pip install torch stable-baselines3 sb3-contrib
    .venv/bin/python examples/python/train_maskable_ppo.py --steps 200000 --seed 0

The environment is the `drl` learner's (the same features, mask and reward), so the
policy learns the same sequential decisions: per edge server, its cache, then each
task's location and model, with RBs and compute units packed exactly. Online-v0 works
the same way (`--env online`; its `action_masks()` is in sb3-contrib's MultiBinary
layout, two entries per bit).
"""

import argparse

import gymnasium as gym
import numpy as np

import dnnrm  # noqa: F401  (registers the environments)


def make_env(env: str, seed: int):
    from sb3_contrib.common.wrappers import ActionMasker

    if env == "slot":
        e = gym.make("dnnrm/Slot-v0", n_devices=(10, 100), n_edges=(2, 6))
    else:
        e = gym.make("dnnrm/Online-v0", params={"n_devices": 30, "n_edges": 2}, dynamics={"n_slots": 20})
    e.reset(seed=seed)
    return ActionMasker(e, lambda x: x.unwrapped.action_masks())


def main() -> None:
    from sb3_contrib import MaskablePPO

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env", choices=["slot", "online"], default="slot")
    ap.add_argument("--steps", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="models/python-maskable-ppo")
    args = ap.parse_args()

    env = make_env(args.env, args.seed)
    model = MaskablePPO("MultiInputPolicy", env, n_steps=2048, batch_size=256, gamma=1.0, seed=args.seed, verbose=1)
    model.learn(total_timesteps=args.steps)
    model.save(args.out)

    # Held-out evaluation on a stream far from the training one: the greedy policy's
    # mean return per episode against a uniform random choice among the offered
    # candidates on the same episodes (the return is the accuracy above the local bases).
    for name, pick in [("maskable-ppo", None), ("random", np.random.default_rng(0))]:
        test = make_env(args.env, seed=10**12)
        obs, _ = test.reset(seed=10**12)
        returns, ret = [], 0.0
        while len(returns) < 100:
            mask = test.action_masks()
            if pick is None:
                action, _ = model.predict(obs, action_masks=mask, deterministic=True)
            elif args.env == "slot":
                action = pick.choice(np.flatnonzero(mask))
            else:
                action = (pick.random(obs["action_mask"].shape) < 0.3) & (obs["action_mask"] == 1)
            obs, r, done, _, _ = test.step(action if args.env == "online" else int(action))
            ret += r
            if done:
                returns.append(ret)
                ret = 0.0
                obs, _ = test.reset()
        print(f"{name}: mean return over {len(returns)} held-out episodes {np.mean(returns):.4f}")


if __name__ == "__main__":
    main()
