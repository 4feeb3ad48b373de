"""The complexity heuristic: hand-set weights over the difficulty features, no artifact needed.

``score = sigmoid(sum(weight * (feature - typical)) + offset)``: each weight says how much one
feature moves a request towards the strong tier, relative to a typical short chat ask (a
~200-character question, no code, no history). The weights are set by judgement about coding
work, not fitted: a long, multi-file design or debugging ask with code needs the strong model;
a one-line rename or a step inside an agent loop that just read a tool result rarely does. The
reason names the three features that moved the score most, in the direction it went.

Measured against the labelled dev set (README, "Routing") it ranks about as well as prompt
length, which it mostly is on prompts without code; on coding traffic the code, file and
kind-of-ask terms do the work.
"""

from __future__ import annotations

import math

from app.canonical import Request
from app.routing.features import FEATURES, Conversation, describe, extract

# (weight per feature unit, value of a typical short ask); features are log1p counts unless
# noted in app/routing/features.py
_WEIGHTS: dict[str, tuple[float, float]] = {
    "prompt_chars": (0.45, math.log1p(200)),  # x10 characters: +1.0
    "history_chars": (0.08, 0.0),
    "turns": (0.1, 0.0),
    "tools_offered": (0.1, 0.0),
    "agent_loop": (-0.5, 0.0),  # mid-loop steps are mostly mechanical (read output, call next tool)
    "loop_steps": (0.05, 0.0),
    "code_blocks": (0.3, 0.0),
    "code_lines": (0.6, 0.0),  # share 0..1
    "files": (0.7, 0.0),  # 3 files: +1.0
    "ask_explain": (-0.2, 0.0),
    "ask_quick_fix": (-1.5, 0.0),
    "ask_refactor": (0.6, 0.0),
    "ask_design": (1.0, 0.0),
    "ask_debug": (0.5, 0.0),
    "numbers": (0.15, 0.0),
    "math_ops": (0.1, 0.0),
    "sentences": (0.15, math.log1p(2)),
    "negation": (0.2, 0.0),
    "multi_part": (0.3, 0.0),
    "reasoning": (0.3, 0.0),
    "constraints": (0.15, 0.0),
}
_OFFSET = -1.2  # a typical short ask scores sigmoid(-1.2) = 0.23: cheap tier, near local
_TERMS: tuple[tuple[int, str, float, float], ...] = tuple(
    (FEATURES.index(name), name, w, typical) for name, (w, typical) in _WEIGHTS.items()
)


class HeuristicRouter:
    """Scores by hand-set weights; explainable and artifact-free (``Router``)."""

    def score(self, req: Request) -> tuple[float, str]:
        return self.score_conversation(Conversation.of(req))

    def score_prompt(self, prompt: str) -> tuple[float, str]:
        """A single-turn prompt (a labelled dataset's row)."""
        return self.score_conversation(Conversation.of_prompt(prompt))

    def score_conversation(self, conv: Conversation) -> tuple[float, str]:
        return self.score_features(extract(conv))

    def score_features(self, x: list[float]) -> tuple[float, str]:
        """A feature row (``app.routing.features.FEATURES``) already extracted."""
        parts = [(w * (x[i] - typical), name, x[i]) for i, name, w, typical in _TERMS]
        z = _OFFSET + sum(p[0] for p in parts)
        score = 1.0 / (1.0 + math.exp(-z))
        return score, _reason("heuristic", score, parts)


def _reason(router: str, score: float, parts: list[tuple[float, str, float]]) -> str:
    """``heuristic 0.87: 4 files named, design ask, prompt ~5000 tokens``: the terms that pushed
    the score the way it went, largest first."""
    up = score >= 0.5
    moved = sorted((p for p in parts if (p[0] > 0.05 if up else p[0] < -0.05)), reverse=up)
    said = ", ".join(describe(name, value) for _c, name, value in moved[:3]) or "nothing unusual"
    return f"{router} {score:.2f}: {said}"
