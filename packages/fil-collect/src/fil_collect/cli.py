"""`fil-collect`: run FMC swarms and write demonstration datasets.

The CLI is a thin layer: it turns options into configs, shows progress with rich, and turns the
library's ValueError/FileNotFoundError into one line and exit code 2.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import fil_collect
from fil_collect import interrupt
from fil_collect import verify as verification
from fil_collect.collect import Collection, EpisodeWritten
from fil_collect.combine import all_of, copy_episodes, intact, return_between
from fil_collect.dataset import Compression, CompressionName
from fil_collect.env import EnvConfig
from fil_collect.failures import environment_errno, environment_message
from fil_collect.games import Game, available_roms
from fil_collect.guide import GuideConfig
from fil_collect.jobs import EpisodeJobs, Written
from fil_collect.relabel import LabelsWritten, Relabelling, Rule
from fil_collect.summary import summarize, summary_rows
from fil_collect.swarm import SwarmConfig
from fil_collect.verify import EpisodeCheck
from fil_collect.workers import EpisodeProgress, TaskRunner, local_workers

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Fractal Monte Carlo swarms on Atari, written as verified HDF5 demonstration datasets.",
)
err = Console(stderr=True)
out = Console()


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Bad input ends in one line that says what to do, and exit code 2, never a traceback."""
    try:
        yield
    except (ValueError, FileNotFoundError, IsADirectoryError) as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


def _version(value: bool) -> None:
    if value:
        out.print(f"fil-collect {fil_collect.__version__}", highlight=False)
        raise typer.Exit()


def _refuse_collect_options(ctx: typer.Context) -> None:
    """Options before a subcommand are collecting's, and collecting does not run: a silent
    `fil-collect --walkers 4 info x.h5` would ignore them, so it is an error."""
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name or "")
        if source is not None and source.name == "COMMANDLINE":
            command = ctx.invoked_subcommand
            err.print(
                f"[bold red]error:[/] {param.opts[0]} is an option of collecting, not of "
                f"`{command}`: give {command}'s options after it (fil-collect {command} --help)",
                highlight=False,
            )
            raise typer.Exit(EXIT_USAGE)


SWARM = "Swarm (FMC)"
ENV = "Environment"
GUIDE = "Guided by a policy"
OUTPUT = "Output"


def _in_panel(panel: str) -> Callable[..., Any]:
    """`typer.Option` shown in one panel of `fil-collect --help`."""
    return functools.partial(typer.Option, rich_help_panel=panel)


_swarm, _env, _guide, _output = (_in_panel(panel) for panel in (SWARM, ENV, GUIDE, OUTPUT))

# The options of collecting, declared once here so that `collect` reads as its parameter list.
GameOption = Annotated[
    str | None,
    _env("--game", "-g", help="Game, e.g. SpaceInvaders, space_invaders or ALE/SpaceInvaders-v5."),
]
OutOption = Annotated[
    Path | None, _output("--out", "-o", help="Dataset file; an existing one is appended to.")
]
EpisodesOption = Annotated[
    int,
    _output(
        "--episodes",
        "-n",
        help="Episodes the file should hold in all (one swarm run each): an existing file "
        "gets the missing ones, so the same command continues an interrupted run.",
    ),
]
TotalFramesOption = Annotated[
    int | None,
    _output(
        "--total-frames",
        help="Budget the file in emulator frames: add episodes (in order) until those in it "
        "cost this many in all; --episodes is then the most. Long games get fewer, longer "
        "episodes for the same cost.",
    ),
]
WalkersOption = Annotated[int, _swarm(help="Walkers in the swarm.")]
EpochsOption = Annotated[
    int | None,
    _swarm(help="Most swarm iterations per episode \\[default: no limit; --max-frames decides]."),
]
MaxFramesOption = Annotated[
    int | None,
    _swarm(
        help="Emulator frames per episode, all walkers together (deterministic; 2M is 2-4 "
        "minutes of one core; 0: no limit)."
    ),
]
MinutesOption = Annotated[
    float | None,
    _swarm(help="CPU minutes per episode (then the result depends on the machine's speed)."),
]
MinDtOption = Annotated[int, _swarm(help="Fewest agent steps an action is repeated.")]
MaxDtOption = Annotated[int, _swarm(help="Most agent steps an action is repeated.")]
LocDtOption = Annotated[float, _swarm(help="Mean of the repeat-count Gaussian.")]
ScaleDtOption = Annotated[float, _swarm(help="Std of the repeat-count Gaussian.")]
RewardScaleOption = Annotated[float, _swarm(help="Exponent of the score in the virtual reward.")]
DistanceScaleOption = Annotated[
    float, _swarm(help="Exponent of the RAM distance in the virtual reward.")
]
LivesScaleOption = Annotated[
    float, _swarm(help="Exponent of the lives left in the virtual reward (0: ignore lives).")
]
RewindEveryOption = Annotated[
    int,
    _swarm(
        help="On games with lives, save the walkers every k epochs and return to them when "
        "all die at once (0: a swarm-wide death ends the episode)."
    ),
]
MaxRewindsOption = Annotated[int, _swarm(help="Swarm-wide deaths survived per episode.")]
ElitePatienceOption = Annotated[
    int,
    _swarm(
        help="Epochs the best walker is retried before a lower-scoring continuation of its "
        "game replaces it (games that cost points: Pong, Skiing)."
    ),
]
LifeLossOption = Annotated[
    bool,
    _swarm(
        "--life-loss-is-death/--game-over-is-death", help="Whether losing a life kills a walker."
    ),
]
PolicyOption = Annotated[
    Path | None,
    _guide(
        help="An ONNX policy (`fil-learn export`) that walkers draw actions from instead of "
        "uniformly (expert iteration). Needs fil-collect\\[guide]."
    ),
]
TemperatureOption = Annotated[float, _guide(help="Softmax temperature of the policy's logits.")]
EpsilonOption = Annotated[
    float, _guide(help="Share of each draw that stays uniform (1: plain FMC).")
]
ElitismOption = Annotated[
    bool,
    _swarm("--elitism/--no-elitism", help="Keep the best walker alive by copying it each epoch."),
]
PruneTreeOption = Annotated[
    bool, _swarm("--prune-tree/--no-prune-tree", help="Drop unreachable history (flat memory).")
]
WidenOption = Annotated[
    bool,
    _swarm(
        "--widen/--no-widen",
        help="When the game ends with at least 2.5 times the frames spent still left, search it "
        "again with more walkers on the frames left (--max-frames budgets only).",
    ),
]
FrameskipOption = Annotated[int, _env(help="Emulator frames per agent step.")]
MaxEpisodeFramesOption = Annotated[int, _env(help="Frame cap of an episode.")]
RawFramesOption = Annotated[
    bool, _output("--raw-frames", help="Also store full 210x160 RGB screens.")
]
SeedOption = Annotated[int, _output(help="Base seed: the same seed gives the same episodes.")]
WorkersOption = Annotated[int | None, _output(help=r"Swarm processes \[default: all cores].")]
RayOption = Annotated[
    str | None,
    _output(
        "--ray",
        help="Run the swarms as tasks on a Ray cluster: 'auto' (the one started on this "
        r"machine with `ray start`) or its HOST:PORT. Needs fil-collect\[ray].",
    ),
]
CompressionOption = Annotated[
    CompressionName, _output(help="gzip: every HDF5 reader; lzf: h5py only.")
]
LevelOption = Annotated[int, _output(help="gzip level 0-9.")]
ForceOption = Annotated[
    bool, _output("--force", help="Replace an existing --out file instead of appending.")
]
QuietOption = Annotated[bool, _output("--quiet", "-q", help="No progress display.")]
VersionOption = Annotated[
    bool,
    typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_version),
]


@app.callback(invoke_without_command=True)
def collect(
    ctx: typer.Context,
    game: GameOption = None,
    out_path: OutOption = None,
    episodes: EpisodesOption = 5,
    total_frames: TotalFramesOption = None,
    walkers: WalkersOption = SwarmConfig.n_walkers,
    epochs: EpochsOption = SwarmConfig.max_epochs,
    max_frames: MaxFramesOption = SwarmConfig.max_frames,
    minutes: MinutesOption = SwarmConfig.max_minutes,
    min_dt: MinDtOption = SwarmConfig.min_dt,
    max_dt: MaxDtOption = SwarmConfig.max_dt,
    loc_dt: LocDtOption = SwarmConfig.loc_dt,
    scale_dt: ScaleDtOption = SwarmConfig.scale_dt,
    reward_scale: RewardScaleOption = SwarmConfig.reward_scale,
    distance_scale: DistanceScaleOption = SwarmConfig.distance_scale,
    lives_scale: LivesScaleOption = SwarmConfig.lives_scale,
    rewind_every: RewindEveryOption = SwarmConfig.rewind_every,
    max_rewinds: MaxRewindsOption = SwarmConfig.max_rewinds,
    elite_patience: ElitePatienceOption = SwarmConfig.elite_patience,
    life_loss_is_death: LifeLossOption = SwarmConfig.life_loss_is_death,
    policy: PolicyOption = None,
    policy_temperature: TemperatureOption = GuideConfig.temperature,
    policy_epsilon: EpsilonOption = GuideConfig.epsilon,
    elitism: ElitismOption = SwarmConfig.elitism,
    prune_tree: PruneTreeOption = SwarmConfig.prune_tree,
    widen: WidenOption = SwarmConfig.widen,
    frameskip: FrameskipOption = EnvConfig.frameskip,
    max_episode_frames: MaxEpisodeFramesOption = EnvConfig.max_episode_frames,
    raw_frames: RawFramesOption = False,
    seed: SeedOption = 0,
    workers: WorkersOption = None,
    ray: RayOption = None,
    compression: CompressionOption = Compression.name,
    compression_level: LevelOption = Compression.level,
    force: ForceOption = False,
    quiet: QuietOption = False,
    version: VersionOption = False,
) -> None:
    """Collect demonstrations: `fil-collect --game SpaceInvaders --out ds.h5`."""
    if ctx.invoked_subcommand is not None:
        _refuse_collect_options(ctx)
        return
    with user_errors():  # every parameter is an option of `Collection.from_options`
        collection = Collection.from_options(**_options(ctx, "quiet", "version"))
    _collect(collection, quiet)


def _options(ctx: typer.Context, *leave_out: str) -> dict[str, Any]:
    """The command's parameters by name, as typer parsed them, less the CLI's own."""
    return {name: value for name, value in ctx.params.items() if name not in leave_out}


def _collect(collection: Collection, quiet: bool) -> None:
    """Run the collection with progress bars, and say what was written."""
    out_path = collection.writer.path
    if not collection.indices:
        collection.lock.release()
        budget = collection.total_frames
        limit = (
            f", --episodes {collection.episodes} is the total"
            if budget is None
            else f" of {collection.frames:,} emulator frames, --total-frames {budget:,} is the "
            "budget"
        )
        out.print(
            f"{out_path} already holds {collection.existing} episode(s){limit}: raise it to "
            "add more",
            highlight=False,
            soft_wrap=True,
        )
        return

    def on_written(event: EpisodeWritten) -> tuple[str, str | None]:
        line = (
            f"episode {event.index}: return {event.episode_return:,.0f}, {event.length:,} "
            f"steps, {event.epochs} epochs, {event.emulator_frames:,} frames, "
            f"{event.wall_seconds:.1f} s"
        )
        budget = collection.total_frames  # `collection.frames` counts this episode already
        return ("" if budget is None else f"{collection.frames:,} of {budget:,} frames"), line

    written = _run_jobs(
        collection,
        quiet,
        out_path,
        "episode(s)",
        lambda event: f"score {event.score:,.0f}",
        on_written,
    )
    _print_written(written, out_path, collection.config.env.game)


def _run_jobs(
    jobs: EpisodeJobs[Written],
    quiet: bool,
    out_path: Path,
    what: str,
    status: Callable[[EpisodeProgress], str],
    on_written: Callable[[Written], tuple[str, str | None]],
) -> list[Written]:
    """Run `jobs` under progress bars: a running episode's bar shows `status`, a written one's
    `on_written` gives (the run bar's status, a line to print). Ctrl-C says what was kept."""
    bars = _EpisodeBars(len(jobs.indices), quiet)
    written: list[Written] = []

    def on_event(event: EpisodeProgress | Written) -> None:
        if isinstance(event, EpisodeProgress):
            bars.running(event.index, event.done, event.total, status(event))
            return
        written.append(event)
        run_status, line = on_written(event)
        bars.finished(event.index, run_status, line)

    try:
        with bars:
            jobs.run(on_event)
    except KeyboardInterrupt:
        _interrupted(out_path, len(written), what)
    return written


def _interrupted(path: Path, written: int, what: str) -> NoReturn:
    """Say what an interrupted run left on disk (never a file that does not exist); exit 130."""
    if path.exists():
        err.print(
            f"interrupted: {written} new {what} written to {path}; "
            "run the same command again to continue",
            highlight=False,
            soft_wrap=True,
        )
    else:
        err.print(
            f"interrupted before the first of the {what} was written: nothing was saved; "
            "run the same command again to start",
            highlight=False,
            soft_wrap=True,
        )
    raise typer.Exit(EXIT_INTERRUPTED)


class _EpisodeBars:
    """Rich progress for a run of episode tasks: one bar for the run, one per running episode."""

    def __init__(self, episodes: int, quiet: bool) -> None:
        self.quiet = quiet
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=err,
            disable=quiet,
            transient=False,
        )
        self._total = self._progress.add_task("episodes", total=episodes, status="")
        self._running: dict[int, int] = {}
        self._finished: set[int] = set()

    def __enter__(self) -> _EpisodeBars:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def running(self, index: int, done: int, total: int | None, status: str) -> None:
        """Progress of a running episode; a report that arrives after it finished is dropped."""
        if index in self._finished:
            return
        if index not in self._running:
            self._running[index] = self._progress.add_task(
                f"  episode {index}", total=total, status=""
            )
        self._progress.update(self._running[index], completed=done, status=status)

    def finished(self, index: int, status: str = "", line: str | None = None) -> None:
        """Episode `index` is written: its bar goes, the run's advances, `line` is printed."""
        self._finished.add(index)
        task = self._running.pop(index, None)
        if task is not None:
            self._progress.remove_task(task)
        self._progress.update(self._total, advance=1, status=status)
        if line is not None and not self.quiet:
            self._progress.console.print(line, highlight=False)


def _print_written(written: list[EpisodeWritten], path: Path, game: Game) -> None:
    if not written:
        return
    table = Table(title=f"{game.name}: {len(written)} episode(s) written to {path}")
    for column in ("episode", "return", "steps", "epochs", "frames", "seconds"):
        table.add_column(column, justify="right")
    for event in sorted(written, key=lambda e: e.index):
        table.add_row(
            str(event.index),
            f"{event.episode_return:,.0f}",
            f"{event.length:,}",
            str(event.epochs),
            f"{event.emulator_frames:,}",
            f"{event.wall_seconds:.1f}",
        )
    out.print(table)


VisitedArgument = Annotated[
    Path, typer.Argument(help="States a policy visited: `fil-learn eval --save-states`.")
]
RelabelOutOption = Annotated[
    Path, typer.Option("--out", "-o", help="Relabelled dataset; an existing one is continued.")
]
LabelWalkersOption = Annotated[int, typer.Option(help="Walkers per label swarm.")]
LabelEpochsOption = Annotated[int, typer.Option(help="Swarm iterations per label.")]
LabelMaxDtOption = Annotated[int, typer.Option(help="Most agent steps an action is repeated.")]
LabelLifeLossOption = Annotated[
    bool,
    typer.Option(
        "--life-loss-is-death/--game-over-is-death",
        help="A walker that loses a life must clone (the short horizon cannot see the cost).",
    ),
]
EveryOption = Annotated[int, typer.Option(help="Label every k-th visited step.")]
MaxLabelsOption = Annotated[
    int | None, typer.Option(help="At most this many labels per episode, evenly spaced.")
]
RuleOption = Annotated[
    Rule,
    typer.Option(
        help="vote: the swarm's majority first action; best: the best walker's; value: one "
        "swarm per first action (--walkers each, same random numbers), most lives then "
        "score; a full tie is left unlabelled, other ties keep the learner's move if best."
    ),
]
LabelSeedOption = Annotated[int, typer.Option(help="Seeds the label swarms.")]
ProcessesOption = Annotated[int | None, typer.Option(help=r"Processes \[default: all cores].")]
LabelRayOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        help="Label episodes as tasks on a Ray cluster: 'auto' or HOST:PORT. "
        r"Needs fil-collect\[ray].",
    ),
]
ReplaceOption = Annotated[bool, typer.Option("--force", help="Replace an existing --out.")]
PlainQuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]


@app.command()
def relabel(
    ctx: typer.Context,
    visited: VisitedArgument,
    out_path: RelabelOutOption,
    walkers: LabelWalkersOption = 16,
    epochs: LabelEpochsOption = 10,
    max_dt: LabelMaxDtOption = 8,
    life_loss_is_death: LabelLifeLossOption = True,
    every: EveryOption = 1,
    max_labels: MaxLabelsOption = None,
    rule: RuleOption = "vote",
    seed: LabelSeedOption = 0,
    policy: PolicyOption = None,
    policy_temperature: TemperatureOption = GuideConfig.temperature,
    policy_epsilon: EpsilonOption = GuideConfig.epsilon,
    workers: ProcessesOption = None,
    ray: LabelRayOption = None,
    force: ReplaceOption = False,
    quiet: PlainQuietOption = False,
) -> None:
    """Label a learner's visited states with short swarms (DAgger); writes a fil dataset."""
    with user_errors():  # every parameter is an option of `Relabelling.from_options`
        relabelling = Relabelling.from_options(**_options(ctx, "quiet"))
    _relabel(relabelling, quiet)


def _relabel(relabelling: Relabelling, quiet: bool) -> None:
    """Run the relabelling with progress bars, and say what it cost per label."""
    out_path = relabelling.writer.path
    if not relabelling.indices:
        relabelling.lock.release()
        out.print(
            f"every episode of {relabelling.visited} is already relabelled in {out_path}",
            highlight=False,
        )
        return

    def on_written(event: LabelsWritten) -> tuple[str, str | None]:
        per_label = event.seconds / max(event.labels, 1)
        return f"last: {event.labels:,} labels, {per_label:.2f} s each", None

    written = _run_jobs(
        relabelling, quiet, out_path, "relabelled episode(s)", lambda event: "labels", on_written
    )
    labels = sum(e.labels for e in written)
    frames = sum(e.emulator_frames for e in written)
    seconds = sum(e.seconds for e in written)
    out.print(
        f"{len(written)} episode(s), {labels:,} labels written to {out_path}; per label: "
        f"{frames / max(labels, 1):,.0f} emulator frames, {seconds / max(labels, 1):.3f} s of one core",
        highlight=False,
    )


@app.command()
def games() -> None:
    """List the games ale-py ships (any spelling of these names works with --game)."""
    for rom in available_roms():
        game = Game(rom)
        out.print(f"{game.name:24} {rom}", highlight=False)


@app.command()
def info(
    path: Annotated[Path, typer.Argument(help="A fil dataset file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Summarize a dataset: game, episodes, steps, returns, settings, versions, size, checksums."""
    with user_errors():
        summary = summarize(path)
    if as_json:
        out.print_json(data=summary)
    else:
        table = Table(title=str(path), show_header=False)
        table.add_column("key", style="bold")
        table.add_column("value")
        for key, value in summary_rows(summary):
            table.add_row(key, value)
        out.print(table)
    damaged = list(summary["checksums"]["damaged_episodes"].values())
    if damaged:
        _print_failures(damaged)
    if not summary["checksums"]["ok"]:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def verify(
    path: Annotated[Path, typer.Argument(help="A fil dataset file.")],
    workers: Annotated[int | None, typer.Option(help=r"Processes \[default: all cores].")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Re-simulate every episode in ale-py and check rewards and every frame bit for bit.

    Exit code 0: every checksum and every episode matches; 1: something differs (the first
    difference is named); 2: the file is not a readable fil dataset.
    """
    with user_errors():
        runner = TaskRunner(local_workers(workers, None))
        preflight = verification.preflight(path)
        for note in preflight.warnings:
            err.print(f"[yellow]warning:[/] {note}", highlight=False)
        failures = preflight.failures()
        with _resimulating(preflight.episodes, quiet) as advance:

            def on_result(check: EpisodeCheck) -> None:
                advance()
                if preflight.reports(check):
                    failures.append(check.describe())

            verification.verify(path, runner, on_result)
    if failures:
        _print_failures(failures)
        raise typer.Exit(EXIT_FAILED)
    missing = preflight.status.missing
    sums = "checksums ok" if not missing else f"{len(missing)} episode(s) without checksum"
    out.print(
        f"verified: {preflight.episodes} episode(s) re-simulated bit-exact, {sums}", highlight=False
    )


@contextlib.contextmanager
def _resimulating(episodes: int, quiet: bool) -> Iterator[Callable[[], None]]:
    """A progress bar of episodes re-simulated; yields what advances it."""
    progress = Progress(
        TextColumn("re-simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
    )
    task = progress.add_task("episodes", total=episodes)
    with progress:
        yield lambda: progress.advance(task)


def _print_failures(failures: list[str]) -> None:
    """The first failure, and how many more; one unwrapped line (it holds a path and a command
    to copy)."""
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    err.print(f"[bold red]FAILED:[/] {escape(failures[0])}{more}", highlight=False, soft_wrap=True)


@app.command()
def merge(
    inputs: Annotated[list[Path], typer.Argument(help="fil datasets of one game.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="The merged dataset.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
) -> None:
    """Merge datasets of one game into a new file (inputs are never modified)."""
    with user_errors():
        count = copy_episodes(inputs, out_path, keep=lambda group: True, force=force)
    out.print(f"{count} episode(s) written to {out_path}", highlight=False)


@app.command(name="filter")
def filter_command(
    path: Annotated[Path, typer.Argument(help="A fil dataset.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="The filtered dataset.")],
    min_return: Annotated[
        float | None, typer.Option(help="Keep episodes with at least this return.")
    ] = None,
    max_return: Annotated[
        float | None, typer.Option(help="Keep episodes with at most this return.")
    ] = None,
    min_length: Annotated[
        int | None, typer.Option(help="Keep episodes of at least this many steps.")
    ] = None,
    drop_damaged: Annotated[
        bool,
        typer.Option(
            "--drop-damaged",
            help="Drop episodes that do not decompress or do not match their sha256.",
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
) -> None:
    """Keep the episodes that pass the tests, in a new file (the input is never modified)."""
    with user_errors():
        keep = return_between(min_return, max_return, min_length)
        count = copy_episodes(
            [path],
            out_path,
            all_of(keep, intact) if drop_damaged else keep,
            force=force,
            command="filter",
        )
    out.print(f"{count} episode(s) written to {out_path}", highlight=False)


@app.command()
def export(
    path: Annotated[Path, typer.Argument(help="A fil dataset.")],
    to: Annotated[Literal["minari"], typer.Option(help="Target format.")] = "minari",
    name: Annotated[str | None, typer.Option(help="Dataset id, e.g. spaceinvaders/fmc-v0.")] = None,
    author: Annotated[str | None, typer.Option(help="Author metadata.")] = None,
    author_email: Annotated[str | None, typer.Option(help="Author e-mail metadata.")] = None,
    code_permalink: Annotated[
        str | None, typer.Option(help="Link to the code that made the data.")
    ] = None,
) -> None:
    """Export to another format: `--to minari` writes a local Minari dataset (lossless)."""
    with user_errors():
        if not name:
            raise ValueError("give --name, a Minari dataset id such as spaceinvaders/fmc-v0")
        from fil_collect.export import export_minari

        dataset = export_minari(path, name, author, author_email, code_permalink)
    out.print(
        f"Minari dataset {name}: {dataset.total_episodes} episodes, {dataset.total_steps} steps "
        f"(minari.load_dataset({name!r}))",
        highlight=False,
    )


def main() -> None:
    """Console entry point. `kill` (SIGTERM) stops like Ctrl-C: the worker processes are
    stopped with it and every episode already written stays (see `fil_collect.interrupt`)."""
    interrupt.install()
    try:
        sys.exit(app())
    except KeyboardInterrupt:  # before or after the loops that say what was kept
        err.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:  # a full disk and the like: one line, exit 1
        number = environment_errno(error)
        if number is None:
            raise
        err.print(
            f"[bold red]error:[/] {escape(environment_message(number, 'writing'))}",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(EXIT_FAILED)
