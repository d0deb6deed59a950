"""A random-policy rollout of both environments: valid random actions from the masks.

    python examples/python/random_rollout.py [--episodes 5] [--seed 0]
"""

import argparse

import gymnasium as gym
import numpy as np

import dnnrm  # noqa: F401  (registers dnnrm/Slot-v0 and dnnrm/Online-v0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    # Slot-v0: one edge server's cache and task decisions per episode.
    env = gym.make("dnnrm/Slot-v0", n_devices=(20, 60), n_edges=(2, 4))
    obs, _ = env.reset(seed=args.seed)
    for ep in range(args.episodes):
        ret, steps, done = 0.0, 0, False
        while not done:
            action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
            obs, reward, done, _, _ = env.step(action)
            ret, steps = ret + reward, steps + 1
        print(f"Slot-v0   episode {ep}: {steps:3d} steps, return {ret:.4f} (accuracy above the local bases)")
        obs, _ = env.reset()

    # Online-v0: one step per slot; the return is A_ep, compared with the hindsight optimum.
    env = gym.make("dnnrm/Online-v0", params={"n_devices": 20, "n_edges": 2}, dynamics={"n_slots": 10}, hindsight=True)
    for ep in range(args.episodes):
        obs, info = env.reset(seed=args.seed + ep)
        ret, done = 0.0, False
        while not done:
            target = (rng.random(obs["action_mask"].shape) < 0.3) & (obs["action_mask"] == 1)
            obs, reward, done, _, info = env.step(target.astype(np.int8))
            ret += reward
        print(
            f"Online-v0 episode {ep} (seed {info['seed']}): A_ep {info['episode_objective']:.4f} "
            f"(return {ret:.4f}), hindsight optimum {info['hindsight_objective']:.4f}"
        )


if __name__ == "__main__":
    main()
