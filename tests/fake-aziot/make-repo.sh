#!/bin/sh
# Builds a stand-in for Microsoft's Debian 12 repository of the IoT Edge runtime: the packages
# aziot-identity-service and aziot-edge with the file layout, unit names, socket paths and
# owners of the real ones (see /work/shared/specs/eflow-guest.md, "IoT Edge runtime packaging"),
# but daemons that only wait. Their sockets are the real packages' socket units: systemd listens
# on them itself, so a booted guest shows the same listening sockets with the same owners.
#
#   tests/fake-aziot/make-repo.sh OUTDIR
#
# writes OUTDIR/repo (pool/ and dists/bookworm/{InRelease,main/binary-amd64/Packages.xz}) and
# OUTDIR/keyring.gpg, the public key of a throwaway signing key made for this run.
# The .deb files and Packages.xz are bit-for-bit the same on every run (fixed mtimes, root
# ownership, dpkg-deb's sorted members, xz without timestamps), so recipes/images/eflow.lock
# pins their sha256; only the InRelease signature differs from run to run, and it is not pinned.
# Needs: dpkg-deb, xz, gpg, gpgv (all on the build host and in CI).
set -eu

out=${1:?usage: make-repo.sh OUTDIR}
VERSION_IS=1.5.6-1
VERSION_EDGE=1.5.21-1
EPOCH=1717200000 # 2024-06-01, also the Release Date below

umask 022
export LC_ALL=C SOURCE_DATE_EPOCH=$EPOCH TZ=UTC
for tool in dpkg-deb xz gpg; do
    command -v $tool >/dev/null || { echo "make-repo.sh: $tool is missing (apt-get install dpkg xz-utils gpg)" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A daemon that only waits: the real ones serve HTTP over the sockets systemd hands them.
waiter() {
    printf '#!/bin/sh\n# Stand-in for %s (test package): waits until stopped.\nexec sleep infinity\n' "$1"
}

# What dh_fixperms leaves in a real package: directories 0755, files 0644, programs 0755.
fixperms() {
    find "$1" -path "$1/DEBIAN" -prune -o -type d -exec chmod 0755 {} +
    find "$1" -path "$1/DEBIAN" -prune -o -type f ! -perm -u+x -exec chmod 0644 {} +
}

# The units carry the settings of the real ones (iot-identity-service release/1.5 ab9d000:
# */aziot-*d.{service,socket}.in and the Makefile's substitutions; iotedge release/1.5
# 94e4593: edgelet/contrib/systemd/debian/).
is_socket_unit() { # svc what user
    cat <<UNIT
[Unit]
Description=Azure IoT $2 Service API socket
PartOf=aziot-$1.service

[Socket]
ListenStream=/run/aziot/$1.sock
SocketMode=0660
DirectoryMode=0755
SocketUser=$3
SocketGroup=$3

[Install]
WantedBy=sockets.target
UNIT
}

is_service_unit() { # svc what user
    cat <<UNIT
[Unit]
Description=Azure IoT $2 Service
Requires=aziot-$1.socket
After=aziot-$1.socket

[Service]
Environment="LD_LIBRARY_PATH=/usr/lib/aziot-identity-service"
ExecStart=/usr/libexec/aziot-identity-service/aziot-$1
KillMode=process
Restart=on-failure
RestartSec=5s
User=$3

[Install]
WantedBy=multi-user.target
UNIT
}

edged_socket_unit() { # kind mode
    cat <<UNIT
[Unit]
Description=Azure IoT Edge daemon $1 socket
Documentation=man:aziot-edged(8)
PartOf=aziot-edged.service

[Socket]
ListenStream=/var/run/iotedge/$1.sock
SocketMode=$2
DirectoryMode=0755
SocketUser=$3
SocketGroup=iotedge
Service=aziot-edged.service

[Install]
WantedBy=sockets.target
UNIT
}

# ---- aziot-identity-service (the Makefile's install-deb on Debian 12, OpenSSL 3)
p=$work/is
lx=usr/lib/x86_64-linux-gnu
mkdir -p "$p/DEBIAN" "$p/usr/libexec/aziot-identity-service" "$p/usr/bin" "$p/$lx/engines-3" \
    "$p/lib/systemd/system" "$p/etc/aziot" "$p/usr/share/doc/aziot-identity-service" \
    "$p/usr/include/aziot-identity-service"
waiter aziotd >"$p/usr/libexec/aziot-identity-service/aziotd"
chmod 0755 "$p/usr/libexec/aziot-identity-service/aziotd"
for d in aziot-certd aziot-identityd aziot-keyd aziot-tpmd; do
    ln -s /usr/libexec/aziot-identity-service/aziotd "$p/usr/libexec/aziot-identity-service/$d"
done
printf '#!/bin/sh\necho "aziotctl (test package %s)"\n' "$VERSION_IS" >"$p/usr/bin/aziotctl"
chmod 0755 "$p/usr/bin/aziotctl"
printf 'test package placeholder for libaziot_keys.so\n' >"$p/usr/lib/libaziot_keys.so"
printf 'test package placeholder for the aziot_keys OpenSSL engine\n' >"$p/$lx/engines-3/aziot_keys.so"
chmod 0755 "$p/usr/lib/libaziot_keys.so" "$p/$lx/engines-3/aziot_keys.so"
printf '/* test package placeholder for aziot-keys.h */\n' >"$p/usr/include/aziot-identity-service/aziot-keys.h"
for s in keyd:aziotks:Keys certd:aziotcs:Certificates identityd:aziotid:Identity tpmd:aziottpm:TPM; do
    svc=${s%%:*}; rest=${s#*:}; user=${rest%%:*}; what=${rest#*:}
    mkdir -p "$p/etc/aziot/$svc/config.d" "$p/var/lib/aziot/$svc"
    printf '# Test package: the defaults of aziot-%s.\n' "$svc" >"$p/etc/aziot/$svc/config.toml.default"
    is_socket_unit "$svc" "$what" "$user" >"$p/lib/systemd/system/aziot-$svc.socket"
    is_service_unit "$svc" "$what" "$user" >"$p/lib/systemd/system/aziot-$svc.service"
done
printf '# Test package: the template of /etc/aziot/config.toml.\n# hostname = "my-device"\n' >"$p/etc/aziot/config.toml.template"
for f in README.md LICENSE THIRD-PARTY-NOTICES; do
    printf 'Test stand-in for aziot-identity-service; not Microsoft'"'"'s package.\n' >"$p/usr/share/doc/aziot-identity-service/$f"
done
fixperms "$p"
cat >"$p/DEBIAN/control" <<CTL
Package: aziot-identity-service
Version: $VERSION_IS
Architecture: amd64
Maintainer: eflow-image tests <tests@invalid>
Installed-Size: 20
Depends: libc6 (>= 2.34), libgcc-s1 (>= 4.2), libssl3 (>= 3.0.0), libtss2-esys-3.0.2-0 (>= 3.0.1), libtss2-mu0 (>= 3.0.1), libtss2-tctildr0 (>= 3.0.1), psmisc
Conflicts: iotedge, libiothsm-std
Section: admin
Priority: optional
Description: Azure IoT Identity Service (test stand-in)
 Same layout, users, units and sockets as the real package; the daemons only wait.
CTL
# dh_installdeb makes every file under /etc a conffile.
(cd "$p" && find etc -type f | sort | sed 's|^|/|') >"$p/DEBIAN/conffiles"

# ---- aziot-edge (edgelet/Makefile's `deb` target and debian/install)
p=$work/edge
mkdir -p "$p/DEBIAN" "$p/usr/bin" "$p/usr/libexec/aziot" "$p/lib/systemd/system" "$p/etc/aziot/edged/config.d" \
    "$p/etc/logrotate.d" "$p/usr/share/doc/aziot-edge"
# The CLI: `config apply` does what the real one does to the files (per-service files, 0600,
# each owned by its service user and that user's group), then restarts the services the way
# it does (stop each service; start the sockets; start aziot-edged). `version` says what it is.
cat >"$p/usr/bin/iotedge" <<'CLI'
#!/bin/sh
# Stand-in for the iotedge CLI (test package).
set -eu
case "${1:-} ${2:-}" in
"config apply")
    shift 2
    config=/etc/aziot/config.toml
    [ "${1:-}" = "-c" ] && config=$2
    [ "$(id -u)" = 0 ] || { echo "this command must be run as root" >&2; exit 1; }
    [ -r "$config" ] || { echo "could not read config file $config" >&2; exit 1; }
    host=$(grep -m1 '^hostname' "$config" || true)
    for s in keyd:aziotks certd:aziotcs identityd:aziotid tpmd:aziottpm edged:iotedge; do
        svc=${s%%:*}; user=${s#*:}
        f=/etc/aziot/$svc/config.d/00-super.toml
        rm -f "$f"
        printf '# Written by iotedge config apply (test package) from %s\n%s\n' "$config" "$host" >"$f"
        chmod 0600 "$f"
        chown "$user:$(id -gn "$user")" "$f"
    done
    echo "Azure IoT Edge has been configured successfully!"
    for u in aziot-edged.service aziot-identityd.service aziot-keyd.service aziot-certd.service aziot-tpmd.service; do
        systemctl stop "$u" || true
    done
    for u in aziot-edged.mgmt.socket aziot-edged.workload.socket aziot-identityd.socket aziot-keyd.socket \
        aziot-certd.socket aziot-tpmd.socket aziot-edged.service; do
        systemctl start "$u" || true
    done
    ;;
"version "*|"--version "*) echo "iotedge (test package @VERSION@)" ;;
*) echo "iotedge (test package @VERSION@): only 'config apply' and 'version'" >&2; exit 2 ;;
esac
CLI
sed -i "s/@VERSION@/$VERSION_EDGE/" "$p/usr/bin/iotedge"
chmod 0755 "$p/usr/bin/iotedge"
waiter aziot-edged >"$p/usr/libexec/aziot/aziot-edged"
chmod 0755 "$p/usr/libexec/aziot/aziot-edged"
edged_socket_unit mgmt 0660 edgeagentuser >"$p/lib/systemd/system/aziot-edged.mgmt.socket"
edged_socket_unit workload 0666 iotedge >"$p/lib/systemd/system/aziot-edged.workload.socket"
cat >"$p/lib/systemd/system/aziot-edged.service" <<UNIT
[Unit]
Description=Azure IoT Edge daemon
After=network-online.target docker.service aziot-edged.workload.socket aziot-edged.mgmt.socket
Requires=aziot-edged.workload.socket aziot-edged.mgmt.socket
Wants=network-online.target docker.service
Documentation=man:aziot-edged(8)

[Service]
ExecStart=/usr/libexec/aziot/aziot-edged
KillMode=process
TimeoutStartSec=600
TimeoutStopSec=40
Restart=on-failure
RestartPreventExitStatus=153
RestartSec=5
User=iotedge
Group=iotedge

[Install]
WantedBy=multi-user.target
Also=aziot-edged.workload.socket aziot-edged.mgmt.socket
UNIT
printf '# Test package: the IoT Edge part of /etc/aziot/config.toml.\n' >"$p/etc/aziot/config.toml.edge.template"
printf '# Test package: the defaults of aziot-edged.\nhomedir = "/var/lib/aziot/edged"\n' >"$p/etc/aziot/edged/config.toml.default"
printf '/var/log/aziot-edged/aziot-edged.log {\n       daily\n       rotate 7\n}\n' >"$p/etc/logrotate.d/aziot-edge"
for f in LICENSE ThirdPartyNotices trademark; do
    printf 'Test stand-in for aziot-edge; not Microsoft'"'"'s package.\n' >"$p/usr/share/doc/aziot-edge/$f"
done
fixperms "$p"
cat >"$p/DEBIAN/control" <<CTL
Package: aziot-edge
Version: $VERSION_EDGE
Architecture: amd64
Maintainer: eflow-image tests <tests@invalid>
Installed-Size: 20
Depends: libc6 (>= 2.34), libgcc-s1 (>= 4.2), libssl3 (>= 3.0.0), adduser, ca-certificates, hostname, psmisc, sed, aziot-identity-service (= $VERSION_IS)
Section: admin
Priority: optional
Description: Azure IoT Edge runtime (test stand-in)
 Same layout, users, units and sockets as the real package; the daemons only wait.
CTL
(cd "$p" && find etc -type f | sort | sed 's|^|/|') >"$p/DEBIAN/conffiles"

# ---- the .debs, then the index
pool=$out/repo/pool/main/a
rm -rf "$out/repo"
mkdir -p "$pool/aziot-identity-service" "$pool/aziot-edge" "$out/repo/dists/bookworm/main/binary-amd64"
for d in "$work/is" "$work/edge"; do
    find "$d" -exec touch -h -d "@$EPOCH" {} +
done
dpkg-deb --root-owner-group -Zxz --build "$work/is" \
    "$pool/aziot-identity-service/aziot-identity-service_${VERSION_IS}_amd64.deb" >/dev/null
dpkg-deb --root-owner-group -Zxz --build "$work/edge" \
    "$pool/aziot-edge/aziot-edge_${VERSION_EDGE}_amd64.deb" >/dev/null

cd "$out/repo"
: >"$work/Packages"
for deb in pool/main/a/aziot-identity-service/*.deb pool/main/a/aziot-edge/*.deb; do
    dpkg-deb -f "$deb" >>"$work/Packages"
    printf 'Filename: %s\nSize: %s\nSHA256: %s\n\n' "$deb" "$(wc -c <"$deb" | tr -d ' ')" \
        "$(sha256sum "$deb" | cut -d' ' -f1)" >>"$work/Packages"
done
xz -9 --check=crc64 -c "$work/Packages" >dists/bookworm/main/binary-amd64/Packages.xz
idx=main/binary-amd64/Packages.xz
cat >"$work/Release" <<REL
Origin: eflow-image tests
Label: fake-aziot
Suite: bookworm
Codename: bookworm
Date: Sat, 01 Jun 2024 00:00:00 UTC
Architectures: amd64
Components: main
Description: Test stand-in for Microsoft's Debian 12 repository
SHA256:
 $(sha256sum dists/bookworm/$idx | cut -d' ' -f1) $(wc -c <dists/bookworm/$idx | tr -d ' ') $idx
REL

# A throwaway key: its secret half dies with $work.
export GNUPGHOME=$work/gnupg
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-generate-key 'eflow-image fake-aziot test repository <tests@invalid>' ed25519 sign never 2>/dev/null
gpg --batch --quiet --yes --clearsign --output dists/bookworm/InRelease "$work/Release"
gpg --batch --quiet --export >"$out/keyring.gpg"
gpgconf --kill all 2>/dev/null || true
echo "$out/repo"
