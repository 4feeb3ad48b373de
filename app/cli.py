"""The ``frugal`` command: ``serve``, ``check-config``, ``replay``, ``train`` and ``eval-router``."""

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
    if os.environ.get("RAILWAY_ENVIRONMENT") and not (
        loaded.config.auth.api_keys or loaded.config.auth.projects
    ):
        # a public deployment without a key would proxy anyone's requests on the owner's bill
        print("frugal: GATEWAY_API_KEY is not set: on Railway the gateway refuses to start without a key",
              file=sys.stderr)  # fmt: skip
        return 2
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


def cmd_train(args: argparse.Namespace) -> int:
    from app.routing import artifact, dataset, training

    if args.from_usage:
        return _train_from_usage(args)
    if not args.data:
        print("frugal train: give a labelled JSONL or --from-usage", file=sys.stderr)
        return 2
    try:
        data = dataset.read(Path(args.data))
        command = f"frugal train {Path(args.data).name} --out {args.out}"
        art = training.train(data, command, attribution=args.attribution)
    except (dataset.DatasetError, ValueError) as exc:
        print(f"frugal train: {exc}", file=sys.stderr)
        return 2
    artifact.dump(art, Path(args.out))
    print(f"wrote {args.out}: {len(data.rows)} prompts, {len(art.model.features)} features")
    for fam, m in art.metadata.cv.items():
        if isinstance(m, dict):
            print(
                f"  CV {fam:<8} n={m['n']:<5} APGR {m['apgr']:.3f}  "
                f"CPT(50%) {m['cpt50']:.1%}  CPT(80%) {m['cpt80']:.1%}"
            )
    return 0


def _train_from_usage(args: argparse.Namespace) -> int:
    """``frugal train --from-usage``: the learned router refitted on the cascade outcomes in the
    usage store (the configured one, or ``--database URL``)."""
    from urllib.parse import urlsplit

    from app.bootstrap import usage_url
    from app.observability.usage.database import Connection, DatabaseError
    from app.observability.usage.queries import cascade_outcomes
    from app.routing import artifact, training

    url = args.database or usage_url(_load_or_exit(args.config).config)
    where = urlsplit(url).hostname or Path(url).name  # never the password
    try:
        conn = Connection(url)
        try:
            pairs = cascade_outcomes(conn)
        finally:
            conn.close()
        art = training.train_from_outcomes(pairs, f"frugal train --from-usage --out {args.out}", where)
    except (DatabaseError, ValueError) as exc:
        print(f"frugal train: {exc}", file=sys.stderr)
        return 2
    artifact.dump(art, Path(args.out))
    print(f"wrote {args.out}: {len(pairs)} cascade outcomes from the usage store ({where})")
    return 0


def cmd_eval_router(args: argparse.Namespace) -> int:
    from app.routing import dataset, evaluation
    from app.routing.artifact import ArtifactError
    from app.routing.router import Thresholds, load_router

    routing = _load_or_exit(args.config).config.routing
    kind = args.router or routing.router
    try:
        data = dataset.read(Path(args.data))
        if args.cv_groups:
            if kind != "learned":
                raise ValueError("--cv-groups refits the learned router per fold; use --router learned")
            scores = evaluation.score_cv(data, args.folds)
            title = f"learned router, {args.folds}-fold GroupKFold by source, out-of-fold scores"
        else:
            router = load_router(kind, args.artifact or routing.router_artifact)
            scores = evaluation.score_all(router, data)
            title = f"{kind} router"
    except (dataset.DatasetError, ArtifactError, ValueError) as exc:
        print(f"frugal eval-router: {exc}", file=sys.stderr)
        return 2
    if args.scores_out:
        evaluation.write_scores(Path(args.scores_out), data, scores)
    if data.labelled:
        thresholds = Thresholds(routing.thresholds.cheap, routing.thresholds.strong)
        print(evaluation.report(data, scores, thresholds, f"{title}: {args.data}"))
    else:
        print(f"{len(scores)} prompts scored ({title}); no strong/weak labels, so no metrics")
    return 0


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

    train = sub.add_parser("train", help="fit the learned router from a labelled JSONL")
    train.add_argument("data", nargs="?", help="JSONL with id, prompt, source, strong, weak per line")
    train.add_argument("--from-usage", action="store_true", help="use the usage store's cascade outcomes")
    train.add_argument("--database", help="usage store URL for --from-usage (default: the configured one)")
    train.add_argument("--config")
    train.add_argument("--out", default="models/router.json")
    train.add_argument("--attribution", default="", help="where the labels come from (for the metadata)")
    train.set_defaults(func=cmd_train)

    ev = sub.add_parser("eval-router", help="score a prompt JSONL with a router; metrics when labelled")
    ev.add_argument("data", help="JSONL with id and prompt (+ strong, weak, source for metrics)")
    ev.add_argument("--scores-out", help='write one {"id", "score"} line per prompt')
    ev.add_argument("--router", choices=["heuristic", "learned"], help="default: routing.router")
    ev.add_argument("--artifact", help="learned router artifact (default: routing.router_artifact)")
    ev.add_argument("--cv-groups", choices=["source"], help="refit per fold, holding out whole sources")
    ev.add_argument("--folds", type=int, default=5)
    ev.add_argument("--config")
    ev.set_defaults(func=cmd_eval_router)

    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
