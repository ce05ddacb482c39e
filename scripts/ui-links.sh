#!/usr/bin/env bash
# The Temporal Web UI links to the operators' searches, as `npm start` prints them
# (scripts/start.sh; test/browser opens them). Host, port and namespace from scripts/env.sh.
set -euo pipefail
source "$(dirname "$0")/env.sh"

ui_search() { # a Web UI link to a workflow search
  local q
  q=$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1")
  echo "$TEMPORAL_UI_URL/namespaces/$TEMPORAL_NAMESPACE/workflows?query=$q"
}
echo "    pending reviews    $(ui_search "ReviewState = 'Pending'")"
echo "    recon exceptions   $(ui_search "ReconState = 'Exceptions'")"
echo "    open recoveries    $(ui_search "RecoveryState = 'Offsetting' OR RecoveryState = 'Requested'")"
echo "    unpaid installments $(ui_search "CollectionState = 'Exhausted'")"
echo "    pending approvals  $(ui_search "ApprovalState = 'Pending'")"
echo "    paused orders      $(ui_search "GatewayPause = 'Paused'")"
