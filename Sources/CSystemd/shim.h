#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

// pipe2(2): glibc declares it only under _GNU_SOURCE. ServiceNotifier's own barrier (the explicit-socket
// path of sd_notify_barrier) needs a close-on-exec pipe created atomically, so a helper spawned by
// another thread at that moment cannot inherit the write end and hold the barrier open.
int pipe2(int pipefd[2], int flags);
