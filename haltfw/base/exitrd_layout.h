// The exitrd's layout: the names of the files `haltfw arm` puts into the
// exitrd (a tmpfs on /run/initramfs, see arm/exitrd.h) and of those the
// programs running from it make there. Written by arm; read by the final
// stage as PID 1 and by the watcher (both see the exitrd as "/": after the
// pivot, or chrooted), by haltfw-inert (which removes them) and by the CLI.
//
// Each path is absolute inside the exitrd; the CLI prefixes the exitrd's
// root ("/run/initramfs" + kExitrdManifest). Constants only: in base/, so
// that every program of both sides can include it, haltfw-inert too (it may
// use nothing of halt/ but its allocation-free parts).
#pragma once

namespace haltfw {

/// Where the exitrd is mounted: systemd-shutdown (v252) pivots into
/// /run/initramfs if /run/initramfs/shutdown is executable.
inline constexpr const char* kExitrdDefault = "/run/initramfs";

/// The final stage (haltfw-final), which systemd-shutdown execs as PID 1.
inline constexpr const char* kExitrdShutdown = "/shutdown";
/// The armed manifest (halt/manifest.h).
inline constexpr const char* kExitrdManifest = "/haltfw.manifest";
/// The ruleset watcher's state line (halt/watch_state.h).
inline constexpr const char* kExitrdWatchState = "/haltfw.watch";
/// Arm's record of the exitrd's files and their sources (arm/exitrd.h).
inline constexpr const char* kExitrdRecord = "/haltfw.files";
/// haltfw-inert, which the final stage execs after its report.
inline constexpr const char* kExitrdInert = "/haltfw-inert";
/// The device nodes the final stage makes for itself (and unlinks at once)
/// so that its console outlives the devtmpfs on /dev; haltfw-inert makes
/// its own kmsg node the same way.
inline constexpr const char* kExitrdConsole = "/.console";
inline constexpr const char* kExitrdKmsg = "/.kmsg";
/// The node the final stage makes (and unlinks at once) to open a running
/// hardware watchdog for its magic close (final/watchdog_stop.h).
inline constexpr const char* kExitrdWatchdog = "/.watchdog";
/// Where the final stage mounts sysfs if systemd-shutdown left none (to
/// read the watchdogs' state).
inline constexpr const char* kExitrdSys = "/sys";
/// Where the final stage mounts /proc if systemd-shutdown left none.
inline constexpr const char* kExitrdProc = "/proc";
/// Where the final stage mounts configfs for a moment, to check the
/// netconsole target (final/netconsole_halt.h); removed again after.
inline constexpr const char* kExitrdConfigfs = "/.configfs";

/// haltfw-inert's file name, in the exitrd and beside haltfw-final where
/// it is installed; also its argv[0].
inline constexpr const char* kInertProgram = kExitrdInert + 1;

}  // namespace haltfw
