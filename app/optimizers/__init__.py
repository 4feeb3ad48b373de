"""Stages that answer from cache or send fewer tokens.

``build_token_savers`` makes the token-saving stages (SPEC §2 stages 2-4 and the extra lossy
one) in pipeline order from ``optimizers:``; a stage switched off is not in the list.
"""

from __future__ import annotations

from app.canonical import Style
from app.config.schema import OptimizersConfig
from app.optimizers.boilerplate import DEFAULT_PATTERNS, BoilerplateStrip, compile_patterns
from app.optimizers.dedup import FileDedup
from app.optimizers.prompt_cache import PromptCacheAnnotation
from app.optimizers.stale_tool_output import StaleSettings, StaleToolOutput
from app.pipeline import Stage


def build_token_savers(
    opt: OptimizersConfig,
    tier_styles: frozenset[Style] = frozenset(),
    scenario_styles: frozenset[Style] = frozenset(),
) -> list[Stage]:
    """prompt-cache annotation -> file dedup -> boilerplate strip -> stale tool output."""
    stages: list[Stage] = []
    if opt.prompt_cache:
        stages.append(PromptCacheAnnotation(tier_styles, scenario_styles))
    if opt.dedup:
        stages.append(FileDedup(opt.dedup_min_lines))
    if opt.boilerplate:
        patterns = DEFAULT_PATTERNS if opt.boilerplate_patterns is None else opt.boilerplate_patterns
        stages.append(BoilerplateStrip(compile_patterns(patterns)))
    if opt.stale_tool_output:
        settings = StaleSettings(
            keep_recent_turns=opt.stale_keep_recent_turns,
            every_turns=opt.stale_every_turns,
            long_chars=opt.stale_long_chars,
            long_after_turns=opt.stale_long_after_turns,
        )
        stages.append(StaleToolOutput(settings))
    return stages
