#!/usr/bin/env bash
# Train on the EC2 instance at boot and leave a deployable model in S3.
#
# Run by the dog-breeds-train systemd unit that user_data.sh.tftpl installs, from the code
# bundle (code/code.tar.gz), with these variables (from /etc/dog-breeds/train.env):
#   BUCKET, DATA_PREFIX, MODELS_PREFIX, RUN_ID   where data comes from and the model goes
#   HYPERPARAMETERS                              extra ml/train.py flags, e.g. "--epochs 5"
#   STOP_AFTER_TRAINING                          true: power off when done (the instance stops)
#   WORK_DIR, PYTHON                             local working folder, the PyTorch interpreter
# Every AWS call goes through boto3 with the standard AWS configuration (AWS_ENDPOINT_URL
# included), so the same script runs against an emulator.
#
# Result: s3://$BUCKET/$MODELS_PREFIX$RUN_ID/{model.tar.gz, model.tar.gz.sha256, metrics.json,
# train.log, _SUCCESS}, _SUCCESS written last. A run whose _SUCCESS exists is not redone; a
# failed run uploads train.log and no _SUCCESS, and exits non-zero.
set -euo pipefail

: "${BUCKET:?BUCKET is required}" "${DATA_PREFIX:?}" "${MODELS_PREFIX:?}" "${RUN_ID:?}"
: "${WORK_DIR:?WORK_DIR is required}" "${PYTHON:=python3}"
HYPERPARAMETERS="${HYPERPARAMETERS:-}"
STOP_AFTER_TRAINING="${STOP_AFTER_TRAINING:-false}"

CODE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="$WORK_DIR/runs/$RUN_ID"
RUN_URI="s3://$BUCKET/$MODELS_PREFIX$RUN_ID"
LOG_FILE="$RUN_DIR/train.log"
export PYTHONPATH="$CODE_DIR${PYTHONPATH:+:$PYTHONPATH}"

mkdir -p "$RUN_DIR"
exec > >(tee -a "$LOG_FILE") 2>&1

log() { printf '%s train_on_boot: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
s3() { "$PYTHON" -m ml.s3_transfer "$@"; }

finish() {
  local status=$?
  if [[ $status -ne 0 ]]; then
    log "FAILED with exit code $status; uploading the log to $RUN_URI/train.log"
    s3 upload "$LOG_FILE" "$RUN_URI/train.log" || log "could not upload the log"
  fi
  if [[ "$STOP_AFTER_TRAINING" == "true" ]]; then
    log "stopping the instance"
    shutdown -h +1 "training finished" || log "could not schedule the shutdown"
  fi
  exit "$status"
}
trap finish EXIT

if s3 exists "$RUN_URI/_SUCCESS"; then
  log "run $RUN_ID already finished ($RUN_URI/_SUCCESS exists): nothing to do"
  exit 0
fi

log "run $RUN_ID: code from $CODE_DIR, data from s3://$BUCKET/$DATA_PREFIX"
if ! "$PYTHON" -c "import matplotlib" 2>/dev/null; then
  "$PYTHON" -m pip install --quiet -r "$CODE_DIR/requirements.txt"
fi
s3 download "s3://$BUCKET/$DATA_PREFIX" "$WORK_DIR/data"

log "training with: $HYPERPARAMETERS"
# shellcheck disable=SC2086 # HYPERPARAMETERS is a list of flags
"$PYTHON" -m ml.train --data-dir "$WORK_DIR/data" --model-dir "$RUN_DIR/model" \
  --checkpoint-dir "$RUN_DIR/checkpoints" --output-data-dir "$RUN_DIR/output" \
  $HYPERPARAMETERS

"$PYTHON" -m ml.package "$RUN_DIR/model" "$RUN_DIR/model.tar.gz"
(cd "$RUN_DIR" && sha256sum model.tar.gz > model.tar.gz.sha256)
log "model.tar.gz sha256 $(cut -d' ' -f1 "$RUN_DIR/model.tar.gz.sha256")"

s3 upload "$RUN_DIR/model.tar.gz" "$RUN_URI/model.tar.gz"
s3 upload "$RUN_DIR/model.tar.gz.sha256" "$RUN_URI/model.tar.gz.sha256"
s3 upload "$RUN_DIR/model/metrics.json" "$RUN_URI/metrics.json"
log "run $RUN_ID finished; model at $RUN_URI/model.tar.gz"
s3 upload "$LOG_FILE" "$RUN_URI/train.log"
printf '{"run_id": "%s", "model": "%s/model.tar.gz", "finished": "%s"}\n' \
  "$RUN_ID" "$RUN_URI" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$RUN_DIR/_SUCCESS"
s3 upload "$RUN_DIR/_SUCCESS" "$RUN_URI/_SUCCESS"
