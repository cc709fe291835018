#!/usr/bin/env bash
# Checks images written by eflow-ext4 with the Linux kernel itself: boots Debian's kernel
# under QEMU (TCG, no KVM needed) with a busybox initramfs that mounts two images, reads
# them, writes to them (including 3000 inserts into a 20,000-entry indexed directory) and
# grows one online past a new group descriptor block (as systemd-growfs would), then runs
# `e2fsck -fn` on the host on what the kernel left.
#
# Needs: apt-get (downloads linux-image-amd64's kernel package from the configured Debian
# mirror), qemu-system-x86_64, a static busybox, cpio, gzip, e2fsprogs, cargo.
# Usage (from the repository root): builder/formats/ext4/scripts/kernel-check.sh [WORKDIR]
# Exit status 0 when every check passed. Takes about a minute after the download.
set -euo pipefail

work=${1:-$(mktemp -d)}
mkdir -p "$work"
cd "$(dirname "$0")/../../../.."
root=$PWD

need() { command -v "$1" >/dev/null || { echo "kernel-check: $1 is required ($2)" >&2; exit 2; }; }
need qemu-system-x86_64 "install qemu-system-x86"
need busybox "install busybox-static"
need cpio "install cpio"
need e2fsck "install e2fsprogs"
need apt-get "a Debian host is needed to fetch the kernel package"
file -L "$(command -v busybox)" | grep -q "statically linked" || { echo "kernel-check: busybox must be static (busybox-static)" >&2; exit 2; }

# The kernel and the modules ext4 and virtio-blk need.
cd "$work"
if [ ! -d kernel ]; then
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
  [ -n "$pkg" ] || { echo "kernel-check: no linux-image package known to apt (run apt-get update)" >&2; exit 2; }
  apt-get download "$pkg"
  dpkg-deb -x "$pkg"_*.deb kernel
fi
vmlinuz=$(ls kernel/boot/vmlinuz-*)
mods=$(ls -d kernel/lib/modules/*/kernel)
order="crypto/crc32c_generic lib/crc16 fs/mbcache fs/jbd2/jbd2 fs/ext4/ext4 drivers/virtio/virtio_ring
  drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci_legacy_dev
  drivers/virtio/virtio_pci drivers/block/virtio_blk"

# Images: the varied tree and the 20,000-entry directory of the test suite, kept on request.
(cd "$root" && EXT4_KEEP_IMAGE="$work/varied.img" cargo test -q -p eflow-ext4 --test debugfs_compare >/dev/null)
(cd "$root" && EXT4_KEEP_IMAGE="$work/many.img" cargo test -q -p eflow-ext4 --test edge directory_with_20000 >/dev/null)
cp varied.img grow.img
truncate -s 12G grow.img

rm -rf ir && mkdir -p ir/bin ir/m ir/proc ir/sys ir/dev ir/a ir/b ir/c ir/sbin
cp "$(command -v busybox)" ir/bin/busybox
names=""
for m in $order; do cp "$mods/$m.ko" ir/m/; names="$names $(basename "$m")"; done
# resize2fs for the online grow, with its libraries.
cp "$(command -v resize2fs)" ir/sbin/
for l in $(ldd "$(command -v resize2fs)" | grep -o '/lib[^ ]*'); do mkdir -p "ir$(dirname "$l")"; cp -L "$l" "ir$l"; done
cat > ir/init <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $names; do insmod /m/\$m.ko || echo "CHECK-FAIL insmod \$m"; done
sleep 1
mount -t ext4 /dev/vda /a || echo "CHECK-FAIL mount varied"
[ "\$(readlink /a/usr/lib/fast)" = f1 ] || echo "CHECK-FAIL fast symlink"
[ "\$(stat -c '%a %u %g %h %s %Y' /a/usr/lib/f3)" = "640 100003 70000 3 60 1600000003" ] || echo "CHECK-FAIL stat f3"
[ "\$(stat -c '%Y' /a/usr/lib/future)" = 4000000000 ] || echo "CHECK-FAIL time after 2038"
[ "\$(stat -c '%t:%T' /a/dev/nvme)" = "103:12c" ] || echo "CHECK-FAIL device numbers"
cmp /a/usr/lib/f3 /a/home/hardlink || echo "CHECK-FAIL hard link"
echo new > /a/home/new && mkdir /a/home/d && rm /a/usr/lib/f0 && cp /a/usr/lib/f9 /a/usr/lib/f9c || echo "CHECK-FAIL write"
cmp /a/usr/lib/f9 /a/usr/lib/f9c || echo "CHECK-FAIL copy"
umount /a || echo "CHECK-FAIL umount varied"
mount -t ext4 /dev/vdb /b || echo "CHECK-FAIL mount many"
[ "\$(ls /b/many | wc -l)" = 20001 ] || echo "CHECK-FAIL many count"
i=0; while [ \$i -lt 3000 ]; do echo \$i > /b/many/added-\$i || echo "CHECK-FAIL insert"; i=\$((i+1)); done
rm /b/many/entry-0000*
[ "\$(ls /b/many | wc -l)" = 22901 ] || echo "CHECK-FAIL many count after"
umount /b || echo "CHECK-FAIL umount many"
mount -t ext4 /dev/vdc /c || echo "CHECK-FAIL mount grow"
/sbin/resize2fs /dev/vdc >/dev/null 2>&1 || echo "CHECK-FAIL online resize"
echo grown > /c/grown
umount /c || echo "CHECK-FAIL umount grow"
dmesg | grep -E "EXT4-fs (error|warning)|JBD2.*(error|warning)" && echo "CHECK-FAIL kernel complained"
echo CHECK-DONE
poweroff -f
INIT
chmod +x ir/init
(cd ir && find . | cpio -o -H newc 2>/dev/null | gzip > ../initrd.gz)

timeout 600 qemu-system-x86_64 -accel tcg -cpu max -m 512 -nographic -no-reboot \
  -kernel "$vmlinuz" -initrd initrd.gz -append "console=ttyS0 panic=-1 loglevel=4" \
  -drive file=varied.img,format=raw,if=virtio -drive file=many.img,format=raw,if=virtio \
  -drive file=grow.img,format=raw,if=virtio > vm.log 2>&1 || true

status=0
grep -q CHECK-DONE vm.log || { echo "kernel-check: the guest did not finish, see $work/vm.log" >&2; status=1; }
if grep CHECK-FAIL vm.log; then status=1; fi
for img in varied many grow; do
  if ! e2fsck -fn "$img.img" > "$img.fsck" 2>&1; then echo "kernel-check: e2fsck -fn $img.img failed:"; cat "$img.fsck"; status=1; fi
done
dumpe2fs -h grow.img 2>/dev/null | grep -q "Block count:              3145728" || { echo "kernel-check: grow.img did not grow to 12 GiB" >&2; status=1; }
[ $status = 0 ] && echo "kernel-check: all checks passed (logs in $work)"
exit $status
