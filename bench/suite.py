#!/usr/bin/python3
"""The benchmark suite behind bench/run.sh: dlcc against its peers, in one
run on one machine, printed as markdown tables on standard output (progress
goes to standard error).

    bench/suite.py --build BUILD_DIR [--short] [--no-install] [--sections LIST]

Sections (default all, in this order): peak, gemm, models, compile,
examples.

  peak      the measured f32 FMA peak (bench/fma_peak.c) at 1 and 2 threads.
  gemm      f32 C = A @ B, square and transformer shapes, at 1 and 2
            threads: dlcc (a DSL model per shape, both operands inputs,
            timed through the runtime C API), oneDNN (dnnl_sgemm), OpenBLAS
            (cblas_sgemm); bench/gemm.c, one process per implementation
            and point.
  models    ResNet-18, MobileNetV2, a BERT-style encoder, batch 1: the same
            ONNX file run by dlcc (dlcc-run --bench), ONNX Runtime
            (scripts/onnx/ort_run.js --bench) and PyTorch on the same
            module and weights (bench/torch_onnx_models.py), at 1 and 2
            threads.
  compile   dlcc's compile time for the ONNX models (and ResNet-50) and the
            DSL examples.
  examples  the DSL examples: mlp vs numpy, lenet, resnet18 and bert_layer
            vs PyTorch, 1 thread.

A peer that is missing or fails is printed as n/a (with a note) and does
not fail the run. dlcc failing (a compile error, a crash, a wrong GEMM
result, a time-out) is reported in its table row and makes the exit status
1; timings never do.

Runs with any Python 3; the sub-steps that need numpy or torch use Debian's
/usr/bin/python3.
"""
import argparse
import math
import os
import random
import resource
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
THREADS = [1, 2]

GEMM_SHAPES = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024),
               (2048, 2048, 2048), (128, 768, 768), (128, 768, 3072),
               (128, 3072, 768)]

# name, input shape (text), extra dlcc options, description
ONNX_MODELS = [
    ("resnet18", "1x3x224x224", [], "torchvision resnet18"),
    ("mobilenet_v2", "1x3x224x224", ["--shape", "input=1x3x224x224"],
     "torchvision mobilenet_v2 (dynamic batch bound to 1)"),
    ("bert", "1x128x768", [],
     "TransformerEncoder: 2 layers, d 768, 12 heads, ff 3072, GELU, seq 128"),
]
COMPILE_ONLY = [("resnet50", "1x3x224x224", [], "torchvision resnet50")]

MODES = {
    # GEMM: at least min_s seconds and min_runs timed calls per point.
    # Models: the same per (model, threads, runner).
    "full": dict(gemm_min_s=0.5, gemm_min_runs=5, gemm_rounds=3, model_min_s=2.0,
                 model_min_runs=10, model_rounds=3, compile_reps=3, mlp_runs=2000,
                 example_min_runs=10, example_min_s=1.0),
    "short": dict(gemm_min_s=0.05, gemm_min_runs=3, gemm_rounds=1, model_min_s=0.0,
                  model_min_runs=3, model_rounds=1, compile_reps=1, mlp_runs=200,
                  example_min_runs=3, example_min_s=0.0),
}

errors = []   # dlcc failures: make the exit status 1
notes = []    # peers missing or failing, and other remarks


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def busy_jiffies():
    """The machine's busy CPU time so far, in clock ticks (/proc/stat: all
    but idle and iowait, steal included), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return sum(v) - v[3] - v[4]
    except (OSError, ValueError, IndexError):
        return None


# CPUs that other processes kept busy, on average, during the last run()
# (None when unknown): a measurement during which a neighbour used CPUs the
# benchmark needed is marked in the tables.
last_foreign = None


def run(cmd, env=None, timeout=600, cwd=ROOT):
    """Runs cmd; returns (rc, stdout, stderr). rc 124 on a time-out, 127
    when the program cannot be started. Sets last_foreign."""
    global last_foreign
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    j0, r0, t0 = busy_jiffies(), resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    last_foreign = None
    try:
        p = subprocess.run(cmd, env=full_env, cwd=cwd, timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL)
        wall = time.monotonic() - t0
        j1, r1 = busy_jiffies(), resource.getrusage(resource.RUSAGE_CHILDREN)
        if j0 is not None and j1 is not None and wall >= 0.2:
            mine = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            last_foreign = max(0.0, ((j1 - j0) / os.sysconf("SC_CLK_TCK") - mine) / wall)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))
    except subprocess.TimeoutExpired:
        return 124, "", "timed out after %d s" % timeout
    except OSError as e:
        return 127, "", str(e)


def disturbed(threads):
    """Whether the last run() shared the CPUs it needed: other processes
    used more than the CPUs left over by `threads` (plus a quarter)."""
    spare = max(0, (os.cpu_count() or 1) - threads)
    return last_foreign is not None and last_foreign > spare + 0.25


class Ms(float):
    """A time in ms that remembers whether it was measured while the
    machine was busy (printed with a *)."""
    def __new__(cls, value, busy=False):
        x = float.__new__(cls, value)
        x.busy = busy
        return x


BUSY_NOTE = ("*: during this measurement other processes kept more CPUs busy than the "
             "benchmark left free (on average, from /proc/stat): the number is pessimistic. "
             "Shorter bursts go unmarked.")


def why(rc, out, err):
    """One line saying why a command failed, for a table cell."""
    lines = [l.strip() for l in (err + "\n" + out).splitlines() if l.strip()]
    # Prefer a line that says "error".
    pick = next((l for l in lines if "error" in l.lower()), lines[0] if lines else "")
    if rc < 0:
        pick = "killed by signal %d%s" % (-rc, (": " + pick) if pick else "")
    elif rc == 124:
        pick = "time-out: " + pick
    elif not pick:
        pick = "exit status %d" % rc
    pick = pick.replace("|", "/")
    return pick[:120] + ("..." if len(pick) > 120 else "")


def thread_env(t):
    env = {"OMP_NUM_THREADS": str(t), "OPENBLAS_NUM_THREADS": str(t),
           "MKL_NUM_THREADS": str(t), "DLCC_NUM_THREADS": str(t)}
    if cpu_has("avx512f"):
        # OpenBLAS's kernel choice under a hypervisor is not always right;
        # name the one this CPU has.
        env["OPENBLAS_CORETYPE"] = "SkylakeX"
    return env


_cpuflags = None


def cpu_has(flag):
    global _cpuflags
    if _cpuflags is None:
        _cpuflags = set()
        try:
            for line in open("/proc/cpuinfo"):
                if line.startswith("flags"):
                    _cpuflags = set(line.split(":", 1)[1].split())
                    break
        except OSError:
            pass
    return flag in _cpuflags


def save_npy(path, shape, seed):
    """A float32 .npy of uniform(-1, 1) values, without numpy."""
    rng = random.Random(seed)
    n = 1
    for d in shape:
        n *= d
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        "".join("%d, " % d for d in shape) if len(shape) == 1
        else ", ".join(str(d) for d in shape))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode("latin1"))
        f.write(struct.pack("<%df" % n, *(rng.uniform(-1, 1) for _ in range(n))))


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def fmt_ms(x):
    if x is None:
        return "n/a"
    if isinstance(x, str):
        return x
    star = "*" if getattr(x, "busy", False) else ""
    if x >= 100:
        return "%.0f%s" % (x, star)
    if x >= 10:
        return "%.1f%s" % (x, star)
    if x >= 1:
        return "%.2f%s" % (x, star)
    return "%.3f%s" % (x, star)


def fmt(x, spec):
    return "n/a" if x is None else (x if isinstance(x, str) else spec % x)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    print("\n".join(out))
    print()
    if any(re.search(r"[0-9]\*$", str(c)) for r in rows for c in r):
        print(BUSY_NOTE)
        print()
    sys.stdout.flush()


class Bench:
    def __init__(self, args):
        self.args = args
        self.mode = "short" if args.short else "full"
        self.cfg = MODES[self.mode]
        self.build = os.path.abspath(args.build)
        self.dlcc = os.path.join(self.build, "bin", "dlcc")
        self.dlcc_run = os.path.join(self.build, "bin", "dlcc-run")
        self.work = tempfile.mkdtemp(prefix="dlcc-bench-")
        self.model_dir = os.path.join(self.build, "onnx-models")
        self.tools = {}   # impl -> path of its gemm binary, or None
        self.tool_why = {}
        self.peak = {}    # threads -> GFLOP/s
        self.compile_times = []  # rows for the compile table
        self.so = {}      # model name -> compiled .so (or error text)

    # ---- helpers ---------------------------------------------------------

    def compile(self, name, src, opts, reps):
        """Compiles src with dlcc reps times; returns (best_s, so_path) or
        (error_text, None)."""
        so = os.path.join(self.work, name + ".so")
        best = None
        for _ in range(reps):
            t0 = time.monotonic()
            rc, out, err = run([self.dlcc, src] + opts + ["-o", so], timeout=900)
            dt = time.monotonic() - t0
            if rc != 0:
                msg = "dlcc failed: " + why(rc, out, err)
                errors.append("%s: %s" % (name, msg))
                return msg, None
            best = dt if best is None else min(best, dt)
        return best, so

    def dlcc_bench(self, so, inputs, threads, min_runs, min_s, output=None):
        """Times a model with dlcc-run --bench; returns (median_ms, None) or
        (None, error text). The number of runs is at least min_runs and
        enough for min_s seconds, from one calibration run."""
        base = [self.dlcc_run, so]
        for k, v in inputs:
            base += ["--input", "%s=%s" % (k, v)]
        base += ["--threads", str(threads)]
        env = thread_env(threads)
        n = min_runs
        if min_s > 0:
            rc, out, err = run(base + ["--bench", "1"], env=env)
            m = re.search(r"^bench: .* median ([0-9.]+) ms", out, re.M)
            if rc != 0 or not m:
                return None, "dlcc-run failed: " + why(rc, out, err)
            n = max(min_runs, int(math.ceil(min_s * 1e3 / max(float(m.group(1)), 1e-3))))
            n = min(n, 100000)
        cmd = base + ["--bench", str(n)]
        if output:
            cmd += ["--output", output]
        rc, out, err = run(cmd, env=env, timeout=1200)
        m = re.search(r"^bench: .* median ([0-9.]+) ms, min ([0-9.]+) ms", out, re.M)
        if rc != 0 or not m:
            return None, "dlcc-run failed: " + why(rc, out, err)
        return Ms(float(m.group(1)), disturbed(threads)), None

    # ---- header ----------------------------------------------------------

    def header(self):
        info = {}
        rc, out, _ = run(["lscpu"])
        for line in out.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                info[k.strip()] = v.strip()
        cpu = info.get("Model name", "unknown CPU")
        ncpu = info.get("CPU(s)", str(os.cpu_count()))
        tpc = info.get("Thread(s) per core", "?")
        cps = info.get("Core(s) per socket", "?")
        sock = info.get("Socket(s)", "?")
        isa = "AVX-512" if cpu_has("avx512f") else ("AVX2" if cpu_has("avx2") else "no AVX2")
        caches = ", ".join("%s %s" % (k.split()[0], info[k]) for k in
                           ("L1d cache", "L2 cache", "L3 cache") if k in info)
        hyp = info.get("Hypervisor vendor")
        mem = ""
        try:
            for line in open("/proc/meminfo"):
                if line.startswith("MemTotal"):
                    mem = "%.0f GiB RAM" % (int(line.split()[1]) / 2**20)
        except OSError:
            pass
        os_name = ""
        try:
            for line in open("/etc/os-release"):
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
        except OSError:
            pass
        _, ver, _ = run([self.dlcc, "--version"])
        btype = "?"
        try:
            for line in open(os.path.join(self.build, "CMakeCache.txt")):
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    btype = line.split("=", 1)[1].strip() or "(none)"
        except OSError:
            pass
        rc, commit, _ = run(["git", "describe", "--always", "--dirty"])
        print("# dlcc benchmarks (%s mode)" % self.mode)
        print()
        print("- machine: %s, %s CPUs (%s sockets x %s cores x %s threads), %s%s; %s%s; %s" % (
            cpu, ncpu, sock, cps, tpc, isa,
            (", " + caches) if caches else "", mem,
            (", " + hyp + " guest") if hyp else "", os_name))
        print("- dlcc: %s, %s build (%s), commit %s" % (
            ver.strip() or "?", btype, os.path.relpath(self.build, ROOT),
            commit.strip() or "?"))
        print("- date: %s; load average at the start: %s (1, 5, 15 min)%s" % (
            time.strftime("%Y-%m-%d %H:%M %Z"), loadavg(),
            "" if float(loadavg().split()[0] if loadavg() != "?" else 0) < 0.5 else
            ": the machine is busy, expect noisy numbers"))
        print(flush=True)

    def versions(self):
        """The peers' versions, printed after the sections that found them."""
        lines = []
        for impl in ("onednn", "openblas"):
            if self.tools.get(impl):
                rc, out, _ = run([self.tools[impl], "--info"], env=thread_env(1))
                if rc == 0:
                    lines.append(out.strip())
        blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
        if os.path.exists(blas):
            lines.append("libblas.so.3 (numpy's and PyTorch's BLAS) -> " + blas)
        rc, out, _ = run(["node", "-e",
                          "console.log(require('onnxruntime-node/package.json').version)"])
        if rc == 0:
            lines.append("onnxruntime-node " + out.strip())
        rc, out, _ = run([PY, "-c", "import numpy, torch; print('numpy', numpy.__version__,"
                          " '/ torch', torch.__version__)"])
        if rc == 0:
            lines.append(out.strip())
        cc = os.environ.get("CC", "cc")
        rc, out, _ = run([cc, "--version"])
        if rc == 0:
            lines.append("bench programs: %s, -O2" % out.splitlines()[0])
        if lines:
            print("Versions: " + "; ".join(lines) + ".")
            print()

    # ---- tools -----------------------------------------------------------

    def build_tools(self):
        cc = os.environ.get("CC", "cc")
        src = os.path.join(ROOT, "bench", "gemm.c")
        rtdir = None
        for d in (os.path.join(self.build, "runtime"), os.path.join(self.build, "lib")):
            if os.path.exists(os.path.join(d, "libdlcc-runtime.so")):
                rtdir = d
                break
        specs = {
            "dlcc": (["-DGEMM_DLCC", "-I" + os.path.join(ROOT, "runtime", "include")],
                     (["-L" + rtdir, "-Wl,-rpath," + rtdir] if rtdir else [])
                     + ["-ldlcc-runtime"]),
            "onednn": (["-DGEMM_DNNL"], ["-ldnnl"]),
            "openblas": (["-DGEMM_OPENBLAS"], ["-lopenblas"]),
        }
        for impl, (cflags, libs) in specs.items():
            exe = os.path.join(self.work, "gemm-" + impl)
            rc, out, err = run([cc, "-O2", "-std=c11"] + cflags + [src, "-o", exe]
                               + libs + ["-lm"], timeout=120)
            if rc == 0:
                self.tools[impl] = exe
            else:
                self.tools[impl] = None
                self.tool_why[impl] = why(rc, out, err)
                if impl == "dlcc":
                    errors.append("bench/gemm.c for dlcc does not build: " + self.tool_why[impl])
                else:
                    notes.append("%s: not available (bench/gemm.c: %s); install %s" % (
                        impl, self.tool_why[impl],
                        "libdnnl-dev" if impl == "onednn" else "libopenblas-dev"))
        exe = os.path.join(self.work, "fma_peak")
        rc, out, err = run([cc, "-O2", "-std=c11", "-pthread",
                            os.path.join(ROOT, "bench", "fma_peak.c"), "-o", exe],
                           timeout=120)
        self.tools["fma_peak"] = exe if rc == 0 else None
        if rc != 0:
            notes.append("fma_peak: does not build: " + why(rc, out, err))

    # ---- sections --------------------------------------------------------

    def measure_peak(self):
        """Measures the FMA peak at each thread count; keeps the best seen
        (it is measured before and after the GEMMs: on a shared machine a
        neighbour's load only ever lowers it)."""
        log("FMA peak")
        for t in THREADS:
            if not self.tools.get("fma_peak"):
                self.peak.setdefault(t, None)
                continue
            rc, out, err = run([self.tools["fma_peak"], str(t),
                                "0.3" if self.mode == "full" else "0.1"])
            f = out.split()
            if rc == 0 and len(f) == 3 and f[1] != "n/a":
                g = float(f[1])
                if self.peak.get(t) is None or g > self.peak[t]:
                    self.peak[t] = g
                self.isa = f[2]
            else:
                self.peak.setdefault(t, None)
                notes.append("fma_peak %d: %s" % (t, why(rc, out, err)))

    def section_peak(self):
        if not self.peak:
            self.measure_peak()
        rows = [[t, fmt(self.peak.get(t), "%.1f"), getattr(self, "isa", "n/a")]
                for t in THREADS]
        print("## FMA peak (f32)")
        print()
        print("`bench/fma_peak.c`: independent chains of vector FMAs on every thread, no memory "
              "traffic; the best of 5 rounds, measured before and after the GEMMs "
              "(full suite: after each shape too). "
              "The GEMM table's \"% peak\" is relative to this; on a shared machine a "
              "neighbour's load lowers the measured peak, so a fast GEMM can show more than "
              "100%.")
        print()
        table(["threads", "GFLOP/s", "ISA"], rows)

    def section_gemm(self):
        cfg = self.cfg
        self.measure_peak()
        impls = ["dlcc", "onednn", "openblas"]
        rows = []
        for (m, k, n) in GEMM_SHAPES:
            shape = "%dx%dx%d" % (m, k, n)
            dsl = os.path.join(self.work, "gemm_%s.dsl" % shape)
            with open(dsl, "w") as f:
                f.write("model gemm {\n  input a : f32[%d, %d]\n  input b : f32[%d, %d]\n"
                        "  output c = a @ b\n}\n" % (m, k, k, n))
            so_or_err, so = self.compile("gemm_" + shape, dsl, [], 1)
            for t in THREADS:
                log("gemm %s, %d thread%s" % (shape, t, "s" if t > 1 else ""))
                res = {}
                # Rounds: the implementations take turns, and each keeps its
                # best round, so that a burst of load from a neighbour does
                # not land on one of them only.
                for _ in range(cfg["gemm_rounds"]):
                    for impl in impls:
                        exe = self.tools.get(impl)
                        if impl == "dlcc" and so is None:
                            res[impl] = so_or_err
                            continue
                        if not exe:
                            res[impl] = None
                            continue
                        if isinstance(res.get(impl), str):
                            continue   # failed in an earlier round
                        cmd = [exe, str(m), str(k), str(n), str(t), str(cfg["gemm_min_s"]),
                               str(cfg["gemm_min_runs"])] + ([so] if impl == "dlcc" else [])
                        rc, out, err = run(cmd, env=thread_env(t), timeout=600)
                        f = out.split()
                        if rc == 0 and len(f) == 9:
                            # median ms, GFLOP/s, measured on a busy machine
                            r = (float(f[6]), float(f[8]), disturbed(t))
                            if res.get(impl) is None or r[1] > res[impl][1]:
                                res[impl] = r
                        else:
                            msg = why(rc, out, err)
                            res[impl] = "error: " + msg
                            if impl == "dlcc":
                                errors.append("gemm %s t=%d: %s" % (shape, t, msg))
                            else:
                                notes.append("%s gemm %s t=%d: %s" % (impl, shape, t, msg))
                rows.append((shape, t, res))
            if self.mode == "full":
                self.measure_peak()   # again: keep the best, least disturbed
        self.measure_peak()
        rows = [self.gemm_row(*r) for r in rows]
        self.section_peak()
        print("## GEMM: f32 C = A @ B")
        print()
        print("MxKxN, row-major, A and B runtime inputs (bench/gemm.c; dlcc through the "
              "runtime C API). Median of >= %d calls and >= %.2g s after a warm-up%s; "
              "GFLOP/s = 2MKN / median. \"vs best peer\": dlcc's GFLOP/s / the faster "
              "peer's. \"%% peak\": of the FMA peak at that thread count."
              % (cfg["gemm_min_runs"], cfg["gemm_min_s"],
                 "; %d rounds with the implementations taking turns, each keeping its "
                 "best round" % cfg["gemm_rounds"] if cfg["gemm_rounds"] > 1 else ""))
        print()
        table(["MxKxN", "thr", "dlcc ms", "dlcc GF/s", "oneDNN GF/s", "OpenBLAS GF/s",
               "dlcc vs best peer", "dlcc % peak", "oneDNN % peak", "OpenBLAS % peak"], rows)

    def gemm_row(self, shape, t, res):
        def gf(impl):
            r = res.get(impl)
            return r[1] if isinstance(r, tuple) else None

        def cell(impl):
            r = res.get(impl)
            if isinstance(r, str):
                return r
            if r is None:
                return "n/a"
            return "%.1f%s" % (r[1], "*" if r[2] else "")

        def pk(impl):
            g, p = gf(impl), self.peak.get(t)
            return "n/a" if g is None or not p else "%.0f%%" % (100 * g / p)

        d = res.get("dlcc")
        peers = [g for g in (gf("onednn"), gf("openblas")) if g is not None]
        ratio = "n/a"
        if isinstance(d, tuple) and peers:
            ratio = "%.0f%%" % (100 * d[1] / max(peers))
        return [shape, t, fmt_ms(d[0]) if isinstance(d, tuple) else (d or "n/a"),
                cell("dlcc") if isinstance(d, tuple) else "-",
                cell("onednn"), cell("openblas"), ratio, pk("dlcc"), pk("onednn"),
                pk("openblas")]

    def ensure_models(self):
        """Installs the ONNX tools (if allowed) and exports the models;
        returns the set of models whose .onnx and input exist."""
        have_torch = run([PY, "-c", "import torch, torchvision, onnx"])[0] == 0
        if not self.args.no_install and (not have_torch or run(
                ["node", "-e", "require('onnxruntime-node')"])[0] != 0):
            log("installing the ONNX tools (scripts/onnx/install_deps.sh)")
            rc, out, err = run([os.path.join(ROOT, "scripts", "onnx", "install_deps.sh")],
                               timeout=1800)
            if rc != 0:
                notes.append("scripts/onnx/install_deps.sh failed: " + why(rc, out, err))
            have_torch = run([PY, "-c", "import torch, torchvision, onnx"])[0] == 0
        self.have_torch = have_torch
        self.have_ort = run(["node", "-e", "require('onnxruntime-node')"])[0] == 0
        if not self.have_ort:
            notes.append("ONNX Runtime: onnxruntime-node does not load "
                         "(scripts/onnx/install_deps.sh installs it)")
        names = [m[0] for m in ONNX_MODELS + COMPILE_ONLY]
        if have_torch:
            log("exporting %s (cached in %s)" % (" ".join(names),
                                                 os.path.relpath(self.model_dir, ROOT)))
            rc, out, err = run([PY, os.path.join(ROOT, "scripts", "onnx", "export_models.py"),
                                self.model_dir] + names, timeout=1800)
            if rc != 0:
                notes.append("export_models.py failed: " + why(rc, out, err))
        else:
            notes.append("PyTorch: python3-torch/torchvision/onnx missing for %s: "
                         "no ONNX export, no PyTorch timings" % PY)
        return {n for n in names
                if os.path.exists(os.path.join(self.model_dir, n + ".onnx"))
                and os.path.exists(os.path.join(self.model_dir, n + ".input.npy"))}

    def compile_onnx(self, models, available):
        for name, _, opts, _ in models:
            if name in self.so:
                continue
            if name not in available:
                self.so[name] = "n/a (not exported)"
                continue
            log("compiling %s.onnx" % name)
            res, so = self.compile(name, os.path.join(self.model_dir, name + ".onnx"),
                                   opts, self.cfg["compile_reps"])
            self.so[name] = so if so else res
            self.compile_times.append(
                (name, "ONNX", os.path.getsize(os.path.join(self.model_dir, name + ".onnx")),
                 res))

    def compare(self, got, ref):
        if not (os.path.exists(got) and os.path.exists(ref)):
            return None
        rc, out, err = run([PY, os.path.join(ROOT, "scripts", "onnx", "compare.py"),
                            got, ref, "1e-3"])
        f = out.split()
        try:
            return float(f[0])
        except (IndexError, ValueError):
            return "not comparable: " + why(rc, out, err)

    def model_round(self, name, so, x, t, threads, rnd, available, keep):
        """One round of dlcc, ONNX Runtime and PyTorch on model `name` with
        t threads; keep(key, ms) records each time. A dlcc failure in any
        round is an error; a peer's is noted once, from the first round."""
        cfg = self.cfg
        if not so or not so.endswith(".so"):
            keep((name, t, "dlcc"), so or "n/a")
        else:
            log("%s: dlcc, %s" % (name, threads))
            ms, err = self.dlcc_bench(
                so, [("input", x)], t, cfg["model_min_runs"], cfg["model_min_s"],
                output="output=" + os.path.join(self.work, "%s.dlcc.%d.npy" % (name, t)))
            if err:  # every round: a failure in any of them fails the suite
                errors.append("%s t=%d round %d: %s" % (name, t, rnd + 1, err))
            keep((name, t, "dlcc"), ms if err is None else err)
        if name in available and self.have_ort:
            log("%s: ONNX Runtime, %s" % (name, threads))
            rc, out, err = run(
                ["node", os.path.join(ROOT, "scripts", "onnx", "ort_run.js"),
                 os.path.join(self.model_dir, name + ".onnx"), "--input", "input=" + x,
                 "--output",
                 "output=" + os.path.join(self.work, "%s.ort.%d.npy" % (name, t)),
                 "--threads", str(t), "--bench", str(cfg["model_min_runs"]),
                 "--min-time", str(cfg["model_min_s"])], env=thread_env(t), timeout=900)
            m = re.search(r"^bench: .* median ([0-9.]+) ms", out, re.M)
            if rc == 0 and m:
                keep((name, t, "ort"), Ms(float(m.group(1)), disturbed(t)))
            elif rnd == 0:
                notes.append("ONNX Runtime %s t=%d: %s" % (name, t, why(rc, out, err)))
        if name in available and self.have_torch:
            log("%s: PyTorch, %s" % (name, threads))
            rc, out, err = run(
                [PY, os.path.join(ROOT, "bench", "torch_onnx_models.py"), str(t),
                 str(cfg["model_min_runs"]), str(cfg["model_min_s"]),
                 self.model_dir, self.work, name], env=thread_env(t), timeout=1200)
            f = out.split()
            if rc == 0 and len(f) == 4 and f[0] == name:
                keep((name, t, "torch"), Ms(float(f[1]), disturbed(t)))
                os.replace(os.path.join(self.work, name + ".torch.npy"),
                           os.path.join(self.work, "%s.torch.%d.npy" % (name, t)))
            elif rnd == 0:
                notes.append("PyTorch %s t=%d: %s" % (
                    name, t, " ".join(f[2:]) if len(f) > 2 and f[1] == "error"
                    else why(rc, out, err)))

    def section_models(self):
        cfg = self.cfg
        available = self.ensure_models()
        self.compile_onnx(ONNX_MODELS, available)
        res = {}  # (model, t, runner) -> ms or text
        # For each model and thread count the three runners take turns,
        # so that they meet the same neighbours' load, for model_rounds
        # rounds; each keeps its best round (a burst of load elsewhere
        # slows one round, not all of them).

        def keep(key, ms):  # the fastest time, else the first error text
            old = res.get(key)
            if isinstance(ms, float):
                if not isinstance(old, float) or ms < old:
                    res[key] = ms
            elif old is None:
                res[key] = ms

        for name, _, _, _ in ONNX_MODELS:
            so = self.so.get(name)
            x = os.path.join(self.model_dir, name + ".input.npy")
            for t in THREADS:
                threads = "%d thread%s" % (t, "s" if t > 1 else "")
                for rnd in range(cfg["model_rounds"]):
                    self.model_round(name, so, x, t, threads, rnd, available, keep)

        def ratio(d, p):
            if isinstance(d, float) and isinstance(p, float) and p > 0:
                return "%.2f" % (d / p)
            return "n/a"

        rows = []
        for name, shape, _, _ in ONNX_MODELS:
            for t in THREADS:
                d, o, p = (res.get((name, t, r)) for r in ("dlcc", "ort", "torch"))
                rows.append([name, shape, t, fmt_ms(d), fmt_ms(o), fmt_ms(p),
                             ratio(d, o), ratio(d, p)])
        print("## Models, batch 1")
        print()
        print("The same ONNX file (opset 14, random weights, `scripts/onnx/export_models.py`) "
              "run by dlcc (`dlcc-run --bench N --threads T`), ONNX Runtime "
              "(onnxruntime-node, intraOpNumThreads T, interOpNumThreads 1, default graph "
              "optimizations) and PyTorch (the same module and weights, eval mode, no_grad, "
              "torch.set_num_threads(T)). Median latency in ms over >= %d runs%s after a "
              "warm-up%s. dlcc/ORT and dlcc/PyTorch are time ratios: below 1 dlcc is faster."
              % (cfg["model_min_runs"],
                 " and >= %.3g s" % cfg["model_min_s"] if cfg["model_min_s"] else "",
                 "; %d rounds with the runners taking turns, each keeping its best round"
                 % cfg["model_rounds"] if cfg["model_rounds"] > 1 else ""))
        print()
        for name, shape, _, desc in ONNX_MODELS:
            print("- %s: %s, input %s" % (name, desc, shape))
        print()
        table(["model", "input", "thr", "dlcc ms", "ORT ms", "PyTorch ms", "dlcc/ORT",
               "dlcc/PyTorch"], rows)
        # Do the three agree? Errors relative to the output's largest magnitude.
        agree = []
        for name, _, _, _ in ONNX_MODELS:
            ref = os.path.join(self.work, "%s.ort.1.npy" % name)
            parts = []
            for who, tag in (("dlcc", "dlcc"), ("PyTorch", "torch")):
                errs = [self.compare(os.path.join(self.work, "%s.%s.%d.npy" % (name, tag, t)), ref)
                        for t in THREADS]
                errs = [e for e in errs if e is not None]
                if not errs:
                    continue
                bad = [e for e in errs if isinstance(e, str)]
                worst = bad[0] if bad else max(errs)
                if who == "dlcc" and (bad or worst > 1e-3):
                    errors.append("%s: dlcc's output differs from ONNX Runtime's: %s" % (
                        name, worst if bad else "max rel err %.2g" % worst))
                parts.append("%s %s" % (who, worst if bad else "%.1e" % worst))
            if parts:
                agree.append("%s: %s" % (name, ", ".join(parts)))
        if agree:
            print("Outputs vs ONNX Runtime's (max |x - ort| / max |ort|, worst over thread "
                  "counts): " + "; ".join(agree) + ".")
            print()

    def section_compile(self):
        available = self.ensure_models() if not hasattr(self, "have_torch") else {
            n for n, _, _, _ in ONNX_MODELS + COMPILE_ONLY
            if os.path.exists(os.path.join(self.model_dir, n + ".onnx"))}
        self.compile_onnx(ONNX_MODELS + COMPILE_ONLY, available)
        for name, src, opts, _ in self.dsl_examples():
            if name in self.so:
                continue
            log("compiling %s" % os.path.relpath(src, ROOT))
            res, so = self.compile(name, src, opts, self.cfg["compile_reps"])
            self.so[name] = so if so else res
            self.compile_times.append((name, "DSL", os.path.getsize(src), res))
        rows = []
        for name, kind, size, res in self.compile_times:
            src = ("%s.onnx" % name) if kind == "ONNX" else os.path.relpath(
                dict((n, s) for n, s, _, _ in self.dsl_examples())[name], ROOT)
            rows.append([name, src, "%.1f MB" % (size / 1e6) if size >= 1e5 else
                         "%.1f kB" % (size / 1e3), fmt(res, "%.2f")])
        print("## Compile time")
        print()
        print("`dlcc MODEL -o MODEL.so` at the default optimization level (-O2), wall "
              "seconds, %s, including LLVM and the link; the dlcc binary is a %s build."
              % ("best of %d" % self.cfg["compile_reps"] if self.cfg["compile_reps"] > 1
                 else "one run", self.build_type()))
        print()
        table(["model", "source", "file size", "compile s"], rows)

    def build_type(self):
        try:
            for line in open(os.path.join(self.build, "CMakeCache.txt")):
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    return line.split("=", 1)[1].strip() or "default"
        except OSError:
            pass
        return "unknown"

    def dsl_examples(self):
        ex = os.path.join(ROOT, "examples")
        models = [
            ("mlp", os.path.join(ex, "mlp.dsl"),
             ["--weights", os.path.join(ex, "mlp.safetensors")], None),
            ("lenet", os.path.join(ex, "lenet.dsl"), [], None),
            ("resnet18.dsl", os.path.join(ex, "resnet18.dsl"), [], None),
            ("bert_layer.dsl", os.path.join(ex, "bert_layer.dsl"), [], None),
        ]
        # The short suite keeps the two small ones (the ONNX models cover
        # ResNet-18 and BERT).
        return models if self.mode == "full" else models[:2]

    def section_examples(self):
        cfg = self.cfg
        for name, src, opts, _ in self.dsl_examples():
            if name not in self.so:
                log("compiling %s" % os.path.relpath(src, ROOT))
                res, so = self.compile(name, src, opts, 1)
                self.so[name] = so if so else res
        w = self.work
        save_npy(os.path.join(w, "x28.npy"), (1, 1, 28, 28), 1)
        save_npy(os.path.join(w, "img.npy"), (1, 3, 224, 224), 2)
        save_npy(os.path.join(w, "seq.npy"), (128, 768), 3)
        with open(os.path.join(w, "mask.npy"), "wb") as f:
            h = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 128), }"
            h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
            f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode())
            f.write(b"\0" * 4 * 128)
        inputs = {
            "mlp": [("x", os.path.join(ROOT, "examples", "x.npy"))],
            "lenet": [("x", os.path.join(w, "x28.npy"))],
            "resnet18.dsl": [("image", os.path.join(w, "img.npy"))],
            "bert_layer.dsl": [("x", os.path.join(w, "seq.npy")),
                               ("mask", os.path.join(w, "mask.npy"))],
        }
        lat = {}
        for name, _, _, _ in self.dsl_examples():
            so = self.so.get(name)
            if not so or not so.endswith(".so"):
                lat[name] = so or "n/a"
                continue
            log("example %s: dlcc, 1 thread" % name)
            runs = cfg["mlp_runs"] if name in ("mlp", "lenet") else cfg["example_min_runs"]
            ms, err = self.dlcc_bench(so, inputs[name], 1, runs, cfg["example_min_s"])
            if err:
                errors.append("%s: %s" % (name, err))
            lat[name] = ms if err is None else err
        peer = {}
        log("example mlp: numpy")
        rc, out, err = run([PY, os.path.join(ROOT, "bench", "mlp_numpy.py"), ROOT,
                            str(cfg["mlp_runs"])], env=thread_env(1))
        try:
            peer["mlp"] = ("numpy", float(out.split()[0]))
        except (IndexError, ValueError):
            peer["mlp"] = ("numpy", None)
            notes.append("numpy mlp: " + why(rc, out, err))
        if self.mode == "full" and run([PY, "-c", "import torch, torchvision"])[0] == 0:
            log("examples resnet18, bert_layer: PyTorch")
            rc, out, err = run([PY, os.path.join(ROOT, "bench", "torch_models.py"), "1",
                                str(cfg["example_min_runs"])], env=thread_env(1), timeout=900)
            for line in out.splitlines():
                f = line.split()
                if len(f) == 3:
                    peer[f[0] + ".dsl"] = ("PyTorch", float(f[1]))
            if rc != 0:
                notes.append("PyTorch examples: " + why(rc, out, err))
        rows = []
        for name, _, _, _ in self.dsl_examples():
            d = lat.get(name)
            who, p = peer.get(name, ({"mlp": "numpy", "lenet": "-"}.get(name, "PyTorch"), None))
            r = "%.2f" % (d / p) if isinstance(d, float) and isinstance(p, float) else "n/a"
            rows.append([name, fmt_ms(d), who, fmt_ms(p) if who != "-" else "-",
                         r if who != "-" else "-"])
        print("## DSL examples, 1 thread%s" % ("" if self.mode == "full" else
                                               " (short suite: the small ones)"))
        print()
        print("`examples/*.dsl` with their seeded random weights. mlp vs the same computation "
              "in numpy (`bench/mlp_numpy.py`: mostly interpreter overhead at this size); "
              "resnet18 and bert_layer vs PyTorch on the same architectures with other random "
              "weights (`bench/torch_models.py`: torchvision resnet18, "
              "TransformerEncoderLayer(768, 12, 3072)). dlcc/peer is a time ratio.")
        print()
        table(["model", "dlcc ms", "peer", "peer ms", "dlcc/peer"], rows)

    def main(self):
        t0 = time.monotonic()
        sections = self.args.sections.split(",")
        for s in sections:
            if s not in ("peak", "gemm", "models", "compile", "examples"):
                print("suite.py: unknown section %r" % s, file=sys.stderr)
                return 2
        for tool in (self.dlcc, self.dlcc_run):
            if not os.access(tool, os.X_OK):
                print("bench: %s is missing: build dlcc first" % tool, file=sys.stderr)
                return 2
        self.header()
        self.build_tools()
        order = ["peak", "gemm", "models", "compile", "examples"]
        if "gemm" in sections and "peak" in sections:
            sections.remove("peak")   # the GEMM section prints the peak table
        for s in order:
            if s in sections:
                try:
                    getattr(self, "section_" + s)()
                except Exception as e:  # a bug here must not hide the other sections
                    import traceback
                    traceback.print_exc()
                    errors.append("section %s: %s: %s" % (s, type(e).__name__, e))
        self.versions()
        if notes:
            print("Notes:")
            for n in notes:
                print("- " + n)
            print()
        if errors:
            print("Errors (dlcc):")
            for e in errors:
                print("- " + e)
            print()
        print("Suite time: %.0f s (%s mode); load average at the end: %s." % (
            time.monotonic() - t0, self.mode, loadavg()))
        shutil.rmtree(self.work, ignore_errors=True)
        return 1 if errors else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="dlcc build folder (BUILD/bin/dlcc)")
    ap.add_argument("--short", action="store_true", help="the quick version (CI)")
    ap.add_argument("--no-install", action="store_true",
                    help="do not run scripts/onnx/install_deps.sh")
    ap.add_argument("--sections", default="peak,gemm,models,compile,examples")
    args = ap.parse_args()
    b = Bench(args)
    try:
        return b.main()
    finally:
        shutil.rmtree(b.work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
