# Shared by the bench scripts (sourced, not run): `sim` is the simulator to measure.
# HEARSAY_SIM=path measures that binary as it is (e.g. a copy kept aside while the tree
# changes); otherwise the setup build is made (or brought up to date) and used.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${HEARSAY_SIM:-}" ]; then
  sim=$HEARSAY_SIM
else
  bash "$top/.ci/setup" > /dev/null
  sim=$top/build/bin/hearsay-sim
fi
