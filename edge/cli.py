"""`edge-classify`: parse options into a ClassifyConfig, call `edge.run.runner.run`, map errors to
exit codes. No work happens here."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edge.config import STDOUT, ClassifyConfig
from edge.errors import EdgeError, ModelLoadError, ResumeError, UsageError
from edge.options import ModelOptions

if TYPE_CHECKING:
    from edge.evaluation.evaluate import EvalConfig

EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_MODEL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
_STDOUT_CLOSED = False

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]})


@app.command(epilog=(
    "Exit status: 0 every file classified; 1 some files could not be classified "
    "(see their error rows); 2 usage error; 3 the model or the TFLite runtime cannot be "
    "loaded; 130 interrupted with Ctrl-C (continue with --resume), which is also how --watch "
    "ends."
))
def classify(
    paths: Annotated[list[Path] | None, typer.Argument(
        metavar="PATH", help="Image files and folders, in any mix.", show_default=False)
                     ] = None,
    model: Annotated[Path | None, typer.Option(
        help="A .tflite model (default: the bundled cats-vs-dogs int8 model).")] = None,
    labels: Annotated[Path | None, typer.Option(
        help="Class names, one per line, in output order (overrides the model's own; "
        "a leading '0 ', '1 ', ... index on every line is dropped).")] = None,
    mean: Annotated[str | None, typer.Option(
        help="For a float model that does not state its normalization: input = "
        "(pixel - MEAN) / STD, one value or three ('127.5' or '123.7,116.3,103.5').")] = None,
    std: Annotated[str | None, typer.Option(help="See --mean.")] = None,
    crop: Annotated[str, typer.Option(
        help="none, or center: crop to the model's aspect ratio before resizing "
        "(for models trained on center crops, e.g. Teachable Machine).")] = "none",
    resize: Annotated[str | None, typer.Option(
        help="How photos are scaled to the model's input: tf-bilinear (pawlite models), "
        "asymmetric-bilinear (MediaPipe), antialias (Pillow's Lanczos downsizing, as "
        "Teachable Machine's export snippet), pillow-bilinear. Default: the model's "
        "pawlite.json, else asymmetric-bilinear.", show_default=False)] = None,
    info: Annotated[bool, typer.Option(
        "--info", help="Print what edge reads from the model (input, normalization and its "
        "source, labels, output) and exit.")] = False,
    eval_dir: Annotated[Path | None, typer.Option(
        "--eval", metavar="DIR", help="Check the model on DIR/<class>/* (folders named for "
        "its labels; case, '_' and a plural do not matter): accuracy, precision and recall, "
        "the confusion matrix and the misclassified files; with --sort-into OUT they are "
        "placed in OUT/wrong/<true>-as-<predicted>/, with -o one row per image. Exit 0 when "
        "every image was read.", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write rows to FILE (.csv, .jsonl, .json) or '-' for CSV (or "
        "--format) on stdout. Default: a table on a terminal, CSV when piped. FILE must not "
        "be an input, the model or the labels file; an existing FILE needs --resume or "
        "--overwrite; one run at a time writes it (a lock). It and FILE.pawlite.json (the "
        "model and format it was written with) are never read as input.")] = None,
    format: Annotated[str | None, typer.Option(
        "--format", help="csv, jsonl or json (default: from the --output extension).")] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Classes listed per row.")] = 1,
    threshold: Annotated[float | None, typer.Option(
        help="Below this confidence the label is 'uncertain' (the top class is kept).")] = None,
    sort_into: Annotated[Path | None, typer.Option(
        "--sort-into", help="Put each image into DIR/<label>/ (never overwrites). DIR and "
        "everything under it is never read as input, even when created during the run; DIR "
        "must not be or contain an input (refused).")] = None,
    mode: Annotated[str, typer.Option(help="How --sort-into places files: copy, move or link.")
                    ] = "copy",
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="With --sort-into: print what would happen, touch nothing.")] = False,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue an interrupted run from its --output file: files with a "
        "row there (matched by resolved path) are skipped. Refused when the file was written "
        "in another format or by another model, or has a damaged line.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace an existing --output file (without it, or --resume, an "
        "existing file is refused, never silently replaced).")] = False,
    watch: Annotated[bool, typer.Option(
        "--watch", help="Keep running and classify new images as they appear, until Ctrl-C. "
        "A file is read once its size and time stamp are unchanged for --settle seconds; a "
        "file that got an error row is read again when it changes.")] = False,
    interval: Annotated[float, typer.Option(
        help="With --watch: seconds between looks at the folders.")] = 1.0,
    threads: Annotated[int | None, typer.Option(
        help="CPU threads to use: N decoders and N/2 for the interpreter "
        "(default: all cores).")] = None,
    batch: Annotated[int, typer.Option(help="Images per interpreter call.")] = 8,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress bar and no summary.")] = False,
    recursive: Annotated[bool, typer.Option(
        "--recursive/--no-recursive", help="Look into subfolders. A symlinked subfolder is "
        "entered only when it points inside an input folder; name any other folder itself.")
                           ] = True,
    exif_rotate: Annotated[bool, typer.Option(
        "--exif-rotate/--no-exif-rotate", help="Turn photos upright by their EXIF orientation.")
                           ] = True,
    settle: Annotated[float, typer.Option(
        help="With --watch: seconds a new file must stay unchanged before it is read.")] = 2.0,
    profile: Annotated[bool, typer.Option(
        "--profile", help="At the end, print CPU ms per image for decode, resize, interpreter "
        "and output (summed over threads) on stderr.")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", help="Also show the TFLite runtime's own INFO lines (e.g. which delegate "
        "it created); its errors are always shown.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", help="Print pawlite's version and exit.", callback=lambda value:
        _print_version() if value else None, is_eager=True)] = False,
) -> None:
    """Classify images with a TFLite model, fast and without TensorFlow.

    Any TFLite image classifier runs as its own runtime would run it: pawlite exports,
    TFLite Metadata models (MediaPipe, Model Maker, TFLite/Coral zoo) and bare models with
    --labels (and --mean/--std when the input is float). Check with --info --model FILE.
    """
    if _STDOUT_CLOSED and (info or eval_dir is not None or output in (None, STDOUT)):
        raise typer.Exit(_usage_error(
            "standard output is closed, so the " + ("report" if eval_dir or info else "rows")
            + " would be lost: write the rows to a file with -o FILE, or run with stdout "
            "open."))
    given = locals()
    if verbose:
        logging.getLogger("edge").setLevel(logging.INFO)
    try:
        model_options = ModelOptions.values_from(
            {f.name: given[f.name] for f in ModelOptions.option_fields()})
    except UsageError as e:
        raise typer.Exit(_usage_error(str(e))) from None
    if eval_dir is not None:
        unused = [name for name, used in (("PATH", paths), ("--info", info), ("--resume", resume),
                                          ("--watch", watch), ("--top-k", top_k != 1)) if used]
        if unused:
            raise typer.Exit(_usage_error(f"--eval takes no {', '.join(unused)}."))
        from edge.evaluation.evaluate import EvalConfig as Config
    elif not paths and not info:
        raise typer.Exit(_usage_error("name the images to classify (files or folders), "
                                      "or pass --info."))
    else:
        Config = ClassifyConfig  # noqa: N806
    config = Config(
        paths=(eval_dir,) if eval_dir is not None else tuple(paths or ()), output=output,
        format=format, top_k=top_k, threshold=threshold, sort_into=sort_into, mode=mode,
        dry_run=dry_run, resume=resume, watch=watch, watch_interval=interval, batch=batch,
        quiet=quiet, recursive=recursive, exif_rotate=exif_rotate, watch_settle=settle,
        profile=profile, overwrite=overwrite, **model_options)
    if eval_dir is not None:
        raise typer.Exit(evaluate_folder(config))
    raise typer.Exit(show_info(config) if info else execute(config))


def _print_version() -> None:
    from importlib import metadata

    try:
        version = metadata.version("pawlite")
    except metadata.PackageNotFoundError:
        version = "(not installed: run from a source tree)"
    sys.stdout.write(f"pawlite {version}\n")
    raise typer.Exit(EXIT_OK)


def show_info(config: ClassifyConfig) -> int:
    """Print the model description for --info; returns the exit status."""
    from edge.describe import describe_model, format_description

    try:
        sys.stdout.write(format_description(describe_model(config, config.exif_rotate)))
    except UsageError as e:
        return _usage_error(str(e))
    except ModelLoadError as e:
        _error(str(e))
        return EXIT_MODEL
    return EXIT_OK


def execute(config: ClassifyConfig) -> int:
    """Run with Ctrl-C handling and error reporting; returns the exit status."""
    from edge.run.runner import run

    summary, status = _guarded(
        lambda stop: run(config, stop=stop), config.quiet,
        "aborted; the rows written so far are complete (continue with --resume)")
    if summary is None:
        return status
    if not config.quiet:
        for line in summary.lines():
            sys.stderr.write(line + "\n")
    if summary.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILURES if summary.failed or summary.unreadable_folders else EXIT_OK


def evaluate_folder(config: EvalConfig) -> int:
    """--eval: print the report (on stderr when the rows go to stdout); the exit status."""
    from edge.evaluation.evalreport import format_report
    from edge.evaluation.evaluate import evaluate

    result, status = _guarded(lambda stop: evaluate(config, stop=stop), config.quiet,
                              "aborted before the report")
    if result is None:
        return status
    report = sys.stderr if config.output == STDOUT else sys.stdout
    report.write(format_report(result))
    if not config.quiet:
        from edge.text import count

        evidence = result.evidence()
        sys.stderr.write(f"evaluated {count(len(result.outcomes), 'image')} in "
                         f"{result.elapsed:.1f} s"
                         + (f": accuracy {evidence.figure()}" if evidence else "")
                         + (f"; placed {result.sorted} in {config.sort_into}"
                            if result.sorted else "") + "\n")
    if result.write_error:
        _error(result.write_error)
        return EXIT_FAILURES
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILURES if result.failed or result.unreadable else EXIT_OK


def _guarded(work, quiet: bool, aborted: str):
    """(work(stop), None), or (None, the exit status) after printing the user error it raised:
    a plain run and --eval answer Ctrl-C and errors the same way."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):  # file names that are not valid UTF-8
            stream.reconfigure(errors="backslashreplace")
    stop = threading.Event()
    restore = _install_sigint(stop, quiet)
    try:
        return work(stop), None
    except UsageError as e:
        return None, _usage_error(str(e))
    except ModelLoadError as e:
        _error(str(e))
        return None, EXIT_MODEL
    except ResumeError as e:
        _error(str(e))
        return None, EXIT_USAGE
    except EdgeError as e:
        _error(str(e))
        return None, EXIT_FAILURES
    except OSError as e:
        _error(f"{e.filename or ''}: {e.strerror or e}".lstrip(": "))
        return None, EXIT_FAILURES
    except KeyboardInterrupt:
        _error(aborted)
        return None, EXIT_INTERRUPTED
    finally:
        restore()


def _install_sigint(stop: threading.Event, quiet: bool):
    """First Ctrl-C: finish the rows in progress and stop; second: abort at once."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        if not quiet:
            sys.stderr.write("\nstopping after the rows in progress (Ctrl-C again to abort)\n")

    previous = signal.signal(signal.SIGINT, handler)
    return lambda: signal.signal(signal.SIGINT, previous)


def _usage_error(message: str) -> int:
    _error(f"{message}\nTry 'edge-classify --help' for help.")
    return EXIT_USAGE


def _error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")


def main() -> None:
    """Console entry point (`edge-classify`)."""
    global _STDOUT_CLOSED
    if sys.stderr is None:  # started with stderr closed: messages have nowhere to go
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    if sys.stdout is None:
        _STDOUT_CLOSED = True
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    app()
