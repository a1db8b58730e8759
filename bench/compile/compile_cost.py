#!/usr/bin/env python3
"""Compile cost of `#[bitrix_entity]` against a hand-written serde equivalent.

Run through `bash bench/compile.sh` (see `--help`). The script

1. writes a scratch Cargo workspace under `$CARGO_TARGET_DIR/compile-cost/` (or
   `<repo>/target/compile-cost/`): for every schema size N a crate `macro_N` holding only
   `#[bitrix_runtime::bitrix_entity(schema = "...")] pub struct Deal;` and a crate `hand_N`
   holding what a team writes by hand today (a `Deal` read struct and a `NewDeal` create struct
   with serde derives, one `Option<T>` per field). The repository's Cargo.lock is copied in, so
   serde, serde_json, syn, ... are the exact versions the workspace uses. The scratch workspace
   has the default `[profile.dev]` (what a user gets: proc macros run unoptimised) plus a
   profile `dev-opt-macros` = dev with `[build-override] opt-level = 3`;
2. builds the dependencies once per profile;
3. measures, interleaving our crate and the hand-written one so that machine noise hits both:
   - build: `touch src/lib.rs` then `cargo build -p <crate>` (wall time, median of the runs),
     a full compile of the crate (CARGO_INCREMENTAL=0: what a fresh or CI build pays);
   - rebuild: the same with incremental compilation on (the edit-compile loop);
   - passes: `cargo rustc -p <crate> -- -Ztime-passes` and rustc's `expand_crate` (macro
     expansion, our proc macro or serde_derive), `type_check_crate` and `total` lines.
     RUSTC_BOOTSTRAP=1 is set for these runs only, to read rustc's pass timings; it changes
     nothing in the compiled code;
4. prints markdown tables (ratios first) against the targets: 2,000 fields expand in under
   200 ms; build at most 1.5x the hand-written equivalent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HUGE = REPO / "schemas" / "test" / "huge" / "deal.json"
OPT_PROFILE = "dev-opt-macros"
EXPAND_TARGET_MS = 200.0
BUILD_TARGET_RATIO = 1.5

RUST_KEYWORDS = {
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
    "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait",
    "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do",
    "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
}


def log(msg: str) -> None:
    print(f"[compile.sh] {msg}", file=sys.stderr, flush=True)


def write_if_changed(path: Path, text: str) -> None:
    """Writes only when the content differs, so that unchanged inputs stay fresh for cargo."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Scratch workspace


def hand_type(field: dict) -> str:
    """The type a team would pick by hand from the field's type and isMultiple."""
    kind = field.get("type", "string")
    if kind in ("file", "crm_multifield"):
        return "serde_json::Value"
    if field.get("isMultiple"):
        return "Vec<String>"
    if kind == "integer":
        return "i64"
    if kind == "double":
        return "f64"
    return "String"


def rust_name(code: str) -> str:
    name = code.lower()
    return f"r#{name}" if name in RUST_KEYWORDS else name


def hand_source(fields: dict, n: int) -> str:
    out = [
        f"//! Compile-cost probe: the hand-written serde equivalent of a {n}-field deal.",
        "#![allow(missing_docs)]",
        "",
        "use serde::{Deserialize, Serialize};",
        "",
        "/// A deal as read from `crm.deal.get` / `crm.deal.list`.",
        "#[derive(Debug, Clone, Deserialize)]",
        "pub struct Deal {",
    ]
    for code, field in fields.items():
        out.append(f'    #[serde(rename = "{code}")]')
        out.append(f"    pub {rust_name(code)}: Option<{hand_type(field)}>,")
    out += [
        "}",
        "",
        "/// The fields of `crm.deal.add` (writable fields only).",
        "#[derive(Debug, Clone, Default, Serialize)]",
        "pub struct NewDeal {",
    ]
    for code, field in fields.items():
        if field.get("isReadOnly"):
            continue
        out.append(f'    #[serde(rename = "{code}", skip_serializing_if = "Option::is_none")]')
        out.append(f"    pub {rust_name(code)}: Option<{hand_type(field)}>,")
    out += ["}", ""]
    return "\n".join(out)


def macro_source(schema_rel: str, n: int) -> str:
    return "\n".join(
        [
            f"//! Compile-cost probe: a {n}-field deal through `#[bitrix_entity]`.",
            "#![allow(missing_docs)]",
            "",
            f'#[bitrix_runtime::bitrix_entity(schema = "{schema_rel}")]',
            "pub struct Deal;",
            "",
        ]
    )


def manifest(name: str, deps: str) -> str:
    return (
        "[package]\n"
        f'name = "{name}"\n'
        'version = "0.0.0"\n'
        'edition = "2024"\n'
        "publish = false\n\n"
        "[lib]\n"
        'path = "src/lib.rs"\n\n'
        "[dependencies]\n"
        f"{deps}"
    )


SNAPSHOT_CRATES = ("codegen", "macros", "runtime")


def snapshot_sources(dest: Path, rev: str | None) -> str:
    """Copies codegen/, macros/ and runtime/ (plus the root manifest) into `dest`.

    The lead edits the generator in the same checkout while this runs; measuring a frozen copy
    keeps every run of one invocation on the same code, and keeps a rebuild of the proc macro
    out of the timed builds. Modification times are preserved, so an unchanged snapshot stays
    fresh for cargo across invocations. With `rev`, the copy comes from that git revision
    (`git archive`) instead of the working tree. Returns a short content hash of the snapshot.
    """
    import hashlib

    tmp = dest.with_name(dest.name + ".new")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    if rev is None:
        shutil.copy2(REPO / "Cargo.toml", tmp / "Cargo.toml")
        ignore = shutil.ignore_patterns("target", "target-*")
        for crate in SNAPSHOT_CRATES:
            shutil.copytree(REPO / crate, tmp / crate, ignore=ignore, copy_function=shutil.copy2)
    else:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", rev, "Cargo.toml",
             *SNAPSHOT_CRATES],
            capture_output=True,
        )
        if archive.returncode != 0:
            raise SystemExit(
                f"compile.sh: `git archive {rev}` failed: {archive.stderr.decode().strip()}; "
                "pass a commit of this repository to --rev"
            )
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
    root_manifest = (tmp / "Cargo.toml").read_text(encoding="utf-8")
    members = re.compile(r"^members\s*=\s*\[[^\]]*\]", re.M)
    if not members.search(root_manifest):
        raise SystemExit("compile.sh: no `members = [...]` line in the root Cargo.toml")
    root_manifest = members.sub(
        "members = [" + ", ".join(f'"{c}"' for c in SNAPSHOT_CRATES) + "]", root_manifest, 1
    )
    # Dev-dependencies of the snapshot crates (the emulator) are never resolved: the crates are path dependencies here, not workspace members.
    (tmp / "Cargo.toml").write_text(root_manifest, encoding="utf-8")
    digest = hashlib.sha256()
    for path in sorted(tmp.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(tmp).as_posix().encode())
            digest.update(path.read_bytes())
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    return digest.hexdigest()[:12]


def generate(ws: Path, sizes: list[int], runtime_dir: Path) -> dict[int, int]:
    """Writes the scratch workspace; returns the field count actually used per size."""
    snapshot = json.loads(HUGE.read_text(encoding="utf-8"))
    all_fields = snapshot["fields"]
    counts: dict[int, int] = {}
    members = []
    runtime_path = runtime_dir.as_posix()
    for n in sizes:
        if n > len(all_fields):
            raise SystemExit(
                f"compile.sh: {n} fields requested but {HUGE} has only {len(all_fields)}; "
                "pass smaller --sizes"
            )
        fields = dict(list(all_fields.items())[:n])
        counts[n] = len(fields)
        macro_dir = ws / f"macro_{n}"
        if n == len(all_fields):
            schema_path = HUGE  # the worst case itself
        else:
            envelope = {k: v for k, v in snapshot.items() if k != "fields"}
            envelope["fields"] = fields
            schema_path = ws / "schemas" / f"deal_{n}.json"
            write_if_changed(
                schema_path, json.dumps(envelope, ensure_ascii=False, indent=2) + "\n"
            )
        schema_rel = os.path.relpath(schema_path, macro_dir)
        write_if_changed(
            macro_dir / "Cargo.toml",
            manifest(f"macro_{n}", f'bitrix-runtime = {{ path = "{runtime_path}" }}\n'),
        )
        write_if_changed(macro_dir / "src" / "lib.rs", macro_source(schema_rel, n))
        hand_dir = ws / f"hand_{n}"
        write_if_changed(
            hand_dir / "Cargo.toml",
            manifest(
                f"hand_{n}",
                'serde = { version = "1", features = ["derive"] }\n'
                'serde_json = { version = "1", features = ["preserve_order"] }\n',
            ),
        )
        write_if_changed(hand_dir / "src" / "lib.rs", hand_source(fields, n))
        members += [f"macro_{n}", f"hand_{n}"]
    write_if_changed(
        ws / "Cargo.toml",
        "# Generated by bench/compile/compile_cost.py: scratch workspace, not committed.\n"
        "[workspace]\n"
        'resolver = "3"\n'
        f"members = {json.dumps(members)}\n\n"
        "# [profile.dev] is left at cargo's defaults: what a user of the macro gets.\n\n"
        "# The setting we recommend to users: proc macros and build scripts optimised.\n"
        f"[profile.{OPT_PROFILE}]\n"
        'inherits = "dev"\n\n'
        f"[profile.{OPT_PROFILE}.build-override]\n"
        "opt-level = 3\n",
    )
    lock = ws / "Cargo.lock"
    if not lock.exists():
        shutil.copyfile(REPO / "Cargo.lock", lock)
    return counts


def lock_versions(lock: Path, names: tuple[str, ...]) -> dict[str, list[str]]:
    text = lock.read_text(encoding="utf-8")
    found: dict[str, list[str]] = {}
    for m in re.finditer(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', text):
        if m.group(1) in names:
            found.setdefault(m.group(1), []).append(m.group(2))
    return found


# ---------------------------------------------------------------------------------------------
# Measuring


class Runner:
    def __init__(self, ws: Path, target: Path):
        self.ws = ws
        self.env = dict(os.environ)
        self.env["CARGO_TARGET_DIR"] = str(target)
        self.env.pop("RUSTC_BOOTSTRAP", None)
        self.env.pop("CARGO_INCREMENTAL", None)
        self.env.pop("BITRIX_TIME_PASSES", None)
        # Always the same wrapper (it replaces sccache or the like, which would distort the
        # timings): it adds -Ztime-passes to one crate when asked, see rustc-wrapper.sh.
        self.env["RUSTC_WRAPPER"] = str(Path(__file__).resolve().parent / "rustc-wrapper.sh")
        self.env.pop("RUSTC_WORKSPACE_WRAPPER", None)

    def cargo(self, args: list[str], extra_env: dict[str, str] | None = None) -> tuple[float, str]:
        env = dict(self.env)
        if extra_env:
            env.update(extra_env)
        start = time.perf_counter()
        proc = subprocess.run(
            ["cargo", *args],
            cwd=self.ws,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-6000:])
            raise SystemExit(
                f"compile.sh: `cargo {' '.join(args)}` failed in {self.ws} (see above); if "
                "codegen/, macros/ or runtime/ were mid-edit, measure a commit: --rev HEAD"
            )
        return elapsed, proc.stderr

    def touch(self, crate: str) -> None:
        (self.ws / crate / "src" / "lib.rs").touch()

    def build(self, crate: str, profile: str, incremental: bool) -> float:
        self.touch(crate)
        elapsed, _ = self.cargo(
            ["build", "-p", crate, "--profile", profile],
            {"CARGO_INCREMENTAL": "1" if incremental else "0"},
        )
        return elapsed

    def passes(self, crate: str, profile: str) -> dict[str, float]:
        self.touch(crate)
        _, err = self.cargo(
            ["build", "-p", crate, "--profile", profile],
            {"BITRIX_TIME_PASSES": crate, "CARGO_INCREMENTAL": "0"},
        )
        found: dict[str, float] = {}
        for line in err.splitlines():
            m = re.match(r"time:\s+([0-9.]+);.*\t(\S+)\s*$", line)
            if not m:
                continue
            name = m.group(2)
            if name == "total" or name not in found:
                found[name] = float(m.group(1))
        for key in ("expand_crate", "type_check_crate", "total"):
            if key not in found:
                raise SystemExit(
                    f"compile.sh: rustc printed no `{key}` line for -Ztime-passes on {crate}; "
                    "the pass names may have changed in this rustc version"
                )
        return found


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def fmt_s(x: float) -> str:
    return f"{x:.2f} s"


def fmt_ms(x: float) -> str:
    return f"{x * 1000:.0f} ms"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def measure_profile(
    runner: Runner, sizes: list[int], runs: int, profile: str, kinds: list[str], incremental: bool
) -> dict:
    """Returns results[n][kind] = {"build": [...], "rebuild": [...], "expand": [...], ...}."""
    results: dict[int, dict[str, dict[str, list[float]]]] = {}
    # One crate per cargo call, as measured below: `-p a -p b` would unify the features of
    # their shared dependencies (serde, serde_json) and leave the single-crate variants unbuilt.
    warm = [f"{k}_{sizes[0]}" for k in kinds]
    log(f"[{profile}] building the dependencies once (via {', '.join(warm)})")
    t = 0.0
    for crate in warm:
        t += runner.cargo(["build", "-p", crate, "--profile", profile],
                          {"CARGO_INCREMENTAL": "0"})[0]
    log(f"[{profile}] dependencies ready in {t:.1f} s")
    for n in sizes:
        results[n] = {k: {"build": [], "rebuild": [], "expand": [], "typeck": [], "total": []}
                      for k in kinds}
        for run in range(runs):
            for kind in kinds:
                crate = f"{kind}_{n}"
                r = results[n][kind]
                r["build"].append(runner.build(crate, profile, incremental=False))
                p = runner.passes(crate, profile)
                r["expand"].append(p["expand_crate"])
                r["typeck"].append(p["type_check_crate"])
                r["total"].append(p["total"])
                log(
                    f"[{profile}] {crate} run {run + 1}/{runs}: build {r['build'][-1]:.2f} s, "
                    f"expand {p['expand_crate'] * 1000:.0f} ms, rustc total {p['total']:.2f} s"
                )
        if incremental:
            for kind in kinds:
                crate = f"{kind}_{n}"
                # The first incremental build fills the cache; the measured runs reuse it.
                runner.build(crate, profile, incremental=True)
            for run in range(runs):
                for kind in kinds:
                    crate = f"{kind}_{n}"
                    t = runner.build(crate, profile, incremental=True)
                    results[n][kind]["rebuild"].append(t)
                    log(f"[{profile}] {crate} incremental rebuild {run + 1}/{runs}: {t:.2f} s")
    return results


def verdict_expand(ms: float) -> str:
    if ms < EXPAND_TARGET_MS:
        return f"met ({ms:.0f} ms < {EXPAND_TARGET_MS:.0f} ms)"
    return f"MISSED by {ms - EXPAND_TARGET_MS:.0f} ms ({ms / EXPAND_TARGET_MS:.1f}x the target)"


def verdict_build(r: float) -> str:
    if r <= BUILD_TARGET_RATIO:
        return f"met ({r:.2f}x <= {BUILD_TARGET_RATIO}x)"
    return f"MISSED ({r:.2f}x > {BUILD_TARGET_RATIO}x)"


def print_tables(title: str, res: dict, counts: dict[int, int], incremental: bool) -> None:
    print(f"### {title}")
    print()
    print(
        "| fields | expand ratio | build ratio | expand ours | expand hand | build ours | "
        "build hand | type_check ours / hand | rustc total ours / hand |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in res.items():
        o, h = r["macro"], r["hand"]
        eo, eh = median(o["expand"]), median(h["expand"])
        bo, bh = median(o["build"]), median(h["build"])
        print(
            f"| {counts[n]:,} | {ratio(eo, eh)} | {ratio(bo, bh)} | {fmt_ms(eo)} | {fmt_ms(eh)} | "
            f"{fmt_s(bo)} | {fmt_s(bh)} | {fmt_ms(median(o['typeck']))} / "
            f"{fmt_ms(median(h['typeck']))} | {fmt_s(median(o['total']))} / "
            f"{fmt_s(median(h['total']))} |"
        )
    print()
    if incremental:
        print("Incremental rebuild after `touch src/lib.rs` (the edit-compile loop):")
        print()
        print("| fields | rebuild ratio | rebuild ours | rebuild hand |")
        print("|---:|---:|---:|---:|")
        for n, r in res.items():
            ro, rh = median(r["macro"]["rebuild"]), median(r["hand"]["rebuild"])
            print(f"| {counts[n]:,} | {ratio(ro, rh)} | {fmt_s(ro)} | {fmt_s(rh)} |")
        print()
    largest = max(res)
    o, h = res[largest]["macro"], res[largest]["hand"]
    print(f"Targets at {counts[largest]:,} fields:")
    print(f"- expand < {EXPAND_TARGET_MS:.0f} ms: {verdict_expand(median(o['expand']) * 1000)}")
    print(
        f"- build <= {BUILD_TARGET_RATIO}x hand-written: "
        f"{verdict_build(median(o['build']) / median(h['build']))}"
    )
    print()


def main() -> None:
    ap = argparse.ArgumentParser(
        prog="bench/compile.sh",
        description="Compile cost of #[bitrix_entity] against a hand-written serde equivalent.",
    )
    ap.add_argument("--sizes", default="50,500,2000",
                    help="comma-separated field counts (default 50,500,2000; at most 2000)")
    ap.add_argument("--runs", type=int, default=3, help="measured runs per crate (median)")
    ap.add_argument("--rev", default=None,
                    help="measure codegen/, macros/, runtime/ as of this git revision "
                         "(default: the working tree as it is at start)")
    ap.add_argument("--no-opt", action="store_true",
                    help="skip the build-override opt-level=3 measurement")
    ap.add_argument("--no-incremental", action="store_true",
                    help="skip the incremental rebuild measurement")
    args = ap.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if not sizes or min(sizes) < 1:
        raise SystemExit("compile.sh: --sizes needs positive field counts, e.g. 50,500,2000")
    if args.runs < 1:
        raise SystemExit("compile.sh: --runs needs at least 1")

    target_root = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target_root.is_absolute():
        target_root = REPO / target_root
    scratch = target_root / "compile-cost"
    ws = scratch / "ws"
    log(f"scratch workspace {ws}")
    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", args.rev or "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    source_hash = snapshot_sources(scratch / "src", args.rev)
    log(f"froze codegen/, macros/, runtime/ ({args.rev or 'working tree'}) into "
        f"{scratch / 'src'} (content {source_hash})")
    counts = generate(ws, sizes, scratch / "src" / "runtime")
    runner = Runner(ws, scratch / "target")
    started = time.perf_counter()

    dev = measure_profile(runner, sizes, args.runs, "dev", ["macro", "hand"],
                          incremental=not args.no_incremental)
    opt = None
    if not args.no_opt:
        opt = measure_profile(runner, sizes, args.runs, OPT_PROFILE, ["macro", "hand"],
                              incremental=False)

    dirty = "" if args.rev else subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "codegen", "macros", "runtime"],
        capture_output=True, text=True).stdout.strip()
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip()
    versions = lock_versions(ws / "Cargo.lock", ("serde", "serde_derive", "serde_json", "syn"))

    print("## Compile cost")
    print()
    print(f"- {os.cpu_count()} cores{', ' + cpu if cpu else ''}, {platform.system()} "
          f"{platform.release()}; {rustc}")
    print(f"- {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; checkout {rev}"
          f"{' with uncommitted changes in codegen/macros/runtime' if dirty else ''}"
          f" (codegen/macros/runtime copied at start, content hash {source_hash})")
    print("- " + ", ".join(f"{k} {'/'.join(v)}" for k, v in sorted(versions.items()))
          + " (the workspace's Cargo.lock)")
    command = " ".join(["bash bench/compile.sh", *sys.argv[1:]])
    print(f"- command: `{command}` ({args.runs} runs per crate, medians; "
          f"measuring took {(time.perf_counter() - started) / 60:.1f} min)")
    print()
    print(
        "Schemas: the first N fields of `schemas/test/huge/deal.json` (standard fields first), "
        "the 2,000-field file itself for 2,000. *ours*: a crate with only "
        "`#[bitrix_runtime::bitrix_entity(schema = ...)] pub struct Deal;` (generates Deal, "
        "NewDeal + builder, DealPatch, DealField, enumeration enums, trait impls). *hand*: "
        "a `#[derive(Debug, Clone, Deserialize)] Deal` with one "
        "`#[serde(rename = \"CODE\")] Option<T>` per field and a "
        "`#[derive(Debug, Clone, Default, Serialize)] NewDeal` (writable fields, "
        "`skip_serializing_if = \"Option::is_none\"`)."
    )
    print()
    print(
        "*build*: wall time of `cargo build -p <crate>` after `touch src/lib.rs`, a full "
        "compile of that crate (CARGO_INCREMENTAL=0), dependencies already built. *expand*: "
        "rustc's `expand_crate` pass of a second compile of the crate with `-Ztime-passes` (our "
        "proc macro, or serde_derive for *hand*; the equivalent of `cargo rustc -p <crate> -- "
        "-Ztime-passes`). RUSTC_BOOTSTRAP=1 is set for that crate's rustc call only, "
        "to read rustc's pass timings. Our crate and the hand-written one are measured "
        "interleaved in the same run; on a shared machine the ratios are the numbers to trust."
    )
    print()
    print_tables("Default `[profile.dev]` (proc macros unoptimised)", dev, counts,
                 incremental=not args.no_incremental)
    if opt is not None:
        print_tables(
            f"`[profile.dev.build-override] opt-level = 3` (proc macros and build scripts "
            f"optimised; profile `{OPT_PROFILE}`)", opt, counts, incremental=False)


if __name__ == "__main__":
    main()
