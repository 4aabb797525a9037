"""Play a fil-learn policy in Gymnasium's own Atari pipeline, then read a fil dataset.

python examples/policy_api.py runs/si          # a run folder or an .onnx file
python examples/policy_api.py si.onnx 500      # at most 500 steps
"""

import sys

import ale_py
import gymnasium as gym
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

import fil_learn

policy = fil_learn.load_policy(sys.argv[1])
max_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 27_000
print(policy.game, policy.action_meanings, "frameskip", policy.frameskip)

gym.register_envs(ale_py)
env = gym.make(policy.env_id, frameskip=1)  # sticky actions 0.25, as v5 defines
env = FrameStackObservation(AtariPreprocessing(env, frame_skip=policy.frameskip), 4)
observation, _ = env.reset(seed=0)  # (4, 84, 84) uint8
total = 0.0
for _ in range(max_steps):
    action = policy.act(observation)  # greedy; policy.act(observation, epsilon=0.05) explores
    observation, reward, terminated, truncated, _ = env.step(action)
    total += float(reward)
    if terminated or truncated:
        break
print(f"return {total:,.0f}")

# The demonstrations, episode by episode: does the policy pick the demonstrated action?
with fil_learn.open_dataset("datasets/samples/space_invaders-tiny.h5") as dataset:
    for episode in dataset:
        stacks = episode.stacked_observations()[:-1]  # (T, 4, 84, 84), what the policy saw
        chosen = policy.logits(stacks).argmax(axis=1)  # (T,) actions in the minimal set
        agree = (chosen == episode.actions).mean()
        print(
            f"episode {episode.index}: return {episode.episode_return:,.0f}, agreement {agree:.2f}"
        )
