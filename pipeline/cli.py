"""The ``machi`` command line."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
import yaml

from pipeline.config import RunDefinitionError, load_run_definition

LIDAR_SUFFIXES = {".las", ".laz"}


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Dask's own INFO chatter (nannies, comms) drowns what Machi says; keep its warnings.
    for noisy in ("distributed", "dask", "tornado", "numba", "fiona", "rasterio", "pyogrio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _parse_overrides(values: tuple[str, ...]) -> dict:
    overrides = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not key=value", param_hint="--set")
        key, value = item.split("=", 1)
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="machi")
def main() -> None:
    """Machi: shade, people flow and walkability for Japanese cities."""


@main.command()
@click.argument("definition", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="Run on an existing Dask cluster instead of a local one.")
@click.option("--workers", type=int, help="Worker processes of the local cluster.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a run-definition key, e.g. --set stages.surface.resolution=2")
@click.option("--no-progress", is_flag=True, help="Hide progress bars (logs only).")
@click.option("-v", "--verbose", count=True, help="-v for INFO logs, -vv for DEBUG.")
def run(definition: Path, scheduler: str | None, workers: int | None, overrides: tuple[str, ...],
        no_progress: bool, verbose: int) -> None:
    """Run the stages of a run definition (YAML) on a Dask cluster."""
    from pipeline.runner import run as run_definition

    _setup_logging(max(verbose, 1))
    try:
        config = load_run_definition(definition, _parse_overrides(overrides))
    except RunDefinitionError as exc:
        raise click.ClickException(str(exc)) from None
    summary = run_definition(config, scheduler=scheduler, workers=workers,
                             progress=not no_progress)
    click.echo(f"{config.name}: {summary.executed} task(s) run, {summary.skipped} skipped "
               f"(already finished), {len(summary.failed)} failed, {summary.seconds:.1f} s")
    for stage, seconds in summary.stage_seconds.items():
        click.echo(f"  {stage:<14} {seconds:8.1f} s")
    for failure in summary.failed:
        click.echo(f"  FAILED {failure['stage']} {failure['tile']}: {failure['error']}", err=True)
    click.echo(f"outputs in {summary.output} (manifest: {summary.output / 'manifest.json'})")
    if summary.failed and summary.executed == len(summary.failed):
        sys.exit(1)


@main.command()
@click.argument("definition", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate(definition: Path) -> None:
    """Check a run definition and print it with every default filled in."""
    try:
        config = load_run_definition(definition)
    except RunDefinitionError as exc:
        raise click.ClickException(str(exc)) from None
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
    from pipeline.info import citygml_info
    result = citygml_info(path)
    click.echo(result.format())
    if result.rejected:
        sys.exit(1)


def _register_commands() -> None:
    from pipeline.export.tiles_command import export_tiles_command
    main.add_command(export_tiles_command)


_register_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
