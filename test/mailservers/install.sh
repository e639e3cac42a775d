#!/bin/sh
# install.sh: install the Debian 12 packages the real-mail test suite needs
# (Postfix, Dovecot IMAP/LMTP/Sieve, OpenSSL) and the vmail system user.
# Idempotent: asks apt only for missing packages (naming an installed package
# would upgrade it), so it returns at once when everything is present.
# Must run as root. System daemons are never started: a policy-rc.d that
# exits 101 is put in place for the duration of the install when absent.
set -eu

packages="postfix dovecot-imapd dovecot-lmtpd dovecot-sieve openssl"

if [ "$(id -u)" -ne 0 ]; then
	echo "install.sh: must run as root" >&2
	exit 1
fi

missing=""
for p in $packages; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	if [ "$status" != "installed" ]; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	policy=/usr/sbin/policy-rc.d
	created_policy=no
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		created_policy=yes
	fi
	log=$(mktemp)
	cleanup() {
		if [ "$created_policy" = yes ]; then
			rm -f "$policy"
		fi
		rm -f "$log"
	}
	trap cleanup EXIT
	trap 'exit 1' INT TERM

	debconf-set-selections <<'SEL'
postfix postfix/main_mailer_type select Local only
postfix postfix/mailname string mail.example.test
SEL
	echo "install.sh: installing$missing" >&2
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
		cat "$log" >&2
		echo "install.sh: apt-get failed" >&2
		exit 1
	fi
fi

if ! getent passwd vmail >/dev/null; then
	if ! getent group vmail >/dev/null; then
		groupadd --system vmail
	fi
	useradd --system --gid vmail --home-dir /nonexistent --no-create-home \
		--shell /usr/sbin/nologin vmail
fi
