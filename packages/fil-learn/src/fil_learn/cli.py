"""`fil-learn`: train a policy on fil datasets (`fit`) and play it (`eval`).

A thin layer: options become configs, rich shows progress, and the library's ValueError /
FileNotFoundError become one line and exit code 2.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fil_learn.evaluate import EvalConfig, evaluate
from fil_learn.games import check_v5_name, same_game
from fil_learn.train import FitConfig
from fil_learn.visited import VisitedRecorder, write_visited

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Imitation learning on fil demonstration datasets (Flax NNX, JIT-compiled steps).",
)
err = Console(stderr=True)
out = Console()


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Bad input ends in one line that says what to do, and exit code 2, never a traceback."""
    try:
        yield
    except (ValueError, FileNotFoundError, IsADirectoryError) as error:
        # escaped: a message like "pip install 'fil-learn[eval]'" is text, not rich markup
        err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


def _progress(quiet: bool) -> Progress:
    """A bar with a status text, on stderr so stdout stays for results."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
    )


@app.command()
def fit(
    datasets: Annotated[list[Path], typer.Argument(help="fil dataset files (one game).")],
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Run folder (default: runs/NAME-OF-FIRST-DATASET); an existing run is continued.",
        ),
    ] = None,
    epochs: Annotated[
        int,
        typer.Option(
            help="Epochs of this stage: the same datasets continue an interrupted fit up to "
            "this many; other datasets on an existing run train this many more."
        ),
    ] = FitConfig.epochs,
    batch_size: Annotated[
        int, typer.Option(help="Samples per gradient step (over all devices).")
    ] = FitConfig.batch_size,
    learning_rate: Annotated[float, typer.Option(help="Adam step size.")] = FitConfig.learning_rate,
    steps_per_call: Annotated[
        int, typer.Option(help="Minibatch steps per jitted call (lax.scan).")
    ] = FitConfig.steps_per_call,
    val_fraction: Annotated[
        float, typer.Option(help="Share of episodes held out for validation.")
    ] = FitConfig.val_fraction,
    patience: Annotated[
        int,
        typer.Option(help="Early stop after N epochs without a better validation loss (0: off)."),
    ] = FitConfig.patience,
    seed: Annotated[
        int, typer.Option(help="Seeds initialization, split and shuffling.")
    ] = FitConfig.seed,
    cpu_devices: Annotated[
        int,
        typer.Option(
            help="On a CPU-only host, split the cores into this many JAX devices (0: auto, "
            "by batch size, cores and free memory; 1: one device)."
        ),
    ] = 0,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Start a fresh run in --out, removing the earlier one's files."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Train the Nature-DQN CNN by cross-entropy on the demonstrated actions.

    Uses every local accelerator, data parallel: each batch is split over the devices, so
    --batch-size must be a multiple of their number.
    """
    from fil_learn.train import CallDone, EpochMetrics, EpochStarted, Event, FitPlan
    from fil_learn.train import fit as run_fit

    with user_errors():
        _split_cpu(cpu_devices, batch_size, datasets)
    run_dir = out_dir or Path("runs") / datasets[0].stem
    config = FitConfig(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        steps_per_call=steps_per_call,
        val_fraction=val_fraction,
        patience=patience,
        seed=seed,
    )
    progress = _progress(quiet)
    task = progress.add_task("epoch", total=None, status="")

    def on_event(event: Event) -> None:
        if isinstance(event, FitPlan):
            err.print(event.text, highlight=False, soft_wrap=True)
            return
        if not progress.live.is_started:  # shown once the data loaded and the checks passed
            progress.start()
        if isinstance(event, EpochStarted):
            progress.reset(
                task,
                total=event.calls,
                description=f"epoch {event.epoch}/{event.final_epoch}",
                status="",
            )
        elif isinstance(event, CallDone):
            progress.update(task, advance=1, status=f"loss {event.loss:.3f}")
        elif isinstance(event, EpochMetrics):
            val = (
                f", val loss {event.val_loss:.3f} acc {event.val_accuracy:.3f}"
                if event.val_loss is not None and event.val_accuracy is not None
                else ""
            )
            line = (
                f"epoch {event.epoch}: train loss {event.train_loss:.3f} acc {event.train_accuracy:.3f}"
                f"{val}, {event.samples_per_second:,.0f} samples/s"
            )
            if quiet:
                return
            progress.console.print(line, highlight=False)

    with user_errors():
        try:
            trained = run_fit(list(datasets), run_dir, config, on_event=on_event, force=force)
        except KeyboardInterrupt:
            progress.stop()
            err.print(
                f"interrupted: {run_dir} holds the last finished epoch; run the same command to continue"
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        finally:
            progress.stop()
    if trained:
        out.print(
            f"run written to {run_dir} (metrics.jsonl, training.png, checkpoints/, best/)",
            highlight=False,
        )


def _split_cpu(requested: int, batch_size: int, datasets: list[Path]) -> None:
    """Decide `--cpu-devices` before JAX starts (see `fil_learn.devices`)."""
    from fil_learn.data import available_memory, frame_bytes
    from fil_learn.devices import (
        auto_cpu_devices,
        available_cores,
        forced_by_environment,
        use_cpu_devices,
    )

    if requested < 0:
        raise ValueError(f"--cpu-devices must be 0 (auto) or more, got {requested}")
    if requested == 0:
        if forced_by_environment():
            return
        requested = auto_cpu_devices(
            batch_size, frame_bytes(datasets), available_cores(), available_memory()
        )
    use_cpu_devices(requested)


@app.command(name="eval")
def eval_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `fil-learn fit`.")],
    game: Annotated[
        str | None, typer.Option(help="Game to play [default: the run's]; must be the run's game.")
    ] = None,
    episodes: Annotated[int, typer.Option(help="Episodes to play.")] = 10,
    protocol: Annotated[str, typer.Option(help="v5 (sticky actions 0.25) or noop30.")] = "v5",
    epsilon: Annotated[float, typer.Option(help="Probability of a random action per step.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Episode i resets with seed + i.")] = 0,
    max_steps: Annotated[
        int | None, typer.Option(help="Cut episodes after N agent steps (quick checks).")
    ] = None,
    video: Annotated[Path | None, typer.Option(help="Write the first episode as an mp4.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the results as JSON.")
    ] = None,
    save_states: Annotated[
        Path | None,
        typer.Option(
            help="Save what the policy saw and the emulator states it visited (a fil-visited "
            "file) for `fil-collect relabel`."
        ),
    ] = None,
    state_every: Annotated[
        int, typer.Option(help="With --save-states: save the state of every k-th step.")
    ] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Play the run's best policy and report mean, std, 95% CI, min, max, human-normalized."""
    from fil_learn.train import load_policy

    with user_errors():
        config = EvalConfig(
            protocol=protocol, episodes=episodes, epsilon=epsilon, seed=seed, max_steps=max_steps
        )
        config.validate()
        recorder = VisitedRecorder(state_every) if save_states is not None else None
        for option, path in (
            ("--save-states", save_states),
            ("--video", video),
            ("--json", json_out),
        ):
            _check_output(option, path)  # before playing: a typo must not cost the episodes
        if game is not None:
            check_v5_name(game)
        settings, policy = load_policy(run_dir)
        if game is not None and not same_game(game, settings["game"]):
            raise ValueError(
                f"{run_dir} was trained on {settings['game']}, not {game}: omit --game or choose that game"
            )
        progress = _progress(quiet)
        task = progress.add_task(f"{settings['game']} ({protocol})", total=episodes, status="")

        def on_episode(index: int, episode_return: float, steps: int) -> None:
            progress.update(
                task, advance=1, status=f"last {episode_return:,.0f} in {steps:,} steps"
            )
            if not quiet:
                progress.console.print(
                    f"episode {index}: return {episode_return:,.0f} in {steps:,} steps",
                    highlight=False,
                )

        with progress:
            report = evaluate(
                policy,
                settings["env_id"],
                settings["game"],
                config,
                video,
                on_episode,
                recorder,
                frameskip=int(settings.get("frameskip", 4)),  # runs from before it was kept: 4
            )
        if not report.returns:
            err.print("interrupted before the first episode finished: nothing was written")
            raise typer.Exit(EXIT_INTERRUPTED)
        if save_states is not None and recorder is not None:
            write_visited(
                save_states,
                recorder.episodes,
                {
                    "game": settings["game"],
                    "env_id": settings["env_id"],
                    "frameskip": int(settings.get("frameskip", 4)),
                    "protocol": protocol,
                    "epsilon": epsilon,
                    "n_actions": settings["n_actions"],
                    "action_meanings": settings["action_meanings"],
                    "policy": str(run_dir),
                    "state_every": state_every,
                },
            )
    summary = report.summary()
    played = f"{len(report.returns)} of {episodes}" if report.interrupted else str(episodes)
    table = Table(title=f"{summary['game']}, protocol {protocol}, {played} episode(s)")
    for column in ("mean", "std", "95% CI", "min", "max", "human-normalized"):
        table.add_column(column, justify="right")
    hns = summary["human_normalized"]
    table.add_row(
        f"{summary['mean']:,.1f}",
        f"{summary['std']:,.1f}",
        f"± {summary['ci95']:,.1f}",
        f"{summary['min']:,.0f}",
        f"{summary['max']:,.0f}",
        "n/a" if hns is None else f"{hns:.1f}%",
    )
    out.print(table)
    if save_states is not None:
        out.print(f"visited states written to {save_states}", highlight=False)
    if json_out is not None:
        json_out.write_text(json.dumps(summary, indent=2) + "\n")
    if report.interrupted:
        err.print(
            f"interrupted: the {len(report.returns)} finished episode(s) are reported above"
            + (" and written" if json_out or save_states else ""),
            highlight=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED)


def _check_output(option: str, path: Path | None) -> None:
    """An output file's folder must exist and the path must not be a folder."""
    if path is None:
        return
    if path.is_dir():
        raise ValueError(f"{option} {path} is a folder: give a file name")
    if option == "--video" and path.suffix.lower() != ".mp4":
        raise ValueError(f"--video writes an mp4: give a file name ending in .mp4, not {path}")
    if not path.parent.is_dir():
        raise ValueError(
            f"cannot write {option} {path}: folder {path.parent} does not exist (create it first)"
        )


def main() -> None:
    """Console entry point; Ctrl-C outside the loops that handle it still ends in one line."""
    try:
        sys.exit(app())
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
