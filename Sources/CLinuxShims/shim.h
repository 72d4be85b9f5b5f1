// Linux calls that Swift's Glibc module does not expose (they need _GNU_SOURCE or extra headers).
#include <sys/types.h>
#include <sys/vfs.h>

// fallocate(2): glibc declares it only under _GNU_SOURCE.
int fallocate(int fd, int mode, off_t offset, off_t len);

// statfs(2) under a name that does not clash with `struct statfs` in Swift.
static inline int chaos_statfs(const char *path, struct statfs *buf) { return statfs(path, buf); }

#include <spawn.h>
// glibc 2.34+: close every descriptor >= fd in the child (declared only under _GNU_SOURCE).
int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int fd);

// struct sockaddr_nl, for the nfnetlink_queue socket of the packet engine.
#include <linux/netlink.h>

#include <sys/syscall.h>
#include <unistd.h>
// pidfd_open(2), Linux 5.3: a descriptor that polls readable once the process has ended. glibc
// wraps it only from 2.36 (<sys/pidfd.h>); the system call number is the same on every architecture.
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
static inline int chaos_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
