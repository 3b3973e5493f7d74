#!/usr/bin/env bash
# Train on the EC2 instance at boot and leave a deployable model in S3.
#
# Run by the dog-breeds-train systemd unit that user_data.sh.tftpl installs, from the code
# bundle (code/code.tar.gz), with these variables (from /etc/dog-breeds/train.env):
#   BUCKET, DATA_PREFIX, MODELS_PREFIX, RUN_ID   where data comes from and the model goes
#   HYPERPARAMETERS                              extra ml/train.py flags, e.g. "--epochs 5"
#   PACKAGE_INT8                                 true (default): add the int8 model for CPU endpoints
#   STOP_AFTER_TRAINING                          true: power off when done (the instance stops)
#   WORK_DIR, PYTHON                             local working folder, the PyTorch interpreter
#   INSTANCE_ID                                  who claims the run (the launcher reads it from
#                                                the instance metadata; default: the host name)
# Every AWS call goes through boto3 with the standard AWS configuration (AWS_ENDPOINT_URL
# included), so the same script runs against an emulator.
#
# Result: s3://$BUCKET/$MODELS_PREFIX$RUN_ID/{model.tar.gz, model.tar.gz.sha256, metrics.json,
# train.log, _SUCCESS}, _SUCCESS written last with a conditional write. A finished run (its
# _SUCCESS exists) is never redone or overwritten:
# - the first boot claims the run (_CLAIM, a conditional write holding its INSTANCE_ID); a boot
#   of another instance finds the claim and leaves the run alone (exit 0);
# - S3 failing for now (throttled, a 5xx, the network), whether to say if the run has
#   finished, to download the data or to upload the model, stops the script with exit 75
#   (EX_TEMPFAIL), which the systemd unit retries later; S3 refusing for good (403, 404) is a
#   failure (exit 1) whose log names S3's reason;
# - the data is mirrored as `aws s3 sync --delete` would: what was deleted from S3 is deleted
#   here, so fixing the data in S3 and rebooting trains on the fixed data;
# - a failed run uploads train.log and no _SUCCESS, and exits non-zero.
set -euo pipefail

: "${BUCKET:?BUCKET is required}" "${DATA_PREFIX:?}" "${MODELS_PREFIX:?}" "${RUN_ID:?}"
: "${WORK_DIR:?WORK_DIR is required}" "${PYTHON:=python3}" "${INSTANCE_ID:=$(hostname)}"
HYPERPARAMETERS="${HYPERPARAMETERS:-}"
PACKAGE_INT8="${PACKAGE_INT8:-true}"
STOP_AFTER_TRAINING="${STOP_AFTER_TRAINING:-false}"

CODE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="$WORK_DIR/runs/$RUN_ID"
RUN_URI="s3://$BUCKET/$MODELS_PREFIX$RUN_ID"
LOG_FILE="$RUN_DIR/train.log"
export PYTHONPATH="$CODE_DIR${PYTHONPATH:+:$PYTHONPATH}"

mkdir -p "$RUN_DIR"
exec > >(tee -a "$LOG_FILE") 2>&1

log() { printf '%s train_on_boot: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
readonly TEMPFAIL=75
# ml.s3_transfer's exit statuses: 0 yes/done, 1 absent, 2 bad arguments, 3 S3 could not answer
# now, 4 already there, 5 S3 refused for good, 6 the local disk failed (both logged why). "Could not answer" becomes
# TEMPFAIL, which stops the script for systemd to retry later; "refused" a failure (1).
readonly S3_UNAVAILABLE=3 S3_REFUSED=5
s3() {
  local status=0
  "$PYTHON" -m ml.s3_transfer "$@" || status=$?
  case $status in
    "$S3_UNAVAILABLE") return $TEMPFAIL ;;
    "$S3_REFUSED") return 1 ;;
  esac
  return $status
}

finish() {
  local status=$?
  if [[ $status -eq $TEMPFAIL ]]; then
    log "S3 did not answer for now; exiting $TEMPFAIL so that systemd tries again later" \
      "(what is done here stays: the next try resumes)"
    exit "$status"
  fi
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

# 0 finished, 1 not yet; anything else means S3 did not say, and training now could
# overwrite a finished model. (Not through s3(): there "refused" becomes 1, which here would
# read as "not finished".)
finished() {
  local status=0
  "$PYTHON" -m ml.s3_transfer exists "$RUN_URI/_SUCCESS" || status=$?
  case $status in
    0) return 0 ;;
    1) return 1 ;;
    "$S3_UNAVAILABLE")
      log "cannot tell whether run $RUN_ID has finished (S3 error)"
      exit $TEMPFAIL
      ;;
    *)
      log "cannot tell whether run $RUN_ID has finished (S3 refused: see the error above)"
      exit 1
      ;;
  esac
}

if finished; then
  log "run $RUN_ID already finished ($RUN_URI/_SUCCESS exists): nothing to do"
  exit 0
fi

printf '%s\n' "$INSTANCE_ID" > "$RUN_DIR/_CLAIM"
claim_status=0
s3 put-if-absent "$RUN_DIR/_CLAIM" "$RUN_URI/_CLAIM" || claim_status=$?
case $claim_status in
  0) log "run $RUN_ID claimed by $INSTANCE_ID" ;;
  4)
    s3 get "$RUN_URI/_CLAIM" "$RUN_DIR/claimed"
    owner="$(cat "$RUN_DIR/claimed")"
    if [[ "$owner" != "$INSTANCE_ID" ]]; then
      log "run $RUN_ID is claimed by $owner, not $INSTANCE_ID: leaving it to that instance" \
        "(if it is gone, delete $RUN_URI/_CLAIM or set a new training_run_id)"
      exit 0
    fi
    log "run $RUN_ID was claimed by this instance before: resuming it"
    ;;
  *) exit "$claim_status" ;;
esac

log "run $RUN_ID: code from $CODE_DIR, data from s3://$BUCKET/$DATA_PREFIX"
"$PYTHON" -m pip install --quiet -r "$CODE_DIR/requirements.txt"  # pinned; a no-op when present
# A mirror: files deleted from S3 are deleted here too, changed ones fetched again.
s3 download --delete "s3://$BUCKET/$DATA_PREFIX" "$WORK_DIR/data"

log "training with: $HYPERPARAMETERS"
# shellcheck disable=SC2086 # HYPERPARAMETERS is a list of flags
# --no-package-int8: ml.package below adds the int8 model, as PACKAGE_INT8 says.
"$PYTHON" -m ml.train --data-dir "$WORK_DIR/data" --model-dir "$RUN_DIR/model" \
  --checkpoint-dir "$RUN_DIR/checkpoints" --output-data-dir "$RUN_DIR/output" \
  --no-package-int8 $HYPERPARAMETERS

package_flags=()
if [[ "$PACKAGE_INT8" == "true" ]]; then
  # An int8 model that agrees too little with fp32 is left out (the log says why): the fp32
  # model ships, rather than a finished training run lost on every boot.
  package_flags=(--int8 --int8-optional --calibration-dir "$WORK_DIR/data/valid"
    --holdout-dir "$WORK_DIR/data/test")
fi
"$PYTHON" -m ml.package "$RUN_DIR/model" "$RUN_DIR/model.tar.gz" "${package_flags[@]}"
(cd "$RUN_DIR" && sha256sum model.tar.gz > model.tar.gz.sha256)
log "model.tar.gz sha256 $(cut -d' ' -f1 "$RUN_DIR/model.tar.gz.sha256")"

if finished; then
  log "run $RUN_ID finished elsewhere meanwhile: keeping that model, not uploading this one"
  exit 1
fi
s3 upload "$RUN_DIR/model.tar.gz" "$RUN_URI/model.tar.gz"
s3 upload "$RUN_DIR/model.tar.gz.sha256" "$RUN_URI/model.tar.gz.sha256"
s3 upload "$RUN_DIR/model/metrics.json" "$RUN_URI/metrics.json"
log "run $RUN_ID finished; model at $RUN_URI/model.tar.gz"
s3 upload "$LOG_FILE" "$RUN_URI/train.log"
printf '{"run_id": "%s", "model": "%s/model.tar.gz", "finished": "%s"}\n' \
  "$RUN_ID" "$RUN_URI" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$RUN_DIR/_SUCCESS"
success_status=0
s3 put-if-absent "$RUN_DIR/_SUCCESS" "$RUN_URI/_SUCCESS" || success_status=$?
case $success_status in
  0) ;;
  4)
    log "$RUN_URI/_SUCCESS appeared while uploading: another boot finished the run"
    exit 1
    ;;
  *) exit "$success_status" ;;  # TEMPFAIL: the next try uploads again and writes it
esac
