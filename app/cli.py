"""The ``frugal`` command: ``serve``, ``check-config``, ``replay``, ``train`` and ``eval-router``.

Exit codes: 0 done; 2 bad configuration, usage or input (also a keyless start on Railway);
1 a failure while running. Heavy imports (uvicorn, the tokenizer, scikit-learn) happen inside
the command that needs them, so ``frugal --help`` stays quick.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click as click_core
import rich_click as click

from app import __version__
from app.config import ConfigError, LoadedConfig, load

click.rich_click.TEXT_MARKUP = "rich"
click.rich_click.SHOW_ARGUMENTS = True
click.rich_click.MAX_WIDTH = 100

EXIT_CODES = "Exit codes: 0 done · 2 bad configuration, usage or input · 1 a failure while running."
CONFIG_HELP = "YAML config file (default: $FRUGAL_CONFIG, ./gateway.yaml, ...)."
config_option = click.option("--config", metavar="FILE", help=CONFIG_HELP)


def _load_or_exit(path: str | None) -> LoadedConfig:
    try:
        return load(path)
    except ConfigError as exc:
        click.echo(f"frugal: bad configuration: {exc}", err=True)
        raise SystemExit(2) from None


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EXIT_CODES,
)
@click.version_option(
    __version__, "--version", "-V", prog_name="frugal-gateway", message="%(prog)s %(version)s"
)
def cli() -> None:
    """Frugal Gateway: a self-hosted, OpenAI-compatible LLM gateway that cuts what AI-assisted
    coding costs (cache, fewer tokens, the cheapest good-enough model, reliable calls)."""


@cli.command("serve", epilog=EXIT_CODES)
@config_option
@click.option("--host", default=lambda: os.environ.get("HOST", "0.0.0.0"), show_default="$HOST or 0.0.0.0")
@click.option("--port", type=click.IntRange(0, 65535), default=None, show_default="$PORT or 8080")
@click.option(
    "--workers", type=click.IntRange(1, 256), default=1, show_default=True, help="Worker processes."
)
def serve(config: str | None, host: str, port: int | None, workers: int) -> int:
    """Run the gateway: prints where it listens and what it is made of, then serves."""
    loaded = _load_or_exit(config)  # fail before any worker starts
    cfg = loaded.config
    if os.environ.get("RAILWAY_ENVIRONMENT") and not (cfg.auth.api_keys or cfg.auth.projects):
        # a public deployment without a key would proxy anyone's requests on the owner's bill
        refusal = "GATEWAY_API_KEY is not set: on Railway the gateway refuses to start without a key"
        click.echo(f"frugal: {refusal}", err=True)
        return 2
    if port is None:
        try:
            port = int(os.environ.get("PORT", "8080"))
        except ValueError:
            click.echo(f"frugal: PORT must be a number, not {os.environ['PORT']!r}", err=True)
            return 2
    _print_summary(loaded, host, port, workers)
    for w in loaded.warnings:
        click.echo(f"frugal: warning: {w}", err=True)
    if config:
        # workers load the configuration themselves (one pool per process)
        os.environ["FRUGAL_CONFIG"] = str(Path(config).resolve())
    _metrics_dir()
    import uvicorn

    uvicorn.run(
        "app.http.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop" if _has("uvloop") else "asyncio",
        http="httptools" if _has("httptools") else "h11",
        access_log=False,
        log_config=None,
        timeout_keep_alive=75,
        server_header=False,
    )
    return 0


def _print_summary(loaded: LoadedConfig, host: str, port: int, workers: int) -> None:
    from app.bootstrap import stage_names
    from app.console import ServeTarget, render_summary, summary_lines
    from app.observability.logging import wants_colour

    try:
        stages = stage_names(loaded.config)
    except ConfigError as exc:
        click.echo(f"frugal: bad configuration: {exc}", err=True)
        raise SystemExit(2) from None
    lines = summary_lines(loaded.config, loaded.source, ServeTarget(host, port, workers), stages)
    sys.stderr.write(render_summary(lines, wants_colour(sys.stderr)))
    sys.stderr.flush()


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


@cli.command("check-config", epilog=EXIT_CODES)
@config_option
def check_config(config: str | None) -> int:
    """Validate the configuration and print a summary (exit 2 when it is wrong)."""
    loaded = _load_or_exit(config)
    cfg = loaded.config
    click.echo(f"configuration OK: {loaded.source}")
    click.echo(f"  providers: {', '.join(f'{p.name} ({p.style})' for p in cfg.providers) or 'none'}")
    click.echo(f"  routes: {', '.join(r.name for r in cfg.routes) or 'none'}")
    tiers = {t: getattr(cfg.tiers, t) for t in ("local", "cheap", "strong") if getattr(cfg.tiers, t)}
    click.echo(f"  tiers: {', '.join(f'{k}={v}' for k, v in tiers.items()) or 'none'}")
    click.echo(f"  auth: {'on' if cfg.auth.api_keys or cfg.auth.projects else 'off (no key configured)'}")
    for w in loaded.warnings:
        click.echo(f"  warning: {w}")
    return 0


@cli.command("replay", epilog=EXIT_CODES)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--config", metavar="FILE", help="Whose optimizers: settings to replay with.")
@click.option("--pricing", type=click.Choice(["anthropic", "openai"]), default="anthropic", show_default=True)
@click.option("--model", help="Priced model (default: claude-sonnet-4-0 / gpt-4.1).")
def replay(paths: tuple[str, ...], config: str | None, pricing: str, model: str | None) -> int:
    """Bill recorded conversations (JSONL of request bodies) with and without the token savers."""
    from app.console import progress_bar
    from app.replay.command import run  # tokenizer and codecs: loaded only for this command

    loaded = _load_or_exit(config)
    with progress_bar("replaying requests") as progress:
        return run(paths, "openai" if pricing == "openai" else "anthropic", model, loaded, progress=progress)


@cli.command("train", epilog=EXIT_CODES)
@click.argument("data", required=False, metavar="[DATA]")
@click.option("--from-usage", is_flag=True, help="Use the usage store's cascade outcomes instead of DATA.")
@click.option(
    "--database", metavar="URL", help="Usage store URL for --from-usage (default: the configured one)."
)
@config_option
@click.option("--out", default="models/router.json", show_default=True, metavar="FILE")
@click.option("--attribution", default="", help="Where the labels come from (for the metadata).")
def train(
    data: str | None, from_usage: bool, database: str | None, config: str | None, out: str, attribution: str
) -> int:
    """Fit the learned router from a labelled JSONL (id, prompt, source, strong, weak per line)."""
    if from_usage:
        return _train_from_usage(database, config, out)
    if not data:
        click.echo("frugal train: give a labelled JSONL or --from-usage", err=True)
        return 2
    from app.console import progress_bar
    from app.routing import artifact, dataset, training

    try:
        rows = dataset.read(Path(data))
        command = f"frugal train {Path(data).name} --out {out}"
        with progress_bar("cross-validating (folds)") as progress:
            art = training.train(rows, command, attribution=attribution, progress=progress)
    except (dataset.DatasetError, ValueError) as exc:
        click.echo(f"frugal train: {exc}", err=True)
        return 2
    artifact.dump(art, Path(out))
    click.echo(f"wrote {out}: {len(rows.rows)} prompts, {len(art.model.features)} features")
    for fam, m in art.metadata.cv.items():
        if isinstance(m, dict):
            click.echo(
                f"  CV {fam:<8} n={m['n']:<5} APGR {m['apgr']:.3f}  "
                f"CPT(50%) {m['cpt50']:.1%}  CPT(80%) {m['cpt80']:.1%}"
            )
    return 0


def _train_from_usage(database: str | None, config: str | None, out: str) -> int:
    """``frugal train --from-usage``: the learned router refitted on the cascade outcomes in the
    usage store (the configured one, or ``--database URL``)."""
    from app.bootstrap import usage_url
    from app.observability.redaction import safe_url
    from app.observability.usage.database import Connection, DatabaseError
    from app.observability.usage.queries import cascade_outcomes
    from app.routing import artifact, training

    url = database or usage_url(_load_or_exit(config).config)
    where = safe_url(url)  # never the password
    try:
        conn = Connection(url)
        try:
            pairs = cascade_outcomes(conn)
        finally:
            conn.close()
        art = training.train_from_outcomes(pairs, f"frugal train --from-usage --out {out}", where)
    except (DatabaseError, ValueError) as exc:
        click.echo(f"frugal train: {exc}", err=True)
        return 2
    artifact.dump(art, Path(out))
    click.echo(f"wrote {out}: {len(pairs)} cascade outcomes from the usage store ({where})")
    return 0


@cli.command("eval-router", epilog=EXIT_CODES)
@click.argument("data", metavar="DATA")
@click.option("--scores-out", metavar="FILE", help='Write one {"id", "score"} line per prompt.')
@click.option("--router", type=click.Choice(["heuristic", "learned"]), help="Default: routing.router.")
@click.option(
    "--artifact", metavar="FILE", help="Learned router artifact (default: routing.router_artifact)."
)
@click.option("--cv-groups", type=click.Choice(["source"]), help="Refit per fold, holding out whole sources.")
@click.option("--folds", type=click.IntRange(2, 100), default=5, show_default=True)
@config_option
def eval_router(
    data: str,
    scores_out: str | None,
    router: str | None,
    artifact: str | None,
    cv_groups: str | None,
    folds: int,
    config: str | None,
) -> int:
    """Score a prompt JSONL with a router; metrics when it is labelled (strong, weak, source)."""
    from app.console import progress_bar
    from app.routing import dataset, evaluation
    from app.routing.artifact import ArtifactError
    from app.routing.router import Thresholds, load_router

    routing = _load_or_exit(config).config.routing
    kind = router or routing.router
    try:
        rows = dataset.read(Path(data))
        if cv_groups:
            if kind != "learned":
                raise ValueError("--cv-groups refits the learned router per fold; use --router learned")
            with progress_bar("cross-validating (folds)") as progress:
                scores = evaluation.score_cv(rows, folds, progress)
            title = f"learned router, {folds}-fold GroupKFold by source, out-of-fold scores"
        else:
            scorer = load_router(
                "learned" if kind == "learned" else "heuristic", artifact or routing.router_artifact
            )
            scores = evaluation.score_all(scorer, rows)
            title = f"{kind} router"
    except (dataset.DatasetError, ArtifactError, ValueError) as exc:
        click.echo(f"frugal eval-router: {exc}", err=True)
        return 2
    if scores_out:
        evaluation.write_scores(Path(scores_out), rows, scores)
    if rows.labelled:
        thresholds = Thresholds(routing.thresholds.cheap, routing.thresholds.strong)
        click.echo(evaluation.report(rows, scores, thresholds, f"{title}: {data}"))
    else:
        click.echo(f"{len(scores)} prompts scored ({title}); no strong/weak labels, so no metrics")
    return 0


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main(argv: list[str] | None = None) -> int:
    """The console entry point; returns the exit code (tests call it with ``argv``)."""
    try:
        result: Any = cli.main(args=argv, prog_name="frugal", standalone_mode=False)
    except click_core.exceptions.Exit as done:
        return int(done.exit_code)
    except click_core.ClickException as exc:  # usage errors: 2
        exc.show()
        return int(exc.exit_code)
    except click_core.exceptions.Abort:
        click.echo("frugal: aborted", err=True)
        return 1
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
