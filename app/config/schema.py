"""The configuration schema: every key of ``gateway.yaml`` as a strict msgspec struct.

Unknown keys are errors (a misspelt key must not be silently ignored); durations are written
``120s``, ``500ms``, ``2m``, ``1h`` or as a number of seconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from app.canonical import Style


class ConfigError(Exception):
    """The configuration cannot be used; the message names file, key path and reason."""


class Duration(float):
    """Seconds, written in YAML as ``120s``, ``500ms``, ``2m``, ``1h`` or a plain number."""

    _UNITS: Mapping[str, float] = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    _PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")

    @classmethod
    def parse(cls, value: Any) -> Duration:
        if isinstance(value, bool):
            raise ValueError("expected a duration like 30s, 500ms, 2m")
        if isinstance(value, int | float):
            if value < 0:
                raise ValueError("a duration cannot be negative")
            return cls(value)
        if isinstance(value, str):
            m = cls._PATTERN.match(value)
            if m:
                return cls(float(m.group(1)) * cls._UNITS[m.group(2) or "s"])
        raise ValueError(f"expected a duration like 30s, 500ms, 2m, got {value!r}")


class _Strict(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class ProjectConfig(_Strict):
    name: str
    api_key: str
    rpm: int | None = None
    tpm: int | None = None  # estimated prompt tokens per minute
    allowed_models: list[str] | None = None  # route names / aliases this project may use
    monthly_budget_usd: float | None = None  # spend cap per UTC month (budgets: below)


class AuthConfig(_Strict):
    api_keys: list[str] = []
    projects: list[ProjectConfig] = []


class ProviderConfig(_Strict):
    name: str
    style: Style
    base_url: str = ""
    api_key: str = ""
    headers: dict[str, str] = {}
    models: list[str] = []  # models it serves: each becomes a one-step route unless a route has its name
    timeout: Duration = Duration(600)  # read timeout for one upstream call
    idle_timeout: Duration = Duration(300)  # a started stream with no event for this long ends
    connect_timeout: Duration = Duration(10)
    max_connections: int = 256
    # OpenAI deprecated max_tokens for max_completion_tokens; other OpenAI-style servers differ
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] | None = None


ConflictKind = Literal["tools", "format", "reasoning"]


class StepConfig(_Strict):
    provider: str
    model: str
    timeout: Duration | None = None
    conflict_resolution: ConflictKind | list[ConflictKind] | None = None

    def conflicts(self) -> tuple[ConflictKind, ...]:
        c = self.conflict_resolution
        if c is None:
            return ()
        return (c,) if isinstance(c, str) else tuple(c)


class HedgeConfig(_Strict):
    after: Duration


class RouteConfig(_Strict):
    name: str
    steps: list[StepConfig]
    hedge: HedgeConfig | None = None
    aliases: list[str] = []
    cascade: bool | None = None  # override routing.cascade for `auto` requests routed here


class TiersConfig(_Strict):
    local: str | None = None
    cheap: str | None = None
    strong: str | None = None


class RoutingThresholds(_Strict):
    cheap: float = 0.15  # lowest router score of the cheap tier (below: local, when configured)
    strong: float = 0.6  # lowest router score of the strong tier


class RoutingConfig(_Strict):
    fuzzy_models: bool = False  # map an unknown model to its closest route instead of a 400
    smart_routing: bool = False  # route every request by complexity unless it opts out
    cascade: bool = False  # ENABLE_CASCADE_ROUTING: `auto` tries the cheap tier first
    router: Literal["heuristic", "learned"] = "heuristic"
    router_artifact: str | None = None  # learned router artifact; default: models/router.json
    thresholds: RoutingThresholds = msgspec.field(default_factory=RoutingThresholds)
    # scenario -> a tier (local/cheap/strong) or a route name; unset scenarios do nothing
    scenarios: dict[Literal["long_context", "background", "thinking", "web_search"], str] = {}
    long_context_tokens: int = 60_000
    cascade_checks: list[str] | None = None  # the quality checks the cascade runs (default: all)


class BudgetsConfig(_Strict):
    soft_share: float = 0.8  # past this share of a budget, `auto` prefers one tier cheaper
    on_exhausted: Literal["reject", "local"] = "reject"  # 402, or the local tier when configured
    refresh: Duration = Duration(30)  # how often spend is re-read from the usage store


class CacheConfig(_Strict):
    backend: Literal["memory", "redis", "off"] = "memory"
    url: str = ""
    ttl: Duration = Duration(1800)  # CACHE_TTL_SECONDS
    max_entry_bytes: int = 1024 * 1024  # a bigger answer is not stored
    memory_max_bytes: int = 64 * 1024 * 1024  # the in-process store's bound (least recently used out)


class OptimizersConfig(_Strict):
    """Stages 2-4 of SPEC §2 and the extra token-saving stages; each can be switched off."""

    prompt_cache: bool = True  # ENABLE_ANTHROPIC_CACHE_CONTROL
    dedup: bool = True  # ENABLE_FILE_HASH_CACHE
    boilerplate: bool = True  # STRIP_IDE_BOILERPLATE
    stale_tool_output: bool = False  # lossy, so off unless asked for
    context_fit: bool = False  # summarise the oldest middle turns of a conversation over the window
    context_windows: dict[str, int] = {}  # model pattern -> tokens, before the built-in table
    context_fill_share: float = 0.8  # act above this share of the window
    context_keep_share: float = 0.5  # recent messages kept whole, as a share of the window
    diff_first: bool = False  # ENFORCE_DIFF_FIRST
    # --- settings of the token-saving stages (app/optimizers/)
    dedup_min_lines: int = 5  # file bodies shorter than this are never replaced
    # regular expressions, each matching one whole instruction block (group 1: its name);
    # None: the built-in list, app.optimizers.boilerplate.DEFAULT_PATTERNS
    boilerplate_patterns: list[str] | None = None
    stale_keep_recent_turns: int = 4  # the newest assistant turns are never stubbed
    stale_every_turns: int = 8  # how often the stale checkpoint moves (one cache write each time)
    stale_long_chars: int = 4000  # results longer than this ...
    stale_long_after_turns: int = 12  # ... and this many turns old are stubbed too
    # size limits, 0 = none (lossy: a visible marker replaces what was cut)
    system_max_chars: int = 0  # SYSTEM_MAX_CHARS
    user_msg_max_chars: int = 0  # USER_MSG_MAX_CHARS
    tool_result_max_chars: int = 0  # TOOL_RESULT_MAX_CHARS
    default_max_tokens: int = 0  # DEFAULT_MAX_TOKENS: for requests that set none


class SkillConfig(_Strict):
    id: str
    prompt: str
    tier: Literal["local", "cheap", "strong"] | None = None


class SkillsConfig(_Strict):
    enabled: bool = True  # ENABLE_SKILLS
    custom: list[SkillConfig] = []  # added to the built-in eight; an id of theirs replaces it


class CircuitBreakerConfig(_Strict):
    enabled: bool = True  # CIRCUIT_BREAKER_ENABLED
    failures: int = 5  # failures within `window` that open the circuit
    window: Duration = Duration(60)
    cooldown: Duration = Duration(30)  # open -> half-open after this long
    probes: int = 1  # calls let through while half-open


class RetriesConfig(_Strict):
    enabled: bool = True  # RETRY_ENABLED
    attempts: int = 2  # calls per step, the first included, before the next step
    max_backoff: Duration = Duration(8)
    deadline: Duration = Duration(600)  # no retry starts once a request is this old


class LoopGuardConfig(_Strict):
    enabled: bool = True
    max_repeats: int = 8  # successful answers to one unchanged conversation per window
    window: Duration = Duration(60)


class ReliabilityConfig(_Strict):
    circuit_breaker: CircuitBreakerConfig = msgspec.field(default_factory=CircuitBreakerConfig)
    retries: RetriesConfig = msgspec.field(default_factory=RetriesConfig)
    rate_limit_rpm: int = 0  # per project key; 0 = unlimited
    rate_limit_tpm: int = 0  # estimated prompt tokens per minute per project key; 0 = unlimited
    loop_guard: LoopGuardConfig = msgspec.field(default_factory=LoopGuardConfig)
    redis_url: str = ""  # rate limits, loop guard, shared breakers; default: cache.url (REDIS_URL)


class LimitsConfig(_Strict):
    max_body_bytes: int = 10 * 1024 * 1024
    max_messages: int = 2000


class MemoryConfig(_Strict):
    # once the gateway goes quiet after load, hand the heap its requests freed back to the OS
    # (glibc malloc_trim; nothing elsewhere): quiet = no request finished for trim_interval
    trim: bool = True
    trim_interval: Duration = Duration(2)
    # resent history elements kept parsed and decoded (bytes of their JSON; 0: off): agents resend
    # the whole conversation every turn, and what was kept is not parsed or decoded again
    history_max_bytes: int = 8_000_000


class PriceConfig(_Strict):
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


class MetricsConfig(_Strict):
    public: bool = False  # serve /metrics without a key


class LoggingConfig(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True  # one line per proxied request
    # auto: a short coloured line per request when stderr is a terminal, else JSON lines
    format: Literal["auto", "json", "text"] = "auto"


class UsageConfig(_Strict):
    enabled: bool = True
    database_url: str = ""  # DATABASE_URL: postgresql://...; empty: the SQLite file below
    sqlite_path: str = "frugal-usage.db"  # relative to the working directory
    queue_size: int = 10_000  # rows buffered while the database is slow or away; beyond: dropped, counted
    batch_size: int = 200
    flush_interval: Duration = Duration(0.5)
    # how the records count tokens a provider did not report and what the optimizers removed:
    # auto = tiktoken for OpenAI models only (exact there), four characters a token elsewhere;
    # tokenizer = tiktoken for every model (o200k as an estimate, ~50 MB per worker);
    # estimate = never tiktoken
    token_counts: Literal["auto", "tokenizer", "estimate"] = "auto"


class RecordConfig(_Strict):
    enabled: bool = False  # writes request bodies (secrets redacted) for `frugal replay`
    dir: str = "recordings"
    queue_size: int = 1000


class GatewayConfig(_Strict):
    auth: AuthConfig = msgspec.field(default_factory=AuthConfig)
    providers: list[ProviderConfig] = []
    routes: list[RouteConfig] = []
    tiers: TiersConfig = msgspec.field(default_factory=TiersConfig)
    aliases: dict[str, str] = {}
    routing: RoutingConfig = msgspec.field(default_factory=RoutingConfig)
    cache: CacheConfig = msgspec.field(default_factory=CacheConfig)
    optimizers: OptimizersConfig = msgspec.field(default_factory=OptimizersConfig)
    skills: SkillsConfig = msgspec.field(default_factory=SkillsConfig)
    reliability: ReliabilityConfig = msgspec.field(default_factory=ReliabilityConfig)
    limits: LimitsConfig = msgspec.field(default_factory=LimitsConfig)
    memory: MemoryConfig = msgspec.field(default_factory=MemoryConfig)
    pricing: dict[str, PriceConfig] = {}
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    usage: UsageConfig = msgspec.field(default_factory=UsageConfig)
    budgets: BudgetsConfig = msgspec.field(default_factory=BudgetsConfig)
    record: RecordConfig = msgspec.field(default_factory=RecordConfig)
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)


class LoadedConfig(msgspec.Struct, frozen=True):
    config: GatewayConfig
    source: str  # the file it came from, or "environment"
    warnings: tuple[str, ...] = ()
