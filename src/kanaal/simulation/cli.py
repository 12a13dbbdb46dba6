"""`kanaal simulate`: run scenarios against the real decision engine and report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.status import Status

from kanaal.simulation.world import SCENARIOS

app = typer.Typer(help="Simulate retail days against the decision engine.")


def simulate(
    scenario: Annotated[list[str] | None, typer.Argument(
        help=f"scenario names ({', '.join(SCENARIOS)}) or TOML files; default: all")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed (default: the scenario's)")
                    ] = None,
    hours: Annotated[str | None, typer.Option(
        help="simulate only these hours of each day, e.g. 10-16 (a shorter run)")] = None,
    http: Annotated[str | None, typer.Option(
        help="drive a running server at this URL instead of the engine in-process")] = None,
    key: Annotated[str | None, typer.Option(
        envvar="KANAAL_SIM_KEY", help="API key for --http (secret or write key)")] = None,
    html_dir: Annotated[Path, typer.Option("--html-dir", help="where HTML reports go")
                        ] = Path("var/simulation"),
    json_out: Annotated[Path | None, typer.Option("--json", help="write the figures as JSON")
                        ] = None,
) -> None:
    """Run scenarios under every policy and print the report (HTML beside it)."""
    from kanaal.simulation.report import checks, html_report, print_report, rows
    from kanaal.simulation.runner import POLICIES, run_scenario
    from kanaal.simulation.world import load_scenario

    console = Console()
    if http and not key:
        raise typer.BadParameter("--http needs --key (or KANAAL_SIM_KEY)")
    names = scenario or list(SCENARIOS)
    html_dir.mkdir(parents=True, exist_ok=True)
    summary = {}
    for name in names:
        try:
            chosen = load_scenario(name)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        if hours:
            start, _, end = hours.partition("-")
            chosen = chosen.window(int(start), int(end))
        policies = ("never", "oracle", "kanaal") if http else POLICIES
        with console.status(f"{chosen.name}: simulating") as status:
            def progress(policy: str, status: Status = status, name: str = chosen.name) -> None:
                status.update(f"{name}: {policy}")

            run = run_scenario(chosen, seed=seed, policies=policies, http=http, http_key=key,
                               progress=progress)
        print_report(run, console)
        path = html_dir / f"{chosen.name}.html"
        path.write_text(html_report(run), encoding="utf-8")
        console.print(f"HTML report: {path}")
        summary[chosen.name] = {"seed": run.seed, "rows": rows(run),
                                "checks": [c.__dict__ for c in checks(run)]}
    if json_out:
        json_out.write_text(json.dumps(summary, indent=2), encoding="utf-8")


app.command("simulate")(simulate)
