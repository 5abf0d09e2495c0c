"""Benchmark `actors` against Huey, RQ, Dramatiq, Celery, Procrastinate, taskito and DBOS.

Run through ``scripts/bench-peers`` (which builds the peers' virtual environment
and runs this file with its Python). Every phase of every system runs in a fresh
subprocess (``peers/driver.py``), interleaved run by run; ``actors`` phases run
with the project's Python (``--actors-python``), the peers' with this one.

Writes ``results/latest.json``, ``results/latest.md`` and ``results/latest.png``.
See ``README.md`` for what each phase measures.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from peers.driver import ACTORS_SYSTEMS, LATENCY_RATE, SYSTEMS  # noqa: E402

PEERS = ["huey_sqlite", "huey_redis", "rq_simple", "dramatiq_redis", "celery_redis", "procrastinate_pg"]
PEERS += ["taskito_sqlite", "dbos_sqlite"]
ACTORS_PG = ["actors_pg1", "actors_pg2", "actors_pg3"]  # phase E not implemented for them (skipped)
DEFAULT_SYSTEMS = ["actors", "actors_full", "actors_remote", *ACTORS_PG, *PEERS]
TABLE_SYSTEMS = {"actors", "actors_full", "actors_remote", "huey_sqlite", "procrastinate_pg"}

# (metric key, label, unit, higher is better)
HEADLINE: list[tuple[str, str, str, bool]] = [
    ("A.enqueue_rate", "A enqueue, one by one", "tasks/s", True),
    ("A.enqueue_bulk_rate", "A enqueue, bulk", "tasks/s", True),
    ("A.drain_rate", "A backlog drain", "tasks/s", True),
    ("B.e2e_rate", "B end to end", "tasks/s", True),
    ("C.p50_ms", "C latency p50", "ms", False),
    ("C.p99_ms", "C latency p99", "ms", False),
    ("D.peak_rss_mb", "D peak RSS, worker side", "MB", False),
    ("E.A.drain_rate", "E backlog drain, prefilled table", "tasks/s", True),
    ("E.B.e2e_rate", "E end to end, prefilled table", "tasks/s", True),
]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def machine_info(actors_python: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python_peers": platform.python_version(),
    }
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as f:
        info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    with contextlib.suppress(OSError, StopIteration, ValueError), open("/proc/meminfo") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("MemTotal"))
        info["memory_gb"] = round(kb / 2**20, 1)
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            [actors_python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        info["python_actors"] = out.stdout.strip()
    return info


def phase_timeout(workload: str, n: int, prefill: int, quick: bool) -> float:
    """A safety net only: the driver has its own, tighter limits on every wait."""
    base = 600.0 + n * 0.2
    if workload == "E":
        base += prefill * 0.01
    return base


def run_driver(
    python: str, system: str, workload: str, args: argparse.Namespace, workdir: Path, logfile: Path
) -> dict[str, Any]:
    env = dict(os.environ)
    path = [str(HERE)]
    if system in ACTORS_SYSTEMS:
        path.append(str(REPO))  # `actors` importable even without `pip install -e .`
    env["PYTHONPATH"] = os.pathsep.join([*path, *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    argv = [
        python,
        "-m",
        "peers.driver",
        "--system",
        system,
        "--phase",
        workload,
        "--n",
        str(args.n),
        "--workers",
        str(args.workers),
        "--prefill",
        str(args.prefill),
        "--workdir",
        str(workdir),
    ]
    if args.quick:
        argv.append("--quick")
    timeout = phase_timeout(workload, args.n, args.prefill, args.quick)
    with open(logfile, "wb") as err:
        proc = subprocess.Popen(
            argv,
            cwd=HERE,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
        except BaseException:
            # Timeout or Ctrl-C: SIGTERM lets the driver stop its workers; then kill its process group.
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=40)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            if sys.exc_info()[0] is subprocess.TimeoutExpired:
                return {
                    "system": system,
                    "phase": workload,
                    "ok": False,
                    "error": f"phase did not finish within {timeout:.0f} s",
                }
            raise
        finally:
            # Anything left in the driver's process group (workers of a crashed driver).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
    for line in reversed(out.decode(errors="replace").splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    return {
        "system": system,
        "phase": workload,
        "ok": False,
        "error": f"driver exited {proc.returncode} without a result (log: {logfile})",
    }


def summarise(values: list[float]) -> dict[str, Any]:
    return {"runs": values, "median": statistics.median(values), "min": min(values), "max": max(values)}


def fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def ratio(mine: float, theirs: float) -> str:
    value = mine / theirs
    return f"{value:.2f}" if value >= 0.1 else f"{value:.2g}"


def write_markdown(report: dict[str, Any], path: Path) -> None:
    results: dict[str, dict[str, Any]] = report["results"]
    systems = [s for s in report["config"]["systems"] if s in results or s in report["failed_counts"]]
    metrics = [m for m in HEADLINE if any(m[0] in results.get(s, {}) for s in systems)]
    cfg = report["config"]
    mach = report["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"{mach['date']} · {mach.get('cpu_model', '?')} · {mach['cpu_count']} CPUs · "
        f"{mach.get('memory_gb', '?')} GB · {mach['platform']} · Python {mach.get('python_actors', '?')} "
        f"(actors) / {mach['python_peers']} (peers)",
        "",
        f"N = {cfg['n']:,}, {cfg['workers']} worker processes, {cfg['runs']} run(s) each, interleaved; "
        f"phases {','.join(cfg['phases'])}{' (quick)' if cfg['quick'] else ''}. "
        + (
            "Cells: the one run's figure (failed runs are marked, not counted)."
            if cfg["runs"] == 1
            else "Cells: median (min–max) over the runs that passed verification."
        ),
        *(
            [
                "",
                f"Phase E table prefilled with {cfg['prefill']:,} finished + {cfg['prefill']:,} future rows.",
            ]
            if cfg.get("prefill")
            else []
        ),
        "",
        "| system | "
        + " | ".join(f"{label} ({unit}, {'↑' if up else '↓'})" for _, label, unit, up in metrics)
        + " |",
        "|---|" + "---:|" * len(metrics),
    ]
    one_run = cfg["runs"] == 1
    for system in systems:
        cells = []
        for key, *_ in metrics:
            fails = report["failed_counts"].get(system, {}).get(key.split(".")[0], 0)
            stat = results.get(system, {}).get(key)
            cell = "–"
            if stat:
                cell = fmt(stat["median"])
                if not one_run:
                    cell += f" ({fmt(stat['min'])}–{fmt(stat['max'])})"
            if fails:
                cell = f"{cell} FAILED×{fails}" if stat else f"FAILED×{fails}"
            cells.append(cell)
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Versions: " + "; ".join(f"{s}: {report['versions'][s]}" for s in systems if s in report["versions"]),
    ]
    short = [
        f"{s} ({fmt(results[s]['C.offered_rate']['min'])}/s)"
        for s in systems
        if "C.offered_rate" in results.get(s, {}) and results[s]["C.offered_rate"]["min"] < 0.9 * LATENCY_RATE
    ]
    if short:
        lines += [
            "",
            f"Phase C: the producer could not sustain {LATENCY_RATE} tasks/s one by one for: "
            + ", ".join(short)
            + " (latency is still enqueue → start of each task).",
        ]
    behind = [
        f"{s} ({fmt(results[s]['C.served_rate']['median'])}/s)"
        for s in systems
        if "C.served_rate" in results.get(s, {})
        and results[s]["C.served_rate"]["median"] < 0.9 * results[s]["C.offered_rate"]["median"]
    ]
    if behind:
        lines += [
            "",
            "Phase C: these systems ran tasks more slowly than the producer offered them, so a backlog grew "
            "for the whole phase and their latency measures that backlog: " + ", ".join(behind) + ".",
        ]
    for variant in (s for s in systems if s in ACTORS_SYSTEMS):
        peers = [s for s in systems if s not in ACTORS_SYSTEMS]
        if not peers or variant not in results:
            continue
        lines += [
            "",
            f"## Ratio {variant} ÷ peer (medians)",
            "",
            "Above 1 is better for `actors` where ↑, below 1 is better where ↓.",
            "",
            "| peer | " + " | ".join(f"{label} {'↑' if up else '↓'}" for _, label, _, up in metrics) + " |",
            "|---|" + "---:|" * len(metrics),
        ]
        for peer in peers:
            cells = []
            for key, *_ in metrics:
                mine, theirs = results[variant].get(key), results.get(peer, {}).get(key)
                ok = mine and theirs and theirs["median"]
                cells.append(ratio(mine["median"], theirs["median"]) if ok else "–")
            lines.append(f"| {peer} | " + " | ".join(cells) + " |")
    if report["failures"]:
        lines += ["", "## Failed runs (lost, duplicated or stalled tasks; not counted above)", ""]
        lines += [
            f"- {f['system']} phase {f['phase']} run {f['run']}: {f.get('error')}" for f in report["failures"]
        ]
    path.write_text("\n".join(lines) + "\n")


def write_chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results: dict[str, dict[str, Any]] = report["results"]
    systems = [s for s in report["config"]["systems"] if s in results]
    metrics = [m for m in HEADLINE if any(m[0] in results[s] for s in systems)]
    if not metrics:
        return
    cols = 3
    rows = (len(metrics) + cols - 1) // cols
    fig, axes = plt.subplots(
        rows, cols, figsize=(5.2 * cols, 0.42 * len(systems) * rows + 1.6 * rows), squeeze=False
    )
    for ax, (key, label, unit, up) in zip(axes.flat, metrics, strict=False):
        names = [s for s in systems if key in results[s]]
        med = [results[s][key]["median"] for s in names]
        lo = [results[s][key]["median"] - results[s][key]["min"] for s in names]
        hi = [results[s][key]["max"] - results[s][key]["median"] for s in names]
        colors = ["#d95f02" if s in ACTORS_SYSTEMS else "#7570b3" for s in names]
        ypos = range(len(names))
        ax.barh(ypos, med, xerr=[lo, hi], color=colors, capsize=3)
        ax.set_yticks(list(ypos), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(f"{label} ({'higher' if up else 'lower'} is better)", fontsize=9)
        ax.set_xlabel(unit + (" (log scale)" if unit == "ms" else ""), fontsize=8)
        if unit == "ms" and min(med) > 0:
            ax.set_xscale("log")
        ax.tick_params(axis="x", labelsize=7)
        for y, value in zip(ypos, med, strict=True):
            ax.text(value, y, f" {fmt(value)}", va="center", fontsize=7)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    cfg = report["config"]
    fig.suptitle(
        f"actors vs peers: N={cfg['n']:,}, {cfg['workers']} workers, median of {cfg['runs']} run(s) "
        f"(bars: min–max) — {report['machine']['date']}",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="tasks per phase (default 10,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per system and phase (default 3)")
    parser.add_argument(
        "--systems",
        default=",".join(DEFAULT_SYSTEMS),
        help=f"comma list (default all: {','.join(DEFAULT_SYSTEMS)})",
    )
    parser.add_argument(
        "--phases",
        default="A,B,C,D",
        help="comma list of A,B,C,D,E (default A,B,C,D; E is slow: 2M-row prefill)",
    )
    parser.add_argument("--quick", action="store_true", help="short latency phase (2 s instead of 10 s)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per system (default 2)")
    parser.add_argument(
        "--prefill",
        type=int,
        default=1_000_000,
        help="phase E: finished rows and future rows each (default 1,000,000)",
    )
    parser.add_argument(
        "--actors-python", default="python3", help="interpreter with `actors` installed (default python3)"
    )
    parser.add_argument("--peers-python", default=sys.executable, help="interpreter with the peers installed")
    parser.add_argument("--out", default=str(HERE / "results"), help="output folder")
    parser.add_argument(
        "--workdir", default="/var/tmp/actors-bench", help="scratch folder (SQLite files, logs)"
    )
    parser.add_argument("--keep-workdir", action="store_true")
    args = parser.parse_args(argv)

    # SIGTERM and Ctrl-C (even if inherited as ignored) stop the current phase cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS]
    phases = [p.strip().upper() for p in args.phases.split(",") if p.strip()]
    if unknown or not set(phases) <= set("ABCDE") or args.runs < 1 or args.n < 1:
        parser.error(f"unknown systems {unknown}, or bad --phases/--runs/--n; systems: {', '.join(SYSTEMS)}")
    # D (memory) is sampled while workload B runs, so D needs a B run.
    workloads = [w for w in ("A", "B", "C", "E") if w in phases or (w == "B" and "D" in phases)]

    # One benchmark at a time on a machine: the peers' Redis databases are shared.
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    lock = open(Path(args.workdir) / ".lock", "w")  # noqa: SIM115 (held until exit)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        parser.error(f"another benchmark is running (lock {args.workdir}/.lock)")
    base = Path(args.workdir) / time.strftime("%Y%m%d-%H%M%S")
    base.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "machine": machine_info(args.actors_python),
        "config": {
            "n": args.n,
            "runs": args.runs,
            "systems": systems,
            "phases": phases,
            "quick": args.quick,
            "workers": args.workers,
            "prefill": args.prefill if "E" in phases else 0,
        },
        "versions": {},
        "results": {},
        "failures": [],
        "failed_counts": {},
        "raw": [],
    }
    values: dict[str, dict[str, list[float]]] = {}
    interrupted = False
    log(f"systems {systems}, workloads {workloads}, n={args.n}, runs={args.runs}; logs in {base}")
    try:
        for run in range(args.runs):
            order = systems[run % len(systems) :] + systems[: run % len(systems)]  # rotate the start
            for system in order:
                python = args.actors_python if system in ACTORS_SYSTEMS else args.peers_python
                for workload in workloads:
                    if workload == "E" and system not in TABLE_SYSTEMS:
                        continue
                    tag = f"{run}-{system}-{workload}"
                    started = time.monotonic()
                    result = run_driver(python, system, workload, args, base / tag, base / f"{tag}.log")
                    result["run"] = run
                    report["raw"].append(result)
                    if "version" in result:
                        report["versions"][system] = result["version"]
                    took = time.monotonic() - started
                    if not result.get("ok"):
                        log(f"run {run} {system} {workload}: FAILED in {took:.0f} s: {result.get('error')}")
                        report["failures"].append(
                            {
                                "system": system,
                                "phase": workload,
                                "run": run,
                                "error": result.get("error"),
                                "checks": result.get("checks"),
                            }
                        )
                        counts = report["failed_counts"].setdefault(system, {})
                        for ph in ["B", "D"] if workload == "B" else [workload]:
                            counts[ph] = counts.get(ph, 0) + 1
                        continue
                    metrics: dict[str, float] = result.get("metrics", {})
                    if workload == "B":
                        metrics = {k: v for k, v in metrics.items() if "B" in phases or k == "B.peak_rss_mb"}
                        if "D" in phases and "B.peak_rss_mb" in metrics:
                            metrics["D.peak_rss_mb"] = metrics["B.peak_rss_mb"]
                    for key, value in metrics.items():
                        values.setdefault(system, {}).setdefault(key, []).append(value)
                    shown = ", ".join(
                        f"{k}={fmt(v)}"
                        for k, v in metrics.items()
                        if k in dict.fromkeys(m[0] for m in HEADLINE)
                        or k.endswith("drain_s")
                        or k.endswith("e2e_s")
                    )
                    log(f"run {run} {system} {workload}: ok in {took:.0f} s: {shown}")
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: writing what was measured so far")
    finally:
        report["results"] = {s: {k: summarise(v) for k, v in sorted(m.items())} for s, m in values.items()}
        try:
            (out / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
            write_markdown(report, out / "latest.md")
            try:
                write_chart(report, out / "latest.png")
            except Exception as exc:  # a chart problem must not lose the figures
                log(f"chart not written: {exc}")
        finally:
            if not args.keep_workdir and not report["failures"] and not interrupted:
                shutil.rmtree(base, ignore_errors=True)
        log(
            f"wrote {out / 'latest.json'}, latest.md, latest.png"
            + (f"; logs kept in {base}" if base.exists() else "")
        )
    return 130 if interrupted else 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
