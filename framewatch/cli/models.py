"""`framewatch models ...`: the static model that fast framing scores sentences with."""

from __future__ import annotations

from typing import Annotated

import typer

from framewatch.cli.base import handles_errors, print_json

models_app = typer.Typer(
    help="The static framing model, distilled from the configured model.", no_args_is_help=True
)


@models_app.command("build")
@handles_errors
def models_build(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if current.")] = False,
) -> None:
    """Build (or confirm) the static model beside the store, for `framing = "fast"`."""
    from framewatch.analysis.embedding.static_models import build_for

    print_json(build_for(ctx.obj.settings.analysis, ctx.obj.db, force))


@models_app.command("show")
@handles_errors
def models_show(ctx: typer.Context) -> None:
    """Which framing path runs on this machine (`framing = "auto"` resolved), and where the
    static model is, what it was built from, and whether it is current."""
    from framewatch.analysis.embedding.static_models import describe, with_home
    from framewatch.analysis.framing.framers import path

    settings = ctx.obj.settings.analysis
    print_json({"framing": settings.framing, "framing_here": path(settings),
                **describe(with_home(settings, ctx.obj.db))})  # fmt: skip
