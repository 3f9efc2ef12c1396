#!/usr/bin/env bash
# neurofit simulation workers as a Slurm job array: one worker process per
# task, one CPU each. Submit with
#
#   NEUROFIT_REDIS_URL='redis://neurofit:PASSWORD@head-node:6379' \
#     sbatch --array=0-63 examples/slurm_workers.sh
#
# (sbatch exports the environment, so the password stays off command lines).
# Workers stop on SIGTERM (scancel, time limit) after finishing their batch;
# a batch of a killed task is taken over by another worker after the
# visibility timeout.
#SBATCH --job-name=neurofit-workers
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --time=04:00:00
#SBATCH --signal=TERM@120
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
exec deno run -A distributed/worker.ts --queue "${NEUROFIT_QUEUE:-neurofit}" \
  --name "slurm-${SLURM_ARRAY_JOB_ID:-0}-${SLURM_ARRAY_TASK_ID:-0}"
