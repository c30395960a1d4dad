"""The ``machi`` command line.

Only click is imported to start: every command imports what it needs when it runs, so
``machi --version`` and ``machi --help`` answer at once.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from pathlib import Path

import click

from pipeline import __version__

LIDAR_SUFFIXES = {".las", ".laz"}

#: Commands defined in their own modules, imported only when named: name -> (module:attr, help).
LAZY_COMMANDS = {
    "export-tiles": (
        "pipeline.commands.export_tiles:export_tiles_command",
        "Export a PLATEAU folder, zip or .gml file as 3D Tiles 1.1.",
    ),
    "trees": (
        "pipeline.commands.trees:trees_command",
        "Find trees in LiDAR and write them as PLATEAU vegetation (veg).",
    ),
    "view": (
        "pipeline.commands.view:view_command",
        "Serve a run's output folder and open the planners' viewer.",
    ),
}


class LazyGroup(click.Group):
    """A group whose listed commands are imported when they are run or asked for help."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self._available()])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self._available():
            target, _ = LAZY_COMMANDS[name]
            module, attr = target.split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, (cmd.get_short_help_str(70))) for name, cmd in sorted(self.commands.items())]
        rows += [(name, LAZY_COMMANDS[name][1]) for name in self._available()]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))

    @staticmethod
    def _available() -> list[str]:
        found = []
        for name, (target, _) in LAZY_COMMANDS.items():
            module = target.split(":")[0]
            if importlib.util.find_spec(module) is not None:
                found.append(name)
        return found


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Dask's own INFO chatter (nannies, comms) drowns what Machi says; keep its warnings.
    for noisy in ("distributed", "dask", "tornado", "numba", "fiona", "rasterio", "pyogrio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _parse_overrides(values: tuple[str, ...]) -> dict:
    import yaml

    overrides = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not key=value", param_hint="--set")
        key, value = item.split("=", 1)
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


def _load(definition: Path, overrides: dict | None = None):
    from pipeline.core.config import RunDefinitionError
    from pipeline.stages import load_run_definition

    try:
        return load_run_definition(definition, overrides)
    except RunDefinitionError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="machi")
def main() -> None:
    """Machi: shade, people flow and walkability for Japanese cities."""


@main.command()
@click.argument("definition", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--scheduler", metavar="tcp://HOST:PORT", help="Run on an existing Dask cluster instead of a local one."
)
@click.option("--workers", type=int, help="Worker processes of the local cluster.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a run-definition key, e.g. --set grid.resolution_m=2",
)
@click.option(
    "--lang",
    type=click.Choice(["ja", "en"]),
    default=None,
    help="Language of the printed report (walkability/report.html): ja (default) or en; "
    "the same as --set stages.walkability.report_lang=LANG.",
)
@click.option("--no-progress", is_flag=True, help="Hide progress bars (logs only).")
@click.option("-v", "--verbose", count=True, help="-v for INFO logs, -vv for DEBUG.")
def run(
    definition: Path,
    scheduler: str | None,
    workers: int | None,
    overrides: tuple[str, ...],
    lang: str | None,
    no_progress: bool,
    verbose: int,
) -> None:
    """Run the stages of a run definition (YAML) on a Dask cluster."""
    from pipeline.core.manifest import ManifestError
    from pipeline.core.runner import run as run_definition

    _setup_logging(max(verbose, 1))
    parsed = _parse_overrides(overrides)
    if lang:
        parsed["stages.walkability.report_lang"] = lang
    config = _load(definition, parsed)
    try:
        summary = run_definition(config, scheduler=scheduler, workers=workers, progress=not no_progress)
    except ManifestError as exc:  # the output folder cannot be written: say where, no traceback
        raise click.ClickException(
            f"{exc}. Tasks recorded before this are kept: rerun once the folder is writable to resume."
        ) from None
    except ValueError as exc:  # a baseline or measures file that cannot be used: its message says why
        from pipeline.core.baseline import BaselineError
        from pipeline.measures.reader import MeasuresError

        if not isinstance(exc, (BaselineError, MeasuresError)):
            raise
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{config.name}: {summary.executed} task(s) run, {summary.skipped} skipped "
        f"(already finished), {len(summary.failed)} failed, {summary.seconds:.1f} s"
    )
    if summary.touched_tiles is not None:
        click.echo(
            f"  on baseline {config.inputs.baseline}: {len(summary.touched_tiles)} tile(s) "
            f"recomputed ({', '.join(summary.touched_tiles) or 'none'}), "
            f"{summary.executed} task(s) recomputed, {summary.from_baseline} taken from the "
            f"baseline without copying"
        )
    for stage, seconds in summary.stage_seconds.items():
        click.echo(f"  {stage:<20} {seconds:8.1f} s")
    for failure in summary.failed:
        click.echo(f"  FAILED {failure['stage']} {failure['tile']}: {failure['error']}", err=True)
    click.echo(f"outputs in {summary.output} (manifest: {summary.output / 'manifest.json'})")
    if summary.failed and summary.executed == len(summary.failed):
        sys.exit(1)


@main.command()
@click.argument("definition", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--keys",
    "keys_table",
    is_flag=True,
    help="Print the table of every run-definition key (docs/run-definition.md's) instead.",
)
def validate(definition: Path | None, keys_table: bool) -> None:
    """Check a run definition and print it with every default filled in."""
    if keys_table:
        from pipeline.core.keys import keys_markdown
        from pipeline.stages import run_definition

        click.echo(keys_markdown(run_definition()))
        return
    if definition is None:
        raise click.UsageError("give a run definition (or --keys)")
    import yaml

    config = _load(definition)
    click.echo(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True))


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--crs", help="CRS of a LAS/LAZ file whose header names none.")
def info(path: Path, crs: str | None) -> None:
    """Summarise a CityGML file/folder/zip or a LAS/LAZ file."""
    if path.suffix.lower() in LIDAR_SUFFIXES:
        from pipeline.lidar import LidarError, summarize_lidar_file

        try:
            click.echo(summarize_lidar_file(path, source_crs=crs).format())
        except LidarError as exc:
            raise click.ClickException(str(exc)) from None
        return
    from pipeline.commands.info import citygml_info

    result = citygml_info(path)
    click.echo(result.format())
    if result.rejected:
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
