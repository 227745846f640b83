"""`tac lossless compress|decompress|info`: the container from the command line.

Library calls do the work; this module parses sizes, guards existing outputs, shows progress for
big inputs and prints one summary line. User errors are TacErrors (the main CLI prints them as
one `error:` line and exits 2).
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from tac.cli_options import AsJson
from tac.errors import TacError
from tac.lossless import (
    CHOICES,
    DEFAULT_CHUNK_SIZE,
    Report,
    compress_file,
    decompress_file,
    inspect_file,
)

SUFFIX = ".tacl"
PROGRESS_THRESHOLD = 64 << 20  # below this a run takes seconds; a bar would only flicker

app = typer.Typer(
    help="Lossless container: each chunk compressed with whichever of zlib, lzma, bz2, brotli "
    "and zstd is smallest, with CRCs and a SHA-256 verified on the way back.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_err = Console(stderr=True)

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "ki": 1 << 10,
    "kib": 1 << 10,
    "kb": 10**3,
    "m": 1 << 20,
    "mi": 1 << 20,
    "mib": 1 << 20,
    "mb": 10**6,
    "g": 1 << 30,
    "gi": 1 << 30,
    "gib": 1 << 30,
    "gb": 10**9,
}


def parse_size(text: str) -> int:
    """'4MiB', '4M' and '512k' are binary, '4MB' decimal, a bare number is bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = m and m.group(2).lower()
    if not m or unit not in _UNITS:
        raise TacError(f"--chunk-size {text!r}: use bytes or a size such as 4MiB, 512KiB, 1MB")
    return int(float(m.group(1)) * _UNITS[unit])


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _check_paths(src: Path, dst: Path, force: bool) -> None:
    if not src.exists():
        raise TacError(f"{src}: no such file")
    if src.is_dir():
        raise TacError(f"{src}: is a directory, expected a file")
    if dst.is_dir():
        raise TacError(f"{dst}: is a directory; give an output file name with -o")
    if dst.exists() and not force:
        raise TacError(f"{dst} already exists; pass --force to overwrite it")


@contextmanager
def _progress(total: int, label: str):
    """A byte-progress callback; a rich bar on stderr only for inputs worth watching."""
    if total < PROGRESS_THRESHOLD:
        yield None
        return
    with Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=_err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _codec_summary(report: Report) -> str:
    return ", ".join(f"{name} {use.chunks}" for name, use in sorted(report.codecs.items()))


def _speed(report: Report) -> str:
    return f"{report.raw_size / max(report.seconds, 1e-9) / 1e6:.1f} MB/s"


Force = Annotated[bool, typer.Option("--force", "-f", help="Overwrite an existing output.")]


@app.command()
def compress(
    src: Annotated[Path, typer.Argument(help="File to compress.", show_default=False)],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help=f"Output file (default: IN{SUFFIX}; any name works, e.g. OUT.tac).",
        ),
    ] = None,
    codec: Annotated[
        str,
        typer.Option(
            "--codec",
            "-c",
            help=f"One of {', '.join(CHOICES)}. auto: fast, picks per chunk from a sample; "
            "exhaustive: every codec at its strongest on every chunk (smallest, slow).",
        ),
    ] = "auto",
    level: Annotated[
        int | None, typer.Option("--level", help="Codec level (single codec only).")
    ] = None,
    chunk_size: Annotated[
        str, typer.Option("--chunk-size", help="Chunk size: bytes, or e.g. 4MiB, 512KiB.")
    ] = "4MiB",
    force: Force = False,
) -> None:
    """Compress IN into a .tacl container."""
    dst = output or src.with_name(src.name + SUFFIX)
    _check_paths(src, dst, force)
    size = parse_size(chunk_size) if chunk_size else DEFAULT_CHUNK_SIZE
    with _progress(src.stat().st_size, "compressing") as progress:
        report = compress_file(src, dst, codec, level, size, progress=progress)
    typer.echo(
        f"{src} -> {dst}: {human(report.raw_size)} -> {human(report.stored_size)} "
        f"(ratio {report.ratio:.3f}) in {report.seconds:.2f} s, {_speed(report)}; "
        f"chunks: {_codec_summary(report) or 'none'}"
    )


@app.command()
def decompress(
    src: Annotated[Path, typer.Argument(help="A .tacl file.", show_default=False)],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help=f"Output file (default: IN without its {SUFFIX} or .tac)."
        ),
    ] = None,
    force: Force = False,
) -> None:
    """Verify and decompress a .tacl container; nothing is written unless all checks pass."""
    if output is None:
        if src.suffix not in (SUFFIX, ".tac"):  # .tac: the original tac's spelling
            raise TacError(
                f"{src}: name does not end in {SUFFIX} (or .tac); give the output with -o"
            )
        output = src.with_suffix("")
    _check_paths(src, output, force)
    with _progress(inspect_file(src).raw_size, "decompressing") as progress:
        report = decompress_file(src, output, progress=progress)
    typer.echo(
        f"{src} -> {output}: {human(report.stored_size)} -> {human(report.raw_size)} "
        f"in {report.seconds:.2f} s, {_speed(report)}; sha256 {report.sha256[:16]}... verified"
    )


@app.command()
def info(
    src: Annotated[Path, typer.Argument(help="A .tacl file.", show_default=False)],
    as_json: AsJson = False,
) -> None:
    """Show a container's header, per-codec chunk counts and ratio (decodes nothing)."""
    if src.is_dir():
        raise TacError(f"{src}: is a directory, expected a file")
    r = inspect_file(src)
    if as_json:
        doc = {
            "file": str(src),
            "format_version": r.version,
            "chunk_size": r.chunk_size,
            "raw_size": r.raw_size,
            "stored_size": r.stored_size,
            "ratio": r.ratio,
            "chunks": r.chunks,
            "sha256": r.sha256,
            "codecs": {n: vars(u) for n, u in sorted(r.codecs.items())},
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    lines = [
        f"file        {src} ({human(r.stored_size)})",
        f"format      v{r.version}, chunk size {human(r.chunk_size)}",
        f"content     {r.raw_size} B ({human(r.raw_size)}) in {r.chunks} chunk"
        + ("" if r.chunks == 1 else "s"),
        f"ratio       {r.ratio:.3f} (raw / container)",
        f"sha256      {r.sha256}",
        f"{'codec':10s}  {'chunks':>7s}  {'raw B':>12s}  {'stored B':>12s}  {'ratio':>7s}",
    ]
    for name, use in sorted(r.codecs.items()):
        ratio = use.raw / use.stored if use.stored else 0.0
        lines.append(f"{name:10s}  {use.chunks:7d}  {use.raw:12d}  {use.stored:12d}  {ratio:7.3f}")
    typer.echo("\n".join(lines))
