"""Run the prediction service: ``beambell serve`` (or ``python -m beambell_assets.serving.server``).

One uvicorn worker process: the model, the LFs and their caches live in it once, and a swap is one
reference assignment inside it. Scale out by running several behind a load balancer (each polls
the registry on its own). The token comes from ``BEAMBELL_API_TOKEN`` or ``--token-file`` — never
from the command line, where other users of the machine could read it in the process list.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from beambell_assets.settings import Settings, load_settings, set_home

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9090  # Label Studio's conventional ML-backend port


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    settings: Settings | None = None,
    token: str | None = None,
    reload_interval_s: float = 2.0,
    log_level: str = "info",
    access_log: bool = True,
) -> None:
    """Serve the champion of ``settings`` (default: from the environment) until interrupted."""
    import uvicorn

    from beambell_assets.serving.api import create_app

    app = create_app(settings, token=token, reload_interval_s=reload_interval_s)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=10,
    )


def _read_token_file(path: str | None) -> str | None:
    if not path:
        return None
    token = Path(path).expanduser().read_text(encoding="utf-8").strip()
    if not token:
        raise SystemExit(f"--token-file {path} is empty")
    return token


def cmd_serve(args: argparse.Namespace) -> int:
    """``beambell serve``: the prediction service on ``--host``/``--port``."""
    settings = load_settings(getattr(args, "home", None))
    try:
        serve(
            args.host,
            args.port,
            settings=settings,
            token=_read_token_file(args.token_file),
            reload_interval_s=args.reload_interval,
            log_level=args.log_level,
            access_log=not args.no_access_log,
        )
    except RuntimeError as exc:  # e.g. no token configured: a message, not a traceback
        raise SystemExit(f"beambell serve: {exc}") from exc
    return 0


def add_serve_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``beambell serve`` (shared with this module's own entry point)."""
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"bind address (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--token-file", help="file holding the API token (default: $BEAMBELL_API_TOKEN)")
    parser.add_argument(
        "--reload-interval",
        type=float,
        default=2.0,
        help="seconds between registry checks for a new champion (default 2)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    parser.add_argument("--no-access-log", action="store_true", help="do not log every request")
    parser.set_defaults(func=cmd_serve)
    return parser


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``serve`` subcommand to ``beambell``'s subparsers."""
    return add_serve_arguments(
        subparsers.add_parser(
            "serve",
            help="HTTP prediction service for the champion (Label Studio ML backend + JSON batch API)",
            description=__doc__.splitlines()[0],
        )
    )


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``beambell serve``'s options plus ``--home``."""
    parser = argparse.ArgumentParser(prog="beambell-serve", description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="beambell home folder (default: $BEAMBELL_HOME or ./.beambell)")
    args = add_serve_arguments(parser).parse_args(argv)
    if args.home:
        set_home(args.home)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
