#!/bin/sh
# Entrypoint of the Asterisk container: assemble /etc/asterisk from the reviewed files in
# /etc/switchboard-asterisk (the repository's asterisk/ folder, mounted read-only) plus the
# few files that come from the environment, then run Asterisk in the foreground.
#
# Generated at every start, never committed:
#   ari_password.conf   password=$ASTERISK_ARI_PASSWORD for the ARI user `switchboard`
#   pjsip_nat.conf      external_*_address / local_net from ASTERISK_EXTERNAL_ADDRESS,
#                       ASTERISK_LOCAL_NET (absent when ASTERISK_EXTERNAL_ADDRESS is unset)
#   pjsip_trunk.conf    the carrier trunk from ITSP_* (absent when ITSP_HOST is unset), unless
#                       the mounted folder has its own pjsip_trunk.conf
#   keys/asterisk.{crt,key}  a self-signed certificate for transport-tls when none is mounted
#   asterisk.conf gets [directories] astdbdir => $ASTERISK_ASTDB_DIR when that is set
set -eu

SRC=${ASTERISK_CONFIG_SOURCE:-/etc/switchboard-asterisk}
# ASTERISK_ETC and ASTERISK_RENDER_ONLY=1 are for asterisk/check.sh --live: render into a
# scratch folder and stop there.
ETC=${ASTERISK_ETC:-/etc/asterisk}

die() { echo "asterisk entrypoint: $*" >&2; exit 64; }

[ -f "$SRC/extensions.conf" ] || die "$SRC/extensions.conf not found: mount the repository's asterisk/ folder there"

# --- ARI password: required, strong, never the placeholder -----------------------------
pw=${ASTERISK_ARI_PASSWORD:-}
[ -n "$pw" ] || die "ASTERISK_ARI_PASSWORD is not set (see .env.example)"
[ "${#pw}" -ge 16 ] || die "ASTERISK_ARI_PASSWORD must be at least 16 characters"
case "$pw" in
  change-me*|changeme*|secret*|password*) die "ASTERISK_ARI_PASSWORD is a placeholder: generate one (openssl rand -hex 24)" ;;
esac
case "$pw" in
  *[!A-Za-z0-9._~+=-]*) die "ASTERISK_ARI_PASSWORD may only contain A-Z a-z 0-9 . _ ~ + = - (it goes into a config line and a URL)" ;;
esac

# --- assemble /etc/asterisk --------------------------------------------------------------
# Start from an empty folder so no sample configuration of the distribution sneaks in.
find "$ETC" -mindepth 1 -maxdepth 1 ! -name keys -exec rm -rf {} +
for f in "$SRC"/*.conf; do
  cp "$f" "$ETC/"
done
mkdir -p "$ETC/keys"

umask 027
printf 'password=%s\n' "$pw" > "$ETC/ari_password.conf"

# Pushed extensions (astdb) live on their own volume, apart from the image's data.
if [ -n "${ASTERISK_ASTDB_DIR:-}" ]; then
  mkdir -p "$ASTERISK_ASTDB_DIR"
  chown asterisk:asterisk "$ASTERISK_ASTDB_DIR"
  printf '\n[directories]\nastdbdir => %s\n' "$ASTERISK_ASTDB_DIR" >> "$ETC/asterisk.conf"
fi

if [ -n "${ASTERISK_EXTERNAL_ADDRESS:-}" ]; then
  {
    echo "; generated from ASTERISK_EXTERNAL_ADDRESS / ASTERISK_LOCAL_NET"
    echo "external_media_address=$ASTERISK_EXTERNAL_ADDRESS"
    echo "external_signaling_address=$ASTERISK_EXTERNAL_ADDRESS"
    for net in $(echo "${ASTERISK_LOCAL_NET:-10.0.0.0/8,172.16.0.0/12,192.168.0.0/16}" | tr ',' ' '); do
      echo "local_net=$net"
    done
  } > "$ETC/pjsip_nat.conf"
fi

if [ ! -f "$SRC/pjsip_trunk.conf" ] && [ -n "${ITSP_HOST:-}" ]; then
  [ -n "${ITSP_USERNAME:-}" ] || die "ITSP_HOST is set but ITSP_USERNAME is not"
  [ -n "${ITSP_PASSWORD:-}" ] || die "ITSP_HOST is set but ITSP_PASSWORD is not"
  port=${ITSP_PORT:-5060}
  {
    echo "; generated from ITSP_* at container start: do not edit, change .env instead"
    echo "[itsp](itsp-endpoint)"
    echo "outbound_auth=itsp"
    echo "aors=itsp"
    echo "from_domain=$ITSP_HOST"
    echo "from_user=$ITSP_USERNAME"
    echo
    echo "[itsp](itsp-aor)"
    echo "contact=sip:$ITSP_HOST:$port"
    echo
    echo "[itsp](itsp-auth)"
    echo "username=$ITSP_USERNAME"
    echo "password=$ITSP_PASSWORD"
    echo
    echo "[itsp](itsp-identify)"
    echo "endpoint=itsp"
    for m in $(echo "${ITSP_MATCH:-$ITSP_HOST}" | tr ',' ' '); do
      echo "match=$m"
    done
    if [ "${ITSP_REGISTER:-yes}" = "yes" ]; then
      echo
      echo "[itsp](itsp-registration)"
      echo "outbound_auth=itsp"
      echo "server_uri=sip:$ITSP_HOST:$port"
      echo "client_uri=sip:$ITSP_USERNAME@$ITSP_HOST"
      echo "endpoint=itsp"
    fi
  } > "$ETC/pjsip_trunk.conf"
fi

if [ ! -s "$ETC/keys/asterisk.crt" ] || [ ! -s "$ETC/keys/asterisk.key" ]; then
  echo "asterisk entrypoint: no certificate in $ETC/keys, creating a self-signed one for transport-tls" >&2
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=${ASTERISK_TLS_NAME:-asterisk}" \
    -keyout "$ETC/keys/asterisk.key" -out "$ETC/keys/asterisk.crt" 2>/dev/null
fi

if [ "${ASTERISK_RENDER_ONLY:-0}" = 1 ]; then
  exit 0
fi

chown root:asterisk "$ETC" "$ETC"/*.conf
chmod 0750 "$ETC"
chmod 0640 "$ETC"/*.conf
# keys/ may be a read-only mount of real certificates: adjust it only when we own it.
chown -R root:asterisk "$ETC/keys" 2>/dev/null || true
chmod 0750 "$ETC/keys" 2>/dev/null || true
chmod 0640 "$ETC/keys"/* 2>/dev/null || true
mkdir -p /var/spool/asterisk/recording/fallback /var/lib/asterisk /var/log/asterisk /var/run/asterisk
chown -R asterisk:asterisk /var/spool/asterisk /var/lib/asterisk /var/log/asterisk /var/run/asterisk

# Foreground (-f) with its log on stdout (-c would need a TTY; verbosity is in asterisk.conf), drop to
# the asterisk user (-U/-G). `exec` so SIGTERM from docker stop reaches Asterisk itself.
if [ "$#" -eq 0 ]; then
  exec asterisk -f -U asterisk -G asterisk
fi
exec "$@"
