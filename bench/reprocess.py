#!/usr/bin/env python3
"""Reprocess and verify benchmark: plain migrate, migrate --reprocess all and verify --all, in one run.

Generates (and caches under .bench/, shared with bench/throughput.py) a corpus in a SQLite
source table, then, each a real `cli.py` process against one fresh SQLite target:

1. `migrate` (the plain load) with the example contract;
2. `migrate --reprocess all` with that contract changed in one mapping (every record's earlier
   rows deleted and its new rows written, in one transaction per flush);
3. `verify --all` with the changed contract (read-only: map every record again, read its rows
   back, compare cell by cell).

Rates are records per second of wall time, process start-up included (the same for each).
Then a full verify of the shipped 200-document sample (examples/sample, a folder of files)
after loading it. Ends with exactly these lines:

    migrate_rps=<float> reprocess_rps=<float> verify_rps=<float>
    verify_vs_migrate=<float> reprocess_vs_migrate=<float> sample_verify_s=<float>

Example: python bench/reprocess.py --count 10000 --mappers 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from throughput import CACHE, CONTRACTS, compile_package, corpus, warm_page_cache  # noqa: E402

NOW = "2025-06-01T12:00:00"


def changed_contract(original: Path, folder: Path) -> Path:
    """The contract with one mapping changed: app_contact_address.city cut to 3 characters."""
    data = json.loads(original.read_text(encoding="utf-8"))
    for mapping in data["mappings"]:
        if mapping["target_table"] == "app_contact_address" and mapping.get("target_column") == "city":
            mapping["data_length"], mapping["default_value"] = 3, "MIS"
    path = folder / "changed_contract.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def timed(label: str, args: list[str], log: Path, ok_codes=(0, 3)) -> float:
    started = time.perf_counter()
    with open(log, "w") as handle:
        code = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], stdout=handle,
                              stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - started
    if code not in ok_codes:
        raise SystemExit(f"{label} exited {code}; see {log}")
    print(f"{label}: {seconds:.1f}s (exit {code})", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--profile", choices=("realistic", "small"), default="realistic")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--edge-share", type=float, default=0.02)
    parser.add_argument("--mappers", type=int, default=2)
    args = parser.parse_args()

    compile_package()
    source = corpus(args.count, args.profile, args.seed, args.edge_share)
    warm_page_cache(source)
    work = CACHE / f"reprocess-{args.count}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    contract = CONTRACTS["cc"]
    changed = changed_contract(contract, work)
    target = f"sqlite:///{work / 'target.db'}"
    common = ["--source", f"sqlite:///{source}", "--target", target, "--log-level", "WARNING"]
    run = ["--mappers", str(args.mappers), "--now", NOW]
    migrate_s = timed("migrate", ["migrate", *common, *run, "--contract", str(contract)], work / "migrate.log")
    reprocess_s = timed("migrate --reprocess all", ["migrate", *common, *run, "--contract", str(changed),
                                                    "--reprocess", "all"], work / "reprocess.log")
    verify_s = timed("verify --all", ["verify", *common, "--contract", str(changed), "--all", "--now", NOW],
                     work / "verify.log", ok_codes=(0,))

    sample = ROOT / "xmlshred" / "examples" / "sample"
    sample_target = f"sqlite:///{work / 'sample.db'}"
    sample_args = ["--source", str(sample), "--target", sample_target, "--contract", str(contract),
                   "--log-level", "WARNING", "--now", NOW]
    timed("migrate (200-document sample)", ["migrate", *sample_args], work / "sample-migrate.log")
    sample_s = timed("verify --all (200-document sample)", ["verify", *sample_args, "--all"],
                     work / "sample-verify.log", ok_codes=(0,))

    n = args.count
    migrate_rps, reprocess_rps, verify_rps = n / migrate_s, n / reprocess_s, n / verify_s
    print(f"records={n} mappers={args.mappers} (rates include process start-up)")
    print(f"migrate_rps={migrate_rps:.1f} reprocess_rps={reprocess_rps:.1f} verify_rps={verify_rps:.1f}")
    print(f"verify_vs_migrate={verify_rps / migrate_rps:.2f} reprocess_vs_migrate={reprocess_rps / migrate_rps:.2f} "
          f"sample_verify_s={sample_s:.1f}")


if __name__ == "__main__":
    main()
