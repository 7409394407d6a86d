// The ruleset watcher: `haltfw-final --watch MANIFEST STATE IPV4FD IPV6FD`,
// a daemon beside the shutdown, not PID 1. `haltfw watch`
// (haltfw-watch.service, started by `haltfw arm`) execs it chrooted into
// the exitrd with argv[0] kWatcherArgv0 ("@haltfw-watch"). It closes the
// flush window: a unit the guards do not know that flushes or changes the
// ruleset when the shutdown transaction stops it would otherwise leave the
// box forwarding without its ruleset until the final stage.
//
// It starts on standby, subscribed to the nftables events but touching
// nothing: the box is live, and the admin may change its ruleset (and arm
// again). `haltfw halt` sends it SIGUSR1 right before it starts
// haltfw.target; then it reads the manifest, loads the shutdown guard (an
// owned copy of the armed ruleset), says so in its state file
// (halt/watch_state.h) and checks the digest after every committed
// transaction from then on, putting the armed ruleset back at once, or
// turning forwarding off if it cannot, as the final stage would. Started at
// arm, not at halt, it costs the halt no process start. It needs nothing
// from the root file system, and its '@' spares it from systemd-shutdown's
// killing spree; the final stage ends it (EndWatcher, final/pid1_steps.h)
// once it has verified the ruleset, and the one of a reboot or power-off
// kills it with the other leftovers.
#pragma once

namespace haltfw {

/// Runs the watcher: `manifest_path` and `state_path` inside the exitrd,
/// `ipv4_fd` and `ipv6_fd` the forwarding sysctls (kForwardingSysctls)
/// `haltfw watch` opened before its chroot (the exitrd has no /proc; -1
/// for one it could not open). Returns only on failure: 2 if the manifest
/// cannot be read when the halt begins, 3 if the events cannot be had.
int Watch(const char* manifest_path, const char* state_path, int ipv4_fd, int ipv6_fd);

}  // namespace haltfw
