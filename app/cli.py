"""The ``frugal`` command: ``serve``, ``check-config`` and ``replay``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app import __version__
from app.config import ConfigError, LoadedConfig, load


def _load_or_exit(path: str | None) -> LoadedConfig:
    try:
        return load(path)
    except ConfigError as exc:
        print(f"frugal: bad configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_check_config(args: argparse.Namespace) -> int:
    loaded = _load_or_exit(args.config)
    cfg = loaded.config
    print(f"configuration OK: {loaded.source}")
    print(f"  providers: {', '.join(f'{p.name} ({p.style})' for p in cfg.providers) or 'none'}")
    print(f"  routes: {', '.join(r.name for r in cfg.routes) or 'none'}")
    tiers = {t: getattr(cfg.tiers, t) for t in ("local", "cheap", "strong") if getattr(cfg.tiers, t)}
    print(f"  tiers: {', '.join(f'{k}={v}' for k, v in tiers.items()) or 'none'}")
    print(f"  auth: {'on' if cfg.auth.api_keys or cfg.auth.projects else 'off (no key configured)'}")
    for w in loaded.warnings:
        print(f"  warning: {w}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    loaded = _load_or_exit(args.config)  # fail before any worker starts
    for w in loaded.warnings:
        print(f"frugal: warning: {w}", file=sys.stderr)
    if args.config:
        # workers load the configuration themselves (one pool per process)
        os.environ["FRUGAL_CONFIG"] = str(Path(args.config).resolve())
    _metrics_dir()
    import uvicorn

    port = args.port if args.port is not None else int(os.environ.get("PORT", "8080"))
    uvicorn.run(
        "app.http.server:create_app",
        factory=True,
        host=args.host,
        port=port,
        workers=args.workers,
        loop="uvloop" if _has("uvloop") else "asyncio",
        http="httptools" if _has("httptools") else "h11",
        access_log=False,
        log_config=None,
        timeout_keep_alive=75,
        server_header=False,
    )
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from app.replay.command import run  # tokenizer and codecs: loaded only for this command

    return run(args, _load_or_exit(args.config))


def _metrics_dir() -> None:
    """Every worker writes its metrics to files in one directory, so each scrape shows the whole
    process group (prometheus-client's multiprocess mode). The directory must be empty at start:
    a set ``PROMETHEUS_MULTIPROC_DIR`` is emptied of old ``.db`` files, else a fresh one is made
    and removed at exit."""
    import atexit
    import shutil
    import tempfile

    existing = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if existing:
        folder = Path(existing)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.db"):
            old.unlink()
        return
    made = tempfile.mkdtemp(prefix="frugal-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    atexit.register(shutil.rmtree, made, True)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="frugal", description="Frugal Gateway: a cost-cutting LLM gateway")
    parser.add_argument("--version", action="version", version=f"frugal-gateway {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", help="YAML config file (default: $FRUGAL_CONFIG, ./gateway.yaml, ...)")
    serve.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 8080")
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser("check-config", help="validate the configuration and print a summary")
    check.add_argument("--config")
    check.set_defaults(func=cmd_check_config)

    replay = sub.add_parser("replay", help="bill recorded conversations with and without the token savers")
    replay.add_argument("paths", nargs="+", metavar="PATH", help="JSONL files of request bodies")
    replay.add_argument("--config", help="whose optimizers: settings to replay with")
    replay.add_argument("--pricing", choices=("anthropic", "openai"), default="anthropic")
    replay.add_argument("--model", help="priced model (default: claude-sonnet-4-0 / gpt-4.1)")
    replay.set_defaults(func=cmd_replay)

    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
