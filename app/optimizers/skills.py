"""Skills: ``X-Gateway-Skill: <id>`` puts a curated instruction before the client's system prompt
and may force a tier (SPEC §6).

Eight skills ship with the gateway (the seed gateway's ids); ``skills.custom`` in config adds or
replaces skills by id. The skill runs before the response cache, so its text is part of the
cache key: the same question asked with two skills is two entries. A forced tier beats the
model the client named (``quick-fix`` on the local tier is the point of the skill); when that
tier is not configured the request keeps its own route and the log says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgspec

from app.canonical import Request, Response, TextPart
from app.errors import BadRequest
from app.pipeline import RequestContext
from app.routing.model_names import ModelResolver, Resolution

Tier = Literal["local", "cheap", "strong"]


@dataclass(frozen=True, slots=True)
class Skill:
    id: str
    prompt: str
    tier: Tier | None = None


BUILT_IN: tuple[Skill, ...] = (
    Skill(
        "brainstorming",
        "Skill: brainstorming. Before settling on anything, lay out several genuinely different "
        "approaches (at least three), each with its main trade-off and when it would be the right "
        "pick. Ask at most two clarifying questions if the goal is ambiguous. End with the option "
        "you would try first and the smallest experiment that would tell you it works.",
    ),
    Skill(
        "systematic-debugging",
        "Skill: systematic debugging. Do not guess at fixes. Restate the observed versus the expected "
        "behaviour, list the hypotheses that explain it, and for each the cheapest observation that "
        "would confirm or rule it out. Reproduce first, change one thing at a time, and fix the root "
        "cause rather than the symptom; say how to verify the fix and what test would catch a regression.",
    ),
    Skill(
        "code-review",
        "Skill: code review. Review the change as a careful senior reviewer: correctness and edge "
        "cases first, then error handling, security, concurrency, performance, readability and tests. "
        "Cite the exact lines, rank findings by severity (blocking, should fix, nit), and propose a "
        "concrete fix for each blocking one. Say plainly when something is fine.",
    ),
    Skill(
        "git-pushing",
        "Skill: git workflow. Before any push: check the branch and its upstream, review the staged "
        "diff, run the project's tests and linters, and write a commit message with a short imperative "
        "subject and a body that says why. Never force-push a shared branch, never commit secrets or "
        "generated files, and show the exact commands you would run.",
    ),
    Skill(
        "concise-planning",
        "Skill: concise planning. Answer with a short numbered plan: each step one line, concrete "
        "and verifiable, in the order it should be done, with the files or commands involved. Name "
        "risks and open questions in at most three bullets. No preamble and no restating the task.",
    ),
    Skill(
        "architecture-review",
        "Skill: architecture review. Evaluate the design against its requirements: boundaries and "
        "responsibilities of each component, data flow and ownership, failure modes and recovery, "
        "scalability limits, operational cost, security boundaries and how it will be tested and "
        "evolved. Point out coupling and single points of failure, compare with at least one "
        "alternative, and end with prioritised recommendations.",
        tier="strong",
    ),
    Skill(
        "quick-fix",
        "Skill: quick fix. Make the smallest change that fixes the stated problem. Reply with the "
        "patch (a unified diff or the changed lines only) and one sentence on why it works. Do not "
        "refactor, rename or reformat anything else.",
        tier="local",
    ),
    Skill(
        "security-audit",
        "Skill: security audit. Audit the code for vulnerabilities: injection (SQL, shell, template), "
        "authentication and authorisation flaws, secrets in code or logs, unsafe deserialisation, path "
        "traversal, SSRF, insecure defaults, dependency risks and missing input validation. For each "
        "finding give the location, how it could be exploited, its severity and the fix.",
        tier="strong",
    ),
)


class SkillStage:
    name = "skills"

    def __init__(
        self, skills: dict[str, Skill], resolver: ModelResolver, tier_routes: dict[str, str]
    ) -> None:
        self.skills = skills
        self.resolver = resolver
        self.tier_routes = tier_routes  # tier -> route name, configured tiers only

    async def apply(self, req: Request, ctx: RequestContext) -> Request | Response:
        if ctx.skill is None:
            return req
        skill = self.skills.get(ctx.skill.strip().lower())
        if skill is None:
            known = ", ".join(sorted(self.skills))
            raise BadRequest(f"unknown skill '{ctx.skill[:64]}' (X-Gateway-Skill). Known skills: {known}")
        ctx.decide("skill", skill.id)
        if skill.tier is not None:
            self._force_tier(skill, ctx)
        return msgspec.structs.replace(req, system=[TextPart(skill.prompt), *req.system])

    def _force_tier(self, skill: Skill, ctx: RequestContext) -> None:
        tier = skill.tier
        route_name = self.tier_routes.get(tier) if tier else None
        if route_name is None or ctx.resolution is None:
            kept = ctx.resolution.route.name if ctx.resolution else "?"
            ctx.decide("skill_tier", f"{tier} tier not configured: kept {kept}")
            return
        res = self.resolver.resolve(route_name)
        ctx.resolution = Resolution(res.route, ctx.resolution.requested, "skill", tier)
        ctx.tier_reason = f"skill {skill.id} forces the {tier} tier"


def skill_table(custom: list[Skill]) -> dict[str, Skill]:
    table = {s.id: s for s in BUILT_IN}
    table.update({s.id: s for s in custom})
    return table
