"""`fil-learn`: train a policy on fil datasets (`fit`), play it (`eval`), share it (`export`),
measure what it must beat (`baselines`) and run the whole collect/train/relabel cycle (`loop`).

A thin layer: options become configs, rich shows progress, and the library's ValueError /
FileNotFoundError become one line and exit code 2.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import fil_learn
from fil_learn.config import MODEL_SIZES, Equivalent, FitConfig, Keep, ModelName, Target
from fil_learn.evaluate import EvalConfig, EvalReport, Protocol, evaluate
from fil_learn.failures import failure_line, silence_echoes
from fil_learn.games import check_v5_name, same_game
from fil_learn.loop_config import Guide, LoopConfig, Mode, RoundSeeds, Rule, default_settings
from fil_learn.outputs import (
    Recognizer,
    check_output,
    hdf5_of,
    json_with,
    nothing,
    write_atomic,
)
from fil_learn.presets import PRESETS, build_config, preset_publish
from fil_learn.scaling_plan import PRESETS as SCALE_PRESETS
from fil_learn.visited import VisitedRecorder

if TYPE_CHECKING:
    from fil_learn.train import Event

EXIT_FAILED = 1
LOOP_DEFAULTS = default_settings()
"""The loop's option defaults, read from its settings (not repeated here)."""
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
        if failure_line(error) is not None:  # a full disk that a library calls a ValueError
            _machine_failure(error)
        # escaped: a message like "pip install 'fil-learn[eval]'" is text, not rich markup
        err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


ForceOutputs = typer.Option(
    "--force",
    help="Replace existing output files that this command did not write (never a fil dataset).",
)


def _version(value: bool) -> None:
    if value:
        out.print(f"fil-learn {fil_learn.__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def tool(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_version
        ),
    ] = False,
) -> None:
    """The tool's own options (`--version`); the commands do the work."""


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
    target: Annotated[
        Target,
        typer.Option(
            help="What the loss fits: the demonstrated action; the swarm's visit shares "
            "(format v3 files; one-hot actions elsewhere); or improved, the policy moved "
            "towards the actions the swarm valued higher, kept where its values are equal "
            "(format v5 files only; docs/training.md)."
        ),
    ] = FitConfig.target,
    prior: Annotated[
        str | None,
        typer.Option(
            metavar="POLICY",
            help="With --target improved: an .onnx policy (or run folder) of the same game "
            "whose policy is the target's prior instead of the network's own, e.g. the guide "
            "of guided swarm episodes; episodes without swarm values then fit it alone.",
        ),
    ] = FitConfig.prior,
    equivalent: Annotated[
        Equivalent,
        typer.Option(
            help="Actions the data marks as leading to the same emulator state (format v4): "
            "ignore fits the drawn action; inclusive the member pressing the most buttons; "
            "pool the class."
        ),
    ] = FitConfig.equivalent,
    shift: Annotated[
        int,
        typer.Option(
            help="Random-shift augmentation: pad each training observation by N pixels and "
            "crop back at a random offset (0: off; 4 as in DrQ)."
        ),
    ] = FitConfig.shift,
    compared_only: Annotated[
        bool,
        typer.Option(
            "--compared-only",
            help="Train only on the steps where the swarm's visit shares compare two or more "
            "different outcomes (a quarter of SpaceInvaders' swarm steps).",
        ),
    ] = FitConfig.compared_only,
    keyframes: Annotated[
        bool,
        typer.Option(
            "--keyframes",
            help="Train only on the steps whose action differs from the previous step's "
            "(against copying the action the frame stack shows; 20% of SpaceInvaders' steps).",
        ),
    ] = FitConfig.keyframes,
    keep: Annotated[
        Keep,
        typer.Option(
            help="What best/ (the policy eval plays) holds: the epoch with the lowest "
            "validation loss, or the last epoch."
        ),
    ] = FitConfig.keep,
    model: Annotated[
        ModelName,
        typer.Option(
            help="Network size, the same for every stage of a run: "
            + "; ".join(f"{name}: {size.why}" for name, size in MODEL_SIZES.items())
            + " (docs/training-speed.md).",
        ),
    ] = FitConfig.model,
    history: Annotated[
        int,
        typer.Option(
            help="Frames of the 4-frame stack the network looks at, the newest (1: the current "
            "screen alone, which cannot show the action just taken; the input stays 4 frames)."
        ),
    ] = FitConfig.history,
    ema: Annotated[
        float,
        typer.Option(
            help="Keep an exponential moving average of the parameters with this decay per "
            "step, and validate, keep and export it (0: off; 0.999: about the last 1,000 steps)."
        ),
    ] = FitConfig.ema,
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
    """Train the Nature-DQN CNN (or a smaller one: --model) by cross-entropy on the
    demonstrated actions.

    Uses every local accelerator, data parallel: each batch is split over the devices, so
    --batch-size must be a multiple of their number.
    """
    with user_errors():
        datasets = _read_once(datasets)
        _split_cpu(cpu_devices, batch_size, datasets)
    config = FitConfig(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        steps_per_call=steps_per_call,
        val_fraction=val_fraction,
        patience=patience,
        seed=seed,
        target=target,
        prior=prior,
        equivalent=equivalent,
        shift=shift,
        compared_only=compared_only,
        keyframes=keyframes,
        keep=keep,
        model=model,
        history=history,
        ema=ema,
    )
    _run_fit(list(datasets), out_dir or Path("runs") / datasets[0].stem, config, force, quiet)


def _run_fit(
    datasets: list[Path], run_dir: Path, config: FitConfig, force: bool, quiet: bool
) -> None:
    """`fit` with a progress bar and a line an epoch; Ctrl-C keeps the finished epochs."""
    from fil_learn.train import fit as run_fit

    progress = _progress(quiet)
    with user_errors():
        try:
            trained = run_fit(
                datasets, run_dir, config, on_event=_fit_display(progress, quiet), force=force
            )
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


def _fit_display(progress: Progress, quiet: bool) -> Callable[[Event], None]:
    """What a person sees of `fit`'s events: the plan, a bar per epoch, a line per epoch."""
    from fil_learn.train import CallDone, EpochMetrics, EpochStarted, FitPlan

    task = progress.add_task("epoch", total=None, status="")
    said: list[bool] = []

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
        elif isinstance(event, EpochMetrics) and event.val_loss is None and not said:
            said.append(True)  # once per fit; said even with --quiet: it changes what best/ is
            progress.console.print(
                "note: no validation split (fewer than 2 episodes with labels, or "
                "--val-fraction 0): val_loss stays empty and no epoch is judged on unseen "
                "episodes; collect more episodes for one",
                highlight=False,
            )
        if isinstance(event, EpochMetrics) and not quiet:
            val = (
                f", val loss {event.val_loss:.3f} acc {event.val_accuracy:.3f}"
                if event.val_loss is not None and event.val_accuracy is not None
                else ""
            )
            line = (
                f"epoch {event.epoch}: train loss {event.train_loss:.3f} acc {event.train_accuracy:.3f}"
                f"{val}, {event.samples_per_second:,.0f} samples/s"
            )
            progress.console.print(line, highlight=False)

    return on_event


def _read_once(datasets: list[Path]) -> list[Path]:
    """The datasets once each; a line for each file or episode given twice (`fit a.h5 a.h5`,
    a file and its copy), which would otherwise be trained on twice."""
    from fil_learn.data import repeated_inputs

    unique, notes = repeated_inputs(datasets)
    for note in notes:
        err.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    return unique


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
    if requested > available_cores():
        err.print(
            f"[yellow]note:[/] --cpu-devices {requested} is more than the {available_cores()} "
            f"core(s) this process may use, which would only slow it down: using "
            f"{available_cores()}",
            highlight=False,
        )
        requested = available_cores()
    if requested == 0:
        if forced_by_environment():
            return
        requested = auto_cpu_devices(
            batch_size, frame_bytes(datasets), available_cores(), available_memory()
        )
    use_cpu_devices(requested)


@app.command(name="eval")
def eval_command(
    run_dir: Annotated[
        Path,
        typer.Argument(
            help="A run folder written by `fil-learn fit`, or a policy exported by "
            "`fil-learn export` (.onnx; needs fil-learn[onnx])."
        ),
    ],
    game: Annotated[
        str | None,
        typer.Option(help=r"Game to play \[default: the run's]; must be the run's game."),
    ] = None,
    episodes: Annotated[int, typer.Option(help="Episodes to play.")] = 10,
    protocol: Annotated[
        Protocol,
        typer.Option(help="v5: sticky actions 0.25; noop30: no sticky actions, 1-30 no-ops."),
    ] = EvalConfig.protocol,
    epsilon: Annotated[float, typer.Option(help="Probability of a random action per step.")] = 0.0,
    temperature: Annotated[
        float,
        typer.Option(help="0: play the most likely action; T > 0: draw from softmax(logits/T)."),
    ] = EvalConfig.temperature,
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
    force: Annotated[bool, ForceOutputs] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Play the run's best policy (or an exported .onnx one) and report mean, std, 95% CI, min,
    max, human-normalized."""
    with user_errors():
        config = EvalConfig(
            protocol=protocol,
            episodes=episodes,
            epsilon=epsilon,
            temperature=temperature,
            seed=seed,
            max_steps=max_steps,
        )
        config.validate()
        recorder = VisitedRecorder(state_every) if save_states is not None else None
        for option, path, ours in (
            ("--save-states", save_states, hdf5_of("fil-visited")),
            ("--video", video, nothing),
            ("--json", json_out, json_with("protocol", "mean")),
        ):
            _check_output(option, path, force, ours)  # before playing: a typo costs nothing
        report, settings = _play(run_dir, game, config, video, recorder, quiet)
        if save_states is not None and recorder is not None:
            recorder.write(save_states, settings, str(run_dir), protocol, epsilon, temperature)
    _report(report, settings["action_meanings"], episodes, save_states, json_out)


def _play(
    run_dir: Path,
    game: str | None,
    config: EvalConfig,
    video: Path | None,
    recorder: VisitedRecorder | None,
    quiet: bool,
) -> tuple[EvalReport, dict[str, Any]]:
    """Play the run's best policy with a progress bar; the report and the run's settings."""
    from fil_learn.policy import load_playable

    if game is not None:
        check_v5_name(game)
    best = load_playable(run_dir)
    settings = best.settings
    if game is not None and not same_game(game, settings["game"]):
        raise ValueError(
            f"{run_dir} was trained on {settings['game']}, not {game}: omit --game or choose that game"
        )
    progress = _progress(quiet)
    task = progress.add_task(
        f"{settings['game']} ({config.protocol})", total=config.episodes, status=""
    )

    def on_episode(index: int, episode_return: float, steps: int) -> None:
        progress.update(task, advance=1, status=f"last {episode_return:,.0f} in {steps:,} steps")
        if not quiet:
            progress.console.print(
                f"episode {index}: return {episode_return:,.0f} in {steps:,} steps",
                highlight=False,
            )

    with progress:
        report = evaluate(
            best.forward,
            settings["env_id"],
            settings["game"],
            config,
            video,
            on_episode,
            recorder,
            stack=best.stack,
            frameskip=best.frameskip,
        )
    if not report.returns:
        err.print("interrupted before the first episode finished: nothing was written")
        raise typer.Exit(EXIT_INTERRUPTED)
    return report, settings


def _report(
    report: EvalReport,
    action_meanings: list[str],
    episodes: int,
    save_states: Path | None,
    json_out: Path | None,
) -> None:
    """The score table, the actions played, and the files written; exit 130 if interrupted."""
    summary = report.summary()
    protocol = summary["protocol"]
    played = f"{len(report.returns)} of {episodes}" if report.interrupted else str(episodes)
    table = Table(
        title=f"{summary['game']}, protocol {protocol}, {played} episode(s), "
        f"{summary['distinct_games']} distinct (return, length)"
    )
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
    out.print(_action_table(summary["action_counts"], action_meanings))
    if save_states is not None:
        out.print(f"visited states written to {save_states}", highlight=False)
    if json_out is not None:
        write_atomic(json_out, json.dumps(summary, indent=2) + "\n")
    if report.video_failed is not None:  # the scores above stand; the mp4 does not exist
        _machine_failure(report.video_failed)
    if report.interrupted:
        err.print(
            f"interrupted: the {len(report.returns)} finished episode(s) are reported above"
            + (" and written" if json_out or save_states else ""),
            highlight=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED)


def _check_output(option: str, path: Path | None, force: bool, ours: Recognizer) -> None:
    """An output's folder must exist, the path must not be a folder, and an existing file is
    replaced only when the command wrote it or with --force (`outputs.check_output`)."""
    if path is not None and option == "--video" and path.suffix.lower() != ".mp4":
        raise ValueError(f"--video writes an mp4: give a file name ending in .mp4, not {path}")
    check_output(option, path, force, ours)


def _action_table(counts: list[int], meanings: list[str]) -> Table:
    """How often the policy pressed each button: one bar that fills the table is a policy that
    ignores what it sees."""
    total = max(sum(counts), 1)
    table = Table(title="actions played")
    for column in ("action", "steps", "share", ""):
        table.add_column(column, justify="left" if column in ("action", "") else "right")
    for meaning, count in zip(meanings, counts, strict=True):
        share = count / total
        table.add_row(meaning, f"{count:,}", f"{share:.1%}", "█" * round(30 * share))
    return table


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `fil-learn fit`.")],
    out_file: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="The .onnx file to write \\[default: RUN/policy.onnx]."),
    ] = None,
    force: Annotated[bool, ForceOutputs] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Write the run's best policy as ONNX: observations uint8 (N, 4, 84, 84) -> logits.

    Runs in onnxruntime alone; the game, env id, action meanings, frameskip, run, epoch and
    training datasets' sha256 are in its metadata (datasets/README.md, Policies). Needs
    `pip install 'fil-learn\\[onnx]'`.
    """
    from fil_learn.export import export_run

    with user_errors():
        target, difference = export_run(run_dir, out_file or run_dir / "policy.onnx", force)
    if not quiet:
        out.print(
            f"policy written to {target} (max |onnxruntime - JAX| on probe frames: "
            f"{difference:.1e})",
            highlight=False,
        )


@app.command()
def ensemble(
    members: Annotated[
        list[Path],
        typer.Argument(
            help="Two or more policies of one game: .onnx files from `fil-learn export` or "
            "run folders of `fit` (their best epoch)."
        ),
    ],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="The .onnx file to write.")],
    force: Annotated[bool, ForceOutputs] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Write one policy that plays the mean of its members' action log-probabilities.

    Fits that differ only by their seed can land far apart; the ensemble averages that luck
    away. The file is an ordinary fil policy (`logits` = the mean log-softmax), so `eval`,
    `load_policy` and `fil-collect --policy` play it; its metadata lists every member. Needs
    `pip install 'fil-learn\\[onnx]'`.
    """
    from fil_learn.ensemble import write_ensemble

    with user_errors():
        target, gap = write_ensemble(members, out_file, force)
    if not quiet:
        out.print(
            f"ensemble of {len(members)} written to {target} (max gap to the members' mean "
            f"log-probabilities on probe frames: {gap:.1e})",
            highlight=False,
        )


@app.command()
def baselines(
    game: Annotated[str, typer.Option(help="Game to play, e.g. SpaceInvaders.")],
    episodes: Annotated[int, typer.Option(help="Episodes per action and of random play.")] = 5,
    protocol: Annotated[Protocol, typer.Option(help="v5 (sticky actions 0.25) or noop30.")] = "v5",
    seed: Annotated[int, typer.Option(help="Episode i resets with seed + i (every policy).")] = 0,
    max_steps: Annotated[
        int | None, typer.Option(help="Cut episodes after N agent steps (quick checks).")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the results as JSON.")
    ] = None,
    force: Annotated[bool, ForceOutputs] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Score every constant action of the minimal set, and random play, under a protocol.

    What a trained policy must beat: holding one button can score (SpaceInvaders v5: FIRE
    scores 285 every episode).
    """
    from fil_learn.baselines import measure, resolve_env_id

    with user_errors():
        config = EvalConfig(protocol=protocol, episodes=episodes, seed=seed, max_steps=max_steps)
        config.validate()
        resolve_env_id(game)
        _check_output("--json", json_out, force, json_with("constant", "random"))
        progress = _progress(quiet)
        task = progress.add_task(f"{game} ({protocol})", total=None, status="")

        def on_episode(name: str, index: int, episode_return: float, steps: int) -> None:
            progress.update(task, advance=1, status=f"{name}: {episode_return:,.0f}")

        with progress:
            result = measure(game, config, on_episode)
    table = Table(title=f"{result['game']}, protocol {protocol}, {episodes} episode(s) each")
    for column in ("policy", "mean", "std", "min", "max", "human-normalized"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    rows = {f"hold {name}": s for name, s in result["constant"].items()}
    for name, s in {**rows, "random": result["random"]}.items():
        hns = s["human_normalized"]
        table.add_row(
            name,
            f"{s['mean']:,.1f}",
            f"{s['std']:,.1f}",
            f"{s['min']:,.0f}",
            f"{s['max']:,.0f}",
            "n/a" if hns is None else f"{hns:.1f}%",
        )
    out.print(table)
    out.print(
        f"best constant action: {result['best_constant_action']} "
        f"({result['best_constant_mean']:,.1f})",
        highlight=False,
    )
    if json_out is not None:
        write_atomic(json_out, json.dumps(result, indent=2) + "\n")


@app.command()
def loop(
    ctx: typer.Context,
    preset: Annotated[
        str | None,
        typer.Option(
            help="A published loop's settings (docs/presets.md): "
            + ", ".join(PRESETS)
            + ". Options given as well override the preset's values."
        ),
    ] = None,
    game: Annotated[
        str | None, typer.Option(help="Game, e.g. SpaceInvaders (required without --preset).")
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the loop \\[default: runs/PRESET, or runs/loop-GAME-MODE]; rerun to "
            "continue."
        ),
    ] = None,
    rounds: Annotated[int, typer.Option(help="Rounds, round 0 included.")] = LOOP_DEFAULTS[
        "rounds"
    ],
    mode: Annotated[
        Mode,
        typer.Option(
            help="dagger: later rounds relabel the policy's visited states with short swarms; "
            "bc: later rounds add --episodes more swarm demonstrations; exit: later rounds "
            "collect --episodes swarm demonstrations guided by the last round's policy."
        ),
    ] = LOOP_DEFAULTS["mode"],
    episodes: Annotated[
        int, typer.Option(help="Swarm episodes of round 0 (bc: added every round).")
    ] = LOOP_DEFAULTS["episodes"],
    walkers: Annotated[
        int, typer.Option(help="Walkers of the demonstration swarms.")
    ] = LOOP_DEFAULTS["walkers"],
    swarm_epochs: Annotated[
        int, typer.Option(help="Most epochs of a demonstration swarm.")
    ] = LOOP_DEFAULTS["swarm_epochs"],
    total_frames: Annotated[
        int | None,
        typer.Option(
            help="Budget each collected file in emulator frames (fil-collect --total-frames): "
            "long games get fewer, longer episodes; --episodes is then the most."
        ),
    ] = LOOP_DEFAULTS["total_frames"],
    epochs: Annotated[
        int, typer.Option(help="Training epochs per round (later rounds fine-tune).")
    ] = LOOP_DEFAULTS["epochs"],
    batch_size: Annotated[int, typer.Option(help="Training batch size.")] = LOOP_DEFAULTS[
        "batch_size"
    ],
    eval_episodes: Annotated[
        int, typer.Option(help="v5 episodes played per round (dagger relabels their states).")
    ] = LOOP_DEFAULTS["eval_episodes"],
    state_every: Annotated[
        int, typer.Option(help="Save and label every k-th visited state.")
    ] = LOOP_DEFAULTS["state_every"],
    max_labels: Annotated[
        int, typer.Option(help="Most labels per visited episode.")
    ] = LOOP_DEFAULTS["max_labels"],
    label_walkers: Annotated[
        int, typer.Option(help="Walkers of a labelling swarm.")
    ] = LOOP_DEFAULTS["label_walkers"],
    label_epochs: Annotated[int, typer.Option(help="Epochs of a labelling swarm.")] = LOOP_DEFAULTS[
        "label_epochs"
    ],
    rule: Annotated[
        Rule,
        typer.Option(
            help="How a state is labelled (fil-collect relabel --rule): vote, the first action "
            "most walkers share; best, the best walker's; value, one swarm per first action."
        ),
    ] = LOOP_DEFAULTS["rule"],
    keep_demos: Annotated[
        bool,
        typer.Option(
            "--keep-demos/--drop-demos",
            help="Keep training on the swarm demonstrations after round 0, or on relabelled "
            "data only.",
        ),
    ] = LOOP_DEFAULTS["keep_demos"],
    final_episodes: Annotated[
        int,
        typer.Option(help="Episodes per protocol of the final evaluation (0: skip)."),
    ] = LOOP_DEFAULTS["final_episodes"],
    baseline_episodes: Annotated[
        int,
        typer.Option(help="v5 episodes of each constant action and of random play (0: skip)."),
    ] = LOOP_DEFAULTS["baseline_episodes"],
    eval_max_steps: Annotated[
        int | None, typer.Option(help="Cut evaluation episodes after N steps (smoke tests).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Processes for collection and relabelling \\[default: all cores]."),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seeds collection, training, relabelling.")
    ] = LOOP_DEFAULTS["seed"],
    target: Annotated[
        Target,
        typer.Option(
            help="What every fit trains on: the actions, the swarm's visit shares, or the "
            "policy improved by the swarm's action values (`fit --target`)."
        ),
    ] = LOOP_DEFAULTS["target"],
    prior: Annotated[
        str | None,
        typer.Option(
            metavar="POLICY|guide",
            help="Every fit's --prior (with --target improved): an .onnx policy, or guide: "
            "each guided round's own guide (--mode exit).",
        ),
    ] = LOOP_DEFAULTS["prior"],
    policy_temperature: Annotated[
        float, typer.Option(help="exit: softmax temperature of the guiding policy.")
    ] = LOOP_DEFAULTS["policy_temperature"],
    policy_epsilon: Annotated[
        float, typer.Option(help="exit: share of each guided draw that stays uniform (round 1).")
    ] = LOOP_DEFAULTS["policy_epsilon"],
    policy_epsilon_step: Annotated[
        float, typer.Option(help="exit: lower that share by this much every later round.")
    ] = LOOP_DEFAULTS["policy_epsilon_step"],
    guide: Annotated[
        Guide,
        typer.Option(help="exit: guide with the best round's policy so far, or the last one's."),
    ] = LOOP_DEFAULTS["guide"],
    round_seeds: Annotated[
        RoundSeeds,
        typer.Option(
            help="Every round's evaluation plays the same seeds (an unchanged policy scores "
            "the same), or other seeds each round (loops recorded before this option)."
        ),
    ] = LOOP_DEFAULTS["round_seeds"],
    window: Annotated[
        int,
        typer.Option(help="exit: train on the last N rounds of guided episodes (0: all)."),
    ] = LOOP_DEFAULTS["window"],
    guided_relabel: Annotated[
        bool,
        typer.Option(
            help="dagger: the label swarms draw from the policy whose states they label "
            "(--policy-temperature, --policy-epsilon)."
        ),
    ] = LOOP_DEFAULTS["guided_relabel"],
    guide_labels: Annotated[
        bool,
        typer.Option(
            help="exit: every guided round also relabels the states its guide visited in its "
            "round evaluation (--rule, --label-walkers, --label-epochs, --max-labels) and "
            "trains on them beside its guided episodes."
        ),
    ] = LOOP_DEFAULTS["guide_labels"],
    guide_play: Annotated[
        int,
        typer.Option(
            help="exit with --prior guide: every guided round also records N episodes of its "
            "guide playing alone (seeds from 20000) and trains on them, fitted to the guide "
            "(0: off)."
        ),
    ] = LOOP_DEFAULTS["guide_play"],
    equivalent: Annotated[
        Equivalent, typer.Option(help="Every fit's --equivalent.")
    ] = LOOP_DEFAULTS["equivalent"],
    shift: Annotated[int, typer.Option(help="Every fit's --shift.")] = LOOP_DEFAULTS["shift"],
    compared_only: Annotated[
        bool, typer.Option("--compared-only", help="Every fit's --compared-only.")
    ] = LOOP_DEFAULTS["compared_only"],
    keep: Annotated[
        Keep,
        typer.Option(
            help="Every fit's --keep: a round's policy is its fit's best epoch by validation "
            "loss, or its last epoch."
        ),
    ] = LOOP_DEFAULTS["keep"],
    model: Annotated[
        ModelName, typer.Option(help="Every fit's --model (network size).")
    ] = LOOP_DEFAULTS["model"],
    history: Annotated[
        int, typer.Option(help="Every fit's --history (1: the current screen alone).")
    ] = LOOP_DEFAULTS["history"],
    learning_rate: Annotated[
        float, typer.Option(help="Every fit's --learning-rate.")
    ] = LOOP_DEFAULTS["learning_rate"],
    val_fraction: Annotated[
        float, typer.Option(help="Every fit's --val-fraction.")
    ] = LOOP_DEFAULTS["val_fraction"],
    patience: Annotated[int, typer.Option(help="Every fit's --patience.")] = LOOP_DEFAULTS[
        "patience"
    ],
    steps_per_call: Annotated[
        int, typer.Option(help="Every fit's --steps-per-call.")
    ] = LOOP_DEFAULTS["steps_per_call"],
    keyframes: Annotated[
        bool, typer.Option("--keyframes", help="Every fit's --keyframes.")
    ] = LOOP_DEFAULTS["keyframes"],
    ema: Annotated[float, typer.Option(help="Every fit's --ema.")] = LOOP_DEFAULTS["ema"],
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Every round trains a new network (WORKDIR/run-K) instead of fine-tuning the "
            "round before's.",
        ),
    ] = LOOP_DEFAULTS["fresh"],
    candidates: Annotated[
        int,
        typer.Option(
            help="--fresh --mode exit: networks trained per round (fit seeds SEED, SEED+1, ...); "
            "the best on the round evaluation becomes the round's policy."
        ),
    ] = LOOP_DEFAULTS["candidates"],
    candidate_histories: Annotated[
        list[int] | None,
        typer.Option(
            help="--fresh --mode exit, repeatable: train every candidate seed at each of these "
            "--history values (e.g. 1 and 4) instead of the fits' --history; the round "
            "evaluation picks among them all."
        ),
    ] = None,
    fit_samples: Annotated[
        int,
        typer.Option(
            help="Training samples per fit (0: off): each fit trains round(N / the round's "
            "samples) epochs, at least 1, instead of --epochs (about: ~10% of the episodes "
            "validate)."
        ),
    ] = LOOP_DEFAULTS["fit_samples"],
    start: Annotated[
        str | None,
        typer.Option(
            help="--mode exit: an exported policy (.onnx) that is round 0 instead of a clone of "
            "swarm demonstrations; round 1's swarm is guided by it."
        ),
    ] = LOOP_DEFAULTS["start"],
    publish: Annotated[
        Path | None,
        typer.Option(
            help="After every round, copy rounds.json, rounds.md, score.png and the best round's "
            "policy.onnx into this folder (e.g. under results/, to commit as they come) "
            "\\[default: the preset's]."
        ),
    ] = None,
) -> None:
    """Rounds of collect -> fit -> eval (-> relabel), resumable, with a table and score.png.

    `--preset NAME` runs a published loop (docs/presets.md). Every stage is a subprocess
    (fil-collect: `pip install 'fil-learn\\[loop]'`). Writes
    WORKDIR/rounds.md, rounds.json, score.png (with random, best constant action, human and
    round-0 reference lines) and policies/round-K/policy.onnx.
    """
    given = {name: value for name, value in ctx.params.items() if _given(ctx, name)}
    with user_errors():
        config = build_config(preset, given)
    _run_loop(config, publish or preset_publish(preset, config.game))


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether a loop setting was given (not its default), so that it overrides the preset."""
    source = ctx.get_parameter_source(name)  # typer's own click: its enum, compared by name
    return name not in ("preset", "publish") and source is not None and source.name != "DEFAULT"


def _run_loop(config: LoopConfig, publish: Path | None) -> None:
    """Run the loop, turning a failed stage or Ctrl-C into one line that says how to go on."""
    from fil_learn.loop import run_loop

    with _stages():
        run_loop(
            config,
            echo=lambda line: out.print(line, highlight=False, markup=False, soft_wrap=True),
            publish=publish,
        )
    out.print(f"loop written to {config.workdir} (rounds.md, score.png)", highlight=False)


@contextlib.contextmanager
def _stages() -> Iterator[None]:
    """Commands that run stages as subprocesses (`loop`, `scale`): a failed stage or Ctrl-C
    ends in one line that says how to go on, as bad input does."""
    with user_errors():
        try:
            yield
        except subprocess.CalledProcessError as error:
            err.print(
                f"a stage failed (exit {error.returncode}): {' '.join(map(str, error.cmd))}; "
                "fix it and run the same command to continue",
                highlight=False,
                markup=False,
            )
            raise typer.Exit(EXIT_USAGE if error.returncode == EXIT_USAGE else 1) from None
        except KeyboardInterrupt:
            err.print("interrupted: run the same command again to continue")
            raise typer.Exit(EXIT_INTERRUPTED) from None


@app.command()
def scale(
    preset: Annotated[
        str,
        typer.Option(help=f"The recipe: {', '.join(SCALE_PRESETS)} (docs/scaling.md)."),
    ],
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Change one preset field for a trial, KEY=VALUE (fit.KEY for a fit setting); "
            "repeatable.",
        ),
    ] = None,
    runs: Annotated[
        Path, typer.Option(help="Where shards and fits live: RUNS/GAME/shard-KK.h5, fit-NNshards.")
    ] = Path("runs/scale"),
    results: Annotated[
        Path, typer.Option(help="Where rows go: RESULTS/GAME-scaling/, RESULTS/best/.")
    ] = Path("results"),
    max_shards: Annotated[
        int | None, typer.Option(help="Collect no shard past the first N this session.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help=r"fil-collect --workers \[default: all cores].")
    ] = None,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan",
            help="Say what exists and what is left, and redraw the curve's page and plot from "
            "its rows (with what the next points cost); run nothing.",
        ),
    ] = False,
    commit: Annotated[
        bool,
        typer.Option("--commit", help="git-commit the results files after each row (only them)."),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Let publishing replace results/best files scale did not write."
        ),
    ] = False,
) -> None:
    """The scaling recipe as one resumable command: collect shards -> fit each data size to
    each milestone -> evaluate (v5) -> publish the best. A rerun continues where it stopped.

    Rows go to RESULTS/GAME-scaling/curve.jsonl, with curve.md and curve.png;
    the best row's policy to RESULTS/best/GAME.onnx, with its card GAME.json.
    """
    from fil_learn.scaling import ScaleOptions, plan_lines, start

    with user_errors():
        options = ScaleOptions.from_command(
            preset, settings or [], runs, results, max_shards, workers, commit, force
        )

    def echo(line: str) -> None:
        out.print(line, highlight=False, markup=False, soft_wrap=True)

    with _stages():
        if plan:
            for line in plan_lines(options):
                echo(line)
        else:
            start(options, echo).run()


@app.command(name="label-stats")
def label_stats_command(
    files: Annotated[
        list[Path],
        typer.Argument(help="Relabelled datasets (`fil-collect relabel --out`) or swarm ones."),
    ],
) -> None:
    """How informative labels are. Relabelled files: cost per label, label spread, votes, ties,
    agreement with the learner's own actions. Swarm files (format v4): how often the drawn
    action had equivalent ones."""
    from fil_learn.label_stats import label_stats

    with user_errors():
        lines = label_stats(files)
    for line in lines:
        out.print(line, highlight=False)


def _stop_as_ctrl_c(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Console entry point; Ctrl-C outside the loops that handle it still ends in one line.

    `kill PID` (SIGTERM) stops a command as Ctrl-C does: eval reports and writes its finished
    episodes, fit keeps its finished epochs, loop stops its stage and continues on a rerun.
    SIGINT keeps Python's own handling: a script that starts fil-learn in the background
    hands it SIGINT ignored on purpose (so the terminal's Ctrl-C spares it), and that stays."""
    signal.signal(signal.SIGTERM, _stop_as_ctrl_c)
    silence_echoes()
    try:
        sys.exit(app())
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:  # a full disk and the like: one line, exit 1
        try:
            _machine_failure(error)
        except typer.Exit:
            sys.exit(EXIT_FAILED)


def _machine_failure(error: Exception) -> NoReturn:
    """End with the one line of a machine failure (`failures.py`), exit code 1, or re-raise
    any other error. Orbax's threads would report the same failure again while the
    interpreter shuts down: their reports are dropped (`failures.silence_echoes`)."""
    line = failure_line(error)
    if line is None:
        raise error
    err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_FAILED) from None
