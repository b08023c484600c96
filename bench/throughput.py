#!/usr/bin/env python3
"""Throughput benchmark: the real `cli.py migrate` pipeline against a naive baseline.

Generates (and caches under .bench/) a corpus in a SQLite source table, runs
`python cli.py migrate` into a fresh SQLite target (and PostgreSQL with
--pg-dsn), and in the same run measures a baseline: one process that reads
every document from the same source and fully parses it with
lxml.etree.fromstring, nothing else. Failed records are shown separately and
never counted as throughput. The last line is exactly:

    records_per_minute=<int> ratio_vs_parse=<float>

Example: python bench/throughput.py --count 10000 --profile realistic --mappers 2
         python bench/throughput.py --count 2000 --product rl   (recreational lending)

--product picks the product line: its generated corpus and its example
contract (cc: examples/credit_card, rl: examples/recreational_lending).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench"
CONTRACTS = {
    "cc": ROOT / "examples" / "credit_card" / "contract.json",
    "rl": ROOT / "examples" / "recreational_lending" / "contract.json",
}


def corpus(count: int, profile: str, seed: int, edge_share: float, product: str = "cc") -> Path:
    """The cached source database for these parameters (generated once)."""
    from xmlshred.generator.writers import run_generate

    CACHE.mkdir(exist_ok=True)
    prefix = "source" if product == "cc" else f"source-{product}"
    path = CACHE / f"{prefix}-{profile}-{count}-s{seed}-e{edge_share}.db"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        run_generate(count, f"sqlite:///{partial}", seed=seed, profile=profile, edge_share=edge_share,
                     product=product)
        partial.rename(path)
        print(f"generated {count} {profile} {product} documents in {time.perf_counter() - started:.1f}s -> {path}")
    return path


class TreeSampler:
    """Samples the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        import psutil

        self._root = psutil.Process(pid)
        self._interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                processes = [self._root] + self._root.children(recursive=True)
                total = 0
                for process in processes:
                    try:
                        total += process.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak_bytes = max(self.peak_bytes, total)
            except psutil.Error:
                pass
            self._stop.wait(self._interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def write_config(directory: Path, source: Path, target_url: str, args) -> Path:
    config = directory / "config.toml"
    config.write_text(
        "\n".join([
            "[source]", f'url = "sqlite:///{source}"', "",
            "[target]", f"url = {json.dumps(target_url)}", "",
            "[contract]", f'path = "{CONTRACTS[args.product]}"', "",
            "[actors]", f"mappers = {args.mappers}", f"max_in_flight = {args.max_in_flight}",
            f"batch_size = {args.batch_size}", "",
            "[flush]", f"max_records = {args.flush_records}", f"max_interval_ms = {args.flush_interval_ms}", "",
            "[log]", f'metrics = "{directory / "metrics.jsonl"}"', 'progress = "never"',
            'level = "INFO"', "report_every_s = 5", "",
            "[run]", 'now = "2025-06-01T12:00:00"', "",
        ]),
        encoding="utf-8",
    )
    return config


def run_pipeline(label: str, source: Path, target_url: str, args, workdir: Path) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    config = write_config(workdir, source, target_url, args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XMLSHRED__")}
    init = subprocess.run([sys.executable, str(ROOT / "cli.py"), "init-db", "--config", str(config)],
                          env=env, capture_output=True, text=True)
    if init.returncode != 0:
        raise SystemExit(f"init-db failed for {label}:\n{init.stderr[-2000:]}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(workdir / "migrate.log", "w") as log:
        process = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "migrate", "--config", str(config)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
        with TreeSampler(process.pid) as sampler:
            code = process.wait()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code not in (0, 3):
        raise SystemExit(f"migrate into {label} exited {code}; see {workdir / 'migrate.log'}")
    summary = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()
               if '"summary"' in line][-1]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    ok, failed, rows = summary["records_ok"], summary["records_failed"], summary.get("rows", 0)
    return {
        "label": label, "records": ok, "failed": failed, "seconds": seconds,
        "records_per_minute": ok / seconds * 60 if seconds else 0.0,
        "cpu_ms_per_record": cpu * 1000 / max(ok + failed, 1),
        "peak_rss_mb": sampler.peak_bytes / 2**20,
        "rows_per_second": rows / seconds if seconds else 0.0,
    }


def run_baseline(source: Path, table: str) -> dict:
    """Read every document from the same source and parse it whole with lxml: nothing else."""
    from lxml import etree

    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    connection = sqlite3.connect(source)
    parsed = failed = 0
    # The same raw bytes the pipeline's reader gets (no decode/encode round trip).
    for (document,) in connection.execute(f'SELECT CAST(app_xml AS BLOB) FROM "{table}" ORDER BY app_id'):
        try:
            etree.fromstring(document)
            parsed += 1
        except etree.XMLSyntaxError:
            failed += 1
    connection.close()
    seconds = time.perf_counter() - started
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage_after.ru_utime - usage_before.ru_utime) + (usage_after.ru_stime - usage_before.ru_stime)
    return {
        "label": "baseline: read + lxml.fromstring", "records": parsed, "failed": failed,
        "seconds": seconds, "records_per_minute": parsed / seconds * 60 if seconds else 0.0,
        "cpu_ms_per_record": cpu * 1000 / max(parsed + failed, 1),
        "peak_rss_mb": usage_after.ru_maxrss / 1024, "rows_per_second": 0.0,
    }


def print_table(results: list[dict]) -> None:
    header = (f"{'run':<34} {'records':>8} {'failed':>7} {'seconds':>8} {'rec/min':>9} {'CPU ms/rec':>10} "
              f"{'peak RSS MB':>11} {'rows/s':>9}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r['label']:<34} {r['records']:>8} {r['failed']:>7} {r['seconds']:>8.2f} "
              f"{r['records_per_minute']:>9.0f} {r['cpu_ms_per_record']:>10.2f} {r['peak_rss_mb']:>11.1f} "
              f"{r['rows_per_second']:>9.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--profile", choices=("realistic", "small"), default="realistic")
    parser.add_argument("--product", choices=tuple(CONTRACTS), default="cc",
                        help="product line: cc credit card (default), rl recreational lending")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--edge-share", type=float, default=0.02)
    parser.add_argument("--mappers", type=int, default=2)
    parser.add_argument("--max-in-flight", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--flush-records", type=int, default=1000)
    parser.add_argument("--flush-interval-ms", type=int, default=1000)
    parser.add_argument("--pg-dsn", default=os.environ.get("XMLSHRED_BENCH_PG_DSN"),
                        help="ODBC connection string of a PostgreSQL database to benchmark too")
    args = parser.parse_args()

    from xmlshred.generator.writers import SOURCE_TABLES

    source = corpus(args.count, args.profile, args.seed, args.edge_share, args.product)
    size_mb = source.stat().st_size / 2**20
    print(f"corpus: {args.count} {args.profile} {args.product} documents, source database {size_mb:.0f} MB; "
          f"mappers={args.mappers} cores={os.cpu_count()}")
    run_dir = CACHE / f"run-{uuid.uuid4().hex[:8]}"
    results = [run_pipeline("xmlshred migrate -> SQLite", source, f"sqlite:///{run_dir / 'target.db'}",
                            args, run_dir / "sqlite")]
    if args.pg_dsn:
        results.append(run_pipeline("xmlshred migrate -> PostgreSQL", source, f"odbc:{args.pg_dsn}", args,
                                    run_dir / "postgres"))
    baseline = run_baseline(source, SOURCE_TABLES[args.product])
    results.append(baseline)
    print_table(results)
    ours = results[0]["records_per_minute"]
    ratio = ours / baseline["records_per_minute"] if baseline["records_per_minute"] else 0.0
    print(f"records_per_minute={int(ours)} ratio_vs_parse={ratio:.2f}")


if __name__ == "__main__":
    main()
