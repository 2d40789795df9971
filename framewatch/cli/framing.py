"""`framewatch codebooks ...`, `label`, `train`, `eval framing`: frames and their models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from framewatch.cli.base import (
    UsageError,
    app,
    err,
    eval_app,
    handles_errors,
    out,
    print_json,
    print_table,
)

codebooks_app = typer.Typer(
    help="Frame codebooks: list, show, add, validate.", no_args_is_help=True
)


@codebooks_app.command("list")
@handles_errors
def codebooks_list(ctx: typer.Context) -> None:
    """Installed codebooks (built-in and added), and which ones run."""
    from framewatch.analysis.framing.codebook import all_codebooks, codebook_id

    with ctx.obj.store() as store:
        books = all_codebooks(store)
    running = {codebook_id(c) for c in ctx.obj.settings.analysis.codebooks}
    print_table(
        ["id", "name", "frames", "origin", "runs"],
        [
            (b.id, b.name, len(b.frames), b.origin, "yes" if b.id in running else "")
            for b in books.values()
        ],
    )


@codebooks_app.command("show")
@handles_errors
def codebooks_show(
    ctx: typer.Context, codebook: Annotated[str, typer.Argument(help="Id or file.")]
) -> None:
    """A codebook's frames with their descriptions."""
    from framewatch.analysis.framing.codebook import resolve_codebook

    with ctx.obj.store() as store:
        cb = resolve_codebook(codebook, store)
    out.print(f"{cb.id}: {cb.name} ({len(cb.frames)} frames, hash {cb.hash})", markup=False)
    print_table(["frame", "label", "description", "examples"],
                [(f.id, f.label, f.description, len(f.all_examples)) for f in cb.frames])  # fmt: skip


@codebooks_app.command("suggest")
@handles_errors
def codebooks_suggest(
    ctx: typer.Context,
    sample: Annotated[int, typer.Option(help="Articles to frame with each codebook.", min=5)] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Which shipped codebook fits this store's articles (frames a sample with each)."""
    from dataclasses import asdict

    from framewatch.analysis.framing.stage import sentence_encoder
    from framewatch.analysis.framing.suggest import suggest_codebook
    from framewatch.cli.base import reader

    con = reader(ctx)
    try:
        if not con.execute("SELECT count(*) FROM articles").fetchone()[0]:
            raise UsageError(
                "the store has no articles yet: run `framewatch run` or `import` first"
            )
        settings = ctx.obj.settings.analysis
        sug = suggest_codebook(con, sentence_encoder(settings), settings.frame_threshold, sample)
    finally:
        con.close()
    if as_json:
        print_json({"suggested": sug.codebook, "sample": sug.sample,
                    "codebooks": [asdict(f) for f in sug.fits]})  # fmt: skip
        return
    print_table(["codebook", "framed share", "top frame", "top share", "evenness", "fits"],
                [(f.codebook, f"{f.framed_share:.0%}", f.top_frame or "", f"{f.top_share:.0%}",
                  f"{f.evenness:.2f}", "yes" if f.fits else "no (lopsided)") for f in sug.fits])  # fmt: skip
    running = settings.codebooks
    note = ("it already runs" if sug.codebook in running else
            f'set [analysis] codebooks = ["{sug.codebook}"] in framewatch.toml (runs now: {", ".join(running)})')  # fmt: skip
    out.print(f"suggested for these {sug.sample} articles: {sug.codebook}; {note}", markup=False)


@codebooks_app.command("validate")
@handles_errors
def codebooks_validate(file: Annotated[Path, typer.Argument(help="A codebook TOML file.")]) -> None:
    """Check a codebook file; errors name the line or field."""
    from framewatch.analysis.framing.codebook import load_codebook_file

    cb = load_codebook_file(file)
    out.print(f"ok: {cb.id} with {len(cb.frames)} frames")


@codebooks_app.command("add")
@handles_errors
def codebooks_add(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(help="A codebook TOML file.")]
) -> None:
    """Install a codebook into the store (add its id to analysis.codebooks to run it)."""
    from framewatch.analysis.framing.codebook import load_codebook_file, register

    cb = load_codebook_file(file)
    with ctx.obj.store() as store:
        with store.transaction():
            register(store, cb)
        store.publish_snapshot()
    out.print(f"added codebook {cb.id} ({len(cb.frames)} frames)")


@app.command()
@handles_errors
def label(
    ctx: typer.Context,
    article_id: Annotated[int | None, typer.Argument(help="Article id.")] = None,
    frame: Annotated[str | None, typer.Argument(help="Frame id (several: a;b).")] = None,
    codebook: Annotated[str, typer.Option(help="Codebook id.")] = "geopolitics-tech",
    file: Annotated[
        Path | None, typer.Option(help="CSV/JSONL with article_id (or url) and frame(s).")
    ] = None,
    suggest: Annotated[
        int | None, typer.Option(help="List N unlabelled articles worth labelling next.")
    ] = None,
) -> None:
    """Add human frame labels, from the command line or a file; or ask which to label next."""
    from framewatch.analysis.framing.codebook import resolve_codebook
    from framewatch.analysis.framing.training import (
        add_labels,
        label_count,
        label_items,
        parse_frames,
    )

    if suggest is not None:
        from framewatch.analysis.framing.active import suggest as suggest_articles

        with ctx.obj.store() as store:
            cb = resolve_codebook(codebook, store)
            picks = suggest_articles(store, cb, ctx.obj.settings.analysis.model, suggest)
        print_table(["article", "predicted", "uncertainty", "title"],
                    [(p["article_id"], p["predicted"], p["uncertainty"], p["title"]) for p in picks],
                    title=f"label these next ({cb.id})")  # fmt: skip
        return
    with ctx.obj.store() as store:
        cb = resolve_codebook(codebook, store)
        if file is not None:
            items = label_items(store, file, cb)
        elif article_id is not None and frame:
            items = [(article_id, f) for f in parse_frames(frame)]
        else:
            raise UsageError("give ARTICLE_ID FRAME, or --file")
        added = add_labels(store, cb, items, origin="file" if file else "cli")
        total = label_count(store, cb.id)
        store.publish_snapshot()
    out.print(f"added {added} label(s); {cb.id} now has {total}")


@app.command()
@handles_errors
def train(
    ctx: typer.Context,
    codebook: Annotated[str, typer.Option(help="Codebook id.")] = "geopolitics-tech",
    cv: Annotated[int, typer.Option(min=2, help="Folds for cross-validation.")] = 5,
    method: Annotated[
        str,
        typer.Option(
            help="linear, or finetune (tunes the encoder, minutes on CPU); supervised = linear."
        ),
    ] = "supervised",
) -> None:
    """Fit a framing model on the labels; the pipeline uses it from then on."""
    from framewatch.analysis.framing.codebook import resolve_codebook
    from framewatch.analysis.framing.training import train as train_model
    from framewatch.progress import progress_for

    with ctx.obj.store() as store, progress_for("fine-tuning") as bar:
        cb = resolve_codebook(codebook, store)

        def tick(step: int, total: int) -> None:
            if step == 1:
                bar.start(total)  # held-out run, then the final model: one bar each
            bar.advance()

        m = train_model(store, cb, ctx.obj.settings.analysis, cv, method, on_progress=tick)
        store.publish_snapshot()
    out.print(f"model {m['model_id']} ({m['method']}) for {cb.id}: {m['n']} labelled articles, "
              f"{m['protocol']} macro-F1 {m['macro_f1']:.3f}, micro-F1 {m['micro_f1']:.3f}")  # fmt: skip
    print_table(["frame", "precision", "recall", "f1", "labels"],
                [(f, v["precision"], v["recall"], v["f1"], v["support"]) for f, v in m["per_frame"].items()])  # fmt: skip
    if m["skipped_frames"]:
        err.print(f"frames with too few labels, not predicted: {m['skipped_frames']}", markup=False)
    out.print("run `framewatch analyze` to re-frame the store with it")


@eval_app.command("framing")
@handles_errors
def eval_framing_cmd(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="CSV/JSONL with text (or title) and frame(s).")
    ] = None,
    codebook: Annotated[
        str, typer.Option(help="Installed codebook id or a codebook file.")
    ] = "geopolitics-tech",
    method: Annotated[
        str, typer.Option(help="zero-shot, linear, finetune, or supervised (= linear).")
    ] = "zero-shot",
    train_file: Annotated[
        Path | None, typer.Option("--train", help="Train on FILE, test on the labelled file.")
    ] = None,
    cv: Annotated[int | None, typer.Option(min=2, help="Stratified K-fold on FILE itself.")] = None,
    few_shot: Annotated[
        int | None, typer.Option(min=1, help="Train on K rows a frame, test on the rest.")
    ] = None,
    label_map: Annotated[
        Path | None, typer.Option(help="CSV of label,frame to map the file's labels.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the splits and bootstrap.")] = 0,
    learning_curve: Annotated[
        bool, typer.Option("--learning-curve", help="Score at 2-40 labels a frame; plot a PNG.")
    ] = False,
    plot: Annotated[Path, typer.Option(help="Where --learning-curve writes its PNG.")] = Path(
        "learning-curve.png"
    ),
    sample: Annotated[
        bool, typer.Option("--sample", help="Use the bundled sample corpus.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Scores of a framing method beside the majority class and a logistic regression."""
    from framewatch.analysis.embedding.static_models import with_home
    from framewatch.analysis.framing.codebook import resolve_codebook
    from framewatch.analysis.framing.evaluate import eval_framing, plot_learning_curve
    from framewatch.analysis.framing.label_files import (
        read_label_map,
        read_labelled_file,
        sample_labelled,
    )

    if (file is None) == (not sample):
        raise UsageError("give a labelled FILE or --sample")
    if sum(x is not None for x in (train_file, cv, few_shot)) > 1:
        raise UsageError("--train, --cv and --few-shot exclude each other")
    cb = resolve_codebook(codebook)
    mapping = read_label_map(label_map) if label_map else None
    notes: list[str] = []
    rows = sample_labelled() if sample else read_labelled_file(file, cb, mapping, notes)
    train_rows = read_labelled_file(train_file, cb, mapping, notes) if train_file else None
    for note in notes:
        err.print(f"note: {note}")
    sizes = [2, 5, 10, 20, 40] if learning_curve else None
    analysis = with_home(ctx.obj.settings.analysis, ctx.obj.db)  # the static model's place
    result = eval_framing(rows, cb, analysis, method, train_rows, cv,
                          few_shot, seed, sizes)  # fmt: skip
    if learning_curve:
        plot_learning_curve(result["learning_curve"], result["method"], plot)
        result["plot"] = str(plot)
    if as_json:
        print_json(result)
        return

    def line(name: str, r: dict) -> str:
        ci = r["ci95"]
        return (f"{name}: accuracy {r['accuracy']:.3f} [{ci['accuracy'][0]:.3f}-{ci['accuracy'][1]:.3f}], "
                f"micro-F1 {r['micro_f1']:.3f} [{ci['micro_f1'][0]:.3f}-{ci['micro_f1'][1]:.3f}], "
                f"macro-F1 {r['macro_f1']:.3f} [{ci['macro_f1'][0]:.3f}-{ci['macro_f1'][1]:.3f}]")  # fmt: skip

    out.print(
        f"{result['method']} on {result['n']} rows with {cb.id} ({result['protocol']}; 95% intervals)"
    )
    out.print(line(result["method"], result))
    for name, b in result["baselines"].items():
        if name != "protocol":
            out.print(line(f"baseline {name}", b))
    print_table(["frame", "precision", "recall", "f1", "support"],
                [(f, v["precision"], v["recall"], v["f1"], v["support"]) for f, v in result["per_frame"].items()])  # fmt: skip
    lr = result["baselines"].get("logistic_regression", {}).get("per_language", {})
    print_table(["language", "rows", "accuracy", "micro-F1", "macro-F1", "LR micro-F1"],
                [(lang, v["n"], v["accuracy"], v["micro_f1"], v["macro_f1"], lr.get(lang, {}).get("micro_f1", ""))
                 for lang, v in result["per_language"].items()], title="by language")  # fmt: skip
    preds = sorted({p for row in result["confusion"].values() for p in row})
    print_table(["gold \\ predicted", *preds],
                [(g, *(row.get(p, "") for p in preds)) for g, row in result["confusion"].items()],
                title="confusion (rows with one frame or none)")  # fmt: skip
    if learning_curve:
        lc = result["learning_curve"]
        print_table(["labels a frame", "training rows", result["method"], "logistic regression"],
                    [(p["per_frame"], p["n_train"], p[result["method"]], p["logistic_regression"]) for p in lc],
                    title=f"learning curve ({lc[0]['metric']}, mean of 3 seeds); plot: {plot}")  # fmt: skip
