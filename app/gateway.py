"""One proxied request, start to finish (SPEC §2).

``Gateway.handle`` decodes the inbound style, authenticates, rate-limits, resolves the model to a
route, runs the stages, calls the route's steps through the ``Dispatcher`` and encodes the answer
in the caller's style — streamed event by event when the caller asked for a stream. When the
caller's style equals the provider's and no stage changed the request, the caller's own body goes
upstream and the provider's own bytes come back (passthrough). Every failure becomes a
``GatewayError`` answered in the caller's error envelope.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from app import __version__
from app.auth import Authenticator, Project
from app.canonical import Request, Response, StreamError, Style
from app.config import LimitsConfig
from app.errors import CLIENT_FAULT_STATUSES, BadRequest, GatewayError, UpstreamStatus
from app.observability.record import RecordBuilder
from app.observability.recorder import Recorder
from app.observability.redaction import contains_secret, redact
from app.pipeline import AfterHook, CacheMode, Finished, RequestContext, Stage
from app.providers.base import ClientBody, Completion, StreamChunk, UpstreamStream
from app.reliability.fallback import Dispatcher
from app.reliability.loop_guard import LoopDetected, LoopGuard, fingerprint
from app.reliability.rate_limiter import RateLimiter
from app.routing.model_names import ModelResolver, Resolution
from app.routing.routes import Route
from app.streaming import StreamAssembler, events_from_response
from app.styles import codec_for
from app.styles.base import Codec, RequestTarget, StreamEncoder
from app.styles.history_parse import HISTORY
from app.styles.stop_sequences import StopCutter, cut_response

log = logging.getLogger("frugal.gateway")
_ANONYMOUS = Project("anonymous")
_DEFAULT_TARGET = RequestTarget()
GATEWAY_HEADER = f"frugal-gateway/{__version__}"


@dataclass(slots=True)
class Inbound:
    """A proxied request as the HTTP edge read it."""

    style: Style
    body: bytes
    headers: dict[str, str]  # lower-case names
    query: dict[str, str] = field(default_factory=dict)
    target: RequestTarget = field(default_factory=RequestTarget)


@dataclass(slots=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    content_type: str = "application/json"


@dataclass(slots=True)
class _Hints:
    """Gateway-specific fields a client may add to any style's body (seed gateway)."""

    provider: str | None = None
    smart_routing: bool | None = None
    changed_body: bool = False


class Gateway:
    def __init__(
        self,
        *,
        auth: Authenticator,
        resolver: ModelResolver,
        dispatcher: Dispatcher,
        limits: LimitsConfig,
        stages: Sequence[Stage] = (),
        after_hooks: Sequence[AfterHook] = (),
        smart_routing_default: bool = False,
        rate_limiter: RateLimiter | None = None,
        records: RecordBuilder | None = None,
        loop_guard: LoopGuard | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.auth = auth
        self.resolver = resolver
        self.dispatcher = dispatcher
        self.limits = limits
        self.stages = list(stages)
        self.after_hooks = list(after_hooks)
        self.smart_routing_default = smart_routing_default
        self.rate_limiter = rate_limiter or RateLimiter()
        self.records = records
        self.loop_guard = loop_guard
        self.recorder = recorder
        self._finishing: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ entry points

    def authenticate(self, headers: dict[str, str], query: dict[str, str]) -> Project:
        return self.auth.authenticate(headers, query)

    async def admit(self, project: Project, body_bytes: int) -> int | None:
        """The project's rate limits (requests and, when set, estimated prompt tokens per
        minute); returns the requests left, raises ``RateLimited``."""
        tokens = body_bytes // 4 if project.tpm > 0 else 0  # ~4 bytes a token: cheap, admission only
        return await self.rate_limiter.acquire(project.name, project.rpm, project.tpm, tokens)

    async def handle(self, inbound: Inbound) -> Reply:
        codec = codec_for(inbound.style)
        ctx = RequestContext(request_id=_request_id(), style=inbound.style, project=_ANONYMOUS)
        req: Request | None = None
        try:
            ctx.project = self.auth.authenticate(inbound.headers, inbound.query)
            ctx.rate_remaining = await self.admit(ctx.project, len(inbound.body))
            body = self._parse_body(inbound.body, inbound.style)
            hints = _pop_hints(body, inbound.headers)
            if self.recorder is not None and isinstance(body, dict):
                self.recorder.record(ctx.project.name, inbound.style, body, inbound.target.model)
            ctx.cache_mode = _cache_mode(inbound.headers)
            ctx.skill = inbound.headers.get("x-gateway-skill")
            ctx.client_headers = inbound.headers
            ctx.traceparent = inbound.headers.get("traceparent")
            req = codec.decode_request(body, inbound.target)
            ctx.stream = req.stream
            client_body = None if hints.changed_body else ClientBody(inbound.style, body, inbound.body)
            return await self._process(codec, req, ctx, hints, inbound.headers, client_body, inbound.target)
        except Exception as exc:
            return self._failed(codec, as_gateway_error(exc), ctx, req)

    async def handle_canonical(self, req: Request, headers: dict[str, str], query: dict[str, str]) -> Reply:
        """A request built by the gateway itself (``POST /chat``), answered in OpenAI Chat style."""
        codec = codec_for("openai-chat")
        ctx = RequestContext(request_id=_request_id(), style="openai-chat", project=_ANONYMOUS)
        try:
            ctx.project = self.auth.authenticate(headers, query)
            ctx.rate_remaining = await self.admit(ctx.project, 0)
            ctx.cache_mode = _cache_mode(headers)
            ctx.skill = headers.get("x-gateway-skill")
            ctx.client_headers = headers
            ctx.stream = req.stream
            return await self._process(codec, req, ctx, _pop_hints(None, headers), headers, None)
        except Exception as exc:
            return self._failed(codec, as_gateway_error(exc), ctx, req)

    def _failed(self, codec: Codec, err: GatewayError, ctx: RequestContext, req: Request | None) -> Reply:
        reply = self.error_reply(codec, err, ctx)
        self._after(req, None, ctx)
        return reply

    async def _process(
        self,
        codec: Codec,
        req: Request,
        ctx: RequestContext,
        hints: _Hints,
        headers: dict[str, str],
        client_body: ClientBody | None,
        target: RequestTarget = _DEFAULT_TARGET,
    ) -> Reply:
        self._check_limits(req)
        ctx.resolution = self._resolve(req.model, hints, ctx.project)
        reason = codec.requires_same_style(req)
        if reason is not None:
            ctx.resolution = _same_style_only(ctx.resolution, codec.style, reason)
        if self.loop_guard is not None:
            ctx.fingerprint = fingerprint(req)
            try:
                await self.loop_guard.check(ctx.project.name, ctx.fingerprint)
            except LoopDetected:
                ctx.decide("loop_guard", "tripped")
                raise
        original = req
        for stage in self.stages:
            out = await stage.apply(req, ctx)
            if isinstance(out, Response):
                return self._answer(codec, req, out, ctx, target)
            req = out
        if req is not original:
            client_body = None  # a stage changed the request: the client's bytes are stale
        route = ctx.resolution.route
        if req.stream:
            stream = await self.dispatcher.open_stream(req, route, ctx, headers, client_body)
            return self._stream_reply(codec, req, stream, ctx, target)
        completion = await self.dispatcher.complete(req, route, ctx, headers, client_body)
        if _needs_stop_cut(req, ctx):
            completion = Completion(cut_response(completion.response, req.stop))
        ctx.model = completion.response.model or ctx.model
        ctx.usage = completion.response.usage
        if completion.passthrough and completion.raw is not None:
            reply = Reply(200, self._headers(ctx), completion.raw)
        else:
            reply = Reply(200, self._headers(ctx), codec.encode_response(completion.response, req))
        self._after(req, completion.response, ctx)
        return reply

    def error_reply(self, codec: Codec, err: GatewayError, ctx: RequestContext | None = None) -> Reply:
        """The caller's own error envelope; a same-style client-fault error from the provider
        goes back byte for byte."""
        headers = [("x-gateway", GATEWAY_HEADER)]
        if ctx is not None:
            if isinstance(err, UpstreamStatus) and ctx.provider is None:
                ctx.provider = err.provider  # the step whose answer this is
            headers = self._headers(ctx)
            ctx.status = err.status
            ctx.error = f"{err.kind}: {redact(err.message)[:300]}"
        if err.retry_after is not None:
            headers.append(("retry-after", str(max(1, round(err.retry_after)))))
        if err.status in CLIENT_FAULT_STATUSES or err.status == 402:
            # The official SDKs (and Claude Code, which otherwise retries a 401 for ~3 minutes)
            # honour this before their own retry rules: a wrong key or body will not get better.
            headers.append(("x-should-retry", "false"))
        if (
            isinstance(err, UpstreamStatus)
            and err.client_fault
            and err.style == codec.style
            and err.body
            and not contains_secret(err.body.decode("utf-8", "replace"))
        ):
            return Reply(err.upstream_status, headers, err.body)
        if contains_secret(err.message):
            err.message = redact(err.message)  # e.g. a key pasted as a model name, echoed back
        status, body = codec.encode_error(err)
        if status >= 500 and not isinstance(err, UpstreamStatus):
            log.warning(
                "request failed", extra={"request_id": ctx.request_id if ctx else None, "error": err.message}
            )
        return Reply(status, headers, body)

    # ------------------------------------------------------------------ steps

    def _parse_body(self, raw: bytes, style: Style) -> Any:
        if not raw:
            raise BadRequest("request body is empty: expected a JSON object")
        try:
            return HISTORY.parse(raw, style)
        except msgspec.DecodeError as exc:
            raise BadRequest(f"request body is not valid JSON: {exc}") from None

    def _check_limits(self, req: Request) -> None:
        if len(req.messages) > self.limits.max_messages:
            raise BadRequest(
                f"too many messages: {len(req.messages)} (this gateway allows {self.limits.max_messages})"
            )

    def _resolve(self, model: str, hints: _Hints, project: Project) -> Resolution:
        smart = hints.smart_routing if hints.smart_routing is not None else self.smart_routing_default
        res = self.resolver.resolve("auto" if smart else model, hints.provider)
        if smart:
            res = Resolution(res.route, model, "auto", res.tier)
        allowed = project.allowed_models
        if allowed is not None and model not in allowed and res.route.name not in allowed:
            raise BadRequest(f"model '{model}' is not allowed for project '{project.name}'")
        return res

    def _answer(
        self, codec: Codec, req: Request, resp: Response, ctx: RequestContext, target: RequestTarget
    ) -> Reply:
        """A stage answered (cache hit, accepted cascade answer): encode it in the caller's style,
        replayed as a stream if the client asked for one."""
        ctx.usage = resp.usage
        if not req.stream:
            reply = Reply(200, self._headers(ctx), codec.encode_response(resp, req))
            self._after(req, resp, ctx)
            return reply
        encoder = _stream_encoder(codec, req, target)

        async def replay() -> AsyncIterator[bytes]:
            for ev in events_from_response(resp):
                data = encoder.encode(ev)
                if data:
                    if ctx.first_byte is None:
                        ctx.first_byte = time.perf_counter()
                    yield data
            self._after(req, resp, ctx)

        return Reply(200, self._headers(ctx), stream=replay(), content_type=encoder.content_type)

    def _stream_reply(
        self, codec: Codec, req: Request, stream: UpstreamStream, ctx: RequestContext, target: RequestTarget
    ) -> Reply:
        # the provider's own bytes go out only when they are what the client expects
        raw = stream.passthrough and target.sse
        encoder = _stream_encoder(codec, req, target)
        cutter = StopCutter(req.stop) if _needs_stop_cut(req, ctx) else None

        async def body() -> AsyncIterator[bytes]:
            asm = StreamAssembler()
            try:
                async for upstream_chunk in stream:
                    chunk = upstream_chunk
                    if cutter is not None:
                        chunk = StreamChunk(b"", cutter.feed(upstream_chunk.events))
                    for ev in chunk.events:
                        asm.add(ev)
                    if not raw:
                        data = b"".join([encoder.encode(ev) for ev in chunk.events])
                    elif chunk.raw:
                        data = chunk.raw
                    else:
                        # an error the gateway noticed (cut stream, read timeout) has no
                        # provider bytes: say it in the client's style
                        data = b"".join(
                            [encoder.encode(ev) for ev in chunk.events if isinstance(ev, StreamError)]
                        )
                    if data:
                        if ctx.first_byte is None:
                            ctx.first_byte = time.perf_counter()
                        yield data
                    if cutter is not None and cutter.done:
                        break  # the answer ended at a stop sequence: stop paying for the rest
            finally:
                await stream.aclose()
                resp = asm.response() if asm.finished else None
                if resp is not None:
                    ctx.usage = resp.usage
                elif asm.error is not None:
                    ctx.status = asm.error.status
                self._after(req, resp, ctx)

        content_type = "text/event-stream" if raw else encoder.content_type
        return Reply(200, self._headers(ctx), stream=body(), content_type=content_type)

    def _headers(self, ctx: RequestContext) -> list[tuple[str, str]]:
        res = ctx.resolution
        headers = [
            ("x-gateway", GATEWAY_HEADER),
            ("x-request-id", ctx.request_id),
            ("x-provider", ctx.provider or "none"),
            ("x-model", ctx.model or "none"),
            ("x-model-source", res.source if res else "none"),
            ("x-gateway-tier", (res.tier if res else None) or "none"),
            ("x-cache", ctx.cache),
            ("x-ratelimit-remaining", "unlimited" if ctx.rate_remaining is None else str(ctx.rate_remaining)),
        ]
        if ctx.notes:
            headers.append(("x-gateway-conflict-resolution", "; ".join(ctx.notes)))
        if ctx.cascade is not None:
            headers.append(("x-gateway-cascade", ctx.cascade.outcome))
        return headers

    def _after(self, req: Request | None, resp: Response | None, ctx: RequestContext) -> None:
        """The request is over: build its record and hand it to the after-hooks. When that means
        running the tokenizer (savings to count, usage to estimate), it happens in a worker thread
        after the answer went out."""
        if not self.after_hooks or self.records is None:
            return
        ctx.ended = time.perf_counter()
        loop = asyncio.get_running_loop()
        if self.records.needs_counting(ctx, resp, req):
            task = loop.create_task(self._finish_later(req, resp, ctx))
            self._finishing.add(task)
            task.add_done_callback(self._finishing.discard)
            return
        # once the answer is on its way: the reply is written in this same step of the loop
        loop.call_soon(self._finish, req, resp, ctx)

    async def _finish_later(self, req: Request | None, resp: Response | None, ctx: RequestContext) -> None:
        assert self.records is not None
        record = await asyncio.to_thread(self.records.build, req, resp, ctx)
        self._run_hooks(Finished(req, None, resp, ctx, record))

    def _finish(self, req: Request | None, resp: Response | None, ctx: RequestContext) -> None:
        assert self.records is not None
        try:
            record = self.records.build(req, resp, ctx)
        except Exception:  # a broken record must never break an answer already given
            log.exception("building the request record failed")
            return
        self._run_hooks(Finished(req, None, resp, ctx, record))

    def _run_hooks(self, done: Finished) -> None:
        for hook in self.after_hooks:
            try:
                hook.after(done)
            except Exception:  # an after-hook must never break an answer already given
                log.exception("after-hook %s failed", type(hook).__name__)

    async def drain(self) -> None:
        """Wait (up to 10 s) for records still being built at shutdown, so no usage row is lost."""
        if self._finishing:
            await asyncio.wait(list(self._finishing), timeout=10.0)


def _same_style_only(res: Resolution, style: Style, reason: str) -> Resolution:
    """The route's steps whose provider speaks ``style``; a 400 with ``reason`` if none does."""
    steps = tuple(s for s in res.route.steps if s.provider.style == style)
    if not steps:
        raise BadRequest(f"{reason}, and route '{res.route.name}' has none")
    route = Route(res.route.name, steps, res.route.hedge_after, res.route.aliases)
    return Resolution(route, res.requested, res.source, res.tier)


def _needs_stop_cut(req: Request, ctx: RequestContext) -> bool:
    """The client asked for stop sequences and the answering provider's style has none."""
    style = ctx.provider_style
    return (
        bool(req.stop) and style is not None and style != "mock" and not codec_for(style).takes_stop_sequences
    )


def _stream_encoder(codec: Codec, req: Request, target: RequestTarget) -> StreamEncoder:
    if not target.sse:
        # Google without ?alt=sse: the stream is one JSON array sent piece by piece
        json_array: Callable[[Request], StreamEncoder] | None = getattr(codec, "json_stream_encoder", None)
        if json_array is not None:
            return json_array(req)
    return codec.stream_encoder(req)


def as_gateway_error(exc: Exception) -> GatewayError:
    """Every failure answers in the caller's style: a body nested too deeply for the decoders is
    the client's fault (400); anything unexpected is logged with its traceback and answered 500
    without one."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, RecursionError):
        return BadRequest("request body is nested too deeply")
    log.error("unexpected error while handling a request", exc_info=exc)
    return GatewayError("internal gateway error (logged with the request id)", status=500)


def _cache_mode(headers: dict[str, str]) -> CacheMode:
    """``X-Gateway-Cache: bypass`` neither reads nor writes the response cache; ``refresh`` skips
    the read and stores the new answer."""
    value = headers.get("x-gateway-cache", "").strip().lower()
    if value == "bypass":
        return "bypass"
    if value == "refresh":
        return "refresh"
    return "use"


def _pop_hints(body: Any, headers: dict[str, str]) -> _Hints:
    hints = _Hints()
    if isinstance(body, dict):
        if "provider" in body and (isinstance(body["provider"], str) or body["provider"] is None):
            # OpenRouter's "provider" is an object of routing preferences: that one is the
            # client's, not ours, and stays in the body
            value = body.pop("provider")
            hints.provider = value or None
            hints.changed_body = True
        if "smart_routing" in body:
            hints.smart_routing = bool(body.pop("smart_routing"))
            hints.changed_body = True
    header = headers.get("x-gateway-smart-routing")
    if header is not None:
        hints.smart_routing = header.strip().lower() in ("1", "true", "yes", "on")
    return hints


_ID_PREFIX = uuid.uuid4().hex[:16]  # random per process: ids stay unique across workers
_id_counter = itertools.count(1)


def _request_id() -> str:
    """32 hex characters, unique per process run (uuid4 costs a getrandom call per request)."""
    return f"{_ID_PREFIX}{next(_id_counter):016x}"
