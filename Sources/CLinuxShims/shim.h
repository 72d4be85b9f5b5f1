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
