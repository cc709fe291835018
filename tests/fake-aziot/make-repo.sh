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

socket_unit() { # service description path user mode
    cat <<UNIT
[Unit]
Description=$2
PartOf=$1.service

[Socket]
Service=$1.service
ListenStream=$3
SocketMode=$5
DirectoryMode=0755
SocketUser=$4
SocketGroup=$4

[Install]
WantedBy=sockets.target
UNIT
}

service_unit() { # name description exec user extra
    cat <<UNIT
[Unit]
Description=$2
Requires=$1.socket
After=network-online.target

[Service]
Type=simple
ExecStart=$3
User=$4
Restart=on-failure
$5

[Install]
Also=$1.socket
UNIT
}

# ---- aziot-identity-service
p=$work/is
mkdir -p "$p/DEBIAN" "$p/usr/libexec/aziot-identity-service" "$p/usr/bin" "$p/usr/lib/x86_64-linux-gnu" \
    "$p/lib/systemd/system" "$p/etc/aziot" "$p/usr/share/doc/aziot-identity-service"
waiter aziotd >"$p/usr/libexec/aziot-identity-service/aziotd"
chmod 0755 "$p/usr/libexec/aziot-identity-service/aziotd"
for d in aziot-certd aziot-identityd aziot-keyd aziot-tpmd; do
    ln -s aziotd "$p/usr/libexec/aziot-identity-service/$d"
done
printf '#!/bin/sh\necho "aziotctl (test package %s)"\n' "$VERSION_IS" >"$p/usr/bin/aziotctl"
chmod 0755 "$p/usr/bin/aziotctl"
printf 'test package placeholder for libaziot_keys.so\n' >"$p/usr/lib/x86_64-linux-gnu/libaziot_keys.so"
for s in keyd:aziotks:Keys certd:aziotcs:Certificates identityd:aziotid:Identity tpmd:aziottpm:TPM; do
    svc=${s%%:*}; rest=${s#*:}; user=${rest%%:*}; what=${rest#*:}
    mkdir -p "$p/etc/aziot/$svc/config.d"
    socket_unit "aziot-$svc" "Azure IoT $what Service API socket" "/run/aziot/$svc.sock" "$user" 0660 \
        >"$p/lib/systemd/system/aziot-$svc.socket"
    service_unit "aziot-$svc" "Azure IoT $what Service" "/usr/libexec/aziot-identity-service/aziot-$svc" "$user" \
        "Environment=AZIOT_LOG=error" >"$p/lib/systemd/system/aziot-$svc.service"
done
printf '# Test package: the template of /etc/aziot/config.toml.\n# hostname = "my-device"\n' >"$p/etc/aziot/config.toml.template"
chmod 0600 "$p/etc/aziot/config.toml.template"
printf 'Test stand-in for aziot-identity-service; not Microsoft'"'"'s package.\n' >"$p/usr/share/doc/aziot-identity-service/README"
cat >"$p/DEBIAN/control" <<CTL
Package: aziot-identity-service
Version: $VERSION_IS
Architecture: amd64
Maintainer: eflow-image tests <tests@invalid>
Installed-Size: 20
Section: admin
Priority: optional
Description: Azure IoT Identity Service (test stand-in)
 Same layout, users, units and sockets as the real package; the daemons only wait.
CTL
printf '/etc/aziot/config.toml.template\n' >"$p/DEBIAN/conffiles"

# ---- aziot-edge
p=$work/edge
mkdir -p "$p/DEBIAN" "$p/usr/bin" "$p/usr/libexec/aziot" "$p/lib/systemd/system" "$p/etc/aziot/edged/config.d" \
    "$p/usr/share/doc/aziot-edge"
printf '#!/bin/sh\necho "iotedge (test package %s)"\n' "$VERSION_EDGE" >"$p/usr/bin/iotedge"
chmod 0755 "$p/usr/bin/iotedge"
waiter aziot-edged >"$p/usr/libexec/aziot/aziot-edged"
chmod 0755 "$p/usr/libexec/aziot/aziot-edged"
socket_unit aziot-edged "Azure IoT Edge daemon management socket" /var/run/iotedge/mgmt.sock iotedge 0660 \
    >"$p/lib/systemd/system/aziot-edged.mgmt.socket"
socket_unit aziot-edged "Azure IoT Edge daemon workload socket" /var/run/iotedge/workload.sock iotedge 0666 \
    >"$p/lib/systemd/system/aziot-edged.workload.socket"
cat >"$p/lib/systemd/system/aziot-edged.service" <<UNIT
[Unit]
Description=Azure IoT Edge daemon
After=network-online.target docker.service
Wants=network-online.target
Requires=aziot-edged.mgmt.socket aziot-edged.workload.socket

[Service]
ExecStart=/usr/libexec/aziot/aziot-edged
KillMode=process
TimeoutStartSec=600
TimeoutStopSec=40
Restart=on-failure
RestartPreventExitStatus=153
User=iotedge
Group=iotedge

[Install]
WantedBy=multi-user.target
UNIT
printf '# Test package: the IoT Edge part of /etc/aziot/config.toml.\n' >"$p/etc/aziot/config.toml.edge.template"
chmod 0600 "$p/etc/aziot/config.toml.edge.template"
printf 'Test stand-in for aziot-edge; not Microsoft'"'"'s package.\n' >"$p/usr/share/doc/aziot-edge/README"
cat >"$p/DEBIAN/control" <<CTL
Package: aziot-edge
Version: $VERSION_EDGE
Architecture: amd64
Maintainer: eflow-image tests <tests@invalid>
Installed-Size: 20
Depends: aziot-identity-service (= $VERSION_IS)
Section: admin
Priority: optional
Description: Azure IoT Edge runtime (test stand-in)
 Same layout, users, units and sockets as the real package; the daemons only wait.
CTL
printf '/etc/aziot/config.toml.edge.template\n' >"$p/DEBIAN/conffiles"

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
