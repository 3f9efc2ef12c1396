"""Brian 2 side of bench/brian_bench.ts: the tutorial HH model
(tests/golden/_models.ts HH_TUTORIAL, exponential Euler, dt 0.01 ms) on N
neurons for a number of steps, compilation excluded.

    /usr/bin/python3 bench/brian/hh_bench.py --target cython --n 10000 \
        --steps 1000 --precision float64

Prints one JSON object: wall and CPU seconds of the simulation alone.

- cython (runtime): a 10-step warm-up run compiles and caches every code
  object; the timed run() is the second one, so it holds the stepping plus
  Brian's per-run bookkeeping (before_run with cached code, a few ms).
- cpp_standalone: the project is generated and compiled first (not timed);
  the compiled binary is then run by device.run() and timed from outside
  (wall, and the child's CPU time via getrusage), and Brian's own timing of
  the main loop (device._last_run_time) is reported too. Single-threaded
  (no OpenMP), like the cython target.

The input current is a TimedArray read each step, as neurofit reads its input
trace each step (same 1 nA value for every neuron).
"""
import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--target", choices=["cython", "cpp_standalone"], default="cython")
parser.add_argument("--n", type=int, default=10000)
parser.add_argument("--steps", type=int, default=1000)
parser.add_argument("--precision", choices=["float64", "float32"], default="float64")
args = parser.parse_args()

import numpy as np  # noqa: E402
import brian2  # noqa: E402
from brian2 import (  # noqa: E402
    NeuronGroup, TimedArray, defaultclock, device, mV, ms, nA, nS, pF, prefs,
    run, set_device, uS,
)

prefs.core.default_float_dtype = np.float32 if args.precision == "float32" else np.float64
build_dir = None
if args.target == "cpp_standalone":
    build_dir = tempfile.mkdtemp(prefix="neurofit_brian_standalone_")
    set_device("cpp_standalone", directory=build_dir, build_on_run=False)
else:
    prefs.codegen.target = "cython"

El, EK, ENa, VT, Cm = -65 * mV, -90 * mV, 50 * mV, -63 * mV, 200 * pF
dt = 0.01 * ms
defaultclock.dt = dt
I_in = TimedArray(np.full(args.steps + 20, 1.0) * nA, dt=dt)
eqs = """
dv/dt = (gl*(El-v) - g_na*(m*m*m)*h*(v-ENa) - g_kd*(n*n*n*n)*(v-EK) + I)/Cm : volt
dm/dt = 0.32*(mV**-1)*(13.*mV-v+VT)/(exp((13.*mV-v+VT)/(4.*mV))-1.)/ms*(1-m)
        - 0.28*(mV**-1)*(v-VT-40.*mV)/(exp((v-VT-40.*mV)/(5.*mV))-1.)/ms*m : 1
dn/dt = 0.032*(mV**-1)*(15.*mV-v+VT)/(exp((15.*mV-v+VT)/(5.*mV))-1.)/ms*(1.-n)
        - .5*exp((10.*mV-v+VT)/(40.*mV))/ms*n : 1
dh/dt = 0.128*exp((17.*mV-v+VT)/(18.*mV))/ms*(1.-h) - 4./(1+exp((40.*mV-v+VT)/(5.*mV)))/ms*h : 1
I = I_in(t) : amp
g_na : siemens (constant)
g_kd : siemens (constant)
gl   : siemens (constant)
"""
G = NeuronGroup(args.n, eqs, method="exponential_euler")
G.v = -65 * mV
G.gl = 10 * nS
G.g_na = 20 * uS
G.g_kd = 6 * uS

out = {
    "brian2": brian2.__version__,
    "target": args.target,
    "precision": args.precision,
    "n": args.n,
    "steps": args.steps,
}
if args.target == "cython":
    run(10 * dt)  # compiles and caches every code object
    c0, t0 = time.process_time(), time.perf_counter()
    run(args.steps * dt)
    out["wallSeconds"] = time.perf_counter() - t0
    out["cpuSeconds"] = time.process_time() - c0
    v = np.asarray(G.v[:])
else:
    run(args.steps * dt)
    t0 = time.perf_counter()
    device.build(directory=build_dir, compile=True, run=False)
    out["compileSeconds"] = time.perf_counter() - t0
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    device.run(directory=build_dir, with_output=False, run_args=[])
    out["wallSeconds"] = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["cpuSeconds"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    out["mainLoopSeconds"] = float(device._last_run_time)
    v = np.asarray(G.v[:])
    shutil.rmtree(build_dir, ignore_errors=True)
if not np.all(np.isfinite(v)):
    sys.exit("non-finite v after the run")
out["vMeanMilliVolt"] = float(np.mean(v) * 1e3)
print(json.dumps(out))
