"""`tac search rank` and `tac search anchor`: the search engine from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tac.cli_options import console, err
from tac.errors import TacError
from tac.search.defaults import DEFAULT_COVERAGE, DEFAULT_MAX_INFLATE_S, DEFAULT_MIN_ANCHORS

app = typer.Typer(
    help="Rank candidates against authoritative anchors, with bands and refusals.",
    no_args_is_help=True,
)


def _axis(text: str | None):
    from tac.search.rank import Axis

    if text is None:
        return None
    runner, sep, weights = text.partition("/")
    if not sep or runner not in ("cpu", "cuda") or not weights:
        raise TacError(f"--axis {text!r}: write RUNNER/WEIGHTS, e.g. cpu/official")
    return Axis(runner, weights)


def _coverage(value: float) -> float:
    from tac.search.band import coverage_problem  # numpy: loaded when the option is parsed

    if problem := coverage_problem(value):
        raise TacError(f"--coverage {value:g}: {problem}")
    return value


Coverage = Annotated[
    float,
    typer.Option(
        "--coverage", callback=_coverage, help="Score-band coverage, above 0.5 and below 1."
    ),
]


@app.command("rank")
def rank_cmd(
    anchors: Annotated[
        Path, typer.Option("--anchors", help="JSON list of Anchor records (`tac search anchor`).")
    ],
    candidates: Annotated[
        Path | None,
        typer.Option(
            "--candidates", help="JSON list of Candidate records to rank instead of generating."
        ),
    ] = None,
    generator: Annotated[str, typer.Option(help="grid, random or refine.")] = "grid",
    n: Annotated[int, typer.Option(help="Candidates to draw (random).", min=1)] = 1000,
    seed: Annotated[int, typer.Option(help="Seed (random).")] = 0,
    top: Annotated[int, typer.Option(help="Rows to show.", min=1)] = 20,
    coverage: Coverage = DEFAULT_COVERAGE,
    min_anchors: Annotated[
        int, typer.Option(help="Refuse everything below this many anchors.", min=2)
    ] = DEFAULT_MIN_ANCHORS,
    max_bytes: Annotated[float | None, typer.Option(help="Archive bytes cap.")] = None,
    max_inflate_s: Annotated[
        float, typer.Option(help="Inflate-time cap (s, 4-core CPU runner).")
    ] = DEFAULT_MAX_INFLATE_S,
    max_cost: Annotated[
        float | None, typer.Option(help="Per-job cost cap (in --price-per-hour units).")
    ] = None,
    price_per_hour: Annotated[
        float, typer.Option(help="What an hour of the job's machine costs.")
    ] = 0.0,
    risk: Annotated[
        float,
        typer.Option(help="0 = rank by the band's middle, 1 = by its upper end.", min=0, max=1),
    ] = 0.5,
    axis: Annotated[
        str | None, typer.Option(help="RUNNER/WEIGHTS when the anchors span several.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write every ranked Candidate record here.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the top rows as JSON records.")
    ] = False,
) -> None:
    """Rank candidates: predicted score band, rank key, and the reason for every refusal.

    Bands are estimates from the anchors (split-conformal at --coverage), never measurements.
    """  # fmt: skip
    from tac.records import Anchor, Candidate, load_records, save_records
    from tac.search import Caps, CostModel, MetaLagrangianSearch, generate, rank
    from tac.search.rank import Axis
    from tac.search.space import CandidateTable

    anchor_list = load_records(Anchor, anchors)
    cand_axis = None
    if candidates is not None:
        cands = load_records(Candidate, candidates)
        if not cands:
            raise TacError(f"{candidates}: no candidates in the file")
        axes = {Axis(c.runner_axis, c.weights) for c in cands}
        if len(axes) > 1:
            raise TacError(f"{candidates}: candidates on {len(axes)} axes; rank one axis at a time")
        cand_axis = axes.pop()
        try:
            table = CandidateTable.from_params([c.params for c in cands])
        except ValueError as exc:
            raise TacError(f"{candidates}: {exc}") from None
        exact = [c.predicted_bytes if c.bytes_exact else float("nan") for c in cands]
        table.exact_bytes[:] = exact
    else:
        lanes = sorted({a.lane for a in anchor_list if a.lane}) or ["codec"]
        table = generate(generator, lanes=lanes, n=n, seed=seed, anchors=anchor_list)
    search = MetaLagrangianSearch(Caps(max_bytes, max_inflate_s, max_cost), risk=risk)
    ranking = rank(
        anchor_list, table, axis=_axis(axis), search=search, cost=CostModel(price_per_hour=price_per_hour),
        coverage=coverage, min_anchors=min_anchors, candidates_axis=cand_axis,
    )  # fmt: skip
    rows = ranking.top(top)
    if out is not None:
        save_records(ranking.top(), out)
    if as_json:
        console.print_json(json.dumps([json.loads(c.model_dump_json()) for c in rows]))
        return
    _print(ranking, rows)
    if not ranking.eligible:  # say which setting, changed alone, would admit candidates
        from tac.search.hints import admitting

        hints = admitting(ranking, anchor_list, table, coverage=coverage, min_anchors=min_anchors,
                          axis=_axis(axis), cost=CostModel(price_per_hour=price_per_hour), candidates_axis=cand_axis)  # fmt: skip
        words = {"max_cost": "--max-cost", "max_inflate_s": "--max-inflate-s"}
        for hint in hints:
            console.print(f"nothing is eligible: {hint.words(words)}", highlight=False)


def _print(ranking, rows) -> None:
    cal = ranking.bands.calibration
    console.print(
        f"{len(ranking.table):,} candidates on axis {escape(str(ranking.axis))}: {ranking.eligible:,} eligible. "
        f"Bands are ESTIMATES: split-conformal {cal.coverage:.0%} from {cal.n} held-out anchor residuals; "
        "~ marks predicted bytes.",
        highlight=False,
    )
    table = Table(show_edge=False, pad_edge=False, box=None)
    table.add_column("#", justify="right")
    table.add_column("candidate", no_wrap=True)
    table.add_column("score band: mid (lo–hi)", justify="right", no_wrap=True)
    table.add_column("bytes", justify="right", no_wrap=True)
    table.add_column("inflate", justify="right", no_wrap=True)
    table.add_column("status", overflow="fold", min_width=12)
    inflate = ranking.values["inflate_s"]
    for pos, (row, c) in enumerate(zip(ranking.order, rows, strict=False), start=1):
        band = f"{c.band.mid:.3f} ({c.band.lo:.2f}–{c.band.hi:.2f})" if c.band else "—"
        nbytes = (
            f"{c.predicted_bytes:,}{'' if c.bytes_exact else '~'}" if c.predicted_bytes else "—"
        )
        status = "[green]ready[/]" if c.ready else f"[red]{c.refusal.code}[/]"
        table.add_row(str(pos), c.id, band, nbytes, f"{inflate[row] / 60:.1f} m", status)
    # Piped output gets a fixed, wide layout instead of the 80 columns rich assumes.
    (console if console.is_terminal else Console(width=150, soft_wrap=True)).print(table)
    reasons = {c.refusal.code: c.refusal.message for c in rows if c.refusal}
    for code, message in reasons.items():
        console.print(f"  [red]{code}[/]: {escape(message)}", highlight=False)
    for gate, alive, refused in ranking.ladder.summary():
        why = ", ".join(f"{k} {v:,}" for k, v in refused.items()) or "none refused"
        console.print(f"  gate {gate:<17} {alive:>9,} pass   ({why})", highlight=False)


@app.command("anchor")
def anchor_cmd(
    result: Annotated[
        Path, typer.Argument(help="result.json of an exact evaluation (`tac eval`).")
    ],
    anchors: Annotated[
        Path, typer.Option("--anchors", help="Anchors file to add to (created if missing).")
    ],
    submission: Annotated[
        Path | None,
        typer.Option(
            "--submission",
            help="The evaluated submission (its tac_submission.json gives the setting).",
        ),
    ] = None,
    lossless: Annotated[
        bool, typer.Option(help="The result is a lossless/identity submission (a floor).")
    ] = False,
) -> None:
    """Add an authoritative evaluation to an anchors file. Estimates are refused."""  # fmt: skip
    from tac.records import Anchor, EvalResult, load_record, load_records, save_records

    res = load_record(EvalResult, result)
    params = None if lossless else _submission_params(submission)
    new = Anchor.from_result(res, params)
    existing = load_records(Anchor, anchors) if anchors.exists() else []
    if any(a.archive_sha256 == new.archive_sha256 and a.weights == new.weights for a in existing):
        raise TacError(
            f"{anchors}: already holds an anchor for archive {new.archive_sha256[:12]}… on these weights"
        )
    save_records([*existing, new], anchors)
    err.print(f"added anchor {new.id} (score {new.score:.4f}, {escape(new.weights)}); {len(existing) + 1} anchors in {anchors}")  # fmt: skip


def _submission_params(submission: Path | None):
    from tac.lanes import LANES

    if submission is None:
        raise TacError("--submission DIR is needed to know the setting (or pass --lossless)")
    manifest_path = submission / "tac_submission.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise TacError(f"{manifest_path}: cannot read the submission's manifest ({exc})") from None
    lane = manifest.get("lane")
    if lane not in LANES:
        raise TacError(f"{manifest_path}: lane {lane!r} is not a searchable lane ({', '.join(LANES.names())}); anchor it with --lossless if it is an identity/lossless submission")  # fmt: skip
    try:
        return LANES.get(lane).params_from_manifest(manifest)
    except (KeyError, TypeError, ValueError) as exc:
        raise TacError(f"{manifest_path}: not a manifest the {lane} lane wrote ({exc})") from None
