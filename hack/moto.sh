#!/usr/bin/env bash
# Finds moto_server (moto 5, a real implementation of the EC2 and ELBv2 APIs
# that the `--aws` tests run on 127.0.0.1) and prints its path last, or an
# empty line when there is none: those tests then skip locally and fail
# under CI=true. moto comes with the machine's Python (pyenv), whose shims
# are on PATH only in a login shell, so the pyenv versions are searched too.
set -euo pipefail
for c in "${RINGFENCE_MOTO_SERVER:-}" "$(command -v moto_server || true)" \
	"${PYENV_ROOT:-${HOME}/.pyenv}/shims/moto_server" "${PYENV_ROOT:-${HOME}/.pyenv}"/versions/*/bin/moto_server; do
	if [[ -n "${c}" && -x "${c}" ]]; then
		echo "${c}"
		exit 0
	fi
done
echo "moto: moto_server not found (on PATH or in pyenv); the --aws tests will skip (and fail under CI=true)" >&2
echo ""
